"""The httpx adapters over ``httpx.MockTransport``: corrected httpx-sse ingestion."""

from __future__ import annotations

import httpx
import pytest
from httpx_sse import SSEError

import streamagg

from .conftest import Pieces

BODY = '\ufeffdata: {"a": "héllo"}\n\nid: 1\n\ndata: x\n\n'.encode()


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
def test_connect_sse_parses_by_the_spec(content_type: str) -> None:
    """Always UTF-8 (whatever the charset says), BOM stripped, no empty-data event; a stream
    labelled application/json (proxies relabel) works."""
    with (
        httpx.Client(transport=transport(BODY, content_type)) as client,
        streamagg.connect_sse(client, "GET", "http://test/") as source,
    ):
        events = [(e.data, e.id) for e in source.iter_sse()]
    assert events == [('{"a": "héllo"}', ""), ("x", "1")]


@pytest.mark.anyio
async def test_aconnect_sse_parses_by_the_spec() -> None:
    """The async twin gives the same events."""
    async with (
        httpx.AsyncClient(transport=transport(BODY, "application/json")) as client,
        streamagg.aconnect_sse(client, "GET", "http://test/") as source,
    ):
        events = [(e.data, e.id) async for e in source.aiter_sse()]
    assert events == [('{"a": "héllo"}', ""), ("x", "1")]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", None])
def test_other_content_types_rejected_naming_the_type(content_type: str | None) -> None:
    """A body that is not labelled as an event stream is a clear error naming its type."""
    with (
        httpx.Client(transport=transport(BODY, content_type)) as client,
        streamagg.connect_sse(client, "GET", "http://test/") as source,
        pytest.raises(SSEError, match=repr(content_type.split(";")[0]) if content_type else "no"),
    ):
        list(source.iter_sse())


@pytest.mark.anyio
async def test_async_rejects_other_content_types() -> None:
    """The async twin checks the content type too."""
    async with (
        httpx.AsyncClient(transport=transport(BODY, "text/plain")) as client,
        streamagg.aconnect_sse(client, "GET", "http://test/") as source,
    ):
        with pytest.raises(SSEError, match="text/plain"):
            [e async for e in source.aiter_sse()]
