"""The one path from bytes to a fold (``StreamReader``, ``streamagg._core.reader``), and every
entry point that uses it."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import Aggregator, StreamReader
from streamagg._cli import main
from streamagg._core.reader import body_is_json
from streamagg.testing import ReplayTransport
from streamagg.testing._server import ReplayApp

from .helpers import PAYLOAD, STREAMS

SSE = (STREAMS / "openai-python__n3-choices.sse").read_bytes()
RESPONSE = streamagg.replay(SSE)
JSON = json.dumps(streamagg.to_dict(RESPONSE), indent=1).encode()
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("head", "verdict"),
    [
        (b"", None),
        (b"\xef", None),
        (b"\xef\xbb", None),
        (BOM, None),
        (BOM + b" \r\n\t", None),
        (b"  {", True),
        (BOM + b"\n[", True),
        (b"data: {}", False),
        (b": comment", False),
        (b"\n\nevent: x", False),
        (BOM + b"id: 1", False),
        (b"\xef\xbb\xbe", False),
    ],
)
def test_body_is_json_after_bom_and_whitespace(head: bytes, verdict: bool | None) -> None:
    """JSON starts with ``{`` or ``[`` after one BOM and whitespace; anything else is an event
    stream; a head of only BOM and whitespace is undecided."""
    assert body_is_json(head) is verdict


@given(st.binary(max_size=40), st.integers(0, 40))
def test_sniffing_does_not_depend_on_the_split(prefix: bytes, cut: int) -> None:
    """Whether a body is JSON is decided the same way however its bytes are split."""
    data = prefix + JSON
    assert _read([data]) == _read([data[:cut], data[cut:]])


def _read(pieces: list[bytes]) -> Any:
    reader = StreamReader(Aggregator())
    try:
        for piece in pieces:
            reader.receive_data(piece)
        return streamagg.to_dict(reader.receive_eof())
    except streamagg.StreamError as exc:
        return type(exc).__name__


def test_leading_whitespace_in_tiny_pieces_is_linear() -> None:
    """A long run of whitespace before the body, one byte per read, is scanned once."""
    reader = StreamReader(Aggregator())
    for _ in range(200_000):
        reader.receive_data(b" ")
    reader.receive_data(SSE)
    assert reader.receive_eof() == RESPONSE


def test_input_after_the_end_is_ignored() -> None:
    """After ``[DONE]`` the reader folds nothing more and says the stream has ended."""
    reader = StreamReader(Aggregator())
    assert reader.receive_data(SSE) is True
    assert reader.done
    assert reader.receive_data(b"data: {not json}\n\n") is True
    assert reader.receive_eof() == RESPONSE


def test_deltas_are_appended_to_out() -> None:
    """With ``out``, the deltas of the events folded are appended to it."""
    reader = StreamReader(Aggregator())
    out: list[streamagg.Delta] = []
    reader.receive_data(SSE, out)
    text = "".join(d.text for d in out if isinstance(d, streamagg.ContentDelta) and d.choice == 1)
    assert text == RESPONSE.choices[1].message.content


def test_a_whole_json_body_that_is_not_json_is_malformed() -> None:
    """A body that starts like JSON but does not parse is a ``MalformedChunkError``."""
    reader = StreamReader(Aggregator())
    reader.receive_data(b'{"id": "x", ')
    with pytest.raises(streamagg.MalformedChunkError, match="the body is not JSON"):
        reader.receive_eof()


# -- every entry point folds the same inputs to the same response ------------------------------


class Env(NamedTuple):
    """Where an entry point may write files, patch stdin and read stdout."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]


Entry = Callable[[bytes, str, Env], Any]


def _via_replay_bytes(body: bytes, *_: Any) -> Any:
    return streamagg.replay(body)


def _via_replay_path(body: bytes, label: str, env: Env) -> Any:
    path = env.folder / "recording.sse"
    path.write_bytes(body)
    return streamagg.replay(path)


def _via_replay_open_file(body: bytes, *_: Any) -> Any:
    return streamagg.replay(io.BytesIO(body))


def _mock(body: bytes, label: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": label}, content=body)

    return httpx.MockTransport(handler)


def _via_chat(body: bytes, label: str, *_: Any) -> Any:
    with (
        httpx.Client(transport=_mock(body, label)) as client,
        streamagg.chat(client, "http://t/v1", PAYLOAD) as s,
    ):
        return s.finish()


def _via_achat(body: bytes, label: str, *_: Any) -> Any:
    async def main() -> Any:
        async with (
            httpx.AsyncClient(transport=_mock(body, label)) as client,
            streamagg.achat(client, "http://t/v1", PAYLOAD) as s,
        ):
            return await s.finish()

    return anyio.run(main)


def _via_replay_transport(body: bytes, *_: Any) -> Any:
    with (
        httpx.Client(transport=ReplayTransport(body)) as client,
        streamagg.chat(client, "http://t/v1", PAYLOAD) as s,
    ):
        return s.finish()


def _via_serve(body: bytes, label: str, env: Env) -> Any:
    (env.folder / "recording.sse").write_bytes(body)
    transport = httpx.ASGITransport(ReplayApp(env.folder, timing=False))

    async def main() -> list[Any]:
        results = []
        async with httpx.AsyncClient(transport=transport) as client:
            async with streamagg.achat(client, "http://t/v1", PAYLOAD) as s:
                results.append(await s.finish())
            whole = await client.post("http://t/v1/chat/completions", json={"stream": False})
            results.append(streamagg.from_dict(whole.json()))
        return results

    streamed, whole = anyio.run(main)
    assert streamed == whole
    return streamed


def _via_cli_file(body: bytes, label: str, env: Env) -> Any:
    path = env.folder / "recording.sse"
    path.write_bytes(body)
    assert main(["replay", str(path)]) == 0
    return streamagg.from_dict(json.loads(env.capsys.readouterr().out))


def _via_cli_stdin(body: bytes, label: str, env: Env) -> Any:
    env.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["replay", "-"]) == 0
    return streamagg.from_dict(json.loads(env.capsys.readouterr().out))


ENTRIES: dict[str, Entry] = {
    "replay-bytes": _via_replay_bytes,
    "replay-path": _via_replay_path,
    "replay-open-file": _via_replay_open_file,
    "chat": _via_chat,
    "achat": _via_achat,
    "ReplayTransport": _via_replay_transport,
    "serve": _via_serve,
    "cli-file": _via_cli_file,
    "cli-stdin": _via_cli_stdin,
}


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Env:
    return Env(tmp_path, monkeypatch, capsys)


INPUTS = {
    "event-stream": (SSE, "text/event-stream"),
    "event-stream-labelled-json": (SSE, "application/json"),
    "json-completion": (JSON, "application/json"),
    "json-completion-labelled-sse": (JSON, "text/event-stream; charset=utf-8"),
}


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no-bom", "bom"])
@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("entry", ENTRIES)
def test_every_entry_point_folds_the_same_inputs(
    entry: str, kind: str, bom: bytes, env: Env
) -> None:
    """replay (bytes, path, open file), chat/achat, ReplayTransport, serve and the CLI (file and
    stdin) fold an event stream, a stream labelled JSON and a plain JSON completion, with or
    without a BOM, to the same response."""
    body, label = INPUTS[kind]
    assert ENTRIES[entry](bom + body, label, env) == RESPONSE


class _EachEvent:
    """A fold with only the ``Fold`` protocol's methods (no ``receive_events``)."""

    done = False
    chunks = 0

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def receive(self, event: str, data: str, out: list[Any] | None) -> bool:
        self.seen.append((event, data))
        return data == "[DONE]"

    def receive_body(self, body: str) -> None:
        self.seen.append(("body", body))

    def snapshot(self) -> list[tuple[str, str]]:
        return self.seen

    def result(self) -> list[tuple[str, str]]:
        return self.seen


def test_a_fold_without_receive_events_gets_each_event() -> None:
    """A fold that has only ``receive`` is given the events one by one, up to the end."""
    fold = _EachEvent()
    reader = StreamReader(fold)
    raw = b"data: a\n\nevent: x\ndata: b\n\ndata: [DONE]\n\ndata: c\n\n"
    assert reader.receive_data(raw)
    assert fold.seen == [("message", "a"), ("x", "b"), ("message", "[DONE]")]


def read_in_two(reader: StreamReader[Any], data: bytes, at: int) -> Any:
    """``data`` cut at ``at``, through the reader itself (``replay`` joins an input's first
    bytes while it looks for a recorded answer)."""
    reader.receive_data(data[:at])
    reader.receive_data(data[at:])
    return reader.receive_eof()


@pytest.mark.parametrize(
    ("data", "what", "media"),
    [
        (
            b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n",
            "HTML or XML",
            "text/html",
        ),
        (b"\xef\xbb\xbf  <?xml version='1.0'?><error/>", "HTML or XML", "text/html"),
        (bytes(range(256)), "binary data", "application/octet-stream"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary data", "application/octet-stream"),
        (b"Internal Server Error\n", "plain text", "text/plain"),
        ("caf\u00e9 ".encode() * 30, "plain text", "text/plain"),  # a character cut at the end
    ],
)
def test_input_that_is_no_event_stream_says_what_it_looks_like(
    data: bytes, what: str, media: str
) -> None:
    """HTML, binary data or plain text given to ``replay`` is one line saying so (it used to be
    "the stream ended without any chunk"), the same at any split of the bytes."""
    with pytest.raises(streamagg.ContentTypeError) as info:
        streamagg.replay(data)
    message = str(info.value)
    assert message.startswith(f"the input is not an event stream: it looks like {what}")
    assert "\n" not in message
    assert info.value.content_type == media
    for at in range(min(len(data), 100) + 1):
        with pytest.raises(streamagg.ContentTypeError) as cut:
            read_in_two(StreamReader(Aggregator()), data, at)
        assert (str(cut.value), cut.value.content_type) == (message, media), at


@pytest.mark.parametrize("new_fold", [Aggregator, streamagg.ollama.Aggregator])
def test_what_the_input_looks_like_is_the_same_at_every_split(
    new_fold: Callable[[], Any],
) -> None:
    """Binary data whose first bytes alone would pass for text (found by
    tests/fuzz/fuzz_dialect.py on legacy completions): the reader keeps the input's first bytes
    however they are cut, so the error says the same thing at every split."""
    data = b"dat\x9f\xc5\xdf\x84\xdd\x96l"
    seen = set()
    for at in range(len(data) + 1):
        with pytest.raises(streamagg.ContentTypeError) as info:
            read_in_two(StreamReader(new_fold()), data, at)
        seen.add((str(info.value), info.value.content_type))
    assert seen == {
        (
            f"the input is not an event stream: it looks like binary data: {data!r}",
            "application/octet-stream",
        )
    }


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b": only a comment\n\n",
        b"event: ping\n\n",
        b"retry: 10\n",
        b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n',  # a stream cut short
    ],
)
def test_a_stream_with_no_chunk_is_still_incomplete(data: bytes) -> None:
    with pytest.raises(streamagg.IncompleteStreamError):
        streamagg.replay(data)


@pytest.mark.parametrize(
    "data",
    [
        b'\n\xef\xbb\xbf\n{"id":"cmpl-85xN9HjW',  # found by tests/fuzz/fuzz_dialect.py
        b'\r\n\xef\xbb\xbfdata: {"choices": [{"delta": {"content": "x"}}]}\n\n',
        b' \n\xef\xbb\xbf{"choices": []}',
    ],
)
def test_a_bom_after_blank_lines_is_no_bom_at_every_split(data: bytes) -> None:
    """A BOM counts only at the very start of the input: after blank lines (which the reader
    drops while it decides what the input is) it is data, however the bytes are cut."""

    def outcome(pieces: list[bytes]) -> Any:
        try:
            return streamagg.to_dict(streamagg.completions.replay(pieces))
        except streamagg.StreamError as exc:
            what = getattr(exc, "content_type", None)  # a stream, JSON, or what it looks like
            return type(exc), what, streamagg.to_dict(exc.partial)

    whole = outcome([data])
    for at in range(len(data) + 1):
        assert outcome([data[:at], data[at:]]) == whole, at


@pytest.mark.parametrize("strict", [True, False])
def test_an_input_that_ends_before_its_last_read_folds_the_same_at_every_split(
    strict: bool,
) -> None:
    """Lines that are no JSON, then ``[DONE]``, then binary bytes (found by
    tests/fuzz/fuzz_dialect.py on Ollama): whether the input looked like a stream was judged
    on bytes read after its end when they came in the same read, and said "binary data" or
    "plain text" by where the input was cut. A stream that ended is an event stream: the same
    outcome at every split, and what follows its end is not read."""
    data = b'+:\n:,e}\n[DONE]\n:2.:"}\n\xef\xbb\xbf:t":,"\xf4\n:1\n:t":e,e}\n'

    def outcome(pieces: list[bytes]) -> Any:
        try:
            return streamagg.to_dict(streamagg.ollama.replay(pieces, strict=strict))
        except streamagg.StreamError as exc:
            return type(exc), streamagg.to_dict(exc.partial)

    whole = outcome([data])
    assert not (isinstance(whole, tuple) and whole[0] is streamagg.ContentTypeError)
    for at in range(len(data) + 1):
        assert outcome([data[:at], data[at:]]) == whole, at
