"""``EventStream`` and ``AsyncEventStream``: a live streaming call of any dialect, folded.

Two thin loops that move bytes from the HTTP stack into a ``Session`` (``session``); like
httpx's ``Client``/``AsyncClient`` they use the same method names. Either takes a client of
httpx2 or of httpx (``stack``) and uses that stack's classes: its exceptions are caught, and
its ``HTTPStatusError`` is a class of the error raised. Every dialect's ``stream()`` returns one
(chat completions' a ``ChatStream``, with its own views)."""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterator,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._core.errors import (
    ResponseNotReadyError,
    StreamError,
)
from .._core.fold import Fold
from .session import Session, aiter_body, iter_body, next_piece, request_kwargs
from .stack import stack_of
from .timing import DEFAULT_IDLE_TIMEOUT, Clock, Timings

if TYPE_CHECKING:
    from .stack import URL, AsyncClient, Client, Response

__all__ = ["AsyncEventStream", "EventStream"]

R = TypeVar("R")
D = TypeVar("D")
_S = TypeVar("_S", bound="EventStream[Any, Any]")
_A = TypeVar("_A", bound="AsyncEventStream[Any, Any]")
_E = TypeVar("_E", bound=StreamError[Any])


class _StreamBase(Generic[R, D]):
    """What both twins share: the session and the read-only views of it."""

    def __init__(self, fold: Fold[R], clock: Clock, client: Client | AsyncClient) -> None:
        self._session: Session[R, D] = Session(fold, clock)
        self._stack = stack_of(client)  # the module whose exceptions the client raises
        self._http: Response | None = None
        self._closed = False

    @property
    def http_response(self) -> Response:
        """The underlying response, of the client's stack (status, headers)."""
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


class EventStream(_StreamBase[R, D], AbstractContextManager["EventStream[R, D]"]):
    """A streaming call over a client (httpx2's or httpx's), folded by any dialect's fold:
    what ``stream()`` returns for chat completions and the dialects' ``stream()`` for theirs."""

    def __init__(
        self,
        client: Client,
        method: str,
        url: str | URL,
        *,
        fold: Fold[R],
        text: Callable[[D], str | None],
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        total_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        clock = Clock(idle_timeout=idle_timeout, total_timeout=total_timeout)
        super().__init__(fold, clock, client)
        self._text_of = text
        request = request_kwargs(client, clock, kwargs)
        self._connect: AbstractContextManager[Response] = client.stream(
            method,
            url,  # type: ignore[arg-type]  # a URL of the client's own stack, or a str
            **request,
        )
        self._deltas: Generator[D, None, None] | None = None

    def __enter__(self: _S) -> _S:
        session = self._session
        session.clock.started(time.monotonic())
        try:
            response = self._http = self._connect.__enter__()
        except self._stack.HTTPError as exc:
            raise session.failed(exc, False, time.monotonic()) from exc
        try:
            if session.start(response):
                raise session.status_error(response, self._error_body(response))
        except BaseException as exc:
            self._connect.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def _error_body(self, response: Response) -> bytes:
        """The start of an error body, up to ``max_error_body`` bytes (the rest is not read)."""
        limit = self._session.max_error_body
        pieces: list[bytes] = []
        size = 0
        try:
            for piece in iter_body(response):
                pieces.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except self._stack.HTTPError:
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

    def _read(self, response: Response) -> Generator[D, None, None]:
        session = self._session
        module = self._stack
        try:
            for piece in iter_body(response):
                yield from session.feed(piece, time.monotonic())
                if session.done:
                    break
        except module.HTTPError as exc:
            raise session.failed(exc, True, time.monotonic()) from exc
        except module.StreamClosed:
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
    """The async twin of ``EventStream``, over an async client (httpx2's or httpx's)."""

    def __init__(
        self,
        client: AsyncClient,
        method: str,
        url: str | URL,
        *,
        fold: Fold[R],
        text: Callable[[D], str | None],
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        total_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        clock = Clock(idle_timeout=idle_timeout, total_timeout=total_timeout)
        super().__init__(fold, clock, client)
        self._text_of = text
        request = request_kwargs(client, clock, kwargs)
        self._connect: AbstractAsyncContextManager[Response] = client.stream(
            method,
            url,  # type: ignore[arg-type]  # a URL of the client's own stack, or a str
            **request,
        )
        self._deltas: AsyncGenerator[D, None] | None = None

    async def __aenter__(self: _A) -> _A:
        session = self._session
        session.clock.started(time.monotonic())
        try:
            response = self._http = await self._connect.__aenter__()
        except self._stack.HTTPError as exc:
            raise session.failed(exc, False, time.monotonic()) from exc
        try:
            if session.start(response):
                raise session.status_error(response, await self._error_body(response))
        except BaseException as exc:
            await self._connect.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _error_body(self, response: Response) -> bytes:
        """The start of an error body, up to ``max_error_body`` bytes (the rest is not read)."""
        limit = self._session.max_error_body
        pieces: list[bytes] = []
        size = 0
        body = aiter_body(response)
        try:
            async for piece in body:
                pieces.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except self._stack.HTTPError:
            pass  # what arrived of the body is enough to report the status
        finally:
            await body.aclose()
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

    async def _read(self, response: Response) -> AsyncGenerator[D, None]:
        session = self._session
        module = self._stack
        pieces = aiter_body(response)
        try:
            while (piece := await next_piece(pieces, session)) is not None:
                for delta in session.feed(piece, time.monotonic()):
                    yield delta
                if session.done:
                    break
        except module.HTTPError as exc:
            raise session.failed(exc, True, time.monotonic()) from exc
        except module.StreamClosed:
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
