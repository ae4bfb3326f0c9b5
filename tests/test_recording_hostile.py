"""Recording and cassettes against hostile or unusual answers (issue 21): compressed streams,
compression bombs, endless error bodies and events, recordings that share a folder, timing
lines that lie, and credentials anywhere in a request."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg.testing import (
    RecordingTransport,
    ReplayTransport,
    StreamCassette,
    _format,
    _matching,
)
from streamagg.testing._format import timed_segments, timing_line

from .helpers import PAYLOAD, STREAMS
from .httpx_body import Pieces

PLAIN = STREAMS / "openai-python__plain-content.sse"
_MIB = 1024 * 1024
_EVENT_STREAM = {"content-type": "text/event-stream"}


def _chat(transport: httpx.BaseTransport) -> Any:
    with (
        httpx.Client(transport=transport) as client,
        streamagg.chat(client, "http://api.test/v1", PAYLOAD) as s,
    ):
        return s.finish()


def _achat(transport: httpx.AsyncBaseTransport) -> Any:
    async def main() -> Any:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            streamagg.achat(client, "http://api.test/v1", PAYLOAD) as s,
        ):
            return await s.finish()

    return anyio.run(main)


def _untimed(path: Path) -> bytes:
    """A recording's bytes without its timing lines."""
    return b"".join(piece for _, piece in timed_segments(path.read_bytes()))


def _answering(
    body: bytes, headers: dict[str, str], *, status: int = 200, size: int = 64
) -> httpx.MockTransport:
    """A live service that answers ``body`` in ``size``-byte pieces with ``headers``."""
    return httpx.MockTransport(
        lambda request: httpx.Response(status, headers=headers, stream=Pieces(body, size))
    )


def _peak(run: Callable[[], Any]) -> tuple[Any, int]:
    """What ``run()`` returns (or raises) and the most memory it held at once."""
    tracemalloc.start()
    try:
        try:
            result: Any = run()
        except Exception as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- compressed answers (bug 15) -----------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


_CODINGS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", gzip.compress),
    "deflate": ("deflate", zlib.compress),
    "raw deflate": ("deflate", _raw_deflate),
    "gzip then deflate": ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
}


@pytest.mark.parametrize("coding", list(_CODINGS))
@pytest.mark.parametrize("fold", [_chat, _achat])
def test_a_compressed_stream_is_recorded_decoded(
    coding: str, fold: Callable[[Any], Any], tmp_path: Path
) -> None:
    """A stream sent with ``content-encoding`` is recorded as the app reads it (decoded, event
    by event with timing), sync and async, and replays to the same response."""
    header, encode = _CODINGS[coding]
    original = PLAIN.read_bytes()
    live = _answering(encode(original), {**_EVENT_STREAM, "content-encoding": header})
    target = tmp_path / "rec.sse"
    assert fold(RecordingTransport(target, live)) == streamagg.replay(PLAIN)
    assert target.read_bytes().startswith(b": t=")
    assert _untimed(target) == original
    assert len(timed_segments(target.read_bytes())) == original.count(b"\n\n")
    assert streamagg.replay(target) == streamagg.replay(PLAIN)


def test_a_compressed_body_already_read_is_recorded_too(tmp_path: Path) -> None:
    """An ``httpx.Response(content=...)`` from a mock transport (its body read before the
    recorder sees it) is recorded, decoded, instead of leaving no file (or an empty one)."""
    original = PLAIN.read_bytes()
    live = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            headers={**_EVENT_STREAM, "content-encoding": "gzip"},
            content=gzip.compress(original),
        )
    )
    target = tmp_path / "rec.sse"
    assert _chat(RecordingTransport(target, live)) == streamagg.replay(PLAIN)
    assert _untimed(target) == original


def test_only_codings_a_recording_can_undo_are_asked_for(tmp_path: Path) -> None:
    """The request's Accept-Encoding is narrowed to gzip and deflate; a server that sends
    another coding httpx would undo (br, zstd) fails clearly instead of being recorded
    undecoded."""
    seen: list[str] = []

    def live(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        headers = {**_EVENT_STREAM, "content-encoding": "br"}
        return httpx.Response(200, headers=headers, stream=Pieces(b"\x0b\x02\x80", 3))

    transport = RecordingTransport(tmp_path / "r.sse", httpx.MockTransport(live))
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(httpx.DecodingError, match="content-encoding br"),
    ):
        client.post("http://t/", headers={"accept-encoding": "gzip, deflate, br, zstd"})
    assert seen == ["gzip, deflate"]
    assert transport.recorded == []


def test_a_compression_bomb_is_inflated_in_pieces_and_stopped_at_the_limit(
    tmp_path: Path,
) -> None:
    """A 64 MiB stream of keep-alive comments in 64 KiB of gzip (a 16 KiB read inflates to
    16 MiB) is decoded in bounded pieces, each counted: past ``max_total_bytes`` recording
    stops with ``httpx.DecodingError``, having held less than that and written the decoded
    comments."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b": keep-alive\n\n" * (_MIB // 14)
    bomb = b"".join(packer.compress(block) for _ in range(64)) + packer.flush()
    assert len(bomb) < _MIB // 4
    live = _answering(bomb, {**_EVENT_STREAM, "content-encoding": "gzip"}, size=16 * 1024)
    target = tmp_path / "bomb.sse"
    limits = streamagg.Limits(max_total_bytes=_MIB)

    def read() -> None:
        transport = RecordingTransport(target, live, limits=limits)
        with (
            httpx.Client(transport=transport) as client,
            client.stream("POST", "http://t/") as response,
        ):
            for _ in response.iter_raw():  # the app's own decoding is not measured here
                pass

    raised, peak = _peak(read)
    assert isinstance(raised, httpx.DecodingError), raised
    assert "max_total_bytes=1048576" in str(raised)
    assert peak < _MIB
    recorded = _untimed(target)
    assert _MIB - 64 * 1024 <= len(recorded) <= _MIB
    assert recorded == (block * 2)[: len(recorded)]


def test_a_long_compressed_stream_is_written_as_it_arrives(tmp_path: Path) -> None:
    """Recording 2 MiB of decoded events holds a few pieces at a time, never the whole body:
    what is recorded goes to the file as it arrives."""
    event = b": " + b"x" * 1000 + b"\n\n"
    body = event * (2 * _MIB // len(event))
    live = _answering(
        gzip.compress(body), {**_EVENT_STREAM, "content-encoding": "gzip"}, size=4096
    )
    target = tmp_path / "long.sse"

    def read() -> None:
        with (
            httpx.Client(transport=RecordingTransport(target, live)) as client,
            client.stream("POST", "http://t/") as response,
        ):
            for _ in response.iter_raw():
                pass

    raised, peak = _peak(read)
    assert raised is None
    assert peak < _MIB
    assert _untimed(target) == body


# -- bounded memory while recording --------------------------------------------------------


def test_an_event_longer_than_max_event_size_is_written_as_it_comes(tmp_path: Path) -> None:
    """An event that never ends is held only up to ``max_event_size`` (its timing line then
    goes before what has arrived); the bytes are recorded exactly and replay the same."""
    big = b"data: " + json.dumps({"choices": [], "pad": "y" * 5000}).encode() + b"\n\n"
    original = PLAIN.read_bytes() + big
    target = tmp_path / "r.sse"
    limits = streamagg.Limits(max_event_size=1000)
    transport = RecordingTransport(
        target, _answering(original, _EVENT_STREAM, size=300), limits=limits
    )
    with httpx.Client(transport=transport) as client, client.stream("POST", "http://t/") as r:
        for _ in r.iter_raw():
            pass
    assert _untimed(target) == original
    assert target.read_bytes().count(b": t=") == original.count(b"\n\n")
    assert streamagg.replay(target) == streamagg.replay(original)


class _Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body of ``total`` bytes in 64 KiB pieces, counting what was read of it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        piece = b'{"error": "' + b"x" * (64 * 1024 - 11)
        while self.read < self.total:
            self.read += len(piece)
            yield piece

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_an_error_body_is_read_up_to_max_error_body(twin: str, tmp_path: Path) -> None:
    """A 500 with a 64 MiB body is read (and recorded) up to ``max_error_body`` only, as the
    app reads it; the app still gets the status error."""
    body = _Endless(64 * _MIB)
    live = httpx.MockTransport(
        lambda request: httpx.Response(500, headers={"content-type": "text/plain"}, stream=body)
    )
    target = tmp_path / "error.sse"
    transport = RecordingTransport(target, live)
    with pytest.raises(streamagg.HTTPStatusError) as info:
        _chat(transport) if twin == "sync" else _achat(transport)
    assert info.value.status_code == 500
    assert body.read <= _MIB + 64 * 1024
    answer = _format.http_answer(target.read_bytes())
    assert answer is not None
    assert answer.status == 500
    assert len(answer.body) == _MIB


def test_a_compressed_error_body_is_recorded_decoded(tmp_path: Path) -> None:
    """A gzip error body is recorded decoded, and the app reads its message."""
    body = json.dumps({"error": {"message": "Rate limit reached"}}).encode()
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    target = tmp_path / "limited.sse"
    live = _answering(gzip.compress(body), headers, status=429)
    with pytest.raises(streamagg.HTTPStatusError, match="Rate limit reached"):
        _chat(RecordingTransport(target, live))
    assert target.read_bytes().endswith(b"\n\n" + body)
    with pytest.raises(streamagg.HTTPStatusError, match="Rate limit reached"):
        _chat(ReplayTransport(target))


# -- a folder of recordings (judgement a) --------------------------------------------------


def test_recordings_in_one_folder_never_overwrite_each_other(tmp_path: Path) -> None:
    """Two transports (or two runs) recording into one folder each take the next free number:
    no recording is overwritten."""
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "000.sse").write_bytes(b"kept from an earlier run")
    first = RecordingTransport(f"{folder}/", ReplayTransport(PLAIN))
    second = RecordingTransport(f"{folder}/", ReplayTransport(PLAIN))
    for transport in (first, second, first):
        _chat(transport)
    assert [p.name for p in first.recorded] == ["001.sse", "003.sse"]
    assert [p.name for p in second.recorded] == ["002.sse"]
    assert (folder / "000.sse").read_bytes() == b"kept from an earlier run"
    for name in ("001.sse", "002.sse", "003.sse"):
        assert streamagg.replay(folder / name) == streamagg.replay(PLAIN)


# -- timing lines (judgement b) ------------------------------------------------------------


def test_timing_lines_never_go_back_nor_to_infinity() -> None:
    """A time earlier than the one before reads as the one before; a timing line with more
    digits than any time has (400 nines would be infinity) is an ordinary comment."""
    huge = b": t=" + b"9" * 400 + b"\n"
    recording = b": t=0.5\ndata: 1\n\n: t=0.2\ndata: 2\n\n" + huge + b"data: 3\n\n"
    expected = [(0.5, b"data: 1\n\n"), (0.5, b"data: 2\n\n" + huge + b"data: 3\n\n")]
    assert timed_segments(recording) == expected
    timed = _format.TimedPieces()
    assert timed.feed(recording) + timed.close() == expected
    assert timed.backwards == 1


_lines = st.sampled_from(
    [b"data: a", b": t=0.5", b": t=1", b": t=0.25", b": t=", b": t=1.", b":", b"", b"x"]
)
_eols = st.sampled_from([b"\n", b"\r", b"\r\n", b""])


@given(st.lists(st.tuples(_lines, _eols), max_size=12), st.lists(st.integers(0, 80)))
def test_property_timed_pieces_split_anywhere_are_timed_segments(
    lines: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    """Fed in any pieces, ``TimedPieces`` gives the recording without its timing lines, each
    timed piece starting where ``timed_segments`` starts one, with its time."""
    recording = b"".join(line + eol for line, eol in lines)
    timed = _format.TimedPieces()
    got: list[tuple[float | None, bytes]] = []
    start = 0
    for cut in sorted(min(c, len(recording)) for c in cuts):
        got += timed.feed(recording[start:cut])
        start = cut
    got += timed.feed(recording[start:]) + timed.close()
    expected = timed_segments(recording)
    assert b"".join(p for _, p in got) == b"".join(p for _, p in expected)
    assert [t for t, _ in got if t is not None] == [t for t, _ in expected if t is not None]
    assert timed.timed or all(t is None for t, _ in expected)

    def starts(pieces: list[tuple[float | None, bytes]]) -> list[int]:
        offsets, at = [], 0
        for t, piece in pieces:
            if t is not None:
                offsets.append(at)
            at += len(piece)
        return offsets

    assert starts(got) == starts(expected)


def test_timed_pieces_hold_back_at_most_a_timing_line() -> None:
    """Bytes that cannot start a timing line are given back at once; only a line that may
    still become one is held (a few dozen bytes at most)."""
    timed = _format.TimedPieces()
    assert timed.feed(b"data: 1\n\n: t=0.") == [(None, b"data: 1\n\n")]
    assert timed.feed(b"25\ndata: 2") == [(0.25, b"data: 2")]
    assert timed.feed(b"\n: t=" + b"1" * 60) == [(None, b"\n: t=" + b"1" * 60)]
    assert timed.close() == []
    assert timing_line(0.25) == b": t=0.250\n"


# -- credentials (bug 17) ------------------------------------------------------------------

_SECRET_PARAMS = [
    "key",
    "api_key",
    "API-Key",
    "apikey",
    "apiKey",
    "access_token",
    "access-token",
    "code",
    "sig",
    "subscription-key",
    "Ocp-Apim-Subscription-Key",
    "x-api-key",
    "api_token",
    "auth",
    "token",
    "X-Amz-Security-Token",
    "client_secret",
    "openai_api_key",
]


@pytest.mark.parametrize("name", _SECRET_PARAMS)
def test_a_credential_in_the_query_is_never_kept(name: str, tmp_path: Path) -> None:
    """A query parameter named like a credential (any case, any separators) is not in the
    kept request, whatever its name's spelling; the other parameters are."""
    url = f"http://api.test/v1beta/models/m:streamGenerateContent?alt=sse&{name}=SECRET"
    cassette = StreamCassette(tmp_path, "t", mode="missing", live=ReplayTransport(PLAIN))
    with httpx.Client(transport=cassette) as client:
        client.post(url, json={"contents": []}).read()
    kept = (tmp_path / "t.request.json").read_text()
    assert "SECRET" not in kept
    assert json.loads(kept)["path"] == "/v1beta/models/m:streamGenerateContent?alt=sse"


def test_a_credential_in_the_body_is_redacted() -> None:
    """Body fields named like a credential keep ``[redacted]`` (at any depth) and the digest is
    taken after, so a new key is the same request; objects under such a name (a schema's
    ``code`` property) are walked, not hidden; null stays null."""
    body = {
        "model": "m",
        "api_key": "SECRET",
        "auth": {"Access-Token": "SECRET", "kind": "bearer"},
        "credentials": ["SECRET", {"private_key": "SECRET", "type": "service_account"}],
        "session": None,
        "tools": [{"parameters": {"properties": {"code": {"type": "string"}}}}],
    }
    kept = _matching.identity(httpx.Request("POST", "http://t/v1", json=body))
    assert "SECRET" not in json.dumps(kept)
    assert kept["body"]["api_key"] == "[redacted]"
    assert kept["body"]["auth"] == {"Access-Token": "[redacted]", "kind": "bearer"}
    assert kept["body"]["credentials"] == [
        "[redacted]",
        {"private_key": "[redacted]", "type": "service_account"},
    ]
    assert kept["body"]["session"] is None
    assert kept["body"]["tools"] == body["tools"]
    rotated = {**body, "api_key": "ANOTHER"}
    again = _matching.identity(httpx.Request("POST", "http://t/v1", json=rotated))
    assert again["digest"] == kept["digest"]


def test_more_credential_names_can_be_added(tmp_path: Path) -> None:
    """``StreamCassette(secret_names=...)`` adds names to the deny-list (spelt any way), for
    the query and the body; messages show the URL without them."""
    live = ReplayTransport(PLAIN)
    cassette = StreamCassette(
        tmp_path, "t", mode="missing", live=live, secret_names=["Tenant-Pass"]
    )
    url = "http://api.test/v1/chat/completions?tenant_pass=SECRET&v=1"
    with httpx.Client(transport=cassette) as client:
        client.post(url, json={"model": "m", "TENANTPASS": "SECRET"}).read()
    kept = json.loads((tmp_path / "t.request.json").read_text())
    assert kept["path"] == "/v1/chat/completions?v=1"
    assert kept["body"] == {"TENANTPASS": "[redacted]", "model": "m"}
    assert _matching.secret_name("Tenant-Pass") in cassette.secret_names
    replaying = StreamCassette(tmp_path, "t", secret_names=["tenantPass"])
    with (
        httpx.Client(transport=replaying) as client,
        pytest.raises(streamagg.testing.RecordingMismatchError) as info,
    ):
        client.post(url + "&key=SECRET", json={"model": "other"})
    assert "SECRET" not in str(info.value)
    assert "tenant_pass" not in str(info.value)
    assert "v=1" in str(info.value)
