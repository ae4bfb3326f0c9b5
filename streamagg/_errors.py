"""The exception hierarchy. Every error carries the response folded so far, so nothing is lost."""

from __future__ import annotations

from typing import Any

from ._models import ChatCompletionResponse

__all__ = ["IncompleteStreamError", "MalformedChunkError", "StreamError", "UpstreamError"]


class StreamError(Exception):
    """Base class: the stream could not be folded to a complete response.

    ``partial`` is the response folded from everything received before the error.
    """

    def __init__(self, message: str, *, partial: ChatCompletionResponse) -> None:
        super().__init__(message)
        self.partial = partial


class UpstreamError(StreamError):
    """The server reported an error inside the stream; ``error`` is the object it sent."""

    def __init__(self, message: str, *, error: Any, partial: ChatCompletionResponse) -> None:
        super().__init__(message, partial=partial)
        self.error = error


class IncompleteStreamError(StreamError):
    """The input ended before ``[DONE]`` while a choice still had no finish reason."""


class MalformedChunkError(StreamError):
    """A chunk was not a JSON object, or a field had an impossible type; ``raw`` is the input."""

    def __init__(self, message: str, *, raw: Any, partial: ChatCompletionResponse) -> None:
        super().__init__(message, partial=partial)
        self.raw = raw
