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
the same for a recording read in pieces, holding no more than a timing line. ``ReplaySegments``
cuts a recording read in pieces into what a replay sends (an event, or a line of JSON lines, at
a time), holding no more than ``MAX_HELD`` bytes of one event; ``sniff_content_type`` tells what
a recording is from its first bytes. ``RecordingTransport`` (``_recording``) writes recordings
in this format from live responses, as they arrive; ``ReplayTransport`` and ``serve`` send them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping

from .._core.framing import EventBoundaries, segments_by_event
from .._core.reader import body_is_json
from .._core.source import RECORDED_STATUS

__all__ = [
    "MAX_HELD",
    "SNIFF_LIMIT",
    "HTTPAnswer",
    "ReplaySegments",
    "TimedPieces",
    "content_type",
    "event_end",
    "http_answer",
    "http_answer_recording",
    "paced",
    "replay_segments",
    "sniff_content_type",
    "starts_http_answer",
    "timed_segments",
    "timing_line",
]

# Digits are bounded so that a time is always finite (400 nines would read as infinity) and
# a timing line is short enough to hold while it is incomplete.
_TIMING = re.compile(rb"(?:(?<=[\r\n])|^): t=(\d{1,15}(?:\.\d{0,32})?)\n")
# What the start of a timing line can be, before its line end has arrived.
_TIMING_START = re.compile(rb":(?: (?:t(?:=(?:\d{1,15}(?:\.\d{0,32})?)?)?)?)?")
_TIMING_MAX = len(b": t=") + 15 + 1 + 32 + 1


_STATUS = RECORDED_STATUS
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


def http_answer_recording(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    """The recording of an answer with ``status``: its kept headers and body (see above)."""
    lines = [_STATUS + str(status).encode() + b"\n"]
    for key, value in headers.items():
        name = key.lower()
        if name in _KEPT_HEADERS or name.startswith(_KEPT_PREFIXES):
            lines.append(_HEADER + f"{name}: {value}".encode("utf-8", "replace") + b"\n")
    return b"".join(lines) + b"\n" + body


def starts_http_answer(head: bytes) -> bool:
    """Whether a recording starting with ``head`` may be a recorded answer (``http_answer``
    says for sure, given the whole recording)."""
    return head.startswith(_STATUS)


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
    return sniff_content_type(recording, complete=True) or "text/event-stream"


#: The most of a recording's start read to tell what it is (``sniff_content_type``): past it,
#: the bytes so far decide (a first line longer than this is a JSON body, not a JSON line).
SNIFF_LIMIT = 1 << 20
_LEADING = b"\xef\xbb\xbf \t\r\n"


def sniff_content_type(head: bytes, *, complete: bool) -> str | None:
    """``content_type`` of a recording that starts with ``head``, or None while ``head`` does
    not tell yet (read more; ``complete``: ``head`` is the whole recording). It tells once it
    holds a byte that is not whitespace, and for JSON the first line and the next byte that is
    not whitespace, or ``SNIFF_LIMIT`` bytes."""
    complete = complete or len(head) >= SNIFF_LIMIT
    is_json = body_is_json(head)
    if is_json is None:  # a BOM and whitespace so far
        return "text/event-stream" if complete else None
    if not is_json:
        return "text/event-stream"
    first, _, rest = head.lstrip(_LEADING).partition(b"\n")
    if not rest.strip():
        return "application/json" if complete else None
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return "application/json"  # a pretty-printed body
    return "application/x-ndjson"


def event_end(tail: bytes, eol: bytes = b"\n") -> bytes:
    """What ends the last event of an event stream whose last bytes are ``tail`` (its last
    four, or all when it is shorter): nothing when its last line is blank (or it is empty),
    the same line end again after a line that ended, two ``eol`` after a line that did not. A
    client's SSE parser drops an event that is not ended, as the spec says, where the fold
    reads it."""
    if not tail:
        return b""
    for end in (b"\r\n", b"\n", b"\r"):
        if tail.endswith(end):
            return b"" if tail[: -len(end)].endswith((b"\n", b"\r")) else end
    return eol + eol


def timing_line(seconds: float) -> bytes:
    """The comment line that carries an event's arrival time."""
    return b": t=%.3f\n" % max(seconds, 0.0)


def replay_segments(recording: bytes) -> list[tuple[float | None, bytes]]:
    """The pieces a replay sends: JSON lines one line at a time, an event stream event by
    event with its recorded times (``ReplaySegments`` of the whole recording)."""
    segments = ReplaySegments(ndjson=content_type(recording) == "application/x-ndjson")
    return segments.feed(recording) + segments.close()


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


#: The most bytes of one event (or line) a replay holds before sending them: a longer event
#: goes out in pieces of this size (the first with the event's time), as a slow network would
#: deliver it, so that a replay's memory does not grow with the recording's.
MAX_HELD = 1 << 20


class ReplaySegments:
    """``replay_segments`` for a recording read in pieces (split anywhere): bytes in, the
    ``(time or None, bytes)`` pieces a replay sends out, in order, joined the recording without
    its timing lines.

    An event stream goes out event by event until its first timing line, then from one timing
    line to the next, each piece with its line's time (``timed_segments``); JSON lines
    (``ndjson``) line by line, without times. At most ``limit`` bytes are held: an event longer
    than that goes out in pieces of ``limit`` bytes, the first with the event's time, the rest
    with None (sent without a wait of their own).
    """

    def __init__(self, *, ndjson: bool = False, limit: int = MAX_HELD) -> None:
        self._ndjson = ndjson
        self._limit = limit
        self._timing = TimedPieces()
        self._boundaries = EventBoundaries()
        self._timed = False  # a timing line was read: pieces end at timing lines
        self._held = bytearray()
        self._time: float | None = None

    def feed(self, data: bytes) -> list[tuple[float | None, bytes]]:
        """The pieces these bytes complete."""
        out: list[tuple[float | None, bytes]] = []
        if self._ndjson:
            self._take(None, data, out)
        else:
            for at, piece in self._timing.feed(data):
                self._take(at, piece, out)
        return out

    def close(self) -> list[tuple[float | None, bytes]]:
        """The end of the recording: what was held."""
        out: list[tuple[float | None, bytes]] = []
        if not self._ndjson:
            for at, piece in self._timing.close():
                self._take(at, piece, out)
        self._send(out)
        return out

    def _take(self, at: float | None, data: bytes, out: list[tuple[float | None, bytes]]) -> None:
        if at is not None:  # just after a timing line: a new piece starts
            self._send(out)
            self._timed = True
            self._time = at
        if self._timed:
            self._hold(data, out)
            return
        start = 0
        for end in self._ends(data):
            self._hold(data[start:end], out)
            self._send(out)
            start = end
        self._hold(data[start:], out)

    def _ends(self, data: bytes) -> Iterable[int]:
        """Offsets into ``data`` just after each event (or line) it ends."""
        if not self._ndjson:
            return self._boundaries.feed(data)
        ends = []
        end = data.find(b"\n")
        while end >= 0:
            ends.append(end + 1)
            end = data.find(b"\n", end + 1)
        return ends

    def _hold(self, data: bytes, out: list[tuple[float | None, bytes]]) -> None:
        """Hold ``data``, sending what passes the limit."""
        while len(self._held) + len(data) > self._limit:
            room = self._limit - len(self._held)
            self._held += data[:room]
            data = data[room:]
            self._send(out)
        self._held += data

    def _send(self, out: list[tuple[float | None, bytes]]) -> None:
        if self._held:
            out.append((self._time, bytes(self._held)))
            self._held.clear()
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
