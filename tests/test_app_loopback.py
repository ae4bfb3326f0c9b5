"""``stream()``/``astream()`` against a real HTTP server on loopback: chunk boundaries come from a
real socket, faults are real, and the connection pool shows nothing leaks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import streamagg
from streamagg import ContentDelta

from .helpers import PAYLOAD, SAMPLE, STREAMS

NAMES = SAMPLE


def pool(client: httpx.Client | httpx.AsyncClient) -> Any:
    """The httpcore connection pool behind a client's default transport."""
    return client._transport._pool  # type: ignore[union-attr]


@pytest.mark.parametrize("name", NAMES)
def test_sync_stream_over_a_real_socket(server: str, name: str) -> None:
    """Small writes with pauses fold to the same response as the recording."""
    with (
        httpx.Client() as client,
        streamagg.chat(client, f"{server}/{name}?piece=37&pause=0.0005", PAYLOAD) as s,
    ):
        deltas = list(s)
    assert deltas
    assert s.response == streamagg.replay(STREAMS / f"{name}.sse")


@pytest.mark.anyio
@pytest.mark.parametrize("name", NAMES)
async def test_async_stream_over_a_real_socket(server: str, name: str) -> None:
    """The async twin over the same real socket."""
    async with (
        httpx.AsyncClient() as client,
        streamagg.achat(client, f"{server}/{name}?piece=41&pause=0.0005", PAYLOAD) as s,
    ):
        text = "".join([t async for t in s.text()])
    assert s.response == streamagg.replay(STREAMS / f"{name}.sse")
    assert text == (s.response.choices[0].message.content or "")


def test_sync_leaving_early_leaks_no_connection(server: str) -> None:
    """Breaking out mid-stream closes the connection: the pool holds none afterwards."""
    with httpx.Client() as client:
        url = f"{server}/openai-python__plain-content?piece=16&pause=0.005"
        with streamagg.stream(client, "GET", url) as s:
            for delta in s:
                if isinstance(delta, ContentDelta):
                    break
            assert len(pool(client).connections) == 1
        assert pool(client).connections == []
        # A stream read to the end leaves no busy connection either.
        with streamagg.stream(client, "GET", url) as s:
            s.finish()
        assert not [c for c in pool(client).connections if not c.is_idle()]


@pytest.mark.anyio
async def test_async_leaving_early_and_cancellation_leak_no_connection(server: str) -> None:
    """Leaving early and cancelling the task close the connection."""
    url = f"{server}/openai-python__plain-content?piece=16&pause=0.01"
    async with httpx.AsyncClient() as client:
        async with streamagg.astream(client, "GET", url) as s:
            async for delta in s:
                if isinstance(delta, ContentDelta):
                    break
        assert pool(client).connections == []

        started = asyncio.Event()

        async def consume() -> None:
            async with streamagg.astream(client, "GET", url) as s:
                async for _ in s:
                    started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        assert len(pool(client).connections) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool(client).connections == []


def test_read_timeout_keeps_partial(server: str) -> None:
    """The server stalls mid-stream; the read timeout raises with everything received."""
    raw = (STREAMS / "openai-python__plain-content.sse").read_bytes()
    cut = raw.index(b"unable") + 200
    url = f"{server}/openai-python__plain-content?piece=64&pause=0&cut={cut}&stall=3"
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as client,
        pytest.raises(streamagg.StreamInterruptedError, match="ReadTimeout") as info,
        streamagg.stream(client, "GET", url) as s,
    ):
        s.finish()
    content = info.value.partial.choices[0].message.content
    assert content is not None
    assert content.startswith("I'm unable")


@pytest.mark.anyio
async def test_dropped_connection_keeps_partial(server: str) -> None:
    """The server drops the connection mid-stream; the error carries the partial response."""
    raw = (STREAMS / "openai-python__n3-choices.sse").read_bytes()
    cut = len(raw) // 2
    url = f"{server}/openai-python__n3-choices?piece=100&pause=0&cut={cut}"
    async with httpx.AsyncClient() as client:
        with pytest.raises(streamagg.StreamInterruptedError, match="RemoteProtocolError") as info:
            async with streamagg.astream(client, "GET", url) as s:
                await s.finish()
        assert pool(client).connections == []
    partial = info.value.partial
    assert len(partial.choices) == 3
    assert partial.id == "chatcmpl-ABfw2KKFuVXmEJgVwYfBvejMAdWtq"
