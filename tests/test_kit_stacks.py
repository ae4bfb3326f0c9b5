"""The test kit on both HTTP stacks (httpx2, and httpx when it is installed): the replay and
recording transports and the cassette answer each client with its own stack's classes; a replay
answers what the request asks for; a recording is replayed in bounded memory; files are never
replaced silently; the kit's errors are test errors at public paths."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
import streamagg.testing
from streamagg import anthropic, completions, gemini, ollama, responses
from streamagg.testing import (
    DEFAULT_SECRET_NAMES,
    DEFAULT_VOLATILE_KEYS,
    NetworkForbiddenError,
    RecordingMismatchError,
    RecordingMissingError,
    RecordingTransport,
    ReplayTransport,
    StreamCassette,
    record,
    synthesize,
)
from streamagg.testing._format import ReplaySegments, replay_segments, timed_segments
from streamagg.testing._replay_transport import asks_for_stream

from .dialects import COMPLETION, GEMINI, MESSAGE, OLLAMA, TEXT
from .helpers import STREAMS

PLAIN = STREAMS / "openai-python__plain-content.sse"
TOOLS = STREAMS / "openai-python__parallel-tool-calls.sse"
CHAT_URL = "http://api.test/v1/chat/completions"


@pytest.fixture(params=["httpx2", "httpx"])
def stack(request: pytest.FixtureRequest) -> ModuleType:
    """Each HTTP stack (httpx is skipped when it is not installed)."""
    module: ModuleType = pytest.importorskip(request.param)
    return module


def post(stack: ModuleType, transport: Any, url: str = CHAT_URL, **kwargs: Any) -> Any:
    """A sync POST through a client of ``stack``, body read."""
    with stack.Client(transport=transport) as client:
        return client.post(url, **kwargs)


def apost(stack: ModuleType, transport: Any, url: str = CHAT_URL, **kwargs: Any) -> Any:
    """The same, through the stack's async client."""

    async def main() -> Any:
        async with stack.AsyncClient(transport=transport) as client:
            return await client.post(url, **kwargs)

    return anyio.run(main)


# -- ReplayTransport on each stack -----------------------------------------------------------


@pytest.mark.parametrize("send", [post, apost])
def test_replay_answers_each_stack_with_its_own_response(stack: ModuleType, send: Any) -> None:
    """A client of either stack, sync or async, gets a response of its own stack with the
    recording's bytes; the transport is a transport of httpx2 (what an httpx2 client and the
    SDKs take)."""
    transport = ReplayTransport(PLAIN)
    assert isinstance(transport, httpx2.BaseTransport)
    assert isinstance(transport, httpx2.AsyncBaseTransport)
    response = send(stack, transport, json={"stream": True})
    assert isinstance(response, stack.Response)
    assert response.content == PLAIN.read_bytes()
    assert response.headers["content-type"] == "text/event-stream"
    assert isinstance(transport.requests[0], stack.Request)


def test_a_cut_raises_the_stacks_remote_protocol_error(stack: ModuleType) -> None:
    """A fault's dropped connection is the stack's own ``RemoteProtocolError``."""
    transport = ReplayTransport(PLAIN, faults="cut-after-event=2")
    with pytest.raises(stack.RemoteProtocolError, match="injected fault"):
        post(stack, transport, json={"stream": True})

    with pytest.raises(stack.RemoteProtocolError, match="injected fault"):
        apost(stack, transport, json={"stream": True})


def test_a_stall_past_the_read_timeout_raises_the_stacks_read_timeout(stack: ModuleType) -> None:
    """A replayed stall longer than the client's read timeout is the stack's ``ReadTimeout``
    (what an SDK retries or reports as a timeout), sync and async."""
    transport = ReplayTransport(PLAIN, faults="stall=30,stall-after-event=1")
    with pytest.raises(stack.ReadTimeout, match="read timeout"):
        post(stack, transport, json={"stream": True}, timeout=0.01)
    with pytest.raises(stack.ReadTimeout, match="read timeout"):
        apost(stack, transport, json={"stream": True}, timeout=0.01)


# -- A replay answers what the request asks for ----------------------------------------------

# (the recording, the object it folds to, the path of a call, a body that asks for a stream)
_DIALECTS: dict[str, tuple[Path, Callable[[Any], Any], str, dict[str, Any]]] = {
    "chat": (PLAIN, streamagg.replay, "/v1/chat/completions", {"stream": True}),
    "responses": (TEXT, responses.replay, "/v1/responses", {"stream": True}),
    "anthropic": (MESSAGE, anthropic.replay, "/v1/messages", {"stream": True}),
    "completions": (COMPLETION, completions.replay, "/v1/completions", {"stream": True}),
    "ollama": (OLLAMA, ollama.replay, "/api/chat", {}),  # Ollama streams by default
}


@pytest.mark.parametrize("dialect", sorted(_DIALECTS))
def test_a_whole_call_on_a_recorded_stream_gets_the_folded_json(
    dialect: str, stack: ModuleType
) -> None:
    """A call that does not ask for a stream gets the JSON a non-streaming call returns: the
    object the recorded stream folds to (an SDK's ``create()`` without ``stream=True`` returns
    its object, not a string of events)."""
    recording, replay, path, _ = _DIALECTS[dialect]
    body = {"model": "m", "stream": False} if dialect == "ollama" else {"model": "m"}
    response = post(stack, ReplayTransport(recording), "http://api.test" + path, json=body)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == streamagg.to_dict(replay(recording))


def test_gemini_says_in_its_path_whether_it_streams(stack: ModuleType) -> None:
    """Gemini's ``:generateContent`` gets the folded JSON, ``:streamGenerateContent`` the
    recorded stream."""
    transport = ReplayTransport(GEMINI)
    url = "http://g.test/v1beta/models/gemini-2.5-flash"
    whole = post(stack, transport, f"{url}:generateContent", json={})
    assert whole.json() == streamagg.to_dict(gemini.replay(GEMINI))
    streamed = post(stack, transport, f"{url}:streamGenerateContent?alt=sse", json={})
    assert streamed.content == GEMINI.read_bytes()


@pytest.mark.parametrize("dialect", sorted(_DIALECTS))
def test_a_streaming_call_on_a_recorded_json_answer_gets_a_stream(
    dialect: str, stack: ModuleType
) -> None:
    """A call that asks for a stream, answered by a recorded JSON answer, gets the stream that
    folds to it, in the dialect's own events (never the JSON, which a streaming client reads
    as no events at all)."""
    recording, replay, path, asks = _DIALECTS[dialect]
    expected = replay(recording)
    whole = json.dumps(streamagg.to_dict(expected)).encode()
    response = post(stack, ReplayTransport(whole), "http://api.test" + path, json=asks)
    assert response.headers["content-type"] != "application/json"
    assert replay(response.content) == expected
    assert response.content == synthesize(expected)


def test_a_stream_made_for_a_call_without_usage_has_no_usage_chunk(stack: ModuleType) -> None:
    """``stream_options.include_usage: false`` gets a made stream without the usage chunk."""
    whole = json.dumps(streamagg.to_dict(streamagg.replay(PLAIN))).encode()
    options = {"stream": True, "stream_options": {"include_usage": False}}
    response = post(stack, ReplayTransport(whole), json=options)
    assert b'"usage"' not in response.content
    assert streamagg.replay(response.content).usage is None


def test_a_call_that_says_nothing_gets_the_recording_as_it_is(stack: ModuleType) -> None:
    """A request to no known API's route, without ``stream`` in its body, gets the recording
    as it is, stream or JSON."""
    assert post(stack, ReplayTransport(PLAIN), "http://t/").content == PLAIN.read_bytes()
    whole = b'{"id": "x", "choices": []}'
    assert post(stack, ReplayTransport(whole), "http://t/", content=b"?").content == whole


def test_a_recording_that_cannot_give_what_was_asked_is_a_clear_error(stack: ModuleType) -> None:
    """A recorded stream that does not fold, asked for whole, and a JSON body of no object,
    asked as a stream, are test errors saying so (never a silent empty answer)."""
    cut = b'data: {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
    with pytest.raises(
        RecordingMissingError,
        match=r"asks for a whole \(non-streaming\) answer, and <\d+ bytes> is a stream that "
        r"does not fold into an answer \(IncompleteStreamError",
    ):
        post(stack, ReplayTransport(cut), json={"model": "m"})
    error = b'{"error": {"message": "overloaded"}}'
    with pytest.raises(
        RecordingMissingError, match=r"asks for a stream, .* no stream can be made of"
    ):
        post(stack, ReplayTransport(error), json={"stream": True})


def test_a_recorded_error_answer_answers_every_call(stack: ModuleType) -> None:
    """A recorded 429 answers a streaming and a whole call alike, as recorded."""
    recording = b': http-status: 429\n: http-header: retry-after: 2\n\n{"error": {}}'
    for body in ({"stream": True}, {}):
        response = post(stack, ReplayTransport(recording), json=body)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"


@pytest.mark.parametrize(
    ("url", "body", "asks"),
    [
        ("http://t/v1/chat/completions", {"stream": True}, True),
        ("http://t/v1/chat/completions", {}, False),
        ("http://t/proxy/openai/chat/completions", {"stream": False}, False),
        ("http://t/v1/completions", {}, False),
        ("http://t/v1/messages", {"stream": True}, True),
        ("http://t/api/generate", {}, True),
        ("http://t/api/chat", {"stream": False}, False),
        ("http://t/v1beta/models/m:streamGenerateContent", {"stream": False}, True),
        ("http://t/v1beta/models/m:generateContent", {"stream": True}, False),
        ("http://t/anything", {"stream": True}, True),
        ("http://t/anything", {"stream": "yes"}, None),
        ("http://t/anything", {}, None),
    ],
)
def test_whether_a_request_asks_for_a_stream(url: str, body: Any, asks: bool | None) -> None:
    """Gemini's path says it; else the body's ``stream``; else the route's default; else
    nothing (None)."""
    assert asks_for_stream(httpx2.Request("POST", url, json=body)) is asks


# -- Bounded memory --------------------------------------------------------------------------


def test_a_large_recording_is_replayed_in_bounded_memory(tmp_path: Path) -> None:
    """A 24 MiB recording (as ``RecordingTransport`` writes them: small timed events, then
    one 8 MiB event) is replayed holding a few pieces of it, never the file: the peak stays
    under 4 MiB, and every byte but the timing lines arrives."""
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "' + b"x" * 900 + b'"}}]}\n\n'
    path = tmp_path / "large.sse"
    size = 0
    with path.open("wb") as f:
        for n in range(16 * 1024):
            f.write(b": t=%.3f\n" % (n / 1000) + event)
            size += len(event)
        f.write(b": t=20.000\ndata: " + b"y" * (8 << 20) + b"\n\n")
        size += len(b"data: \n\n") + (8 << 20)
    transport = ReplayTransport(path)
    with httpx2.Client(transport=transport) as client:
        tracemalloc.start()
        try:
            received = 0
            with client.stream("POST", CHAT_URL, json={"stream": True}) as response:
                for piece in response.iter_raw():
                    received += len(piece)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert received == size
    assert peak < 4 << 20, f"peak {peak} bytes replaying {size}"


_events = st.lists(
    st.tuples(
        st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        st.sampled_from([b"data: {}\n\n", b": c\n\n", b"data: a\r\n\r\n", b"id: 1\ndata: b\n\n"]),
    ),
    max_size=12,
)


@given(
    _events, st.lists(st.integers(1, 40), min_size=1, max_size=20), st.sampled_from([7, 1 << 20])
)
def test_property_replay_segments_split_anywhere(
    events: list[tuple[float | None, bytes]], cuts: list[int], limit: int
) -> None:
    """A recording read in pieces of any sizes is cut as when read whole; joined, the pieces
    are the recording without its timing lines; within the limit, the pieces and times are
    ``timed_segments``'; past it, no piece is longer than the limit."""
    recording = b"".join((b"" if t is None else b": t=%.3f\n" % t) + e for t, e in events)
    whole = ReplaySegments(limit=limit)
    expected = whole.feed(recording) + whole.close()
    split = ReplaySegments(limit=limit)
    got: list[tuple[float | None, bytes]] = []
    start = 0
    for size in cuts * (len(recording) // max(sum(cuts), 1) + 1):
        got += split.feed(recording[start : start + size])
        start += size
    got += split.close()
    assert got == expected
    assert b"".join(p for _, p in got) == b"".join(p for _, p in timed_segments(recording))
    if limit > len(recording):
        assert got == timed_segments(recording) == replay_segments(recording)
    assert all(len(p) <= limit for _, p in got)


def test_an_event_past_the_limit_goes_out_in_pieces_with_its_time_first() -> None:
    """An event longer than the limit is sent in pieces of the limit, the first with the
    event's time."""
    segments = ReplaySegments(limit=4)
    pieces = segments.feed(b": t=0.5\ndata: abcdef\n\n") + segments.close()
    assert pieces == [(0.5, b"data"), (None, b": ab"), (None, b"cdef"), (None, b"\n\n")]


def test_json_lines_are_replayed_line_by_line_as_read() -> None:
    """JSON lines go out one line at a time, across reads."""
    segments = ReplaySegments(ndjson=True)
    pieces = segments.feed(b'{"a": 1}\n{"b"') + segments.feed(b": 2}\n") + segments.close()
    assert pieces == [(None, b'{"a": 1}\n'), (None, b'{"b": 2}\n')]


# -- RecordingTransport on each stack --------------------------------------------------------


@pytest.mark.parametrize("send", [post, apost])
def test_recording_on_each_stack(stack: ModuleType, send: Any, tmp_path: Path) -> None:
    """A client of either stack records through the transport, sync and async: the recording
    holds the bytes the app read, and replays to the same object."""
    target = tmp_path / "r.sse"
    response = send(stack, record(target, ReplayTransport(TOOLS)), json={"stream": True})
    assert isinstance(response, stack.Response)
    assert response.content == TOOLS.read_bytes()
    recorded = target.read_bytes()
    assert b"".join(p for _, p in timed_segments(recorded)) == TOOLS.read_bytes()
    assert streamagg.replay(target) == streamagg.replay(TOOLS)


def test_recording_from_a_real_server_with_the_stacks_own_transport(
    stack: ModuleType, server: str, tmp_path: Path
) -> None:
    """Without an inner transport, the request's stack's own ``HTTPTransport`` goes to the
    live server."""
    target = tmp_path / "live.sse"
    response = post(stack, record(target), f"{server}/openai-python__plain-content")
    assert response.content == PLAIN.read_bytes()
    assert b": t=" in target.read_bytes()
    assert streamagg.replay(target) == streamagg.replay(PLAIN)


def test_an_error_answer_is_recorded_on_each_stack(stack: ModuleType, tmp_path: Path) -> None:
    """A 401 from the stack's ``MockTransport`` is recorded and replayed as it was."""
    live = stack.MockTransport(lambda request: stack.Response(401, json={"error": "bad key"}))
    target = tmp_path / "401.sse"
    assert post(stack, record(target, live), json={}).status_code == 401
    replayed = post(stack, ReplayTransport(target), json={})
    assert (replayed.status_code, replayed.json()) == (401, {"error": "bad key"})


def test_an_undecodable_coding_is_the_stacks_decoding_error(
    stack: ModuleType, tmp_path: Path
) -> None:
    """A body in a coding no recording can undo is refused with the stack's
    ``DecodingError``."""
    live = stack.MockTransport(
        lambda request: stack.Response(
            200,
            headers={"content-type": "text/event-stream", "content-encoding": "br"},
            content=b"\x00",
        )
    )
    with pytest.raises(stack.DecodingError, match="content-encoding br"):
        post(stack, record(tmp_path / "x.sse", live))


def test_a_recording_never_replaces_a_file_unless_asked(stack: ModuleType, tmp_path: Path) -> None:
    """A file that is there is never replaced (``FileExistsError`` naming it, the file kept);
    ``overwrite=True`` replaces it. One rule for every target."""
    target = tmp_path / "kept.sse"
    target.write_bytes(b"data: precious\n\n")
    with pytest.raises(FileExistsError, match=r"kept\.sse exists: a recording never replaces"):
        post(stack, record(target, ReplayTransport(PLAIN)), json={"stream": True})
    assert target.read_bytes() == b"data: precious\n\n"
    by_callable = RecordingTransport(lambda request, n: target, ReplayTransport(PLAIN))
    with pytest.raises(FileExistsError, match="exists"):
        post(stack, by_callable, json={"stream": True})
    replacing = record(target, ReplayTransport(PLAIN), overwrite=True)
    post(stack, replacing, json={"stream": True})
    assert streamagg.replay(target) == streamagg.replay(PLAIN)


def test_an_inner_transport_must_serve_the_client(stack: ModuleType, tmp_path: Path) -> None:
    """An async inner transport cannot serve a sync client of the stack, and the reverse."""
    with pytest.raises(TypeError, match=f"a {stack.__name__}.Client needs a sync inner"):
        post(stack, record(tmp_path / "a", stack.AsyncHTTPTransport()))
    with pytest.raises(TypeError, match=f"a {stack.__name__}.AsyncClient needs an? async"):
        apost(stack, record(tmp_path / "b", stack.HTTPTransport()))


def test_closing_closes_the_inner_transports_of_each_kind(tmp_path: Path) -> None:
    """``close()`` closes the sync transports it made, ``aclose()`` the async ones; both are
    made again when needed."""
    transport = record(f"{tmp_path}/")
    with httpx2.Client(transport=transport) as client, pytest.raises(httpx2.ConnectError):
        client.post("http://127.0.0.1:9/")

    async def main() -> None:
        async with httpx2.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx2.ConnectError):
                await client.post("http://127.0.0.1:9/")

    anyio.run(main)
    anyio.run(main)  # made again after the close


# -- StreamCassette on each stack ------------------------------------------------------------


def test_the_cassette_client_is_of_the_stack_asked_for(tmp_path: Path) -> None:
    """``client()``/``async_client()`` are httpx2's by default (what the SDKs take), httpx's
    with ``stack="httpx"``; another name is refused."""
    cassette = StreamCassette(tmp_path, "t")
    assert isinstance(cassette.client(), httpx2.Client)
    assert isinstance(cassette.async_client(), httpx2.AsyncClient)
    httpx = pytest.importorskip("httpx")
    assert isinstance(cassette.client(stack="httpx"), httpx.Client)
    assert isinstance(cassette.async_client("httpx", timeout=3), httpx.AsyncClient)
    with pytest.raises(ValueError, match="unknown HTTP stack 'requests'"):
        cassette.client(stack="requests")


def test_the_cassette_records_then_replays_on_each_stack(
    stack: ModuleType, tmp_path: Path
) -> None:
    """A cassette records a streaming and a whole call from the live side, then replays both
    offline, on a client of the stack asked for, sync and async."""
    live = ReplayTransport(TOOLS)
    recording = StreamCassette(tmp_path, "case", mode="missing", live=live)
    with recording.client(stack=stack.__name__) as client:
        streamed = client.post(CHAT_URL, json={"model": "m", "stream": True}).content
        whole = client.post(CHAT_URL, json={"model": "m"}).json()
    assert [p.name for p in recording.recorded] == ["case.sse", "case.1.sse"]

    async def replay() -> tuple[bytes, Any]:
        cassette = StreamCassette(tmp_path, "case")
        async with cassette.async_client(stack=stack.__name__) as client:
            again = await client.post(CHAT_URL, json={"model": "m", "stream": True})
            assert isinstance(again, stack.Response)
            other = await client.post(CHAT_URL, json={"model": "m"})
            return again.content, other.json()

    assert anyio.run(replay) == (streamed, whole)
    assert len(live.requests) == 2
    assert whole == streamagg.to_dict(streamagg.replay(TOOLS))


def test_a_mismatched_recording_is_used_not_unused(tmp_path: Path) -> None:
    """A recording that a changed request came for is listed in ``used`` (not reported as a
    recording no request used), and the mismatch is a test error with a diff and the fix."""
    StreamCassette(tmp_path, "t", mode="missing", live=ReplayTransport(PLAIN)).client().post(
        CHAT_URL, json={"model": "gpt-4o"}
    )
    cassette = StreamCassette(tmp_path, "t")
    with pytest.raises(RecordingMismatchError, match="--streamagg-record=missing") as info:
        cassette.client().post(CHAT_URL, json={"model": "gpt-5"})
    assert '-    "model": "gpt-4o"' in str(info.value)
    assert cassette.used == [tmp_path / "t.sse"]


def test_volatile_keys_add_to_the_defaults(tmp_path: Path) -> None:
    """A cassette's ``volatile_keys`` add to ``DEFAULT_VOLATILE_KEYS``: a request that differs
    in a default key and in an added one is the recorded request."""
    live = ReplayTransport(PLAIN)
    recording = StreamCassette(tmp_path, "v", mode="missing", live=live, volatile_keys=["seed"])
    recording.client().post(CHAT_URL, json={"model": "m", "user": "a", "seed": 1})
    cassette = StreamCassette(tmp_path, "v", volatile_keys=["seed"])
    assert cassette.volatile_keys == DEFAULT_VOLATILE_KEYS | {"seed"}
    answer = cassette.client().post(CHAT_URL, json={"model": "m", "user": "b", "seed": 2})
    assert answer.json() == streamagg.to_dict(streamagg.replay(PLAIN))


def test_the_kits_errors_are_test_errors_at_public_paths() -> None:
    """The errors are named by their public module, and are not ``Exception``s: an SDK's or an
    app's ``except Exception`` cannot swallow them; the defaults are public."""
    for error in (RecordingMissingError, RecordingMismatchError, NetworkForbiddenError):
        assert error.__module__ == "streamagg.testing"
        assert getattr(streamagg.testing, error.__name__) is error
        assert not issubclass(error, Exception)
    assert issubclass(RecordingMismatchError, RecordingMissingError)
    assert "user" in DEFAULT_VOLATILE_KEYS
    assert "apikey" in DEFAULT_SECRET_NAMES


def test_an_sdk_gets_a_missing_recording_at_once_without_retrying() -> None:
    """The anthropic SDK, which retries any ``Exception`` from its client as a connection
    error, lets a missing recording through at once: one request, the kit's error."""
    sdk = pytest.importorskip("anthropic")
    transport = ReplayTransport([])
    client = sdk.Anthropic(
        api_key="k", base_url="http://api.test", http_client=httpx2.Client(transport=transport)
    )
    with pytest.raises(RecordingMissingError, match="it is request 1"):
        client.messages.create(model="m", max_tokens=5, messages=[])
    assert len(transport.requests) == 1


def test_a_large_json_answer_is_read_until_it_tells_what_it_is(stack: ModuleType) -> None:
    """A JSON answer whose first line is longer than a read is still a JSON answer: served as
    recorded to a whole call, made a stream for a streaming one."""
    expected = streamagg.replay(TOOLS)
    answer = streamagg.to_dict(expected)
    answer["padding"] = "x" * 200_000  # an extension: kept, and the line outgrows a read
    whole = json.dumps(answer).encode()
    transport = ReplayTransport(whole)
    response = post(stack, transport, json={"model": "m"})
    assert (response.headers["content-type"], response.content) == ("application/json", whole)
    streamed = post(stack, transport, json={"model": "m", "stream": True})
    assert streamagg.replay(streamed.content).extensions["padding"] == "x" * 200_000


def test_a_recording_that_only_looks_like_an_error_answer_is_a_stream(stack: ModuleType) -> None:
    """A recording that starts like a recorded answer without a status is replayed as the
    event stream it is (its first lines are comments)."""
    recording = b": http-status: soon\n\n" + PLAIN.read_bytes()
    response = post(stack, ReplayTransport(recording), json={"stream": True})
    assert response.status_code == 200
    assert streamagg.replay(response.content) == streamagg.replay(PLAIN)


def test_the_installed_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stacks the plugin patches: httpx2, and httpx only when it is installed; one module
    once when ``httpx2.alias_httpx()`` made both names one."""
    from streamagg.testing import _stacks

    def without_httpx(name: str) -> ModuleType:
        if name == "httpx":
            raise ImportError(name)
        return httpx2

    monkeypatch.setattr(_stacks, "stack", without_httpx)
    assert _stacks.installed() == (httpx2,)
    monkeypatch.setattr(_stacks, "stack", lambda name: httpx2)
    assert _stacks.installed() == (httpx2,)


@pytest.mark.parametrize(
    ("recording", "sent"),
    [
        (b"data: 1\n\ndata: [DONE]", b"data: 1\n\ndata: [DONE]\n\n"),
        (b"data: 1\n\ndata: [DONE]\n", b"data: 1\n\ndata: [DONE]\n\n"),
        (b"data: 1\r\n\r\ndata: [DONE]\r\n", b"data: 1\r\n\r\ndata: [DONE]\r\n\r\n"),
        (b": t=0.1\ndata: 1\n\n: t=0.2\ndata: [DONE]", b"data: 1\n\ndata: [DONE]\n\n"),
        (b"data: 1\n\ndata: [DONE]\n\n", b"data: 1\n\ndata: [DONE]\n\n"),
        (b"data: 1\n\ndata: [DONE]\n\n\n", b"data: 1\n\ndata: [DONE]\n\n\n"),
    ],
)
def test_the_last_event_is_ended_when_the_recording_lacks_it(
    recording: bytes, sent: bytes
) -> None:
    """A recording that lacks the blank line after its last event is sent with it (an SDK's
    SSE parser drops an event that is not ended, where ``replay`` reads it); one that has it
    is sent as it is."""
    assert post(httpx2, ReplayTransport(recording), json={"stream": True}).content == sent


def test_the_sdk_sees_the_last_event_of_a_recording_without_its_blank_line() -> None:
    """The openai SDK reads every chunk of a recording that ends without a blank line: the
    last event (the usage chunk) is not dropped."""
    sdk = pytest.importorskip("openai")
    recording = TOOLS.read_bytes().removesuffix(b"\n\n").removesuffix(b"data: [DONE]")
    recording = recording.rstrip(b"\n")
    http = httpx2.Client(transport=ReplayTransport(recording))
    client = sdk.OpenAI(api_key="k", base_url="http://api.test/v1", http_client=http)
    chunks = list(client.chat.completions.create(model="m", messages=[], stream=True))
    assert streamagg.fold(chunks) == streamagg.replay(TOOLS)


@pytest.mark.parametrize(
    ("recording", "status", "error"),
    [
        (
            b'data: {"id": "c", "choices": []}\n\n'
            b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n',
            500,
            {"message": "overloaded", "type": "server_error"},
        ),
        (
            b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
            b'"message": "Overloaded"}}\n\n',
            529,
            {"type": "overloaded_error", "message": "Overloaded"},
        ),
    ],
)
def test_a_stream_ending_in_the_providers_error_answers_a_whole_call_with_it(
    stack: ModuleType, recording: bytes, status: int, error: dict[str, str]
) -> None:
    """A non-streaming call on a recorded stream that ended in the provider's error gets that
    error, with the status the provider gives it (as ``serve`` answers it)."""
    response = post(stack, ReplayTransport(recording), json={"model": "m"})
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_the_kit_and_its_plugin_import_no_httpx() -> None:
    """Importing the test kit and its pytest plugin (loaded before any application code)
    leaves httpx unimported: an application may still call ``httpx2.alias_httpx()``."""
    code = (
        "import sys, streamagg.testing, streamagg.testing._pytest_plugin\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "import httpx2\n"
        "httpx2.alias_httpx()\n"
        "import httpx\n"
        "assert httpx is httpx2\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
