"""The HTTP layer's rules (``streamagg._app.http``): which answers carry a stream, and the error
for those that do not."""

from __future__ import annotations

import httpx
import pytest

import streamagg
from streamagg._app.http import (
    STREAM_CONTENT_TYPES,
    content_type_error,
    media_type,
    status_error,
)

from .helpers import PAYLOAD
from .httpx_body import Pieces

CHUNK = '{"choices": [{"index": 0, "delta": {"content": "héllo"}, "finish_reason": "stop"}]}'
BODY = f"\ufeffdata: {CHUNK}\n\nid: 1\n\ndata: [DONE]\n\n".encode()


def transport(body: bytes, content_type: str | None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(200, headers=headers, stream=Pieces(body))

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    "content_type",
    ["text/event-stream", "text/event-stream; charset=latin-1", "application/json"],
)
def test_stream_decodes_utf8_whatever_the_charset_says(content_type: str) -> None:
    """Always UTF-8 (whatever the charset says), BOM stripped; a stream labelled
    application/json (proxies relabel) works."""
    with (
        httpx.Client(transport=transport(BODY, content_type)) as client,
        streamagg.stream(client, "POST", "http://test/", json=PAYLOAD) as s,
    ):
        assert "".join(s.text()) == "héllo"


def test_caller_headers_win_over_the_defaults() -> None:
    """``Accept`` defaults to ``text/event-stream`` but a caller's own header is kept."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept"])
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=BODY)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for headers in ({}, {"Accept": "application/json"}):
            with streamagg.stream(client, "GET", "http://t/", headers=headers) as s:
                s.finish()
    assert seen == ["text/event-stream", "application/json"]


@pytest.mark.parametrize(
    ("header", "media"),
    [
        ("text/event-stream; charset=utf-8", "text/event-stream"),
        (" Application/JSON ", "application/json"),
        (None, ""),
    ],
)
def test_media_type_is_lower_case_without_parameters(header: str | None, media: str) -> None:
    """The media type ignores parameters, case and surrounding space."""
    headers = {"content-type": header} if header is not None else {}
    assert media_type(httpx.Response(200, headers=headers)) == media


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", None])
def test_other_content_types_rejected_naming_the_type(content_type: str | None) -> None:
    """A 2xx answer labelled neither as a stream nor JSON is a ``ContentTypeError`` naming its
    type (or saying there is none), with the partial response."""
    headers = {"content-type": content_type} if content_type else {}
    partial = streamagg.ChatCompletionResponse()
    error = content_type_error(httpx.Response(200, headers=headers), partial)
    assert isinstance(error, streamagg.ContentTypeError)
    assert error.partial is partial
    assert ("'text/html'" if content_type else "no content type") in str(error)
    for media in STREAM_CONTENT_TYPES:
        assert content_type_error(httpx.Response(200, headers={"content-type": media}), 1) is None


@pytest.mark.parametrize(
    ("body", "detail", "error"),
    [
        (b'{"error": {"message": "bad key", "type": "auth"}}', "bad key", {"message": "bad key"}),
        (b'{"error": "overloaded"}', "overloaded", "overloaded"),
        (b"<html>oops</html>", "<html>oops</html>", None),
        (b"", "Too Many Requests", None),
        (b"[" * 100_000, "[[[", None),
    ],
)
def test_status_error_parses_the_body(body: bytes, detail: str, error: object) -> None:
    """The message shows the error's message (or the start of the body, or the reason); ``body``
    is the parsed JSON or the text, even for JSON nested too deeply to parse."""
    request = httpx.Request("POST", "http://t/")
    response = httpx.Response(429, content=body, request=request)
    exc = status_error(response, None)
    assert isinstance(exc, httpx.HTTPStatusError)
    assert isinstance(exc, streamagg.StreamError)
    assert exc.status_code == 429
    assert detail in str(exc)
    if isinstance(error, dict):
        assert exc.error["message"] == error["message"]
    else:
        assert exc.error == error
