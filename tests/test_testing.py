"""``streamagg.testing``: the replay transport, the recording transport and the cassette, with
chat completions and with the other dialects (``synthesize`` has its own module)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import streamagg
from streamagg import anthropic, responses
from streamagg.testing import (
    RecordingMissingError,
    RecordingTransport,
    ReplayTransport,
    StreamCassette,
    record,
    synthesize,
)
from streamagg.testing._format import timed_segments

from .dialects import MESSAGE, REASONING, TEXT, TOOL_MESSAGE
from .helpers import PAYLOAD, STREAMS

PLAIN = STREAMS / "openai-python__plain-content.sse"
TOOLS = STREAMS / "openai-python__parallel-tool-calls.sse"


def fold_sync(transport: httpx.BaseTransport, payload: dict[str, Any] = PAYLOAD) -> Any:
    with (
        httpx.Client(transport=transport) as client,
        streamagg.chat(client, "http://api.test/v1", payload) as s,
    ):
        return s.finish()


def fold_async(transport: httpx.AsyncBaseTransport, payload: dict[str, Any] = PAYLOAD) -> Any:
    async def main() -> Any:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            streamagg.achat(client, "http://api.test/v1", payload) as s,
        ):
            return await s.finish()

    return anyio.run(main)


# -- ReplayTransport -------------------------------------------------------------------------


@pytest.mark.parametrize("fold", [fold_sync, fold_async])
def test_replay_transport_one_recording_for_every_request(fold: Any) -> None:
    """One recording answers every request, sync and async, and requests are kept."""
    transport = ReplayTransport(PLAIN)
    assert fold(transport) == streamagg.replay(PLAIN)
    assert fold(transport) == streamagg.replay(PLAIN)
    assert len(transport.requests) == 2
    assert json.loads(transport.requests[0].content)["stream"] is True
    assert transport.requests[0].url.path == "/v1/chat/completions"


def test_replay_transport_sends_event_by_event() -> None:
    """The body of a streaming call arrives in pieces, one event each, byte-exact when
    joined."""
    with (
        httpx.Client(transport=ReplayTransport(PLAIN.read_bytes())) as client,
        client.stream("POST", "http://t/v1/chat/completions", json={"stream": True}) as response,
    ):
        pieces = list(response.iter_raw())
    assert b"".join(pieces) == PLAIN.read_bytes()
    assert len(pieces) == PLAIN.read_bytes().count(b"\n\n")
    assert all(p.endswith(b"\n\n") for p in pieces)


def test_replay_transport_recordings_in_turn_then_a_test_error() -> None:
    """A list is served in turn; past its end the request is a test error naming it and the
    recordings (never a fake HTTP 404 that app code could handle)."""
    transport = ReplayTransport([PLAIN, TOOLS])
    assert fold_sync(transport) == streamagg.replay(PLAIN)
    assert fold_sync(transport) == streamagg.replay(TOOLS)
    request = r"POST http://api.test/v1/chat/completions \(model 'gpt-4o'\)"
    used = r"it is request 3; the 2 recordings .*plain-content.* were used"
    with pytest.raises(RecordingMissingError, match=f"{request}: {used}"):
        fold_sync(transport)
    with pytest.raises(RecordingMissingError, match="were used"):
        fold_async(transport)


def test_replay_transport_mapping_by_model_method_path_or_path() -> None:
    """A mapping is looked up by the body's model, then "METHOD /path", then "/path"; a request
    that matches no key is a test error listing the keys."""
    transport = ReplayTransport(
        {"m-tools": TOOLS, "POST /v1/chat/completions": PLAIN, "/other": TOOLS}
    )
    assert fold_sync(transport, {"model": "m-tools"}) == streamagg.replay(TOOLS)
    assert fold_sync(transport, {"model": "x"}) == streamagg.replay(PLAIN)
    with httpx.Client(transport=transport) as client:
        assert client.get("http://t/other").status_code == 200
        with pytest.raises(
            RecordingMissingError, match=r"POST http://t/nothing: no key .*'/other'"
        ):
            client.post("http://t/nothing", content=b"not json")
        with pytest.raises(RecordingMissingError, match="m-tools"):
            client.post("http://t/nothing", json=[1])


def test_replay_transport_callable_and_missing_files(tmp_path: Path) -> None:
    """A callable picks the recording; None or a missing file is a test error saying why."""

    def choose(request: httpx.Request) -> Any:
        return {"a": PLAIN, "gone": tmp_path / "gone.sse"}.get(request.url.params.get("r", ""))

    with httpx.Client(transport=ReplayTransport(choose)) as client:
        assert client.post("http://t/?r=a").status_code == 200
        with pytest.raises(RecordingMissingError, match=r"cannot read .*gone.sse.*No such file"):
            client.post("http://t/?r=gone")
        with pytest.raises(RecordingMissingError, match="callable returned None"):
            client.post("http://t/?r=zzz")


def test_replay_transport_json_recording_is_a_plain_completion() -> None:
    """A recording holding one JSON object is served as ``application/json``."""
    body = json.dumps(streamagg.to_dict(streamagg.replay(TOOLS))).encode()
    transport = ReplayTransport(body)
    with httpx.Client(transport=transport) as client:
        assert client.post("http://t/").headers["content-type"] == "application/json"
    assert fold_sync(transport) == streamagg.replay(TOOLS)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sleeps the replay transport asks for (sync and async), instead of sleeping."""
    waits: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return waits


@pytest.mark.parametrize("fold", [fold_sync, fold_async])
def test_replay_transport_recorded_timing_or_fixed_delay(fold: Any, sleeps: list[float]) -> None:
    """``timing=True`` waits the recorded gaps; ``delay`` waits between events; default none."""
    recording = synthesize(streamagg.replay(PLAIN), interval=0.25, chunk_size=50)
    events = len(timed_segments(recording))
    fold(ReplayTransport(recording))
    assert sleeps == []
    fold(ReplayTransport(recording, timing=True))
    assert sleeps == [0.25] * events
    sleeps.clear()
    fold(ReplayTransport(PLAIN, delay=0.01))
    assert sleeps == [0.01] * (PLAIN.read_bytes().count(b"\n\n") - 1)


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


# -- RecordingTransport ----------------------------------------------------------------------


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_recording_replays_identically(twin: str, server: str, tmp_path: Path) -> None:
    """A recording made from a real server keeps the exact bytes, with increasing event times,
    and replays to the same response."""
    original = TOOLS.read_bytes()
    target = tmp_path / "rec.sse"
    url = f"{server}/openai-python__parallel-tool-calls?piece=50&pause=0.002"
    if twin == "sync":
        with (
            httpx.Client(transport=record(target)) as client,
            streamagg.chat(client, url, PAYLOAD) as s,
        ):
            live = s.finish()
    else:

        async def main() -> Any:
            async with (
                httpx.AsyncClient(transport=record(target)) as client,
                streamagg.achat(client, url, PAYLOAD) as s,
            ):
                return await s.finish()

        live = anyio.run(main)
    recording = target.read_bytes()
    pieces = timed_segments(recording)
    assert b"".join(p for _, p in pieces) == original
    times = [t for t, _ in pieces if t is not None]
    assert len(times) == len(pieces)
    assert times == sorted(times)
    assert len(pieces) == original.count(b"\n\n")
    assert streamagg.replay(target) == streamagg.replay(original) == live


def test_recording_error_answers_and_callable_targets(tmp_path: Path) -> None:
    """Error answers are recorded too (as answers); a callable names each recording."""

    def upstream(request: httpx.Request) -> httpx.Response:
        if b"nope" in request.content:
            return httpx.Response(404, json={"error": {"message": "no such model"}})
        answer: httpx.Response = ReplayTransport(PLAIN).handle_request(request)
        return answer

    transport = RecordingTransport(
        lambda request, n: tmp_path / f"{n}.sse", httpx.MockTransport(upstream)
    )
    with httpx.Client(transport=transport) as client:
        assert client.post("http://t/", json={"model": "nope"}).status_code == 404
        client.post("http://t/", json={"model": "ok"}).read()
    assert transport.recorded == [tmp_path / "0.sse", tmp_path / "1.sse"]
    assert (tmp_path / "0.sse").read_bytes().startswith(b": http-status: 404\n")
    assert timed_segments((tmp_path / "1.sse").read_bytes())[-1][1] == b"data: [DONE]\n\n"


def test_recording_keeps_an_unfinished_tail(tmp_path: Path) -> None:
    """Bytes after the last blank line (an unfinished event) are recorded too."""
    upstream = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=b"data: 1\n\ndata: [DONE]\n",
        )
    )
    with httpx.Client(transport=RecordingTransport(tmp_path / "r.sse", upstream)) as client:
        response = client.post("http://t/")
        response.close()
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream.close()  # closing twice writes once
    assert b"".join(p for _, p in timed_segments((tmp_path / "r.sse").read_bytes())) == (
        b"data: 1\n\ndata: [DONE]\n"
    )


def test_recording_transport_needs_the_matching_inner_transport(tmp_path: Path) -> None:
    """A sync inner transport cannot serve an async client, and the reverse."""
    wrong = RecordingTransport(tmp_path / "x", httpx.AsyncHTTPTransport())
    with httpx.Client(transport=wrong) as c, pytest.raises(TypeError, match="sync inner"):
        c.get("http://t/")

    async def main(inner: Any) -> None:
        async with httpx.AsyncClient(transport=RecordingTransport(tmp_path / "x", inner)) as c:
            await c.get("http://t/")

    anyio.run(main, ReplayTransport(PLAIN))  # ReplayTransport is both: fine
    with pytest.raises(TypeError, match="async inner"):
        anyio.run(main, httpx.HTTPTransport())


# -- StreamCassette --------------------------------------------------------------------------


def test_cassette_replays_then_fails_clearly_when_missing(tmp_path: Path) -> None:
    """Existing recordings replay in order; a missing one names the file and the option."""
    (tmp_path / "t.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "t.1.sse").write_bytes(TOOLS.read_bytes())
    cassette = StreamCassette(tmp_path, "t")
    assert fold_sync(cassette) == streamagg.replay(PLAIN)
    assert fold_sync(cassette) == streamagg.replay(TOOLS)
    with pytest.raises(RecordingMissingError, match=r"t\.2\.sse.*--streamagg-record=missing"):
        fold_sync(cassette)
    assert len(cassette.requests) == 3
    with pytest.raises(ValueError, match="mode"):
        StreamCassette(tmp_path, "t", mode="sometimes")


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_cassette_records_missing_then_replays(twin: str, tmp_path: Path) -> None:
    """Mode "missing" records what is absent from the live service; later runs replay it."""
    live = ReplayTransport(TOOLS)
    cassette = StreamCassette(tmp_path, "case", mode="missing", live=live)
    fold = fold_sync if twin == "sync" else fold_async
    assert fold(cassette) == streamagg.replay(TOOLS)
    assert cassette.recorded == [tmp_path / "case.sse"]
    assert len(live.requests) == 1
    again = StreamCassette(tmp_path, "case")
    assert fold(again) == streamagg.replay(TOOLS)
    assert len(live.requests) == 1  # replayed, the live service was not asked


def test_cassette_mode_all_records_again(tmp_path: Path) -> None:
    """Mode "all" replaces existing recordings."""
    (tmp_path / "case.sse").write_bytes(PLAIN.read_bytes())
    cassette = StreamCassette(tmp_path, "case", mode="all", live=ReplayTransport(TOOLS))
    with cassette.client() as client, streamagg.chat(client, "http://t", PAYLOAD) as s:
        assert s.finish() == streamagg.replay(TOOLS)
    assert streamagg.replay(tmp_path / "case.sse") == streamagg.replay(TOOLS)


def test_cassette_async_client_helper(tmp_path: Path) -> None:
    """``async_client()`` gives an AsyncClient on the cassette."""
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    cassette = StreamCassette(tmp_path, "a", timing=True)

    async def main() -> Any:
        async with cassette.async_client() as client, streamagg.achat(client, "http://t", {}) as s:
            return await s.finish()

    assert anyio.run(main) == streamagg.replay(PLAIN)


def test_cassette_missing_recording_names_the_request_and_the_recordings(tmp_path: Path) -> None:
    """A request past the test's recordings is a test error naming the request, its number and
    the recordings the test has."""
    (tmp_path / "t.sse").write_bytes(PLAIN.read_bytes())
    cassette = StreamCassette(tmp_path, "t")
    assert fold_sync(cassette) == streamagg.replay(PLAIN)
    with pytest.raises(
        RecordingMissingError,
        match=r"model 'gpt-4o'\) \(request 2 of the test; its recordings: \['t.sse'\]\)",
    ):
        fold_sync(cassette)


def test_record_targets_a_file_once_or_a_folder_per_request(tmp_path: Path) -> None:
    """``record("x.sse")`` holds one recording (a second raises ``FileExistsError`` instead of
    overwriting it); ``record("dir/")`` writes one file per request."""
    single = tmp_path / "x.sse"
    with httpx.Client(transport=record(single, ReplayTransport(PLAIN))) as client:
        client.post("http://t/").read()
        with pytest.raises(FileExistsError, match="already holds"):
            client.post("http://t/")
    assert streamagg.replay(single) == streamagg.replay(PLAIN)
    folder = record(f"{tmp_path / 'many'}/", ReplayTransport([PLAIN, TOOLS]))
    with httpx.Client(transport=folder) as client:
        client.post("http://t/").read()
        client.post("http://t/").read()
    assert [p.name for p in folder.recorded] == ["000.sse", "001.sse"]
    assert streamagg.replay(folder.recorded[1]) == streamagg.replay(TOOLS)


def test_error_answers_are_recorded_readably_and_replay_exactly(tmp_path: Path) -> None:
    """A non-2xx answer is recorded as its status, the headers that matter (never credentials
    or cookies) and its body, in a readable file; ``ReplayTransport`` answers with it, so the
    app's error path (``HTTPStatusError``, ``retry-after``) is testable, sync and async."""
    body = b'{"error": {"message": "Rate limit reached", "type": "requests"}}'

    def upstream(request: httpx.Request) -> httpx.Response:
        headers = {
            "content-type": "application/json",
            "retry-after": "2",
            "x-ratelimit-remaining-requests": "0",
            "set-cookie": "session=secret",
            "authorization": "Bearer leaked",
        }
        return httpx.Response(429, headers=headers, content=body)

    target = tmp_path / "limited.sse"
    recorder = RecordingTransport(target, httpx.MockTransport(upstream))
    with pytest.raises(streamagg.HTTPStatusError) as live:
        fold_sync(recorder)
    assert live.value.response.status_code == 429
    text = target.read_text()
    assert text.startswith(": http-status: 429\n: http-header: content-type: application/json\n")
    assert ": http-header: retry-after: 2\n" in text
    assert "x-ratelimit-remaining-requests: 0" in text
    assert "secret" not in text
    assert "leaked" not in text
    assert text.endswith("\n\n" + body.decode())
    for fold in (fold_sync, fold_async):
        with pytest.raises(streamagg.HTTPStatusError, match="Rate limit reached") as replayed:
            fold(ReplayTransport(target))
        assert replayed.value.response.status_code == 429
        assert replayed.value.response.headers["retry-after"] == "2"
        assert replayed.value.error == {"message": "Rate limit reached", "type": "requests"}


def test_cassette_records_and_replays_an_error_answer(tmp_path: Path) -> None:
    """A cassette records an error answer from the live service and replays it: the 401 path
    of the app is testable offline."""
    live = httpx.MockTransport(
        lambda request: httpx.Response(401, json={"error": {"message": "bad key"}})
    )
    for cassette in (
        StreamCassette(tmp_path, "auth", mode="missing", live=live),
        StreamCassette(tmp_path, "auth"),
    ):
        with pytest.raises(streamagg.HTTPStatusError, match="bad key") as info:
            fold_sync(cassette)
        assert info.value.response.status_code == 401
    assert (tmp_path / "auth.sse").read_bytes().startswith(b": http-status: 401\n")


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


def test_a_request_identity_keeps_no_credentials() -> None:
    """What identifies a request never holds a credential: no headers, and keys in the URL's
    query are dropped; the body is canonical (sorted, volatile keys removed)."""
    from streamagg.testing._matching import identity

    request = httpx.Request(
        "POST",
        "https://g.test/v1beta/models/m:streamGenerateContent?alt=sse&key=SECRET",
        headers={"Authorization": "Bearer SECRET", "x-api-key": "SECRET"},
        json={"user": "u-42", "contents": [], "b": 1, "a": 2},
    )
    kept = identity(request)
    assert "SECRET" not in json.dumps(kept)
    assert kept["path"] == "/v1beta/models/m:streamGenerateContent?alt=sse"
    assert kept["body"] == {"a": 2, "b": 1, "contents": []}
    again = identity(httpx.Request("POST", request.url, json={"a": 2, "b": 1, "contents": []}))
    assert again["digest"] == kept["digest"]
