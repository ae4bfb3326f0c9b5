"""Replay, record and synthesize chat-completion streams in tests.

* ``ReplayTransport``: an httpx transport (sync and async) that answers with recorded ``.sse``
  files, in pieces, optionally with their recorded timing, and keeps the requests it received.
* ``RecordingTransport`` (``record()``): wraps a live transport and writes each streaming
  response to a recording, byte for byte, with the arrival time of each event.
* ``synthesize()``: the realistic chunk stream, as SSE bytes, that folds to a given response.

Recordings are event streams with timing comment lines (see ``streamagg._recording``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias, cast

import httpx

from ._convert import converter, from_dict
from ._http import STREAM_CONTENT_TYPES, media_type
from ._models import ChatCompletionResponse, Choice, FunctionCall, Logprobs, Message
from ._recording import EventBoundaries, content_type, paced, timed_segments, timing_line

__all__ = [
    "RECORD_MODES",
    "RecordingMissingError",
    "RecordingTransport",
    "ReplayTransport",
    "StreamCassette",
    "record",
    "synthesize",
    "synthesize_chunks",
]

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


# -- recording --------------------------------------------------------------------------------


class _Recorder:
    """Collects a response's bytes with the arrival time of each event, then writes the file."""

    def __init__(self, path: Path, started: float) -> None:
        self._path = path
        self._started = started
        self._boundaries = EventBoundaries()
        self._out = bytearray()
        self._event = bytearray()
        self._closed = False

    def _mark(self) -> None:
        self._out += timing_line(time.perf_counter() - self._started)
        self._out += self._event
        self._event.clear()

    def feed(self, data: bytes) -> None:
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
        if self._event:
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


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Send requests through a live transport and record each streaming answer.

    Every 2xx answer labelled ``text/event-stream`` (or ``application/json``) is written to
    ``target`` as it is read, byte for byte, with a ``: t=SECONDS`` comment line before each
    event. ``target`` is a path or a callable ``(request, number) -> path``. The inner transport
    defaults to httpx's own (``HTTPTransport``/``AsyncHTTPTransport``). ``recorded`` lists the
    paths written.
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
        return Path(target(request, number) if callable(target) else target)

    def _wrap(self, request: httpx.Request, response: httpx.Response, started: float) -> None:
        if response.is_success and media_type(response) in STREAM_CONTENT_TYPES:
            path = self._path(request)
            self.recorded.append(path)
            response.stream = _TeeStream(response.stream, _Recorder(path, started))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = httpx.HTTPTransport()
        if not isinstance(self._transport, httpx.BaseTransport):
            raise TypeError("an httpx.Client needs a sync inner transport to record through")
        started = time.perf_counter()
        response = self._transport.handle_request(request)
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


# -- synthesizing -----------------------------------------------------------------------------


_TEXT_FIELDS = ("reasoning_content", "reasoning", "refusal", "content")


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _function_fragments(function: FunctionCall, size: int) -> list[dict[str, Any]]:
    """A function as streamed: name (and extensions) first, then the arguments in pieces."""
    pieces = _pieces(function.arguments, size) or [""]
    first = {"name": function.name, "arguments": pieces[0], **function.extensions}
    return [first, *({"arguments": p} for p in pieces[1:])]


def _choice_entries(choice: Choice, size: int) -> list[dict[str, Any]]:
    """The ``choices`` entries (one per chunk) that stream one choice, in a realistic order:
    the role, reasoning, refusal and content in pieces, tool calls, then the finish."""
    message: Message = choice.message
    first: dict[str, Any] = {"role": message.role, **message.extensions}
    deltas: list[dict[str, Any]] = [first]
    for key in _TEXT_FIELDS:
        text = getattr(message, key)
        if text is not None:
            first[key] = ""  # as OpenAI does: the field appears empty with the role
            deltas.extend({key: p} for p in _pieces(text, size))
    if message.function_call is not None:
        deltas.extend(
            {"function_call": f} for f in _function_fragments(message.function_call, size)
        )
    for index, call in enumerate(message.tool_calls or []):
        fragments = _function_fragments(call.function, size)
        head = {"index": index, "id": call.id, "type": call.type, **call.extensions}
        deltas.append({"tool_calls": [{**head, "function": fragments[0]}]})
        deltas.extend({"tool_calls": [{"index": index, "function": f}]} for f in fragments[1:])
    entries: list[dict[str, Any]] = [{"delta": d} for d in deltas]
    if choice.logprobs is not None:
        _spread_logprobs(entries, choice.logprobs)
    if choice.finish_reason is not None or choice.extensions:
        entries.append({"delta": {}, "finish_reason": choice.finish_reason, **choice.extensions})
    for entry in entries:
        entry["index"] = choice.index
        entry.setdefault("logprobs", None)
        entry.setdefault("finish_reason", None)
    return entries


def _spread_logprobs(entries: list[dict[str, Any]], logprobs: Logprobs) -> None:
    """Spread each token list over the entries, a few tokens each (the first entry always
    carries the list, even empty, and the extensions)."""
    first: dict[str, Any] = {**logprobs.extensions}
    entries[0]["logprobs"] = first
    for key in ("content", "refusal"):
        tokens = getattr(logprobs, key)
        if tokens is None:
            continue
        per = -(-len(tokens) // len(entries)) or 1
        first[key] = tokens[:per]
        for n, entry in enumerate(entries[1:], 1):
            part = tokens[n * per : (n + 1) * per]
            if part:
                entry.setdefault("logprobs", {})[key] = part


def synthesize_chunks(
    response: ChatCompletionResponse | Mapping[str, Any],
    *,
    chunk_size: int = 4,
    include_usage: bool = True,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` dicts of a realistic stream that folds to ``response``.

    Text and tool-call arguments are cut into ``chunk_size`` characters; choices interleave
    (``n > 1``); each choice ends with its finish chunk; a usage-only chunk (``choices: []``)
    comes last when ``include_usage`` and the response has usage.
    """
    if not isinstance(response, ChatCompletionResponse):
        response = from_dict(response)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    head: dict[str, Any] = {
        "id": response.id,
        "object": "chat.completion.chunk",
        "created": response.created,
        "model": response.model,
    }
    for key in ("system_fingerprint", "service_tier"):
        if getattr(response, key) is not None:
            head[key] = getattr(response, key)
    per_choice = [_choice_entries(c, chunk_size) for c in response.choices]
    chunks = [
        {**head, "choices": [entry]}
        for row in itertools.zip_longest(*per_choice)
        for entry in row
        if entry is not None
    ]
    if not chunks:
        chunks.append({**head, "choices": []})
    first, last = chunks[0], chunks[-1]
    first.update(response.extensions)
    if response.prompt_logprobs is not None:
        first["prompt_logprobs"] = response.prompt_logprobs
    if response.extra is not None:
        last["extra"] = response.extra
    if include_usage and response.usage is not None:
        chunks.append({**head, "choices": [], "usage": converter.unstructure(response.usage)})
    return chunks


def synthesize(
    response: ChatCompletionResponse | Mapping[str, Any],
    *,
    chunk_size: int = 4,
    include_usage: bool = True,
    interval: float | None = None,
) -> bytes:
    """A realistic event stream (SSE bytes, ending in ``data: [DONE]``) for ``response``.

    ``replay(synthesize(r)) == r``. With ``interval``, each event is preceded by a timing line
    (``: t=...``), ``interval`` seconds apart, so ``ReplayTransport(timing=True)`` paces it.
    """
    chunks = synthesize_chunks(response, chunk_size=chunk_size, include_usage=include_usage)
    events = [
        b"data: " + json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
        for c in chunks
    ]
    events.append(b"data: [DONE]\n\n")
    if interval is None:
        return b"".join(events)
    return b"".join(timing_line(n * interval) + e for n, e in enumerate(events, 1))


# -- cassettes (the pytest plugin's fixture) --------------------------------------------------

#: ``StreamCassette`` modes: replay only; record what is missing; record everything again.
RECORD_MODES = ("none", "missing", "all")


class RecordingMissingError(LookupError):
    """A request has no recording and recording is off."""


class StreamCassette(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport that answers the ``n``-th request of a test with ``<name>.sse`` (``n`` = 0)
    or ``<name>.<n>.sse`` in ``directory``.

    ``mode`` says what happens when a recording is missing: ``"none"`` raises
    ``RecordingMissingError``; ``"missing"`` sends the request to the live service and records
    the answer; ``"all"`` records every request again. ``live`` is the transport to the live
    service (httpx's own by default). ``requests`` lists the requests, ``recorded`` the files
    written.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        name: str,
        *,
        mode: str = "none",
        timing: bool = False,
        live: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"mode must be one of {RECORD_MODES}, not {mode!r}")
        self.directory = Path(directory)
        self.name = name
        self.mode = mode
        self.timing = timing
        self.requests: list[httpx.Request] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._recorder = RecordingTransport(self._target, live)

    @property
    def recorded(self) -> list[Path]:
        return self._recorder.recorded

    def path(self, number: int) -> Path:
        """The recording of request ``number`` (0 for the first)."""
        return self.directory / (
            f"{self.name}.sse" if number == 0 else f"{self.name}.{number}.sse"
        )

    def _target(self, request: httpx.Request, _: int) -> Path:
        return self.path(request.extensions["streamagg_number"])

    def _route(self, request: httpx.Request) -> tuple[Path, bool]:
        """(the recording, whether to replay it)."""
        with self._lock:
            number = next(self._count)
            self.requests.append(request)
        path = self.path(number)
        request.extensions["streamagg_number"] = number
        if self.mode == "all" or (self.mode == "missing" and not path.exists()):
            return path, False
        if not path.exists():
            raise RecordingMissingError(
                f"no recording {path} for {request.method} {request.url}; "
                "run pytest with --streamagg-record=missing to record it from the live service"
            )
        return path, True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, replay_it = self._route(request)
        if replay_it:
            return ReplayTransport(path, timing=self.timing).handle_request(request)
        return self._recorder.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path, replay_it = self._route(request)
        if replay_it:
            return await ReplayTransport(path, timing=self.timing).handle_async_request(request)
        return await self._recorder.handle_async_request(request)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on this cassette."""
        return httpx.Client(transport=self, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on this cassette."""
        return httpx.AsyncClient(transport=self, **kwargs)

    def close(self) -> None:
        self._recorder.close()

    async def aclose(self) -> None:
        await self._recorder.aclose()
