"""The logic of a streaming call, without I/O (``Session``), and what both loops around it share.

All decisions live in ``Session``, a sans-IO object: it is told the response's status and
headers, given body bytes (which it hands to the one ``StreamReader``), and told when the body
ended or the connection failed; it returns typed deltas and produces the folded object or the
error. ``EventStream`` and ``AsyncEventStream`` (``streams``) are two thin loops that only move
bytes from the HTTP stack (httpx2 or httpx, whichever the client is of) into it; ``iter_body``
and ``aiter_body`` are how they read a body."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import anyio

from .._core.errors import (
    HTTPStatusError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)
from .._core.fold import Fold
from .._core.reader import StreamReader
from .._core.report import is_output_text
from .http import Decoding, content_type_error, status_error
from .stack import stack_of
from .timing import Clock, Timings, completion_tokens

if TYPE_CHECKING:
    from .stack import AsyncClient, Client, Response

__all__ = ["Session", "aiter_body", "iter_body", "next_piece", "request_kwargs"]

R = TypeVar("R")
D = TypeVar("D")
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

    def start(self, response: Response) -> bool:
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

    def status_error(self, response: Response, content: bytes) -> HTTPStatusError[R]:
        """The error for a non-2xx response, given (the start of) its body."""
        partial = self.reader.fold.snapshot()
        return self._fail(status_error(response, partial, content))

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

    def failed(self, exc: Exception, started: bool, now: float) -> StreamError[R]:
        """The error for a request that failed (``exc``: an ``HTTPError`` of either stack,
        before or after the stream started), with ``exc`` as its ``__cause__``: a watchdog's
        timeout is ``StreamStalledError``, anything else ``StreamInterruptedError``."""
        self.clock.ended(now)
        error: StreamInterruptedError[R] | None = None
        if isinstance(exc, stack_of(exc).TimeoutException):
            why = self.clock.stalled(now + _SLACK)
            if why is not None:
                error = self._stalled(why)
        if error is None:
            when = "mid-stream" if started else "before the stream started"
            error = StreamInterruptedError(
                f"the connection failed {when}: {type(exc).__name__}: {exc}",
                partial=self.reader.fold.snapshot(),
            )
        error.__cause__ = exc  # also where it is not raised (the relay hands it to on_finish)
        return self._fail(error)

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


def request_kwargs(
    client: Client | AsyncClient, clock: Clock, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """``client.stream`` arguments (in the classes of the client's stack): asking for an event
    stream unless the caller says otherwise (as httpx-sse's ``connect_sse`` does), and with a
    read timeout no longer than the watchdog's limits, so that a silent server cannot block a
    read past them."""
    module = stack_of(client)
    headers = module.Headers(kwargs.get("headers"))
    headers.setdefault("Accept", "text/event-stream")
    headers.setdefault("Cache-Control", "no-store")
    request = {**kwargs, "headers": headers}
    limits = [t for t in (clock.idle_timeout, clock.total_timeout) if t is not None]
    if limits:
        timeout = module.Timeout(kwargs.get("timeout", client.timeout))
        read = min(limits) if timeout.read is None else min(timeout.read, *limits)
        request["timeout"] = module.Timeout(
            connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool
        )
    return request


def _decoding(response: Response) -> Decoding | None:
    """What streamagg undoes of the body's content coding (None: the stack undoes it, or it
    already has: a body read before the stream is looked at)."""
    return None if response.is_stream_consumed else Decoding.of(response)


def iter_body(response: Response) -> Iterator[bytes]:
    """The body of ``response`` as it arrives, its content coding undone: gzip and deflate by
    ``Decoding`` from the raw bytes, in bounded pieces; any other by the stack. Raises the
    stack's exceptions."""
    decoding = _decoding(response)
    if decoding is None:
        yield from response.iter_bytes()
        return
    for raw in response.iter_raw():
        yield from decoding.feed(raw)


async def aiter_body(response: Response) -> AsyncGenerator[bytes, None]:
    """The async twin of ``iter_body``. Close it (``aclose``) when done: it closes the byte
    iterator it reads (an async generator is not closed by the garbage collector in time, and
    the connection goes back to the pool only then)."""
    decoding = _decoding(response)
    reads = response.aiter_bytes() if decoding is None else response.aiter_raw()
    pieces = cast("AsyncGenerator[bytes, None]", reads)
    try:
        async for piece in pieces:
            if decoding is None:
                yield piece
                continue
            for decoded in decoding.feed(piece):
                yield decoded
    finally:
        await pieces.aclose()
