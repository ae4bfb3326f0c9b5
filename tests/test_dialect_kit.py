"""The test kit with the Responses and Anthropic dialects: dialect detection, ``synthesize``,
``ReplayTransport`` and the cassette, ``serve`` (each dialect's endpoint, with the SDKs as
clients), and the CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses
from streamagg._cli import main
from streamagg._registry.detect import Detector, detect_dialect
from streamagg.testing import ReplayTransport, StreamCassette, synthesize
from streamagg.testing._server import RECORDING_HEADER, ReplayApp

from .dialects import MODULES, RECORDINGS, path
from .helpers import STREAMS, serving

TEXT = path("responses", "pydantic-ai__gpt4o-text")
REASONING = path("responses", "pydantic-ai__reasoning-summary-4-parts-then-text")
MESSAGE = path("anthropic", "anthropic-sdk-python__claude3-opus-text-with-ping")
TOOL_MESSAGE = path("anthropic", "anthropic-sdk-python__sonnet4-text-then-tool-use")
CHAT = STREAMS / "openai-python__plain-content.sse"
GEMINI = path("gemini", "pydantic-ai__gemini25-thought-summaries-then-text-with-signature")
OLLAMA = path("ollama", "dotnet-extensions__llama31-chat-done-reason-length")
GENERATE = path("ollama", "ollama-bash-lib__gpt-oss-120b-generate-thinking-field")
COMPLETION = path(
    "completions", "langstream__azure-gpt35-instruct-logprobs-length-then-empty-chunk"
)


def folded(dialect: str, source: Any) -> Any:
    """The object a recording folds to (the partial, for one that ends in an error)."""
    try:
        return MODULES[dialect].replay(source)
    except streamagg.UpstreamError as exc:
        return exc.partial


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_dialect_is_detected_from_the_first_events(dialect: str, name: str) -> None:
    """Every recording's dialect is found from its first events, whatever the split; its
    non-streaming form (a JSON body) too."""
    raw = path(dialect, name).read_bytes()
    assert detect_dialect(raw) == dialect
    detector = Detector()
    found = next(filter(None, (detector.feed(raw[i : i + 7]) for i in range(0, len(raw), 7))))
    assert found == dialect
    body = json.dumps(streamagg.to_dict(folded(dialect, raw))).encode()
    assert detect_dialect(body) == dialect


def test_chat_streams_and_undecided_input_are_chat() -> None:
    """Chat chunks are chat; an empty stream or only errors and comments decide nothing and are
    read as chat completions, the first dialect."""
    assert detect_dialect(CHAT.read_bytes()) == "chat"
    assert detect_dialect(b"") == "chat"
    assert detect_dialect(b': hi\n\nevent: error\ndata: {"error": {"message": "x"}}\n\n') == "chat"
    assert detect_dialect(b'{"error": {"message": "x"}}') == "chat"
    assert detect_dialect(b"data: {no json\n\n") == "chat"
    assert detect_dialect(b'event: ping\ndata: {"type": "ping"}') == "anthropic"


@pytest.mark.parametrize(
    ("body", "dialect"),
    [
        (b'{"id": "c", "choices": [{"text": "x", "index": 0}]}\n', "completions"),
        (b'[{"candidates": []}]', "gemini"),
        (b'{\n  "object": "chat.completion",\n  "choices": []\n}', "chat"),
        (b'{"a": 1}\n{"b": 2}\n', "chat"),
        (b'{"model": "m", "response": "x", "done": true}', "ollama"),
        (b"[1, 2]", "chat"),
        (b'{"object": "chat.completion", "choices": "x"}', "chat"),
        (b'\xef\xbb\xbf{"model": "m", "message": {}, "done": false}\n{"done": true}', "ollama"),
        (b"{oops\n{oops", "chat"),
    ],
)
def test_bodies_are_detected_by_their_keys(body: bytes, dialect: str) -> None:
    """Whole JSON bodies, arrays of chunks and JSON lines decide by the same keys; a body that
    says nothing is a chat completion."""
    assert detect_dialect(body) == dialect
    detector = Detector()
    for i in range(len(body)):
        detector.feed(body[i : i + 1])
    assert detector.close() == dialect


def test_lenient_structure_keeps_values_of_other_types() -> None:
    """``from_dict`` never fails on JSON objects: a value of another type than its field's
    (a list of non-objects where parts belong, a string id) is kept in ``extensions`` and given
    back by ``to_dict``; a value that is not an object at all is a ``TypeError``."""
    data = {"id": 7, "object": "response", "output": [1, 2], "status": "completed"}
    response = responses.from_dict(data)
    assert response.id is None
    assert response.extensions == {"id": 7, "output": [1, 2]}
    assert streamagg.to_dict(response)["id"] == 7
    with pytest.raises(TypeError, match="expected an object for Message"):
        anthropic.from_dict([])  # type: ignore[arg-type]


# -- synthesize ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_synthesize_replays_to_the_object(dialect: str, name: str, size: int) -> None:
    """``replay(synthesize(x)) == x`` for every recorded object, at any piece size."""
    obj = folded(dialect, path(dialect, name))
    assert folded(dialect, synthesize(obj, chunk_size=size)) == obj


def _deltas_only(raw: bytes) -> list[dict[str, Any]]:
    """A Responses stream's events without what carries the whole: no ``….done`` items, no
    terminal output."""
    events = []
    for line in raw.decode().split("\n"):  # SSE lines, not str.splitlines's
        if line.startswith("data: "):
            event = json.loads(line[6:])
            if event["type"] == "response.output_item.done":
                continue
            if event["type"] in ("response.completed", "response.incomplete"):
                event["response"] = {**event["response"], "output": None}
            events.append(event)
    return events


texts = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.sampled_from(["message", "reasoning", "call"]), texts), max_size=5
    ),
    size=st.integers(1, 9),
)
def test_property_responses_deltas_fold_to_the_object(
    parts: list[tuple[str, str]], size: int
) -> None:
    """The delta events of a synthesized stream alone (without the whole items of the
    ``….done`` events and the terminal output) fold to the same strings, at any piece size."""
    output: list[dict[str, Any]] = []
    for n, (kind, text) in enumerate(parts):
        if kind == "message":
            part = {"type": "output_text", "text": text, "annotations": []}
            output.append(
                {"type": "message", "id": f"m{n}", "role": "assistant", "content": [part]}
            )
        elif kind == "reasoning":
            summary = [{"type": "summary_text", "text": text}]
            output.append({"type": "reasoning", "id": f"r{n}", "summary": summary})
        else:
            output.append({"type": "function_call", "id": f"f{n}", "name": "f", "arguments": text})
    for item in output:
        item["status"] = "completed"
    response = responses.from_dict(
        {"id": "resp", "object": "response", "status": "completed", "output": output}
    )
    raw = synthesize(response, chunk_size=size)
    assert responses.replay(raw) == response
    assert responses.fold(_deltas_only(raw)) == response


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(
        st.one_of(
            st.builds(lambda t: {"type": "text", "text": t}, texts),
            st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "s"}, texts),
            st.builds(
                lambda d: {"type": "tool_use", "id": "t", "name": "f", "input": d},
                st.dictionaries(texts, st.integers() | texts, max_size=3),
            ),
        ),
        max_size=5,
    ),
    size=st.integers(1, 9),
)
def test_property_anthropic_synthesize_round_trips(
    blocks: list[dict[str, Any]], size: int
) -> None:
    """Any message of text, thinking and tool-use blocks streams and folds back to itself."""
    usage = {"input_tokens": 3, "output_tokens": 9}
    message = anthropic.from_dict(
        {"id": "msg", "type": "message", "role": "assistant", "content": blocks, "usage": usage}
    )
    assert anthropic.replay(synthesize(message, chunk_size=size)) == message


# -- ReplayTransport, the cassette, the SDKs ------------------------------------------------------


def test_replay_transport_answers_each_endpoint() -> None:
    """A mapping by path answers ``/v1/responses`` and ``/v1/messages`` from their recordings."""
    transport = ReplayTransport({"/v1/responses": TEXT, "/v1/messages": MESSAGE})
    with httpx.Client(transport=transport) as client:
        with responses.create(client, "http://api.test/v1", {"model": "m"}) as s:
            assert s.finish() == responses.replay(TEXT)
        with anthropic.create(client, "http://api.test/v1", {"model": "m"}) as s:
            assert s.finish() == anthropic.replay(MESSAGE)


def test_the_openai_sdk_consumes_replayed_streams() -> None:
    """The openai SDK reads a replayed Responses stream, and ``fold`` of the SDK's stream gives
    what ``replay`` gives."""
    openai = pytest.importorskip("openai")
    with httpx.Client(transport=ReplayTransport(REASONING)) as http:
        client = openai.OpenAI(api_key="k", base_url="http://api.test/v1", http_client=http)
        events = client.responses.create(model="m", input="hi", stream=True)
        assert responses.fold(events) == responses.replay(REASONING)


def test_cassette_records_and_replays_a_dialect(tmp_path: Path) -> None:
    """A cassette records an Anthropic stream from the live side and replays it identically."""
    live = ReplayTransport(TOOL_MESSAGE)
    cassette = StreamCassette(tmp_path, "claude", mode="missing", live=live)
    with (
        cassette.client() as client,
        anthropic.create(client, "http://api.test/v1", {"model": "m"}) as s,
    ):
        recorded = s.finish()
    assert [p.name for p in cassette.recorded] == ["claude.sse"]
    with (
        StreamCassette(tmp_path, "claude").client() as client,
        anthropic.create(client, "http://api.test/v1", {"model": "m"}) as s,
    ):
        assert s.finish() == recorded == anthropic.replay(TOOL_MESSAGE)


# -- serve -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A replay server over a folder of chat, Responses and Anthropic recordings."""
    pytest.importorskip("uvicorn")
    folder = tmp_path_factory.mktemp("mixed")
    for source in (
        CHAT,
        TEXT,
        REASONING,
        MESSAGE,
        TOOL_MESSAGE,
        GEMINI,
        OLLAMA,
        GENERATE,
        COMPLETION,
    ):
        shutil.copy(source, folder / source.name)
    with serving(ReplayApp(folder, timing=False)) as url:
        yield url


def test_serve_answers_each_dialect_from_its_own_recordings(served: str) -> None:
    """Without a name, each endpoint takes turns among the recordings of its own dialect."""
    seen = set()
    with httpx.Client() as client:
        for _ in range(4):
            with responses.create(client, served, {"model": "any"}) as s:
                seen.add(s.finish().id)
        assert seen == {responses.replay(TEXT).id, responses.replay(REASONING).id}
        with anthropic.create(client, served, {"model": MESSAGE.stem}) as s:
            assert s.finish() == anthropic.replay(MESSAGE)


def test_serve_without_stream_key_answers_json(served: str) -> None:
    """No ``stream`` key (the APIs' default) gets the folded object as JSON, for every
    endpoint: the chat completion, the response, the message."""
    with httpx.Client() as client:
        chat = client.post(f"{served}/chat/completions", json={"model": CHAT.stem})
        assert chat.headers["content-type"] == "application/json"
        assert streamagg.from_dict(chat.json()) == streamagg.replay(CHAT)
        answer = client.post(f"{served}/responses", json={"model": TEXT.stem})
        assert responses.from_dict(answer.json()) == responses.replay(TEXT)
        headers = {RECORDING_HEADER: TOOL_MESSAGE.name}
        message = client.post(f"{served}/messages", json={"stream": False}, headers=headers)
        assert anthropic.from_dict(message.json()) == anthropic.replay(TOOL_MESSAGE)


def test_the_sdks_talk_to_serve(served: str) -> None:
    """The openai SDK streams a Responses API call and the anthropic SDK a message from
    ``serve``; their own accumulators agree with our fold."""
    openai = pytest.importorskip("openai")
    anthropic_sdk = pytest.importorskip("anthropic")
    client = openai.OpenAI(api_key="k", base_url=served)
    with client.responses.stream(model=TEXT.stem, input="hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == responses.replay(TEXT).output_text
    claude = anthropic_sdk.Anthropic(api_key="k", base_url=served.removesuffix("/v1"))
    with claude.messages.stream(
        model=TOOL_MESSAGE.stem, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.model_dump(mode="json", exclude_none=True) == {
        k: v for k, v in streamagg.to_dict(anthropic.replay(TOOL_MESSAGE)).items() if v is not None
    }


def test_serve_answers_gemini_paths(served: str) -> None:
    """Gemini's model and method are in the path: ``:streamGenerateContent`` streams (SSE),
    ``:generateContent`` answers the folded JSON; the app helper reads the stream."""
    base = served.removesuffix("/v1") + "/v1beta/models/" + GEMINI.stem
    with httpx.Client() as client:
        whole = client.post(base + ":generateContent", json={"contents": []})
        assert gemini.from_dict(whole.json()) == gemini.replay(GEMINI)
        with gemini.create(client, base, {"contents": []}, api_key="k") as s:
            assert s.finish() == gemini.replay(GEMINI)
            assert s.http_response.headers["content-type"] == "text/event-stream"


def test_serve_answers_ollama_line_by_line(served: str) -> None:
    """``/api/chat`` and ``/api/generate`` stream NDJSON by default, one line at a time, and
    answer the folded JSON with ``"stream": false``."""
    root = served.removesuffix("/v1")
    with httpx.Client() as client:
        with ollama.create(client, root, {"model": OLLAMA.stem}) as s:
            deltas = list(s)
            assert s.response == ollama.replay(OLLAMA)
            assert s.http_response.headers["content-type"] == "application/x-ndjson"
        assert len(deltas) >= 10
        with ollama.generate(client, root, {"model": GENERATE.stem}) as s:
            assert s.finish() == ollama.replay(GENERATE)
        whole = client.post(root + "/api/chat", json={"model": OLLAMA.stem, "stream": False})
        assert ollama.from_dict(whole.json()) == ollama.replay(OLLAMA)


def test_ndjson_recorded_from_serve_is_byte_for_byte(served: str, tmp_path: Path) -> None:
    """Recording an Ollama stream keeps its JSON lines byte for byte (no timing comments,
    which are SSE's), so it replays as it was served."""
    from streamagg.testing import record

    out = tmp_path / "chat.ndjson"
    with (
        httpx.Client(transport=record(out)) as client,
        ollama.create(client, served.removesuffix("/v1"), {"model": OLLAMA.stem}) as s,
    ):
        s.finish()
    assert out.read_bytes() == OLLAMA.read_bytes()
    assert ollama.replay(out) == ollama.replay(OLLAMA)


def test_serve_answers_legacy_completions(served: str) -> None:
    """``/v1/completions`` answers from the legacy completion recordings."""
    with httpx.Client() as client, completions.create(client, served, {"prompt": "x"}) as s:
        assert s.finish() == completions.replay(COMPLETION)


def test_requests_are_built_for_gemini_ollama_and_completions() -> None:
    """Each ``create`` calls its API's endpoint its way: Gemini's method and ``alt=sse`` in the
    URL with ``x-goog-api-key`` and no ``stream`` key; Ollama's ``/api/chat`` and
    ``/api/generate``; legacy completions with ``stream_options``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"", headers={"content-type": "text/event-stream"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        streams: list[Any] = [
            gemini.create(client, "https://g.test/v1beta/models/m", {"contents": []}, api_key="g"),
            ollama.create(client, "http://o.test", {"model": "m"}),
            ollama.generate(client, "http://o.test", {"model": "m"}),
            completions.create(client, "https://c.test/v1", {"prompt": "p"}, api_key="c"),
        ]
        for opened in streams:
            with opened, pytest.raises(streamagg.IncompleteStreamError):
                opened.finish()
    first, chat, generate, legacy = seen
    assert str(first.url) == "https://g.test/v1beta/models/m:streamGenerateContent?alt=sse"
    assert first.headers["x-goog-api-key"] == "g"
    assert json.loads(first.content) == {"contents": []}
    assert (chat.url.path, generate.url.path) == ("/api/chat", "/api/generate")
    assert json.loads(chat.content) == {"model": "m", "stream": True}
    assert legacy.url.path == "/v1/completions"
    assert json.loads(legacy.content) == {
        "prompt": "p",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_serve_says_when_a_dialect_has_no_recordings(tmp_path: Path) -> None:
    """An endpoint whose dialect has no recording answers 404 saying so."""
    shutil.copy(CHAT, tmp_path / CHAT.name)
    app = ReplayApp(tmp_path, timing=False)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/v1/messages", json={"stream": True})

    answer = anyio.run(call)
    assert answer.status_code == 404
    assert "anthropic" in answer.json()["error"]["message"]


# -- the CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [TEXT, MESSAGE, GEMINI, OLLAMA, GENERATE, COMPLETION])
def test_cli_replay_detects_the_dialect(
    source: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``streamagg replay`` prints each dialect's own object; ``--text`` its output text; from a
    file and from stdin alike."""
    dialect = source.parent.name
    want = streamagg.to_dict(folded(dialect, source))
    assert main(["replay", str(source)]) == 0
    assert json.loads(capsys.readouterr().out) == want
    assert main(["replay", "--text", str(source)]) == 0
    obj = folded(dialect, source)
    text = obj.output_text if dialect == "responses" else obj.text
    assert capsys.readouterr().out == text + "\n"

    class Stdin:
        buffer = source.open("rb")

    monkeypatch.setattr("sys.stdin", Stdin)
    assert main(["replay", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == want


def test_cli_stats_and_partial_for_a_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--stats`` reads a timed recording of another dialect; ``--partial`` prints the failed
    response of a Responses stream that ended in an error."""
    timed = tmp_path / "timed.sse"
    timed.write_bytes(synthesize(anthropic.replay(TOOL_MESSAGE), interval=0.01))
    assert main(["replay", "--stats", str(timed)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gen_ai.client.operation.chunks"] > 5
    failed = path("responses", "vercel-ai__error-insufficient-quota-then-failed")
    assert main(["replay", "--partial", str(failed)]) == 1
    captured = capsys.readouterr()
    assert "UpstreamError" in captured.err
    assert json.loads(captured.out)["status"] == "failed"


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.tuples(texts, st.booleans()), max_size=5),
    call=st.booleans(),
    size=st.integers(1, 9),
)
def test_property_gemini_synthesize_round_trips(
    texts: list[tuple[str, bool]], call: bool, size: int
) -> None:
    """Text parts (alternating thought flags, so the fold keeps them apart), signatures and a
    function call stream and fold back to the same response at any piece size."""
    parts: list[dict[str, Any]] = []
    for n, (text, signed) in enumerate(texts):
        part: dict[str, Any] = {"text": text}
        if n % 2:
            part["thought"] = True
        if signed:
            part["thoughtSignature"] = f"sig{n}"
        parts.append(part)
    if call:
        parts.append({"functionCall": {"name": "f", "args": {"a": 1}}})
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
    response = gemini.from_dict(
        {"candidates": [candidate], "usageMetadata": {"totalTokenCount": 4}}
    )
    assert gemini.replay(synthesize(response, chunk_size=size)) == response


@settings(max_examples=60, deadline=None)
@given(
    thinking=st.one_of(st.none(), texts),
    content=texts,
    calls=st.integers(0, 3),
    size=st.integers(1, 9),
    chat=st.booleans(),
)
def test_property_ollama_synthesize_round_trips(
    thinking: str | None, content: str, calls: int, size: int, chat: bool
) -> None:
    """Any chat or generate answer (thinking, text, whole tool calls) streams as JSON lines and
    folds back to itself, split anywhere."""
    final = {"model": "m", "created_at": "t", "done": True, "done_reason": "stop", "eval_count": 3}
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking is not None:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = [
                {"function": {"name": f"f{n}", "arguments": {}}} for n in range(calls)
            ]
        data = {**final, "message": message}
    else:
        data = {**final, "response": content}
        if thinking is not None:
            data["thinking"] = thinking
    response = ollama.from_dict(data)
    raw = synthesize(response, chunk_size=size)
    assert ollama.replay(raw) == response
    assert ollama.replay([raw[: len(raw) // 3], raw[len(raw) // 3 :]]) == response


@settings(max_examples=60, deadline=None)
@given(choices=st.lists(texts, min_size=1, max_size=3), size=st.integers(1, 9))
def test_property_completions_synthesize_round_trips(choices: list[str], size: int) -> None:
    """Any completion (n choices, logprob arrays, usage) streams and folds back to itself."""
    entries = []
    for n, text in enumerate(choices):
        tokens = list(text)
        logprobs = {
            "tokens": tokens,
            "token_logprobs": [-0.1] * len(tokens),
            "top_logprobs": [{t: -0.1} for t in tokens],
            "text_offset": list(range(len(tokens))),
        }
        entries.append({"text": text, "index": n, "logprobs": logprobs, "finish_reason": "length"})
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    completion = completions.from_dict(
        {
            "id": "c",
            "object": "text_completion",
            "created": 1,
            "model": "m",
            "choices": entries,
            "usage": usage,
        }
    )
    assert completions.replay(synthesize(completion, chunk_size=size)) == completion


def test_chat_replay_of_another_dialect_says_so() -> None:
    """``streamagg.replay`` of another API's stream fails with a message that points to
    ``streamagg.detect_dialect``, which names the dialect."""
    with pytest.raises(streamagg.IncompleteStreamError, match="detect_dialect"):
        streamagg.replay(MESSAGE)
    with pytest.raises(streamagg.IncompleteStreamError, match="detect_dialect"):
        streamagg.replay(GEMINI)
    assert streamagg.detect_dialect(MESSAGE.read_bytes()) == "anthropic"
