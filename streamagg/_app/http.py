"""The HTTP layer's rules: which responses carry a stream, and the error for those that do not.

Only the app wrappers and the test kit import this module (the core never needs httpx).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import httpx

from .._core.errors import ContentTypeError, StreamError

__all__ = ["STREAM_CONTENT_TYPES", "HTTPStatusError", "content_type_error", "media_type"]

R = TypeVar("R")

#: Media types a stream may arrive with: an event stream, newline-delimited JSON (Ollama), or a
#: stream (or a whole JSON answer) labelled ``application/json`` (some proxies relabel
#: ``text/event-stream``). What the body really is, is decided from its bytes and the dialect
#: (``streamagg._core.reader``).
STREAM_CONTENT_TYPES = frozenset({"text/event-stream", "application/json", "application/x-ndjson"})

# How much of a non-JSON error body goes into the message.
_SHOWN = 200


class HTTPStatusError(StreamError[R], httpx.HTTPStatusError):
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
        partial: R,
    ) -> None:
        StreamError.__init__(self, message, partial=partial)
        self.request = request
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.error = error

    @classmethod
    def from_response(
        cls, response: httpx.Response, partial: R, content: bytes | None = None
    ) -> HTTPStatusError[R]:
        """The error for a non-2xx response: its body is ``content`` (what was read of it, up
        to ``Limits.max_error_body``), or the response's own when it has been read."""
        raw = response.content if content is None else content
        text = raw.decode(response.encoding or "utf-8", "replace")
        try:
            body: Any = json.loads(text)
        except (ValueError, RecursionError):
            body = text
        error = body.get("error") if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else error
        if not isinstance(detail, str) or not detail:
            detail = text[:_SHOWN] or response.reason_phrase
        return cls(
            f"HTTP {response.status_code} {response.reason_phrase}: {detail}",
            body=body,
            error=error,
            request=response.request,
            response=response,
            partial=partial,
        )


def media_type(response: httpx.Response) -> str:
    """The response's media type, lower case, without parameters ("" when absent)."""
    header: str = response.headers.get("content-type", "")
    return header.partition(";")[0].strip().lower()


def content_type_error(response: httpx.Response, partial: R) -> ContentTypeError[R] | None:
    """The error for a 2xx response that carries no stream, or None when it may carry one."""
    media = media_type(response)
    if media in STREAM_CONTENT_TYPES:
        return None
    return ContentTypeError(
        f"expected an event stream (text/event-stream), NDJSON or JSON, got "
        f"{media or 'no content type'!r} with status {response.status_code}",
        content_type=media,
        partial=partial,
    )
