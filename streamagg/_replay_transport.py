"""``ReplayTransport``: an httpx transport (sync and async) that answers with recordings."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias, cast

import httpx

from ._recording import content_type, paced, timed_segments

__all__ = ["Recording", "Recordings", "ReplayTransport"]

#: A recording: a path to an ``.sse`` file or its bytes.
Recording: TypeAlias = "str | os.PathLike[str] | bytes"
#: What ``ReplayTransport`` answers with: one recording for every request, recordings in turn,
#: a mapping (keys: the request's ``model``, ``"METHOD /path"`` or ``"/path"``), or a callable
#: from the request to a recording (None for "no recording": a 404 answer).
Recordings: TypeAlias = (
    "Recording | Sequence[Recording] | Mapping[str, Recording]"
    " | Callable[[httpx.Request], Recording | None]"
)


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


def _not_found(request: httpx.Request, why: str) -> httpx.Response:
    error = {"message": f"no recording for {request.method} {request.url.path}: {why}"}
    return httpx.Response(404, json={"error": {**error, "type": "not_found"}})


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A recording's bytes, event by event, at the recorded times or with a fixed delay."""

    def __init__(self, pieces: list[tuple[float | None, bytes]], timing: bool, delay: float):
        self._pieces = pieces
        self._timing = timing
        self._delay = delay

    def __iter__(self) -> Iterator[bytes]:
        for wait, data in paced(self._pieces, timing=self._timing, delay=self._delay):
            if wait:
                time.sleep(wait)
            yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for wait, data in paced(self._pieces, timing=self._timing, delay=self._delay):
            if wait:
                await asyncio.sleep(wait)
            yield data


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answer requests with recorded streams, for ``httpx.Client`` and ``httpx.AsyncClient``.

    ``recordings`` is one recording (a path or bytes) for every request, a list served in turn,
    a mapping (looked up by the request body's ``model``, then ``"POST /v1/chat/completions"``,
    then ``"/v1/chat/completions"``), or a callable taking the ``httpx.Request``. No recording
    gives a 404 with an OpenAI-style error body. The bytes go out event by event: at once, with
    ``delay`` seconds between events, or, with ``timing=True``, at the recorded times. A
    recording that is a JSON object is served as a plain (non-streaming) completion.
    ``requests`` lists the requests received, bodies read.
    """

    def __init__(
        self, recordings: Recordings, *, timing: bool = False, delay: float = 0.0
    ) -> None:
        self._recordings = recordings
        self._turn = itertools.count()
        self.timing = timing
        self.delay = delay
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def _choose(self, request: httpx.Request) -> Recording | None:
        recordings = self._recordings
        if isinstance(recordings, (str, bytes, os.PathLike)):
            return recordings
        if isinstance(recordings, Mapping):
            for key in (
                _request_model(request),
                f"{request.method} {request.url.path}",
                request.url.path,
            ):
                if key is not None and key in recordings:
                    return recordings[key]
            return None
        if isinstance(recordings, Sequence):
            with self._lock:
                turn = next(self._turn)
            turns = cast("Sequence[Recording]", recordings)
            return turns[turn] if turn < len(turns) else None
        return recordings(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        recording = self._choose(request)
        if recording is None:
            return _not_found(request, "nothing matches it")
        try:
            data = _read(recording)
        except OSError as exc:
            return _not_found(request, f"{exc.strerror}: {recording!s}")
        return httpx.Response(
            200,
            headers={"content-type": content_type(data), "cache-control": "no-cache"},
            stream=_Pieces(timed_segments(data), self.timing, self.delay),
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._answer(request)
