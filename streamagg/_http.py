"""httpx adapters: only move bytes from a response into the sans-IO parser and fold.

``EventSource`` is httpx-sse's, with its parsing and its content-type check corrected: the bytes
go through ``SSEDecoder`` (always UTF-8, BOM, no empty-data dispatch, ...), and a stream labelled
``application/json`` (some proxies relabel ``text/event-stream``) is accepted.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import httpx_sse
from httpx_sse import ServerSentEvent, SSEError

from ._sse import SSEDecoder

__all__ = ["STREAM_CONTENT_TYPES", "EventSource", "aconnect_sse", "connect_sse"]

#: Media types accepted for an event stream.
STREAM_CONTENT_TYPES = frozenset({"text/event-stream", "application/json"})


def media_type(response: httpx.Response) -> str:
    """The response's media type, lower case, without parameters ("" when absent)."""
    header: str = response.headers.get("content-type", "")
    return header.partition(";")[0].strip().lower()


class EventSource(httpx_sse.EventSource):
    """httpx-sse's ``EventSource`` parsing by the WHATWG rules (see ``SSEDecoder``)."""

    def _check_content_type(self) -> None:
        media = media_type(self.response)
        if media not in STREAM_CONTENT_TYPES:
            raise SSEError(
                "expected an event stream (Content-Type text/event-stream), "
                f"got {media or 'no content type'!r}"
            )

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        self._check_content_type()
        decoder = SSEDecoder()
        for piece in self.response.iter_bytes():
            yield from decoder.feed(piece)
        decoder.close()

    async def aiter_sse(self) -> AsyncGenerator[ServerSentEvent, None]:
        self._check_content_type()
        decoder = SSEDecoder()
        async for piece in self.response.aiter_bytes():
            for event in decoder.feed(piece):
                yield event
        decoder.close()


@contextmanager
def connect_sse(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> Iterator[EventSource]:
    """httpx-sse's ``connect_sse``, yielding the corrected ``EventSource``."""
    with httpx_sse.connect_sse(client, method, url, **kwargs) as source:
        yield EventSource(source.response)


@asynccontextmanager
async def aconnect_sse(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> AsyncIterator[EventSource]:
    """httpx-sse's ``aconnect_sse``, yielding the corrected ``EventSource``."""
    async with httpx_sse.aconnect_sse(client, method, url, **kwargs) as source:
        yield EventSource(source.response)
