"""How events are framed in bytes: where an event stream's events end (``EventBoundaries``, for
adapters that pass bytes through untouched: the relay, the recorder, the replay server), and
how a writer frames one event (``sse_event``, ``json_line``: the synthesizers).

Line ends are CR, LF or CRLF, as in the event-stream spec (WHATWG HTML, 9.2.5); a CRLF split
across two reads is one line end.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "EventBoundaries",
    "compact_json",
    "cut",
    "json_line",
    "segments_by_event",
    "sse_event",
]

_CR = 0x0D
_LF = 0x0A


def compact_json(value: Any) -> bytes:
    """``value`` as compact JSON text (no spaces, non-ASCII as it is), as servers send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def sse_event(data: Any, *, name: str | None = None, end: bytes = b"\n\n") -> bytes:
    """One event of an event stream: ``event: name`` (when given) and ``data:`` with ``data``
    as compact JSON (or as it is, for a string), ended by a blank line (``end``)."""
    text = data.encode() if isinstance(data, str) else compact_json(data)
    head = b"event: " + name.encode() + b"\n" if name is not None else b""
    return head + b"data: " + text + end


def cut(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters, as a stream would carry it."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def json_line(data: Any) -> bytes:
    """One line of newline-delimited JSON."""
    return compact_json(data) + b"\n"


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
