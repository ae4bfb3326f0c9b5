"""The logic of a streaming call, without I/O (``Session``), and what both loops around it share.

All decisions live in ``Session``, a sans-IO object: it is told the response's status and
headers, given body bytes (which it hands to the one ``StreamReader``), and told when the body
ended or the connection failed; it returns typed deltas and produces the folded object or the
error. ``EventStream`` and ``AsyncEventStream`` (``streams``) are two thin loops that only move
bytes from httpx into it."""

from __future__ import annotations

import math
import time
from collections.abc import (
    AsyncIterator,
)
from typing import Any, Generic, TypeVar

import anyio
import httpx

from .._core.errors import (
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)
from .._core.fold import Fold
from .._core.reader import StreamReader
from .._core.report import is_output_text
from .http import HTTPStatusError, content_type_error
from .timing import Clock, Timings, completion_tokens

__all__ = ["Session", "next_piece", "request_kwargs"]

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
