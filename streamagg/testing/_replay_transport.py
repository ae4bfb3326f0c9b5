"""``ReplayTransport``: an httpx transport (sync and async) that answers with recordings."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias, cast

import httpx

from ._faults import CUT, Faults, Step, iter_plan
from ._format import content_type, http_answer, replay_segments

__all__ = [
    "NetworkForbiddenError",
    "Recording",
    "RecordingMissingError",
    "Recordings",
    "ReplayTransport",
    "describe",
]

#: A recording: a path to an ``.sse`` file or its bytes.
Recording: TypeAlias = "str | os.PathLike[str] | bytes"
#: What ``ReplayTransport`` answers with: one recording for every request, recordings in turn,
#: a mapping (keys: the request's ``model``, ``"METHOD /path"`` or ``"/path"``), or a callable
#: from the request to a recording (None for "no recording": ``RecordingMissingError``).
Recordings: TypeAlias = (
    "Recording | Sequence[Recording] | Mapping[str, Recording]"
    " | Callable[[httpx.Request], Recording | None]"
)


def _name(recording: Recording) -> str:
    """A recording, for messages: its path, or the size of its bytes."""
    return f"<{len(recording)} bytes>" if isinstance(recording, bytes) else str(recording)


def _read(recording: Recording) -> bytes:
    if isinstance(recording, bytes):
        return recording
    return Path(recording).read_bytes()


def _request_model(request: httpx.Request) -> str | None:
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


class RecordingMissingError(LookupError):
    """A request has no recording: a test error (never an HTTP answer that app code could
    take for the server's). The message names the request and the recordings there are."""


class NetworkForbiddenError(ConnectionRefusedError):
    """A request tried to leave the process while a test replays its recordings."""


def describe(request: httpx.Request) -> str:
    """A request, for messages: method, URL and the body's model when it has one."""
    model = _request_model(request)
    return f"{request.method} {request.url}" + (f" (model {model!r})" if model else "")


def _missing(request: httpx.Request, why: str, available: str) -> RecordingMissingError:
    return RecordingMissingError(f"no recording for {describe(request)}: {why}; {available}")


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A recording's bytes as a plan of steps (``_faults.iter_plan``, made a step at a time as
    the body is read): waits, bytes, and a dropped connection (``httpx.RemoteProtocolError``)
    when a fault cuts it. A wait longer than the request's read timeout raises
    ``httpx.ReadTimeout`` at the timeout, as a real connection would."""

    def __init__(self, steps: Iterable[Step], read_timeout: float | None):
        self._steps = steps
        self._read_timeout = read_timeout

    def _too_long(self, wait: float) -> bool:
        return self._read_timeout is not None and wait > self._read_timeout

    def __iter__(self) -> Iterator[bytes]:
        for wait, data in self._steps:
            if self._too_long(wait):
                time.sleep(self._read_timeout or 0)
                raise _timeout()
            if wait:
                time.sleep(wait)
            if data is CUT:
                raise _cut()
            if data:
                yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for wait, data in self._steps:
            if self._too_long(wait):
                await asyncio.sleep(self._read_timeout or 0)
                raise _timeout()
            if wait:
                await asyncio.sleep(wait)
            if data is CUT:
                raise _cut()
            if data:
                yield data


def _timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("no data within the read timeout (a replayed wait or stall)")


def _cut() -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (an injected fault)"
    )


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answer requests with recorded streams, for ``httpx.Client`` and ``httpx.AsyncClient``.

    ``recordings`` is one recording (a path or bytes) for every request, a list served in turn,
    a mapping (looked up by the request body's ``model``, then ``"POST /v1/chat/completions"``,
    then ``"/v1/chat/completions"``), or a callable taking the ``httpx.Request``. A request
    without a recording (a list used up, a key that matches nothing, a file that is not there)
    raises ``RecordingMissingError`` naming the request and the recordings: a test error, never
    an HTTP answer that the code under test could handle as the server's. The bytes go out
    event by event: at once, with ``delay`` seconds between events, or, with ``timing=True``,
    at the recorded times. A recording that is a JSON object is served as a plain
    (non-streaming) completion; a recorded error answer (``http_answer``) with its status,
    headers and body. ``faults`` (a ``Faults``, or its ``Faults.parse`` spec such as
    ``"cut-after-event=5"``) injects the failures real streams have: a dropped connection
    (``httpx.RemoteProtocolError``), an error event, a stall, re-chunked bytes, keep-alives,
    another speed.
    ``requests`` lists the requests received, bodies read.
    """

    def __init__(
        self,
        recordings: Recordings,
        *,
        timing: bool = False,
        delay: float = 0.0,
        faults: Faults | str | None = None,
    ) -> None:
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay must be a finite number of seconds, not {delay}")
        self._recordings = recordings
        self.faults = Faults.parse(faults) if isinstance(faults, str) else faults
        self._turn = itertools.count()
        self.timing = timing
        self.delay = delay
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def _choose(self, request: httpx.Request) -> Recording:
        recordings = self._recordings
        if isinstance(recordings, (str, bytes, os.PathLike)):
            return recordings
        if isinstance(recordings, Mapping):
            keys = (_request_model(request), f"{request.method} {request.url.path}")
            for key in (*keys, request.url.path):
                if key is not None and key in recordings:
                    return recordings[key]
            available = f"the recordings are keyed {sorted(recordings)!r}"
            raise _missing(request, "no key matches its model, method and path", available)
        if isinstance(recordings, Sequence):
            with self._lock:
                turn = next(self._turn)
            turns = cast("Sequence[Recording]", recordings)
            if turn < len(turns):
                return turns[turn]
            names = [_name(r) for r in turns]
            raise _missing(
                request,
                f"it is request {turn + 1}",
                f"the {len(turns)} recordings {names!r} were used",
            )
        chosen = recordings(request)
        if chosen is None:
            raise _missing(request, "the recordings callable returned None", "no recording chosen")
        return chosen

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        recording = self._choose(request)
        try:
            data = _read(recording)
        except OSError as exc:
            raise _missing(
                request, f"cannot read {recording!s}", exc.strerror or str(exc)
            ) from None
        answer = http_answer(data)
        if answer is not None:  # a recorded error answer: its status, headers and body
            return httpx.Response(
                answer.status, headers=answer.headers, content=answer.body, request=request
            )
        return httpx.Response(
            200,
            headers={"content-type": content_type(data), "cache-control": "no-cache"},
            stream=_Pieces(
                iter_plan(
                    replay_segments(data),
                    self.faults,
                    timing=self.timing,
                    delay=self.delay,
                    ndjson=content_type(data) == "application/x-ndjson",
                ),
                (request.extensions.get("timeout") or {}).get("read"),
            ),
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._answer(request)
