"""The recording format: an event stream, byte for byte, with timing in SSE comment lines.

Before the bytes of each event, a recording made by ``RecordingTransport`` has a line
``: t=0.137`` (seconds since the request was sent, when the event had fully arrived). Comments are
ignored by every SSE parser, so a recording is still a valid stream; removing the timing lines
gives back the exact bytes the server sent. Files without timing lines (any plain ``.sse``) are
recordings too: they simply have no timing.

An answer that is not a 2xx stream (a 401, a 429, a 500) is recorded too, so that error paths can
be tested: comment lines give its status and the headers that matter, a blank line, then its
body byte for byte::

    : http-status: 429
    : http-header: content-type: application/json
    : http-header: retry-after: 2

    {"error": {"message": "Rate limit reached", "type": "requests"}}

``http_answer(recording)`` reads them back; ``ReplayTransport`` and ``serve`` answer with them.
Only ``content-type``, ``retry-after`` and rate-limit headers are kept (never credentials or
cookies).

A timing line holds at most 15 digits before its point and 32 after (a longer one is an
ordinary comment); a time earlier than the one before it is read as the one before (a
recording's clock never runs backwards: ``TimedPieces.backwards`` counts such lines).

Sans-IO: ``EventBoundaries`` finds where events end in bytes arriving in any pieces;
``timed_segments`` splits a recording into ``(time, bytes)`` pieces, and ``TimedPieces`` does
the same for a recording read in pieces, holding no more than a timing line.
``RecordingTransport`` (``_recording``, the one part that does I/O) writes recordings in this
format from live responses, as they arrive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

import httpx

from .._core.framing import segments_by_event
from .._core.reader import body_is_json

__all__ = [
    "HTTPAnswer",
    "TimedPieces",
    "content_type",
    "http_answer",
    "http_answer_recording",
    "paced",
    "replay_segments",
    "timed_segments",
    "timing_line",
]

# Digits are bounded so that a time is always finite (400 nines would read as infinity) and
# a timing line is short enough to hold while it is incomplete.
_TIMING = re.compile(rb"(?:(?<=[\r\n])|^): t=(\d{1,15}(?:\.\d{0,32})?)\n")
# What the start of a timing line can be, before its line end has arrived.
_TIMING_START = re.compile(rb":(?: (?:t(?:=(?:\d{1,15}(?:\.\d{0,32})?)?)?)?)?")
_TIMING_MAX = len(b": t=") + 15 + 1 + 32 + 1


_STATUS = b": http-status: "
_HEADER = b": http-header: "
# Headers of an error answer worth keeping (the rest may hold credentials or cookies).
_KEPT_HEADERS = ("content-type", "retry-after", "retry-after-ms")
_KEPT_PREFIXES = ("x-ratelimit-", "ratelimit-", "anthropic-ratelimit-")


class HTTPAnswer:
    """A recorded answer that is not a 2xx stream: its status, kept headers and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def http_answer_recording(status: int, headers: httpx.Headers, body: bytes) -> bytes:
    """The recording of an answer with ``status``: its kept headers and body (see above)."""
    lines = [_STATUS + str(status).encode() + b"\n"]
    for key, value in headers.items():
        name = key.lower()
        if name in _KEPT_HEADERS or name.startswith(_KEPT_PREFIXES):
            lines.append(_HEADER + f"{name}: {value}".encode("utf-8", "replace") + b"\n")
    return b"".join(lines) + b"\n" + body


def http_answer(recording: bytes) -> HTTPAnswer | None:
    """The answer a recording of a non-2xx answer holds; None for any other recording."""
    if not recording.startswith(_STATUS):
        return None
    head, _, body = recording.partition(b"\n\n")
    lines = head.split(b"\n")
    status = lines[0][len(_STATUS) :].strip()
    if not status.isdigit():
        return None
    headers = []
    for line in lines[1:]:
        if line.startswith(_HEADER):
            name, _, value = line[len(_HEADER) :].decode("utf-8", "replace").partition(": ")
            headers.append((name, value))
    return HTTPAnswer(int(status), headers, body)


def content_type(recording: bytes) -> str:
    """How to label a recording: JSON lines (more than one line, the first a whole object)
    are an NDJSON stream; another JSON body is a plain (non-streaming) answer; anything else is
    an event stream (the rule of ``streamagg._core.reader``)."""
    if not body_is_json(recording):
        return "text/event-stream"
    first, _, rest = recording.lstrip(b"\xef\xbb\xbf \t\r\n").partition(b"\n")
    if rest.strip():
        try:
            json.loads(first)
        except ValueError:
            return "application/json"  # a pretty-printed body
        return "application/x-ndjson"
    return "application/json"


def timing_line(seconds: float) -> bytes:
    """The comment line that carries an event's arrival time."""
    return b": t=%.3f\n" % max(seconds, 0.0)


def replay_segments(recording: bytes) -> list[tuple[float | None, bytes]]:
    """The pieces a replay sends: JSON lines one line at a time, an event stream event by
    event with its recorded times (``timed_segments``)."""
    if content_type(recording) == "application/x-ndjson":
        return [(None, line) for line in recording.splitlines(keepends=True)]
    return timed_segments(recording)


def timed_segments(recording: bytes) -> list[tuple[float | None, bytes]]:
    """A recording as ``(arrival time or None, original bytes)`` pieces, timing lines removed.

    Without timing lines the recording is cut into events, each with time None. A time earlier
    than the one before is read as the one before.
    """
    pieces: list[tuple[float | None, bytes]] = []
    matches = list(_TIMING.finditer(recording))
    if not matches:
        return [(None, piece) for piece in segments_by_event(recording)]
    if matches[0].start() > 0:
        pieces.extend((None, p) for p in segments_by_event(recording[: matches[0].start()]))
    latest = 0.0
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        latest = max(latest, float(match.group(1)))
        end = following.start() if following is not None else len(recording)
        body = recording[match.end() : end]
        if body:
            pieces.append((latest, body))
    return pieces


class TimedPieces:
    """``timed_segments`` for a recording read in pieces: bytes in (split anywhere), ``(time or
    None, bytes)`` out, timing lines removed, holding back no more than an unfinished timing
    line.

    A piece has the time of the timing line just before it, or None when it continues what the
    piece before it began (or comes before any timing line): joined, the pieces are the
    recording without its timing lines, and each time is the one ``timed_segments`` gives.
    ``timed`` says whether a timing line has been read; ``backwards`` counts the ones that went
    back in time (read as the time before them).
    """

    def __init__(self) -> None:
        self._held = b""  # the start of what may be a timing line
        self._after_eol = True  # the previous byte ended a line (or nothing was read yet)
        self._time: float | None = None  # a timing line's time, for the next bytes
        self._latest = 0.0
        self.timed = False
        self.backwards = 0

    def feed(self, data: bytes) -> list[tuple[float | None, bytes]]:
        """The pieces these bytes complete."""
        if not data:
            return []
        # One byte of context makes the pattern's look-behind see the previous line end.
        text = (b"\n" if self._after_eol else b"_") + self._held + data
        pieces: list[tuple[float | None, bytes]] = []
        start = 1
        for match in _TIMING.finditer(text, 1):
            self._emit(pieces, text[start : match.start()])
            self._timing(float(match.group(1)))
            start = match.end()
        # Hold back a last line that may still become a timing line; let the rest go. (The byte
        # before ``start`` is the context byte or a timing line's end: a line end counts there.)
        eol = max(text.rfind(b"\n", start - 1), text.rfind(b"\r", start - 1))
        tail = text[eol + 1 :] if eol >= 0 else b""
        if len(tail) < _TIMING_MAX and _TIMING_START.fullmatch(tail):
            self._emit(pieces, text[start : eol + 1])
            self._held = tail
        else:
            self._emit(pieces, text[start:])
            self._held = b""
        self._after_eol = bool(self._held) or text[-1] in b"\r\n"
        return pieces

    def close(self) -> list[tuple[float | None, bytes]]:
        """The end of the recording: what was held back (an unfinished timing line is bytes)."""
        pieces: list[tuple[float | None, bytes]] = []
        self._emit(pieces, self._held)
        self._held = b""
        return pieces

    def _timing(self, at: float) -> None:
        self.timed = True
        if at < self._latest:
            self.backwards += 1
        self._latest = max(self._latest, at)
        self._time = self._latest

    def _emit(self, pieces: list[tuple[float | None, bytes]], data: bytes) -> None:
        if data:
            pieces.append((self._time, data))
            self._time = None


def paced(
    pieces: Iterable[tuple[float | None, bytes]], *, timing: bool, delay: float = 0.0
) -> Iterator[tuple[float, bytes]]:
    """``(seconds to wait, bytes)`` for sending pieces: at the recorded times when ``timing``
    (pieces without a time wait ``delay``), else ``delay`` between pieces."""
    previous = 0.0
    for index, (at, data) in enumerate(pieces):
        wait = delay if index else 0.0
        if timing and at is not None:
            wait, previous = max(at - previous, 0.0), at
        yield wait, data


# -- recording live responses ------------------------------------------------------------

# Bytes of decoded body produced at a time: a compressed piece of a few KiB can stand for
# gigabytes (a "zip bomb"); it is inflated in steps of this size, each counted and written
# before the next.
