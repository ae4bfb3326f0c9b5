"""``replay``: recorded streams from bytes, paths or byte pieces, read incrementally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import streamagg
from streamagg._replay import iter_source

PLAIN = Path(__file__).parent / "streams" / "openai-python__plain-content.sse"


def test_replay_bytes_str_path_pathlike_and_pieces() -> None:
    """Every kind of source folds to the same response."""
    raw = PLAIN.read_bytes()
    want = streamagg.replay(raw)
    assert want.choices[0].message.content
    assert streamagg.replay(str(PLAIN)) == want
    assert streamagg.replay(PLAIN) == want
    assert streamagg.replay(iter([raw[:100], raw[100:]])) == want
    assert streamagg.replay(bytearray(raw)) == want


def test_replay_reads_files_incrementally(tmp_path: Path) -> None:
    """A file is read in pieces, never whole."""
    path = tmp_path / "big.sse"
    path.write_bytes(PLAIN.read_bytes() * 20)
    pieces = list(iter_source(path))
    assert len(pieces) > 1
    assert max(map(len, pieces)) <= 64 * 1024
    assert b"".join(pieces) == path.read_bytes()


def test_replay_stops_reading_at_done() -> None:
    """Nothing after ``data: [DONE]`` is read."""

    def pieces() -> Iterator[bytes]:
        yield PLAIN.read_bytes()
        raise AssertionError("read past [DONE]")

    assert streamagg.replay(pieces()).choices[0].finish_reason == "stop"


def test_replay_missing_file_is_an_os_error(tmp_path: Path) -> None:
    """A missing file raises the ordinary ``FileNotFoundError``."""
    with pytest.raises(FileNotFoundError):
        streamagg.replay(tmp_path / "nope.sse")


def test_replay_malformed_and_incomplete() -> None:
    """Malformed data and a stream cut short raise typed errors with the partial response."""
    good = b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    with pytest.raises(streamagg.MalformedChunkError) as info:
        streamagg.replay(good + b"data: {oops\n\n")
    assert info.value.raw == "{oops"
    assert info.value.partial.choices[0].message.content == "a"
    with pytest.raises(streamagg.IncompleteStreamError):
        streamagg.replay(good)


def test_replay_empty_input() -> None:
    """An empty stream has no choice and no [DONE]: it is incomplete."""
    with pytest.raises(streamagg.IncompleteStreamError):
        streamagg.replay(b"")
    assert streamagg.replay(b"data: [DONE]\n\n").choices == []
