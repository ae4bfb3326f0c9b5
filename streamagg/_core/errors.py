"""The exception hierarchy. Every error carries what was folded before it, so nothing is lost.

::

    Exception
    ├── StreamError                  .partial: the response folded so far
    │   ├── UpstreamError            .error: what the server sent (an error chunk or event)
    │   ├── IncompleteStreamError    the input ended before the stream was complete
    │   │   └── StreamInterruptedError   the connection failed (httpx cause), or closed early
    │   │       └── StreamStalledError   no data for idle_timeout, or past total_timeout
    │   ├── MalformedChunkError      .raw: data that is not JSON, or a field of impossible type
    │   ├── ContentTypeError         .content_type: neither an event stream nor JSON
    │   ├── LimitExceededError       .limit: the ``Limits`` field that was exceeded
    │   └── HTTPStatusError          .status_code: a non-2xx answer (live, or a recorded one)
    ├── RuntimeError
    │   └── ResponseNotReadyError    ``.response`` read before the end
    ├── InvalidChunk                 in a fold: a field of impossible type -> MalformedChunkError
    └── OverLimit                    in a fold: past a limit -> LimitExceededError

``partial`` is the fold's own object: a ``ChatCompletionResponse`` for chat completions, the
dialect's final object for other stream dialects. This module, like the rest of the core, imports
no HTTP stack.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Generic, TypeVar

__all__ = [
    "ContentTypeError",
    "HTTPStatusError",
    "IncompleteStreamError",
    "InvalidChunk",
    "LimitExceededError",
    "MalformedChunkError",
    "OverLimit",
    "ResponseNotReadyError",
    "StreamError",
    "StreamInterruptedError",
    "StreamStalledError",
    "UpstreamError",
]

R = TypeVar("R")


class StreamError(Exception, Generic[R]):
    """Base class: the stream could not be folded to a complete response.

    ``partial`` is the response folded from everything received before the error.
    """

    def __init__(self, message: str, *, partial: R) -> None:
        Exception.__init__(self, message)
        self.partial: R = partial


class UpstreamError(StreamError[R]):
    """The server reported an error inside the stream; ``error`` is the object it sent."""

    def __init__(self, message: str, *, error: Any, partial: R) -> None:
        super().__init__(message, partial=partial)
        self.error = error


class IncompleteStreamError(StreamError[R]):
    """The input ended before the stream was complete (for chat completions: before
    ``[DONE]`` while a choice still had no finish reason)."""


class StreamInterruptedError(IncompleteStreamError[R]):
    """The connection failed mid-stream (dropped, reset, timed out, closed early); the HTTP
    stack's exception (httpx2's or httpx's), when there is one, is the ``__cause__``."""


class StreamStalledError(StreamInterruptedError[R]):
    """The stall watchdog stopped the stream: no data event for ``idle_timeout`` seconds
    (comments and pings do not count), or the stream ran past ``total_timeout``. ``reason`` is
    ``"idle"`` or ``"total"``; the connection is closed."""

    def __init__(self, message: str, *, reason: str, partial: R) -> None:
        super().__init__(message, partial=partial)
        self.reason = reason


class MalformedChunkError(StreamError[R]):
    """A chunk was not a JSON object, or a field had an impossible type; ``raw`` is the input
    and the message names the field."""

    def __init__(self, message: str, *, raw: Any, partial: R) -> None:
        super().__init__(message, partial=partial)
        self.raw = raw


class ContentTypeError(StreamError[R]):
    """The response is neither an event stream nor JSON; ``content_type`` says what it was."""

    def __init__(self, message: str, *, content_type: str, partial: R) -> None:
        super().__init__(message, partial=partial)
        self.content_type = content_type


class LimitExceededError(StreamError[R]):
    """The stream went past one of its ``Limits`` (a line that never ends, JSON nested too
    deeply, too many choices, ...); ``limit`` names the field, ``value`` its setting."""

    def __init__(self, message: str, *, limit: str, value: int, partial: R) -> None:
        super().__init__(message, partial=partial)
        self.limit = limit
        self.value = value


class HTTPStatusError(StreamError[R]):
    """The server answered with a non-2xx status instead of a stream; or a replayed recording
    holds such an answer (``: http-status:`` lines, the test kit's recording format).

    ``status_code`` is the status, ``body`` the parsed JSON body (or its text when it is not
    JSON), ``error`` its ``error`` member (OpenAI-style bodies) or None. ``request`` and
    ``response`` are the HTTP stack's objects of a live call (None for a recording); a live
    call's error is also the ``HTTPStatusError`` of the client's stack (``httpx2`` or
    ``httpx``: ``streamagg._app.http``).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any,
        error: Any,
        partial: R,
        request: Any = None,
        response: Any = None,
    ) -> None:
        StreamError.__init__(self, message, partial=partial)
        self.status_code = status_code
        self.body = body
        self.error = error
        self.request = request
        self.response = response

    @classmethod
    def from_body(
        cls,
        status_code: int,
        raw: bytes,
        *,
        partial: R,
        reason: str | None = None,
        encoding: str = "utf-8",
        request: Any = None,
        response: Any = None,
    ) -> HTTPStatusError[R]:
        """The error for an answer with ``status_code`` and the body ``raw`` (what was read of
        it): the message is the status, its reason and the body's error message (or the start
        of its text)."""
        text = raw.decode(encoding, "replace")
        try:
            body: Any = json.loads(text)
        except (ValueError, RecursionError):
            body = text
        error = body.get("error") if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else error
        if reason is None:
            try:
                reason = HTTPStatus(status_code).phrase
            except ValueError:
                reason = ""
        if not isinstance(detail, str) or not detail:
            detail = text[:_SHOWN] or reason
        return cls(
            f"HTTP {status_code} {reason}: {detail}",
            status_code=status_code,
            body=body,
            error=error,
            partial=partial,
            request=request,
            response=response,
        )


# How much of a non-JSON error body goes into the message.
_SHOWN = 200


class ResponseNotReadyError(RuntimeError):
    """``.response`` was read before the stream ended: iterate it to the end (or ``finish()``)."""


# Raised inside a fold, caught by ``FoldBase``: never seen by a caller.


class OverLimit(Exception):  # noqa: N818 - internal; surfaces as LimitExceededError
    """A stream went past one of its limits; ``limit`` names the ``Limits`` field."""

    def __init__(self, limit: str, what: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.what = what


class InvalidChunk(Exception):  # noqa: N818 - internal; surfaces as MalformedChunkError
    """A field of a chunk has an impossible type. ``str(exc)`` names the field."""

    def __init__(self, field: str, expected: str, value: Any) -> None:
        super().__init__(f"{field} must be {expected}, not {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if value.__class__ in (dict, list, str, int, float, bool):
        return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
            value.__class__, "a number"
        )
    return type(value).__name__
