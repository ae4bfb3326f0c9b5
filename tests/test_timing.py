"""The stall watchdog and the timings (``streamagg._app.timing``), over a real loopback server
(sync and async), and the sans-IO ``Clock`` with made-up times."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

import streamagg
from streamagg._app.timing import Clock

from .helpers import PAYLOAD, STREAMS

NAME = "openai-python__plain-content"
RAW = (STREAMS / f"{NAME}.sse").read_bytes()
CUT = RAW.index(b"\n\n", len(RAW) // 2) + 2  # the end of an event half way


def run(twin: str, url: str, **options: Any) -> streamagg.ChatStream | streamagg.AsyncChatStream:
    """Read the stream at ``url`` to the end (or its error); return the stream object."""
    if twin == "sync":
        with (
            httpx.Client(timeout=30) as client,
            streamagg.chat(client, url, PAYLOAD, **options) as s,
        ):
            s.finish()
        return s

    async def main() -> streamagg.AsyncChatStream:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            streamagg.achat(client, url, PAYLOAD, **options) as s,
        ):
            await s.finish()
        return s

    return anyio.run(main)


@pytest.mark.parametrize("twin", ["sync", "async"])
@pytest.mark.parametrize("keepalive", [0.0, 0.05], ids=["silent", "keepalives"])
def test_idle_timeout_stops_a_stalled_stream(server: str, twin: str, keepalive: float) -> None:
    """A server that stops sending data (silent, or sending only keep-alive comments, which
    reset httpx's read timeout) is stopped after ``idle_timeout`` with what arrived."""
    url = f"{server}/{NAME}?cut={CUT}&stall=5&keepalive={keepalive}"
    started = time.monotonic()
    with pytest.raises(streamagg.StreamStalledError, match=r"idle_timeout=0\.3") as info:
        run(twin, url, idle_timeout=0.3)
    assert time.monotonic() - started < 3
    assert info.value.reason == "idle"
    assert isinstance(info.value, streamagg.StreamInterruptedError)
    assert info.value.partial.choices[0].message.content


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_total_timeout_stops_a_stream_that_keeps_going(server: str, twin: str) -> None:
    """A stream that keeps sending but takes too long in all is stopped at ``total_timeout``."""
    url = f"{server}/{NAME}?piece=8&pause=0.02"  # about 3 s in all
    started = time.monotonic()
    with pytest.raises(streamagg.StreamStalledError, match=r"total_timeout=0\.5") as info:
        run(twin, url, total_timeout=0.5, idle_timeout=10)
    assert time.monotonic() - started < 2
    assert info.value.reason == "total"


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_a_healthy_stream_is_not_stopped_and_has_timings(server: str, twin: str) -> None:
    """Within its limits a stream folds as usual; its timings are measured as it arrives."""
    s = run(twin, f"{server}/{NAME}?piece=200&pause=0.01", idle_timeout=5, total_timeout=30)
    assert s.response == streamagg.replay(STREAMS / f"{NAME}.sse")
    t = s.timings
    assert t.chunks == 33
    assert t.time_to_first_chunk is not None
    assert t.time_to_first_token is not None
    assert t.duration is not None
    assert 0 < t.time_to_first_chunk <= t.time_to_first_token <= t.duration
    assert t.gap_max is not None
    assert t.gap_median is not None
    assert t.gap_p95 is not None
    assert t.gap_median <= t.gap_p95 <= t.gap_max
    assert t.output_tokens_per_second is not None
    assert t.output_tokens_per_second > 0
    names = t.to_otel()
    assert names["gen_ai.client.operation.time_to_first_chunk"] == t.time_to_first_chunk
    assert names["gen_ai.client.operation.time_per_output_chunk"] == t.time_per_output_chunk


def test_clock_with_made_up_times() -> None:
    """The ``Clock`` computes every timing from the times it is told."""
    clock = Clock(idle_timeout=2.0, total_timeout=10.0)
    clock.started(100.0)
    assert clock.wait_limit(100.0) == 2.0
    clock.arrived(100.5, chunks=1, token=False)  # the role chunk
    clock.arrived(101.0, chunks=3, token=True)  # two chunks in one read
    clock.arrived(101.5, chunks=3, token=False)  # a comment: no new chunk
    assert clock.stalled(102.9) is None
    assert clock.stalled(103.0) == "idle"
    clock.arrived(104.0, chunks=4, token=False)
    assert clock.stalled(110.0) == "total"
    clock.ended(104.0)
    t = clock.timings(200.0, completion_tokens=12)
    assert (t.time_to_first_chunk, t.time_to_first_token, t.duration, t.chunks) == (
        0.5,
        1.0,
        4.0,
        4,
    )
    assert (t.gap_median, t.gap_max, t.time_per_output_chunk) == (0.5, 3.0, 3.5 / 3)
    assert t.output_tokens_per_second == 12 / 3.0
    assert Clock().timings(5.0) == streamagg.Timings()
    assert Clock().wait_limit(5.0) is None


def test_by_default_no_stream_hangs_for_ever() -> None:
    """``idle_timeout`` defaults to 600 s, and it caps the read timeout even of a client with
    ``timeout=None``; ``None`` turns it off."""
    import inspect

    from streamagg._app.session import request_kwargs

    for entry in (streamagg.stream, streamagg.achat, streamagg.relay, streamagg.arelay):
        assert inspect.signature(entry).parameters["idle_timeout"].default == 600.0
    assert streamagg.DEFAULT_IDLE_TIMEOUT == 600.0
    client = httpx.Client(timeout=None)
    capped = request_kwargs(client, Clock(idle_timeout=600.0), {})
    assert capped["timeout"].read == 600.0
    assert "timeout" not in request_kwargs(client, Clock(idle_timeout=None), {})
    client.close()
