"""The recording format: an event stream, byte for byte, with timing in SSE comment lines.

Before the bytes of each event, a recording made by ``RecordingTransport`` has a line
``: t=0.137`` (seconds since the request was sent, when the event had fully arrived). Comments are
ignored by every SSE parser, so a recording is still a valid stream; removing the timing lines
gives back the exact bytes the server sent. Files without timing lines (any plain ``.sse``) are
recordings too: they simply have no timing.

Sans-IO: ``EventBoundaries`` finds where events end in bytes arriving in any pieces;
``timed_segments`` splits a recording into ``(time, bytes)`` pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = [
    "EventBoundaries",
    "content_type",
    "paced",
    "segments_by_event",
    "timed_segments",
    "timing_line",
]

_TIMING = re.compile(rb"(?:(?<=[\r\n])|^): t=(\d+(?:\.\d*)?)\n")
_CR, _LF = 0x0D, 0x0A


def content_type(recording: bytes) -> str:
    """How to label a recording: one JSON object is a plain (non-streaming) completion."""
    return "application/json" if recording.lstrip()[:1] == b"{" else "text/event-stream"


def timing_line(seconds: float) -> bytes:
    """The comment line that carries an event's arrival time."""
    return b": t=%.3f\n" % max(seconds, 0.0)


class EventBoundaries:
    """Finds the offsets where events end (just after each blank line), across reads.

    Line ends are CR, LF or CRLF, as in the event-stream spec; a CRLF split across two reads
    is one line end.
    """

    def __init__(self) -> None:
        self._line_start = True  # nothing but a line end since the last line end
        self._after_cr = False  # the previous byte was a CR (an LF next belongs to it)
        self._blank_cr = False  # ... and that CR ended a blank line

    def feed(self, data: bytes) -> list[int]:
        """Offsets into ``data`` just after each event's end."""
        ends: list[int] = []
        for i, byte in enumerate(data):
            if self._after_cr:
                self._after_cr = False
                blank, self._blank_cr = self._blank_cr, False
                if byte == _LF:
                    if blank:
                        ends.append(i + 1)
                    continue
                if blank:
                    ends.append(i)
            if byte == _CR:
                self._after_cr = True
                self._blank_cr = self._line_start
                self._line_start = True
            elif byte == _LF:
                if self._line_start:
                    ends.append(i + 1)
                self._line_start = True
            else:
                self._line_start = False
        return ends


def segments_by_event(data: bytes) -> list[bytes]:
    """``data`` cut after each event (the last piece may be an unfinished event)."""
    boundaries = EventBoundaries()
    cuts = boundaries.feed(data)
    pieces = []
    start = 0
    for end in cuts:  # strictly increasing, all > 0
        pieces.append(data[start:end])
        start = end
    if start < len(data):
        pieces.append(data[start:])
    return pieces


def timed_segments(recording: bytes) -> list[tuple[float | None, bytes]]:
    """A recording as ``(arrival time or None, original bytes)`` pieces, timing lines removed.

    Without timing lines the recording is cut into events, each with time None.
    """
    pieces: list[tuple[float | None, bytes]] = []
    matches = list(_TIMING.finditer(recording))
    if not matches:
        return [(None, piece) for piece in segments_by_event(recording)]
    if matches[0].start() > 0:
        pieces.extend((None, p) for p in segments_by_event(recording[: matches[0].start()]))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(recording)
        body = recording[match.end() : end]
        if body:
            pieces.append((float(match.group(1)), body))
    return pieces


def paced(
    pieces: list[tuple[float | None, bytes]], *, timing: bool, delay: float = 0.0
) -> Iterator[tuple[float, bytes]]:
    """``(seconds to wait, bytes)`` for sending pieces: at the recorded times when ``timing``
    (pieces without a time wait ``delay``), else ``delay`` between pieces."""
    previous = 0.0
    for index, (at, data) in enumerate(pieces):
        wait = delay if index else 0.0
        if timing and at is not None:
            wait, previous = max(at - previous, 0.0), at
        yield wait, data
