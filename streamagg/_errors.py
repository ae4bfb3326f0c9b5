"""The exception hierarchy. Every error carries the response folded so far, so nothing is lost."""

from __future__ import annotations

from typing import Any

import httpx

from ._models import ChatCompletionResponse

__all__ = [
    "ContentTypeError",
    "HTTPStatusError",
    "IncompleteStreamError",
    "MalformedChunkError",
    "ResponseNotReadyError",
    "StreamError",
    "StreamInterruptedError",
    "UpstreamError",
]


class StreamError(Exception):
    """Base class: the stream could not be folded to a complete response.

    ``partial`` is the response folded from everything received before the error.
    """

    def __init__(self, message: str, *, partial: ChatCompletionResponse) -> None:
        Exception.__init__(self, message)
        self.partial = partial


class UpstreamError(StreamError):
    """The server reported an error inside the stream; ``error`` is the object it sent."""

    def __init__(self, message: str, *, error: Any, partial: ChatCompletionResponse) -> None:
        super().__init__(message, partial=partial)
        self.error = error


class IncompleteStreamError(StreamError):
    """The input ended before ``[DONE]`` while a choice still had no finish reason."""


class StreamInterruptedError(IncompleteStreamError):
    """The connection failed mid-stream (dropped, reset, timed out); the httpx exception is the
    ``__cause__``."""


class MalformedChunkError(StreamError):
    """A chunk was not a JSON object, or a field had an impossible type; ``raw`` is the input."""

    def __init__(self, message: str, *, raw: Any, partial: ChatCompletionResponse) -> None:
        super().__init__(message, partial=partial)
        self.raw = raw


class HTTPStatusError(StreamError, httpx.HTTPStatusError):
    """The server answered with a non-2xx status instead of a stream.

    Also an ``httpx.HTTPStatusError``. ``status_code`` is the status, ``body`` the parsed JSON
    body (or its text when it is not JSON), ``error`` its ``error`` member (OpenAI-style bodies)
    or None.
    """

    def __init__(
        self,
        message: str,
        *,
        body: Any,
        error: Any,
        request: httpx.Request,
        response: httpx.Response,
        partial: ChatCompletionResponse,
    ) -> None:
        StreamError.__init__(self, message, partial=partial)
        self.request = request
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.error = error


class ContentTypeError(StreamError):
    """The response is neither an event stream nor a JSON completion; ``content_type`` says
    what it was."""

    def __init__(
        self, message: str, *, content_type: str, partial: ChatCompletionResponse
    ) -> None:
        super().__init__(message, partial=partial)
        self.content_type = content_type


class ResponseNotReadyError(RuntimeError):
    """``.response`` was read before the stream ended: iterate it to the end (or ``finish()``)."""
