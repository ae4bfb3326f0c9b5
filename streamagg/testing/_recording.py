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

Sans-IO: ``EventBoundaries`` finds where events end in bytes arriving in any pieces;
``timed_segments`` splits a recording into ``(time, bytes)`` pieces. ``RecordingTransport`` (the
one part that does I/O) writes recordings in this format from live responses.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

import httpx

from .._app.http import STREAM_CONTENT_TYPES, media_type
from .._core.framing import EventBoundaries, segments_by_event
from .._core.reader import body_is_json

__all__ = [
    "HTTPAnswer",
    "RecordingTransport",
    "Target",
    "content_type",
    "http_answer",
    "http_answer_recording",
    "paced",
    "record",
    "replay_segments",
    "timed_segments",
    "timing_line",
]

_TIMING = re.compile(rb"(?:(?<=[\r\n])|^): t=(\d+(?:\.\d*)?)\n")


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


# -- recording live responses ------------------------------------------------------------


class _Recorder:
    """Collects a response's bytes with the arrival time of each event, then writes the file.

    Timing lines are SSE comments: only an event stream gets them. A JSON body (a non-streaming
    answer) or JSON lines (Ollama) are recorded byte for byte, as the bytes say (the rule of
    ``streamagg._core.reader``), so that the recording replays as what it is."""

    def __init__(self, path: Path, started: float) -> None:
        self._path = path
        self._started = started
        self._boundaries = EventBoundaries()
        self._out = bytearray()
        self._event = bytearray()
        self._closed = False
        self._json: bool | None = None  # undecided until a byte that is not whitespace

    def _mark(self) -> None:
        self._out += timing_line(time.perf_counter() - self._started)
        self._out += self._event
        self._event.clear()

    def feed(self, data: bytes) -> None:
        if self._json is None:
            self._json = body_is_json(bytes(self._event) + data)
        if self._json:
            self._event += data  # recorded as it is, without timing
            return
        start = 0
        for end in self._boundaries.feed(data):
            self._event += data[start:end]
            start = end
            self._mark()
        self._event += data[start:]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._json:
            self._out += self._event
        elif self._event:
            self._mark()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_bytes(bytes(self._out))


class _TeeStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __iter__(self) -> Iterator[bytes]:
        for data in self._inner:
            self._recorder.feed(data)
            yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for data in self._inner:
            self._recorder.feed(data)
            yield data

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._recorder.close()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._recorder.close()


#: Where a recording goes: a path, or a callable from the request and its number (0, 1, ...).
Target: TypeAlias = (
    "str | os.PathLike[str] | Callable[[httpx.Request, int], str | os.PathLike[str]]"
)


def _is_folder(target: str | os.PathLike[str]) -> bool:
    """A target that names a folder: a path ending in a separator, or an existing folder."""
    text = os.fspath(target)
    if text.endswith(("/", os.sep)):
        return True
    try:
        return Path(text).is_dir()
    except OSError:  # a name the file system refuses: writing the file will say so
        return False


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Send requests through a live transport and record each answer.

    Every 2xx answer labelled ``text/event-stream`` (or JSON) is written to ``target`` as it
    is read, byte for byte, with a ``: t=SECONDS`` comment line before each event; every
    non-2xx answer is written as its status, kept headers and body (``http_answer``).
    ``target`` is a file (one recording: a second one raises ``FileExistsError`` rather than
    overwrite the first), a folder (a path ending in ``/``, or an existing folder: one file per
    request, ``000.sse``, ``001.sse``...) or a callable ``(request, number) -> path``. The
    inner transport defaults to httpx's own (``HTTPTransport``/``AsyncHTTPTransport``).
    ``recorded`` lists the paths written.
    """

    def __init__(
        self,
        target: Target,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._target = target
        self._transport = transport
        self._owned = transport is None  # ours to re-create after a close
        self._count = itertools.count()
        self.recorded: list[Path] = []

    def _path(self, request: httpx.Request) -> Path:
        number = next(self._count)
        target = self._target
        if callable(target):
            return Path(target(request, number))
        if _is_folder(target):
            return Path(target, f"{number:03d}.sse")
        if number:  # one file holds one recording: never overwrite the first silently
            raise FileExistsError(
                f"{target} already holds this transport's first recording; to record several "
                f"requests give a folder (a path ending in '/') or a callable (request, n) -> path"
            )
        return Path(target)

    def _record_answer(self, request: httpx.Request, response: httpx.Response) -> None:
        """Record a non-2xx answer (read whole: error bodies are small), kept readable."""
        path = self._path(request)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            http_answer_recording(response.status_code, response.headers, response.content)
        )
        self.recorded.append(path)

    def _wrap(self, request: httpx.Request, response: httpx.Response, started: float) -> None:
        if response.is_success and media_type(response) in STREAM_CONTENT_TYPES:
            try:
                path = self._path(request)
            except FileExistsError:
                response.close()
                raise
            self.recorded.append(path)
            response.stream = _TeeStream(response.stream, _Recorder(path, started))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = httpx.HTTPTransport()
        if not isinstance(self._transport, httpx.BaseTransport):
            raise TypeError("an httpx.Client needs a sync inner transport to record through")
        started = time.perf_counter()
        response = self._transport.handle_request(request)
        if not response.is_success:
            response.read()
            self._record_answer(request, response)
            return response
        self._wrap(request, response, started)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = httpx.AsyncHTTPTransport()
        if not isinstance(self._transport, httpx.AsyncBaseTransport):
            raise TypeError(
                "an httpx.AsyncClient needs an async inner transport to record through"
            )
        started = time.perf_counter()
        response = await self._transport.handle_async_request(request)
        if not response.is_success:
            await response.aread()
            self._record_answer(request, response)
            return response
        self._wrap(request, response, started)
        return response

    def close(self) -> None:
        inner = self._transport
        if isinstance(inner, httpx.BaseTransport):
            self._transport = None if self._owned else inner
            inner.close()

    async def aclose(self) -> None:
        inner = self._transport
        if isinstance(inner, httpx.AsyncBaseTransport):
            self._transport = None if self._owned else inner
            await inner.aclose()


def record(
    target: Target, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None
) -> RecordingTransport:
    """A ``RecordingTransport``: ``httpx.Client(transport=record("answer.sse"))``."""
    return RecordingTransport(target, transport)
