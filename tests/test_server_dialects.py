"""``streamagg serve`` with every dialect (``streamagg.testing._server``, its routes from the
registry): each endpoint answers from its own dialect's recordings, streaming by default (Ollama's
line by line) or as the folded JSON; the openai and anthropic SDKs and the app helpers read what it
sends, and a recording of it is byte for byte what it served."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses
from streamagg.testing._server import RECORDING_HEADER, ReplayApp

from .dialects import COMPLETION, GEMINI, GENERATE, MESSAGE, OLLAMA, REASONING, TEXT, TOOL_MESSAGE
from .helpers import STREAMS, serving

CHAT = STREAMS / "openai-python__plain-content.sse"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A replay server over a folder of recordings of every dialect."""
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
