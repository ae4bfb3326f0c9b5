"""The recording format (``streamagg.testing._recording``): event boundaries across reads, timing
lines, pacing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg._core.framing import EventBoundaries, segments_by_event
from streamagg.testing._format import paced, timed_segments, timing_line

from .helpers import STREAMS

_lines = st.sampled_from([b"data: a", b"data: {}", b": c", b"id: 1", b"", b"x"])
_eols = st.sampled_from([b"\n", b"\r", b"\r\n"])


@given(st.lists(st.tuples(_lines, _eols), max_size=15), st.integers(0, 200))
def test_property_boundaries_any_split(lines: list[tuple[bytes, bytes]], cut: int) -> None:
    """Event ends are the same whether the bytes come whole or split anywhere."""
    data = b"".join(line + eol for line, eol in lines)
    cut = min(cut, len(data))
    expected = EventBoundaries().feed(data)
    split = EventBoundaries()
    got = split.feed(data[:cut]) + [cut + e for e in split.feed(data[cut:])]
    assert sorted(set(got)) == sorted(set(expected))
    # Every piece but the last ends with a blank line (or is one).
    pieces = segments_by_event(data)
    assert b"".join(pieces) == data
    for piece in pieces[:-1]:
        text = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        assert text == b"\n" or text.endswith(b"\n\n"), piece


def test_boundaries_after_blank_lines() -> None:
    """An event ends after the line end of its blank line, CRLF included."""
    assert EventBoundaries().feed(b"data: a\n\ndata: b\r\n\r\n") == [9, 20]
    b = EventBoundaries()
    assert b.feed(b"data: a\r\r") == []  # a CR might still be followed by its LF
    assert b.feed(b"d") == [0]


def test_segments_by_event_keep_every_byte() -> None:
    """Cutting into events loses nothing; a trailing unfinished event is its own piece."""
    data = b": c\n\ndata: 1\n\ndata: 2"
    assert segments_by_event(data) == [b": c\n\n", b"data: 1\n\n", b"data: 2"]


def test_timed_segments_strip_timing_lines() -> None:
    """Timing lines give each event's time and vanish from the bytes."""
    original = (STREAMS / "openai-python__finish-length.sse").read_bytes()
    events = segments_by_event(original)
    recording = b"".join(timing_line(0.1 * n) + e for n, e in enumerate(events, 1))
    assert streamagg.replay(recording) == streamagg.replay(original)
    pieces = timed_segments(recording)
    assert b"".join(p for _, p in pieces) == original
    assert [t for t, _ in pieces] == [0.1, 0.2, 0.3, 0.4, 0.5]


def test_timed_segments_bytes_before_the_first_timing_line() -> None:
    """Untimed bytes before the first timing line are kept, with no time; timing lines with
    nothing after them are dropped."""
    assert timed_segments(b"data: 1\n\n: t=0.5\n: t=0.6\ndata: 2\n\n: t=0.7\n") == [
        (None, b"data: 1\n\n"),
        (0.6, b"data: 2\n\n"),
    ]


def test_timing_line_format() -> None:
    """Milliseconds, never negative."""
    assert timing_line(0.13749) == b": t=0.137\n"
    assert timing_line(-1) == b": t=0.000\n"


def test_paced_waits() -> None:
    """With timing: the gaps between recorded times; without: the fixed delay between pieces."""
    pieces: list[tuple[float | None, bytes]] = [(0.5, b"a"), (0.75, b"b"), (None, b"c")]
    assert [w for w, _ in paced(pieces, timing=True, delay=0.1)] == [0.5, 0.25, 0.1]
    assert [w for w, _ in paced(pieces, timing=False, delay=0.1)] == [0.0, 0.1, 0.1]
    assert [w for w, _ in paced([(1.0, b"a"), (0.5, b"b")], timing=True)] == [1.0, 0.0]
