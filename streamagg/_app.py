"""``stream()`` / ``astream()``: wrap a live streaming call in an application.

All decisions live in ``Session``, a sans-IO object: it is told the response's status and
headers, given body bytes (which it hands to the one ``StreamReader``), and told when the body
ended or the connection failed; it returns typed deltas and produces the folded response or the
error. ``ChatStream`` and ``AsyncChatStream`` are two thin loops that only move bytes from httpx
into it; like httpx's ``Client``/``AsyncClient`` they use the same method names.
"""

from __future__ import annotations

import math
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import anyio
import httpx

from ._errors import (
    ResponseNotReadyError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)
from ._fold import DEFAULT_PADDING_KEYS, DEFAULT_TEXT_KEYS, Aggregator
from ._http import HTTPStatusError, content_type_error
from ._ingest import Fold, StreamReader
from ._limits import DEFAULT_LIMITS, Limits
from ._models import ChatCompletionResponse, ContentDelta, Delta, is_output_text
from ._timing import DEFAULT_IDLE_TIMEOUT, Clock, Timings, completion_tokens

__all__ = [
    "AsyncChatStream",
    "AsyncEventStream",
    "ChatStream",
    "Dialect",
    "EventStream",
    "Session",
    "achat",
    "astream",
    "chat",
    "content_text",
    "endpoint",
    "make_aggregator",
    "next_piece",
    "request_kwargs",
    "stream",
]

R = TypeVar("R")
D = TypeVar("D")
_S = TypeVar("_S", bound="EventStream[Any, Any]")
_A = TypeVar("_A", bound="AsyncEventStream[Any, Any]")
_E = TypeVar("_E", bound=StreamError[Any])


class Session(Generic[R, D]):
    """The logic of a streaming call, without I/O: it is told the time of everything."""

    def __init__(self, fold: Fold[R], clock: Clock) -> None:
        self.reader = StreamReader(fold)
        self.clock = clock
        self.response: R | None = None
        self.error: StreamError[R] | None = None

    @property
    def done(self) -> bool:
        """The stream has ended: read no more."""
        return self.reader.done

    def start(self, response: httpx.Response) -> bool:
        """Check status and content type; True when the (error) body must be read first."""
        if not response.is_success:
            return True
        error = content_type_error(response, self.reader.fold.snapshot())
        if error is not None:
            raise self._fail(error)
        return False

    @property
    def max_error_body(self) -> int:
        """How much of an error body to read."""
        return self.reader.limits.max_error_body

    def status_error(self, response: httpx.Response, content: bytes) -> HTTPStatusError[R]:
        """The error for a non-2xx response, given (the start of) its body."""
        partial = self.reader.fold.snapshot()
        return self._fail(HTTPStatusError.from_response(response, partial, content))

    def feed(self, data: bytes, now: float) -> list[D]:
        """Body bytes that arrived at ``now`` in, deltas out; raises the stream's errors, and
        ``StreamStalledError`` when the watchdog says so."""
        out: list[D] = []
        fold = self.reader.fold
        try:
            self.reader.receive_data(data, out)
        except StreamError as exc:
            raise self._fail(exc) from None
        clock = self.clock
        clock.arrived(now, fold.chunks, clock.wants_token and any(map(is_output_text, out)))
        if not self.reader.done:
            self.check(now)
        return out

    def timings(self, now: float) -> Timings:
        """The stream's timings so far."""
        return self.clock.timings(now, completion_tokens(self.reader.fold.snapshot()))

    def check(self, now: float) -> None:
        """Raise ``StreamStalledError`` if the stream has been idle, or running, too long."""
        why = self.clock.stalled(now)
        if why is not None:
            raise self._fail(self._stalled(why))

    def end(self, now: float) -> R:
        """The body ended (or the stream did): the folded response, or the error."""
        self.clock.ended(now)
        try:
            self.response = self.reader.receive_eof()
        except StreamError as exc:
            raise self._fail(exc) from None
        return self.response

    def failed(self, exc: httpx.HTTPError, started: bool, now: float) -> StreamError[R]:
        """The error for a request that failed (before or after the stream started): a
        watchdog's timeout is ``StreamStalledError``."""
        self.clock.ended(now)
        if isinstance(exc, httpx.TimeoutException):
            why = self.clock.stalled(now + _SLACK)
            if why is not None:
                return self._fail(self._stalled(why))
        when = "mid-stream" if started else "before the stream started"
        return self._fail(
            StreamInterruptedError(
                f"the connection failed {when}: {type(exc).__name__}: {exc}",
                partial=self.reader.fold.snapshot(),
            )
        )

    def closed_early(self) -> StreamInterruptedError[R]:
        """The error for reading a stream after its ``with`` block was left before the end."""
        return self._fail(
            StreamInterruptedError(
                "the stream was closed before it ended (its `with` block was left): "
                "read it inside the block; .partial has what arrived",
                partial=self.reader.fold.snapshot(),
            )
        )

    def _stalled(self, why: str) -> StreamStalledError[R]:
        clock = self.clock
        if why == "total":
            message = f"the stream ran longer than total_timeout={clock.total_timeout} s"
        else:
            message = f"no data for idle_timeout={clock.idle_timeout} s"
        return StreamStalledError(message, reason=why, partial=self.reader.fold.snapshot())

    def _fail(self, error: _E) -> _E:
        if self.error is None:
            self.error = error
        return error


# A timeout of the watchdog's own read limit fires at the limit, give or take the clock's
# resolution.
_SLACK = 0.01


async def next_piece(pieces: AsyncIterator[bytes], session: Session[Any, Any]) -> bytes | None:
    """The next piece of a body (None at its end), waiting no longer than the session's
    watchdog allows (asyncio or trio alike): past it, ``StreamStalledError``."""
    while True:
        wait = session.clock.wait_limit(time.monotonic())
        with anyio.move_on_after(math.inf if wait is None else wait) as scope:
            return await anext(pieces, None)
        if scope.cancelled_caught:
            session.check(time.monotonic() + _SLACK)


def content_text(delta: Delta, choice: int = 0) -> str | None:
    """The text a delta adds to the content of ``choice``, if it is such a delta."""
    if isinstance(delta, ContentDelta) and delta.choice == choice:
        return delta.text
    return None


def request_kwargs(
    client: httpx.Client | httpx.AsyncClient, clock: Clock, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """``client.stream`` arguments: asking for an event stream unless the caller says otherwise
    (as httpx-sse's ``connect_sse`` does), and with a read timeout no longer than the
    watchdog's limits, so that a silent server cannot block a read past them."""
    headers = httpx.Headers(kwargs.get("headers"))
    headers.setdefault("Accept", "text/event-stream")
    headers.setdefault("Cache-Control", "no-store")
    request = {**kwargs, "headers": headers}
    limits = [t for t in (clock.idle_timeout, clock.total_timeout) if t is not None]
    if limits:
        timeout = httpx.Timeout(kwargs.get("timeout", client.timeout))
        read = min(limits) if timeout.read is None else min(timeout.read, *limits)
        request["timeout"] = httpx.Timeout(
            connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool
        )
    return request


class _StreamBase(Generic[R, D]):
    """What both twins share: the session and the read-only views of it."""

    def __init__(self, fold: Fold[R], clock: Clock) -> None:
        self._session: Session[R, D] = Session(fold, clock)
        self._http: httpx.Response | None = None
        self._closed = False

    @property
    def http_response(self) -> httpx.Response:
        """The underlying ``httpx.Response`` (status, headers)."""
        if self._http is None:
            raise ResponseNotReadyError(
                "the request has not been sent: enter the `with` block first"
            )
        return self._http

    @property
    def response(self) -> R:
        """The folded response once the stream has ended.

        Re-raises the stream's error if it failed; raises ``ResponseNotReadyError`` before the end.
        """
        session = self._session
        if session.response is not None:
            return session.response
        if session.error is not None:
            raise session.error
        raise ResponseNotReadyError(
            "the stream has not ended: iterate it to the end (or call finish()) first; "
            "snapshot() gives the response so far"
        )

    @property
    def timings(self) -> Timings:
        """The stream's timings so far (measured as bytes arrive); see ``Timings``."""
        return self._session.timings(time.monotonic())

    def snapshot(self) -> R:
        """The response folded so far."""
        return self._session.reader.fold.snapshot()

    def _check_open(self) -> None:
        session = self._session
        if self._closed and session.response is None:
            raise session.error or session.closed_early()


def make_aggregator(
    text_keys: Iterable[str], padding_keys: Iterable[str], limits: Limits, strict: bool
) -> Aggregator:
    """The chat-completions fold with these options."""
    return Aggregator(text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict)


class _ChatViews(_StreamBase[ChatCompletionResponse, Delta]):
    """Views of a chat-completion stream that both twins share."""

    _aggregator: Aggregator

    def partial_json(self, choice: int = 0, tool: int | None = None) -> Any:
        """The JSON parsed so far of a tool call's arguments (``tool``: its number, as in
        the deltas) or of a JSON-mode answer (``tool`` None); see ``Aggregator.partial_json``."""
        return self._aggregator.partial_json(choice, tool)


class EventStream(_StreamBase[R, D], AbstractContextManager["EventStream[R, D]"]):
    """A streaming call over an ``httpx.Client``, folded by any dialect's fold: what
    ``stream()`` returns for chat completions and the dialects' ``stream()`` for theirs."""

    def __init__(
        self,
        client: httpx.Client,
        method: str,
        url: str | httpx.URL,
        *,
        fold: Fold[R],
        text: Callable[[D], str | None],
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        total_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        clock = Clock(idle_timeout=idle_timeout, total_timeout=total_timeout)
        super().__init__(fold, clock)
        self._text_of = text
        self._connect = client.stream(method, url, **request_kwargs(client, clock, kwargs))
        self._deltas: Generator[D, None, None] | None = None

    def __enter__(self: _S) -> _S:
        session = self._session
        session.clock.started(time.monotonic())
        try:
            response = self._http = self._connect.__enter__()
        except httpx.HTTPError as exc:
            raise session.failed(exc, False, time.monotonic()) from exc
        try:
            if session.start(response):
                raise session.status_error(response, self._error_body(response))
        except BaseException as exc:
            self._connect.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def _error_body(self, response: httpx.Response) -> bytes:
        """The start of an error body, up to ``max_error_body`` bytes (the rest is not read)."""
        limit = self._session.max_error_body
        pieces: list[bytes] = []
        size = 0
        try:
            for piece in response.iter_bytes():
                pieces.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except httpx.HTTPError:
            pass  # what arrived of the body is enough to report the status
        return b"".join(pieces)[:limit]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        try:
            if self._deltas is not None:
                self._deltas.close()
        finally:
            self._connect.__exit__(exc_type, exc, tb)

    def __iter__(self) -> Iterator[D]:
        """The typed deltas, as they arrive. Iterating again continues where it stopped."""
        self._check_open()
        if self._deltas is None:
            self._deltas = self._read(self.http_response)
        return self._deltas

    def _read(self, response: httpx.Response) -> Generator[D, None, None]:
        session = self._session
        try:
            for piece in response.iter_bytes():
                yield from session.feed(piece, time.monotonic())
                if session.done:
                    break
        except httpx.HTTPError as exc:
            raise session.failed(exc, True, time.monotonic()) from exc
        except httpx.StreamClosed:
            raise session.closed_early() from None
        session.end(time.monotonic())

    def text(self) -> Iterator[str]:
        """Only the output text (chat completions: the content of choice 0), as it arrives."""
        text_of = self._text_of
        for delta in self:
            text = text_of(delta)
            if text is not None:
                yield text

    def finish(self) -> R:
        """Read whatever is left of the stream and return the folded response."""
        for _ in self:
            pass
        return self.response


class AsyncEventStream(_StreamBase[R, D], AbstractAsyncContextManager["AsyncEventStream[R, D]"]):
    """The async twin of ``EventStream``, over an ``httpx.AsyncClient``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        *,
        fold: Fold[R],
        text: Callable[[D], str | None],
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        total_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        clock = Clock(idle_timeout=idle_timeout, total_timeout=total_timeout)
        super().__init__(fold, clock)
        self._text_of = text
        self._connect = client.stream(method, url, **request_kwargs(client, clock, kwargs))
        self._deltas: AsyncGenerator[D, None] | None = None

    async def __aenter__(self: _A) -> _A:
        session = self._session
        session.clock.started(time.monotonic())
        try:
            response = self._http = await self._connect.__aenter__()
        except httpx.HTTPError as exc:
            raise session.failed(exc, False, time.monotonic()) from exc
        try:
            if session.start(response):
                raise session.status_error(response, await self._error_body(response))
        except BaseException as exc:
            await self._connect.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _error_body(self, response: httpx.Response) -> bytes:
        """The start of an error body, up to ``max_error_body`` bytes (the rest is not read)."""
        limit = self._session.max_error_body
        pieces: list[bytes] = []
        size = 0
        try:
            async for piece in response.aiter_bytes():
                pieces.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except httpx.HTTPError:
            pass  # what arrived of the body is enough to report the status
        return b"".join(pieces)[:limit]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        try:
            if self._deltas is not None:
                await self._deltas.aclose()
        finally:
            await self._connect.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> AsyncIterator[D]:
        """The typed deltas, as they arrive. Iterating again continues where it stopped."""
        self._check_open()
        if self._deltas is None:
            self._deltas = self._read(self.http_response)
        return self._deltas

    async def _read(self, response: httpx.Response) -> AsyncGenerator[D, None]:
        session = self._session
        pieces = cast("AsyncGenerator[bytes, None]", response.aiter_bytes())
        try:
            while (piece := await next_piece(pieces, session)) is not None:
                for delta in session.feed(piece, time.monotonic()):
                    yield delta
                if session.done:
                    break
        except httpx.HTTPError as exc:
            raise session.failed(exc, True, time.monotonic()) from exc
        except httpx.StreamClosed:
            raise session.closed_early() from None
        finally:
            # An async generator is not closed by the garbage collector in time: close the
            # byte iterator here, as httpx-sse does, so the connection goes back to the pool.
            await pieces.aclose()
        session.end(time.monotonic())

    async def text(self) -> AsyncIterator[str]:
        """Only the output text (chat completions: the content of choice 0), as it arrives."""
        text_of = self._text_of
        async for delta in self:
            text = text_of(delta)
            if text is not None:
                yield text

    async def finish(self) -> R:
        """Read whatever is left of the stream and return the folded response."""
        async for _ in self:
            pass
        return self.response


class ChatStream(_ChatViews, EventStream[ChatCompletionResponse, Delta]):
    """A streaming chat completion over an ``httpx.Client``; see ``stream()``."""

    def __init__(
        self,
        client: httpx.Client,
        method: str,
        url: str | httpx.URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        self._aggregator = make_aggregator(text_keys, padding_keys, limits, strict)
        super().__init__(client, method, url, fold=self._aggregator, text=content_text, **kwargs)


class AsyncChatStream(_ChatViews, AsyncEventStream[ChatCompletionResponse, Delta]):
    """A streaming chat completion over an ``httpx.AsyncClient``; see ``astream()``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        self._aggregator = make_aggregator(text_keys, padding_keys, limits, strict)
        super().__init__(client, method, url, fold=self._aggregator, text=content_text, **kwargs)


def stream(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> ChatStream:
    """Open a streaming chat completion: ``with stream(client, "POST", url, json=...) as s:``.

    Takes the arguments of ``client.stream``. Iterating ``s`` yields typed deltas as they arrive;
    ``s.text()`` only the content text of choice 0; ``s.snapshot()`` the response so far;
    ``s.response`` the folded response once the stream ended. The body may be an event stream or
    a whole JSON completion (see ``StreamReader``). Every failure is a ``StreamError`` with
    ``.partial``: ``HTTPStatusError`` (non-2xx, also an ``httpx.HTTPStatusError``),
    ``ContentTypeError``, ``StreamInterruptedError`` (the request or the connection failed,
    before or during the stream: a refused connection, a timeout, a reset, a body that does not
    decode; the httpx exception is the ``__cause__``; or the stream was read after its block was
    left) and the fold's errors. Leaving the
    ``with`` block closes the deltas, the response and the connection. ``text_keys``,
    ``padding_keys``, ``limits`` and ``strict`` are the fold options of ``Aggregator``.

    The stall watchdog: ``idle_timeout`` seconds allowed between data events (keep-alive
    comments and pings do not count, unlike for httpx's read timeout, which any byte resets;
    ``DEFAULT_IDLE_TIMEOUT``, 600 s, so that no stream hangs a caller for ever) and
    ``total_timeout`` seconds for the whole stream (off by default); past either,
    ``StreamStalledError`` (a ``StreamInterruptedError``) with ``.partial``, and the connection
    is closed. ``None`` turns either off. The client's own timeouts still apply (httpx's
    default: 5 s without any byte). ``s.timings`` gives the stream's ``Timings``.
    """
    return ChatStream(
        client,
        method,
        url,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def astream(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``stream()``: ``async with astream(client, ...) as s:``."""
    return AsyncChatStream(
        client,
        method,
        url,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def _chat_request(
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    api_key: str | None,
    headers: Mapping[str, str] | None,
) -> tuple[httpx.URL, dict[str, Any], dict[str, str]]:
    target = endpoint(url, "/chat/completions")
    body = dict(payload)
    body.setdefault("stream", True)
    body.setdefault("stream_options", {"include_usage": True})
    if body["stream_options"] is None:
        del body["stream_options"]  # an explicit None: send no stream_options at all
    all_headers = dict(headers or {})
    if api_key is not None:
        all_headers["Authorization"] = f"Bearer {api_key}"
    return target, body, all_headers


def chat(
    client: httpx.Client,
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> ChatStream:
    """POST ``payload`` to ``{url}/chat/completions`` (``url`` may already end with it).

    Sets ``stream: true`` and ``stream_options: {"include_usage": true}`` unless the payload sets
    them (``stream_options: None`` sends none); ``api_key`` becomes a Bearer token. Returns the
    ``ChatStream`` of ``stream()``; other keyword arguments go to ``client.stream``.
    """
    target, body, all_headers = _chat_request(url, payload, api_key, headers)
    return stream(
        client,
        "POST",
        target,
        json=body,
        headers=all_headers,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def achat(
    client: httpx.AsyncClient,
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``chat()``."""
    target, body, all_headers = _chat_request(url, payload, api_key, headers)
    return astream(
        client,
        "POST",
        target,
        json=body,
        headers=all_headers,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def endpoint(url: str | httpx.URL, suffix: str) -> httpx.URL:
    """``url`` with ``suffix`` (``/chat/completions``, ``/responses``...) appended to its path,
    unless the path already ends with it."""
    target = httpx.URL(url)
    path = target.path.rstrip("/")
    if not path.endswith(suffix):
        target = target.copy_with(path=path + suffix)
    return target


class Dialect(Generic[R, D]):
    """What the app layer needs of a stream dialect other than chat completions: its fold
    class (made with the keywords ``limits`` and ``strict``), which deltas are output text, and
    how to call its endpoint (the path ``suffix``, the headers that carry an API key, default
    headers, query ``params``, body defaults ``body``, and whether the body asks for a stream
    with ``"stream": true``)."""

    def __init__(
        self,
        make_fold: Callable[..., Fold[R]],
        text: Callable[[D], str | None],
        suffix: str,
        auth: Callable[[str], dict[str, str]],
        default_headers: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        stream_flag: bool = True,
    ) -> None:
        self.make_fold = make_fold
        self.text = text
        self.suffix = suffix
        self.auth = auth
        self.default_headers = dict(default_headers or {})
        self.params = dict(params or {})
        self.body = dict(body or {})
        self.stream_flag = stream_flag

    def stream(
        self,
        client: httpx.Client,
        method: str,
        url: str | httpx.URL,
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> EventStream[R, D]:
        """Open a stream of this dialect: ``with d.stream(client, "POST", url, json=...) as s:``.

        As ``streamagg.stream()`` for chat completions: iterating ``s`` yields the dialect's
        typed deltas, ``s.text()`` the output text, ``s.snapshot()`` the object so far,
        ``s.response`` the final one; every failure is a ``StreamError`` with the partial
        object; ``idle_timeout``/``total_timeout`` (in ``kwargs``, with the arguments of
        ``client.stream``) are the stall watchdog's, and ``s.timings`` works the same way."""
        fold = self.make_fold(limits=limits, strict=strict)
        return EventStream(client, method, url, fold=fold, text=self.text, **kwargs)

    def astream(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> AsyncEventStream[R, D]:
        """The async twin of ``stream``."""
        fold = self.make_fold(limits=limits, strict=strict)
        return AsyncEventStream(client, method, url, fold=fold, text=self.text, **kwargs)

    def create(
        self,
        client: httpx.Client,
        url: str | httpx.URL,
        payload: Mapping[str, Any],
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> EventStream[R, D]:
        """POST ``payload`` to the dialect's endpoint under ``url`` (which may already end with
        it) with ``stream: true`` unless the payload sets it (Gemini asks by its URL instead);
        ``api_key`` goes in the dialect's auth header. ``options``: those of ``stream``
        (``limits``, ``strict``, ``idle_timeout``, ``total_timeout``) and of
        ``client.stream``."""
        return self.stream(client, **self._request(url, payload, api_key, headers), **options)

    def acreate(
        self,
        client: httpx.AsyncClient,
        url: str | httpx.URL,
        payload: Mapping[str, Any],
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> AsyncEventStream[R, D]:
        """The async twin of ``create``."""
        return self.astream(client, **self._request(url, payload, api_key, headers), **options)

    def _request(
        self,
        url: str | httpx.URL,
        payload: Mapping[str, Any],
        api_key: str | None,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        body = {**self.body, **payload}
        if self.stream_flag:
            body.setdefault("stream", True)
        all_headers = httpx.Headers(self.default_headers)
        all_headers.update(headers or {})  # the caller's headers win, whatever their case
        if api_key is not None:
            all_headers.update(self.auth(api_key))
        request: dict[str, Any] = {
            "method": "POST",
            "url": endpoint(url, self.suffix),
            "json": body,
            "headers": all_headers,
        }
        if self.params:
            request["params"] = self.params
        return request
