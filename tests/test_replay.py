"""``replay``: recorded streams from bytes, paths or byte pieces (``streamagg._core.source``),
read incrementally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg._core.source import iter_source

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
    """An empty stream, or ``[DONE]`` without any chunk, is incomplete: an error naming the
    cause, or (lenient) an empty response whose report says it is incomplete."""
    for empty in (b"", b"data: [DONE]\n\n"):
        with pytest.raises(streamagg.IncompleteStreamError, match="without any chunk"):
            streamagg.replay(empty)
        lenient = streamagg.replay(empty, strict=False)
        assert lenient.choices == []
        assert lenient.report is not None
        assert not lenient.report.complete


_payload = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "stop"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["choices", "delta", "content", "index", "usage", "error", "id", "x"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=15,
)
_line = st.one_of(
    _payload.map(lambda j: b"data: " + json.dumps(j).encode()),
    st.sampled_from([b"data: [DONE]", b"event: error", b"event: ping", b": c", b"", b"id: 1"]),
    st.binary(max_size=10),
)


@given(st.lists(st.tuples(_line, st.sampled_from([b"\n", b"\r", b"\r\n"])), max_size=8))
def test_property_any_bytes_give_a_typed_error_or_a_response(
    lines: list[tuple[bytes, bytes]],
) -> None:
    """Any bytes replay to a response or raise a ``StreamError`` whose partial is valid."""
    raw = b"".join(line + eol for line, eol in lines)
    try:
        response = streamagg.replay(raw)
    except streamagg.StreamError as exc:
        response = exc.partial
    assert streamagg.from_dict(streamagg.to_dict(response)) == response
