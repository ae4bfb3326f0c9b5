"""``relay()`` / ``arelay()``: forward a provider's stream to your own client while folding it.

A gateway, proxy or chat backend streams the upstream bytes on (to a browser, another service)
and must also keep the complete response (to store the conversation, bill usage, log). The
relay is an iterator of the upstream bytes, forwarded unchanged event by event as they arrive,
that folds as it goes; it can be the body of any streaming response (Starlette's and FastAPI's
``StreamingResponse``, a WSGI app's iterable). ``on_finish(response, error)`` is called exactly
once, however the relay ends:

* the stream ended: the folded response, and None;
* the upstream sent an error, dropped the connection, stalled past a timeout, or answered with
  an HTTP error: the partial response and the ``StreamError``;
* the downstream client went away (the server stopped iterating, or cancelled the task): the
  partial response and a ``StreamInterruptedError`` saying so; the upstream connection is closed.

Errors do not escape the iterator: the downstream stream simply ends (the upstream's own error
event, if it sent one, has been forwarded). ``error`` and ``response`` hold the outcome too.
``rewrite`` changes the forwarded bytes of each event (never what is folded). The upstream
client is httpx2's or httpx's (``stack``); a gzip- or deflate-coded upstream body is forwarded
decoded (undone in bounded pieces, as ``stream()`` does).
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any

from .._chat.events import Delta
from .._chat.fold import DEFAULT_PADDING_KEYS, DEFAULT_TEXT_KEYS
from .._chat.models import ChatCompletionResponse
from .._core.errors import StreamError, StreamInterruptedError
from .._core.framing import EventBoundaries
from .._core.limits import DEFAULT_LIMITS, Limits
from .chat import make_aggregator
from .session import Session, aiter_body, iter_body, next_piece, request_kwargs
from .stack import stack_of
from .timing import DEFAULT_IDLE_TIMEOUT, Clock, Timings

if TYPE_CHECKING:
    from .stack import URL, AsyncClient, Client

__all__ = ["AsyncRelay", "OnFinish", "Relay", "arelay", "relay"]

#: The finish callback: the folded (or partial) response, and the error if the relay failed.
OnFinish = Callable[[ChatCompletionResponse, "StreamError[ChatCompletionResponse] | None"], Any]
Rewrite = Callable[[bytes], bytes]


class _Relaying:
    """What both twins share, without I/O: cutting bytes into events, folding them, and the
    one call of ``on_finish``."""

    def __init__(
        self,
        session: Session[ChatCompletionResponse, Delta],
        on_finish: OnFinish,
        rewrite: Rewrite | None,
    ) -> None:
        self.session = session
        self.on_finish = on_finish
        self.rewrite = rewrite
        self.boundaries = EventBoundaries()
        # The start of an event not yet complete, in the pieces it came in: joined once the
        # event is (an event that never ends costs one copy, not one per read).
        self.held: list[bytes] = []
        self.held_size = 0
        self.max_event_size = session.reader.limits.max_event_size
        self.finished = False
        self.pending: StreamError[ChatCompletionResponse] | None = None
        self.response: ChatCompletionResponse | None = None
        self.error: StreamError[ChatCompletionResponse] | None = None

    def take(self, data: bytes) -> list[bytes]:
        """The complete events in ``data``, rewritten, to forward; ``data`` is folded too, and
        a stream error it causes is kept in ``pending`` (raised once its bytes are forwarded:
        the upstream's own error event reaches the downstream client). An event is held until
        it ends, up to ``max_event_size`` bytes: longer, it can only be lines the reader
        ignores (comments without a blank line: longer data is refused), which are forwarded
        as they are so far (through ``rewrite``) rather than held without bound."""
        try:
            self.session.feed(data, time.monotonic())
        except StreamError as exc:
            self.pending = exc
        start = 0
        events = []
        held = self.held
        for end in self.boundaries.feed(data):
            held.append(data[start:end])
            events.append(b"".join(held))
            held.clear()
            self.held_size = 0
            start = end
        if start < len(data):
            held.append(data[start:] if start else data)
            self.held_size += len(data) - start
            if self.held_size > self.max_event_size and self.pending is None:
                events.append(b"".join(held))
                held.clear()
                self.held_size = 0
        rewrite = self.rewrite
        return [rewrite(e) for e in events] if rewrite is not None else events

    def rest(self) -> list[bytes]:
        """What is left to forward when the upstream body ended (an unfinished last event)."""
        held = b"".join(self.held)
        self.held.clear()
        if not held:
            return []
        return [self.rewrite(held) if self.rewrite is not None else held]

    def check(self) -> None:
        """Raise the error that the bytes just forwarded caused, if any."""
        if self.pending is not None:
            raise self.pending

    def error_body(self, piece: bytes, kept: list[bytes]) -> None:
        """Keep the start of an error body (up to ``max_error_body``) for the error."""
        room = self.session.max_error_body - sum(map(len, kept))
        if room > 0:
            kept.append(piece[:room])

    def ended(self) -> None:
        try:
            self.finish(self.session.end(time.monotonic()), None)
        except StreamError as exc:
            self.failed(exc)

    def failed(self, error: StreamError[ChatCompletionResponse]) -> None:
        self.finish(error.partial, error)

    def gone(self) -> None:
        """The downstream client went away before the end."""
        if self.finished:
            return
        error: StreamError[ChatCompletionResponse] = StreamInterruptedError(
            "the downstream client went away before the stream ended",
            partial=self.session.reader.fold.snapshot(),
        )
        self.session.clock.ended(time.monotonic())
        self.finish(error.partial, error)

    def finish(
        self, response: ChatCompletionResponse, error: StreamError[ChatCompletionResponse] | None
    ) -> None:
        if self.finished:
            return
        self.finished = True
        self.response, self.error = response, error
        self.on_finish(response, error)


class _RelayBase:
    """Views both twins share."""

    _relaying: _Relaying

    @property
    def response(self) -> ChatCompletionResponse | None:
        """The folded (or partial) response once the relay has finished, else None."""
        return self._relaying.response

    @property
    def error(self) -> StreamError[ChatCompletionResponse] | None:
        """Why the relay failed, once it has finished (None when the stream ended well)."""
        return self._relaying.error

    @property
    def timings(self) -> Timings:
        """The upstream stream's timings so far."""
        return self._relaying.session.timings(time.monotonic())

    def snapshot(self) -> ChatCompletionResponse:
        """The response folded so far."""
        return self._relaying.session.reader.fold.snapshot()


def _setup(
    client: Client | AsyncClient,
    on_finish: OnFinish,
    rewrite: Rewrite | None,
    *,
    text_keys: Iterable[str],
    padding_keys: Iterable[str],
    limits: Limits,
    strict: bool,
    idle_timeout: float | None,
    total_timeout: float | None,
    kwargs: dict[str, Any],
) -> tuple[_Relaying, dict[str, Any]]:
    clock = Clock(idle_timeout=idle_timeout, total_timeout=total_timeout)
    session: Session[ChatCompletionResponse, Delta] = Session(
        make_aggregator(text_keys, padding_keys, limits, strict), clock
    )
    return _Relaying(session, on_finish, rewrite), request_kwargs(client, clock, kwargs)


class Relay(_RelayBase, Iterator[bytes]):
    """The upstream bytes of a streaming call, forwarded as they arrive; see ``relay()``."""

    def __init__(
        self,
        client: Client,
        method: str,
        url: str | URL,
        relaying: _Relaying,
        request: dict[str, Any],
    ) -> None:
        self._relaying = relaying
        self._bytes: Generator[bytes, None, None] = self._run(client, method, url, request)

    def __next__(self) -> bytes:
        return next(self._bytes)

    def close(self) -> None:
        """Stop relaying (the downstream client went away): the upstream is closed and
        ``on_finish`` called, if it has not been."""
        self._bytes.close()

    def _run(
        self, client: Client, method: str, url: str | URL, request: dict[str, Any]
    ) -> Generator[bytes, None, None]:
        relaying = self._relaying
        session = relaying.session
        module = stack_of(client)
        session.clock.started(time.monotonic())
        try:
            with client.stream(method, url, **request) as response:  # type: ignore[arg-type]
                if session.start(response):
                    kept: list[bytes] = []
                    for piece in iter_body(response):
                        relaying.error_body(piece, kept)
                        yield piece
                    raise session.status_error(response, b"".join(kept))
                for piece in iter_body(response):
                    yield from relaying.take(piece)
                    relaying.check()
                    if session.done:
                        break
                yield from relaying.rest()
            relaying.ended()
        except StreamError as exc:
            relaying.failed(exc)
        except module.HTTPError as exc:
            relaying.failed(session.failed(exc, True, time.monotonic()))
        finally:
            relaying.gone()  # a no-op unless the downstream client stopped iterating


class AsyncRelay(_RelayBase, AsyncIterator[bytes]):
    """The async twin of ``Relay``; see ``arelay()``."""

    def __init__(
        self,
        client: AsyncClient,
        method: str,
        url: str | URL,
        relaying: _Relaying,
        request: dict[str, Any],
    ) -> None:
        self._relaying = relaying
        self._bytes: AsyncGenerator[bytes, None] = self._run(client, method, url, request)

    async def __anext__(self) -> bytes:
        return await anext(self._bytes)

    async def aclose(self) -> None:
        """Stop relaying (the downstream client went away): the upstream is closed and
        ``on_finish`` called, if it has not been."""
        await self._bytes.aclose()

    async def _run(
        self,
        client: AsyncClient,
        method: str,
        url: str | URL,
        request: dict[str, Any],
    ) -> AsyncGenerator[bytes, None]:
        relaying = self._relaying
        session = relaying.session
        module = stack_of(client)
        session.clock.started(time.monotonic())
        try:
            async with client.stream(method, url, **request) as response:  # type: ignore[arg-type]
                pieces = aiter_body(response)
                try:
                    if session.start(response):
                        kept: list[bytes] = []
                        async for piece in pieces:
                            relaying.error_body(piece, kept)
                            yield piece
                        raise session.status_error(response, b"".join(kept))
                    while (data := await next_piece(pieces, session)) is not None:
                        for event in relaying.take(data):
                            yield event
                        relaying.check()
                        if session.done:
                            break
                finally:
                    await pieces.aclose()
                for event in relaying.rest():
                    yield event
            relaying.ended()
        except StreamError as exc:
            relaying.failed(exc)
        except module.HTTPError as exc:
            relaying.failed(session.failed(exc, True, time.monotonic()))
        finally:
            relaying.gone()  # the task was cancelled, or the iterator closed, before the end


def relay(
    client: Client,
    method: str,
    url: str | URL,
    *,
    on_finish: OnFinish,
    rewrite: Rewrite | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> Relay:
    """Relay a streaming call: iterate the upstream bytes (forward them) while they are folded.

    Takes what ``stream()`` takes (the arguments of ``client.stream``, the fold options, the
    watchdog's timeouts) and ``on_finish(response, error)``, called exactly once. The request is
    sent when iteration starts. ``rewrite(event_bytes) -> bytes`` changes what is forwarded,
    never what is folded. A non-2xx answer forwards its body and finishes with
    ``HTTPStatusError``. Use it as the body of a streaming response; ``close()`` it if you stop
    iterating early (frameworks do).
    """
    relaying, request = _setup(
        client,
        on_finish,
        rewrite,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        kwargs=kwargs,
    )
    return Relay(client, method, url, relaying, request)


def arelay(
    client: AsyncClient,
    method: str,
    url: str | URL,
    *,
    on_finish: OnFinish,
    rewrite: Rewrite | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncRelay:
    """The async twin of ``relay()``: ``StreamingResponse(arelay(client, "POST", url, ...))``.
    A cancelled task (a client that disconnected) finishes with ``StreamInterruptedError``."""
    relaying, request = _setup(
        client,
        on_finish,
        rewrite,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        kwargs=kwargs,
    )
    return AsyncRelay(client, method, url, relaying, request)
