"""``RecordingTransport`` and ``record()``: live responses written, as they arrive, in the
recording format (``_format``), decoded when the server compressed them."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from .._app.http import STREAM_CONTENT_TYPES, Decoding, media_type
from .._app.stack import stack_of
from .._core.framing import EventBoundaries
from .._core.limits import DEFAULT_LIMITS, Limits
from .._core.reader import body_is_json
from ._format import http_answer_recording, timing_line
from ._stacks import Transport, byte_stream

if TYPE_CHECKING:
    from .._app.stack import Request, Response
    from ._stacks import AnyTransport

__all__ = ["RecordingTransport", "Target", "record"]

# The content codings a recording can be decoded from (zlib's); the request's Accept-Encoding
# is narrowed to them, so that a server never picks one the recording could not undo.
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "identity"})
# Codings httpx would undo for the app (with brotli or zstandard installed) that we cannot:
# recording such a body would record bytes the app never saw.
_UNDECODABLE = frozenset({"br", "zstd"})


class _Decoding:
    """A response body's content codings undone for its recording, in bounded pieces,
    counting the decoded bytes: past ``limit`` (``Limits.max_total_bytes``) it stops with
    the stack's ``DecodingError`` rather than inflate a bomb."""

    def __init__(self, request: Request, codings: list[str], limit: int | None) -> None:
        self._request = request
        self._module = stack_of(request)
        # The app layer's decoding, in the same bounded pieces ("x-gzip" is gzip).
        gzip = ["gzip" if c == "x-gzip" else c for c in codings]
        self._decoding = Decoding(request, gzip) if gzip else None
        self._limit = limit
        self.size = 0  # decoded bytes so far

    @classmethod
    def of(cls, request: Request, response: Response, limit: int | None) -> _Decoding:
        """The decoding of ``response`` (the stack's ``DecodingError`` for a coding the stack
        would undo and we cannot)."""
        codings = [
            c.strip().lower()
            for c in response.headers.get_list("content-encoding", split_commas=True)
        ]
        refused = [c for c in codings if c in _UNDECODABLE]
        if refused:
            raise stack_of(request).DecodingError(
                f"cannot record a body sent with content-encoding {', '.join(refused)} "
                "(recordings undo gzip and deflate; the request asked for no other)",
                request=request,
            )
        # Codings httpx does not know either are passed as they are, to the app and to us.
        return cls(request, [c for c in codings if c in _DECODABLE - {"identity"}], limit)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (the stack's ``DecodingError`` for a body that is not
        valid for its coding)."""
        pieces = (data,) if self._decoding is None else self._decoding.feed(data)
        for piece in pieces:
            self.size += len(piece)
            if self._limit is not None and self.size > self._limit:
                raise self._module.DecodingError(
                    f"the body decodes to more than max_total_bytes={self._limit} bytes",
                    request=self._request,
                )
            yield piece


def _accept_only_decodable(request: Request) -> None:
    """Narrow the request's Accept-Encoding to the codings a recording can undo."""
    value = request.headers.get("accept-encoding")
    if value is None:
        return
    codings = [c.strip() for c in value.split(",") if c.strip()]
    kept = [c for c in codings if c.partition(";")[0].strip().lower() in _DECODABLE]
    if kept != codings:
        request.headers["accept-encoding"] = ", ".join(kept) or "identity"


class _Recorder:
    """Writes a response's decoded bytes to its recording as they arrive, each event after
    the line with its arrival time.

    Timing lines are SSE comments: only an event stream gets them. A JSON body (a non-streaming
    answer) or JSON lines (Ollama) are recorded byte for byte, as the bytes say (the rule of
    ``streamagg._core.reader``), so that the recording replays as what it is.

    Memory is bounded: an event is held until it ends (its timing line goes before it) only up
    to ``Limits.max_event_size`` bytes; a longer one is written at once, after the time it had
    reached, and the rest of it as it comes. Decoding stops at ``max_total_bytes``."""

    def __init__(self, file: IO[bytes], started: float, decoding: _Decoding, limit: int) -> None:
        self._file = file
        self._started = started
        self._decoding = decoding
        self._limit = limit  # bytes of one event held back
        self._boundaries = EventBoundaries()
        self._event = bytearray()
        self._spilled = False  # the event under way outgrew the limit: written as it comes
        self._closed = False
        self._json: bool | None = None  # undecided until a byte that is not whitespace

    def _mark(self) -> None:
        if not self._spilled:
            self._file.write(timing_line(time.perf_counter() - self._started))
        self._file.write(self._event)
        self._event.clear()

    def feed(self, data: bytes) -> None:
        for piece in self._decoding.feed(data):
            self._take(piece)

    def _take(self, data: bytes) -> None:
        if self._json is None:
            # Undecided means BOM (or part of one) and whitespace so far: its first bytes and
            # the new ones decide, without copying what was held.
            self._json = body_is_json(bytes(self._event[:3]) + data)
        if self._json:
            self._file.write(self._event)  # recorded as it is, without timing
            self._file.write(data)
            self._event.clear()
            return
        start = 0
        for end in self._boundaries.feed(data):
            self._event += data[start:end]
            start = end
            self._mark()
            self._spilled = False
        self._event += data[start:]
        if len(self._event) > self._limit:
            self._mark()
            self._spilled = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._event:
                self._mark()
        finally:
            self._file.close()


class _Tee:
    """A response body passed on to the app as it is read, and recorded (made a byte stream of
    the response's stack by ``byte_stream``)."""

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


class _ErrorBody:
    """The start of an error answer's body, decoded, up to ``Limits.max_error_body`` bytes
    (the rest is not read, as the app does not read it)."""

    def __init__(self, request: Request, response: Response, limits: Limits) -> None:
        self._request = request
        self._decoding = _Decoding.of(request, response, None)
        self._limit = limits.max_error_body
        self._pieces: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> bool:
        """Take raw bytes; True once there is enough."""
        for piece in self._decoding.feed(data):
            self._pieces.append(piece)
            self._size += len(piece)
            if self._size >= self._limit:
                return True
        return False

    def answer(self, response: Response) -> Response:
        """The response the app gets: ``response`` with the body read (decoded: the headers
        that described its coding and length go)."""
        body = b"".join(self._pieces)[: self._limit]
        dropped = {"content-encoding", "content-length", "transfer-encoding"}
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
        answer: Response = stack_of(response).Response(
            response.status_code,
            headers=headers,
            content=body,
            extensions=response.extensions,
            request=self._request,
        )
        return answer


#: Where a recording goes: a path, or a callable from the request and its number (0, 1, ...).
Target: TypeAlias = "str | os.PathLike[str] | Callable[[Request, int], str | os.PathLike[str]]"


def _is_folder(target: str | os.PathLike[str]) -> bool:
    """A target that names a folder: a path ending in a separator, or an existing folder."""
    text = os.fspath(target)
    if text.endswith(("/", os.sep)):
        return True
    try:
        return Path(text).is_dir()
    except OSError:  # a name the file system refuses: writing the file will say so
        return False


class RecordingTransport(Transport):
    """Send requests through a live transport and record each answer (clients of httpx2 and
    httpx, sync and async).

    Every 2xx answer labelled ``text/event-stream`` (or JSON) is written to ``target`` as it
    is read, byte for byte, with a ``: t=SECONDS`` comment line before each event; every
    non-2xx answer is written as its status, kept headers and body (``http_answer``).
    ``target`` is a file (one recording: a second one raises ``FileExistsError``), a folder (a
    path ending in ``/``, or an existing folder: one new file per request, ``000.sse``,
    ``001.sse``..., taking the next number no file has, so that recordings already there, or
    another transport's, are never overwritten) or a callable ``(request, number) -> path``.

    One rule for files: a recording never replaces a file that is there (``FileExistsError``
    naming it, when the answer arrives) unless ``overwrite=True``; a file target holds one
    recording whatever ``overwrite`` says.

    The inner transport defaults to the request's stack's own (``HTTPTransport`` or
    ``AsyncHTTPTransport``); a given one must be of the client's stack. ``recorded`` lists the
    paths written.

    A body sent compressed (``content-encoding: gzip`` or ``deflate``) is recorded decoded,
    as the app reads it: the request's ``Accept-Encoding`` is narrowed to those codings.
    ``limits`` bounds what recording holds and reads: ``max_event_size`` bytes of an event
    held for its timing line, ``max_error_body`` bytes of an error answer read (the app gets
    that much too), and ``max_total_bytes`` of decoded body (past it, the stack's
    ``DecodingError``: a compression bomb is refused, never inflated whole).
    """

    def __init__(
        self,
        target: Target,
        transport: AnyTransport | None = None,
        *,
        limits: Limits | None = None,
        overwrite: bool = False,
    ) -> None:
        self._target = target
        self._transport = transport
        self._owned: dict[tuple[str, bool], Any] = {}  # ours, by stack and sync-ness
        self._count = itertools.count()
        self.limits = DEFAULT_LIMITS if limits is None else limits
        self.overwrite = overwrite
        self.recorded: list[Path] = []

    def _inner(self, module: ModuleType, sync: bool) -> Any:
        """The transport to send through: the given one, or ours of ``module``'s stack."""
        inner = self._transport
        if inner is None:
            inner = self._owned.get((module.__name__, sync))
            if inner is None:
                inner = module.HTTPTransport() if sync else module.AsyncHTTPTransport()
                self._owned[module.__name__, sync] = inner
        method = "handle_request" if sync else "handle_async_request"
        if not callable(getattr(inner, method, None)):
            client = "Client" if sync else "AsyncClient"
            kind = "sync" if sync else "async"
            raise TypeError(
                f"a {module.__name__}.{client} needs a {kind} inner transport to record through"
            )
        return inner

    def _create(self, request: Request) -> tuple[Path, IO[bytes]]:
        """The next recording's path, and the file opened on it."""
        number = next(self._count)
        target = self._target
        if callable(target):
            path = Path(target(request, number))
        elif _is_folder(target):
            Path(target).mkdir(parents=True, exist_ok=True)
            while True:  # created exclusively: a number another writer took is skipped
                path = Path(target, f"{number:03d}.sse")
                try:
                    return path, path.open("xb")
                except FileExistsError:
                    number = next(self._count)
        elif number:  # one file holds one recording: never overwrite the first silently
            raise FileExistsError(
                f"{target} already holds this transport's first recording; to record several "
                f"requests give a folder (a path ending in '/') or a callable (request, n) -> path"
            )
        else:
            path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return path, path.open("wb" if self.overwrite else "xb")
        except FileExistsError:
            raise FileExistsError(
                f"{path} exists: a recording never replaces a file (remove it, or record with "
                "overwrite=True)"
            ) from None

    def _record_answer(self, request: Request, answer: Response) -> Response:
        """Record a non-2xx answer (its body read up to ``max_error_body``), kept readable."""
        path, file = self._create(request)
        self.recorded.append(path)
        with file:
            file.write(http_answer_recording(answer.status_code, answer.headers, answer.content))
        return answer

    @staticmethod
    def _tee(response: Response, recorder: _Recorder) -> None:
        """Record the body as the app reads it; a body read already (a response made with
        ``content=...`` by a mock transport) is recorded now."""
        module = stack_of(response)
        if response.is_closed:
            try:
                if isinstance(response.stream, module.SyncByteStream):
                    for data in response.stream:
                        recorder.feed(data)
            finally:
                recorder.close()
            return
        tee: Any = byte_stream(module, _Tee)(response.stream, recorder)
        response.stream = tee

    def _recorder(self, request: Request, response: Response, started: float) -> _Recorder | None:
        """The recorder of a 2xx stream (None for an answer that is not one)."""
        if not (response.is_success and media_type(response) in STREAM_CONTENT_TYPES):
            return None
        decoding = _Decoding.of(request, response, self.limits.max_total_bytes)
        path, file = self._create(request)
        self.recorded.append(path)
        return _Recorder(file, started, decoding, self.limits.max_event_size)

    def handle_request(self, request: Request) -> Any:
        module = stack_of(request)
        inner = self._inner(module, sync=True)
        _accept_only_decodable(request)
        started = time.perf_counter()
        response: Response = inner.handle_request(request)
        try:
            if not response.is_success:
                body = _ErrorBody(request, response, self.limits)
                try:
                    for data in response.stream:  # type: ignore[union-attr]
                        if body.feed(data):
                            break
                except module.TransportError:
                    pass  # what arrived of the body is the answer
                response.close()
                return self._record_answer(request, body.answer(response))
            recorder = self._recorder(request, response, started)
        except BaseException:
            response.close()
            raise
        if recorder is not None:
            self._tee(response, recorder)
        return response

    async def handle_async_request(self, request: Request) -> Any:
        module = stack_of(request)
        inner = self._inner(module, sync=False)
        _accept_only_decodable(request)
        started = time.perf_counter()
        response: Response = await inner.handle_async_request(request)
        try:
            if not response.is_success:
                body = _ErrorBody(request, response, self.limits)
                try:
                    async for data in response.stream:  # type: ignore[union-attr]
                        if body.feed(data):
                            break
                except module.TransportError:
                    pass  # what arrived of the body is the answer
                await response.aclose()
                return self._record_answer(request, body.answer(response))
            recorder = self._recorder(request, response, started)
        except BaseException:
            await response.aclose()
            raise
        if recorder is not None:
            self._tee(response, recorder)
        return response

    def _closing(self, sync: bool) -> list[Any]:
        """The inner transports to close (sync or async): ours, which are made again when
        needed, and the given one."""
        owned = [key for key in self._owned if key[1] == sync]
        inners = [self._owned.pop(key) for key in owned]
        method = "handle_request" if sync else "handle_async_request"
        if self._transport is not None and callable(getattr(self._transport, method, None)):
            inners.append(self._transport)
        return inners

    def close(self) -> None:
        for inner in self._closing(sync=True):
            inner.close()

    async def aclose(self) -> None:
        for inner in self._closing(sync=False):
            await inner.aclose()


def record(
    target: Target,
    transport: AnyTransport | None = None,
    *,
    limits: Limits | None = None,
    overwrite: bool = False,
) -> RecordingTransport:
    """A ``RecordingTransport``: ``httpx2.Client(transport=record("answer.sse"))``."""
    return RecordingTransport(target, transport, limits=limits, overwrite=overwrite)
