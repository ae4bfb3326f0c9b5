"""Fault injection (``streamagg.testing._faults``): the plan of a faulty replay, the spec string,
and the failures an app sees through ``ReplayTransport`` and ``serve``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import streamagg
from streamagg.testing import ReplayTransport, synthesize
from streamagg.testing._faults import CUT, FAULT_HEADER, Faults, plan
from streamagg.testing._format import timed_segments
from streamagg.testing._server import ReplayApp

from .helpers import PAYLOAD, STREAMS, serving

PLAIN = STREAMS / "openai-python__plain-content.sse"
RAW = PLAIN.read_bytes()
EVENTS = timed_segments(RAW)


def sent(steps: list[tuple[float, bytes | None]]) -> bytes:
    return b"".join(data for _, data in steps if data)


def test_no_faults_send_the_recording_as_it_is() -> None:
    """Without faults the plan sends every event, at once."""
    steps = plan(EVENTS, None, timing=False)
    assert sent(steps) == RAW
    assert all(wait == 0 for wait, _ in steps)


def test_cut_after_an_event_or_a_byte() -> None:
    """The connection drops after N events, or in the middle of an event after N bytes."""
    steps = plan(EVENTS, Faults(cut_after_event=3), timing=False)
    assert steps[-1][1] is CUT
    assert sent(steps) == b"".join(data for _, data in EVENTS[:3])
    steps = plan(EVENTS, Faults(cut_after_byte=100), timing=False)
    assert steps[-1][1] is CUT
    assert sent(steps) == RAW[:100]
    assert plan(EVENTS, Faults(cut_after_event=999), timing=False)[-1][1] is CUT


def test_an_error_after_an_event() -> None:
    """After N events an error event (or an error chunk, or an error line) ends the stream."""
    steps = plan(EVENTS, Faults(error_after_event=2), timing=False)
    assert steps[-1][1] is not None
    assert steps[-1][1].startswith(b"event: error\ndata: {")
    chunk = plan(EVENTS, Faults(error_after_event=2, error_as="chunk"), timing=False)[-1][1]
    assert chunk is not None
    assert chunk.startswith(b'data: {"error"')
    line = plan(EVENTS, Faults(error_after_event=2), timing=False, ndjson=True)[-1][1]
    assert line == b'{"error": {"message": "injected fault", "type": "server_error"}}\n'


def test_stall_with_keepalives_rechunk_and_speed() -> None:
    """A stall waits before event N, broken by keep-alives; rechunking keeps the bytes; the
    speed scales recorded times."""
    steps = plan(EVENTS, Faults(stall=1.0, stall_after_event=2, keepalive=0.3), timing=False)
    assert sum(wait for wait, _ in steps) == pytest.approx(1.0)
    assert sum(data == b": keepalive\n\n" for _, data in steps) == 3
    one = plan(EVENTS, Faults(rechunk=1), timing=False)
    assert sent(one) == RAW
    assert all(len(data or b"") <= 1 for _, data in one)
    rnd = plan(EVENTS, Faults(rechunk_random=True, seed=3), timing=False)
    assert sent(rnd) == RAW
    timed = timed_segments(synthesize(streamagg.replay(PLAIN), interval=0.2))
    fast = plan(timed, Faults(speed=2), timing=True)
    assert max(wait for wait, _ in fast) == pytest.approx(0.1)


def test_parse_specs_and_errors() -> None:
    """``Faults.parse`` reads ``name=value`` lists (``-`` or ``_``); bad ones say why."""
    assert Faults.parse("cut-after-event=5") == Faults(cut_after_event=5)
    assert Faults.parse("stall=2, stall_after_event=3, keepalive=0.5") == Faults(
        stall=2.0, stall_after_event=3, keepalive=0.5
    )
    assert Faults.parse("rechunk=random,seed=7") == Faults(rechunk_random=True, seed=7)
    assert Faults.parse("error-after-event=1,error-as=chunk,speed=2") == Faults(
        error_after_event=1, error_as="chunk", speed=2.0
    )
    assert Faults.parse("") == Faults()
    for bad, message in [
        ("explode=1", "unknown fault"),
        ("cut-after-event", "unknown fault"),
        ("stall=soon", "takes a number"),
        ("error-as=bang", "error_as must be"),
        ("speed=0", "speed must be more than 0"),
        ("rechunk=0", "at least 1 byte"),
        ("stall=-1", "must not be negative"),
    ]:
        with pytest.raises(ValueError, match=message):
            Faults.parse(bad)


def fold(transport: httpx.BaseTransport, **options: Any) -> streamagg.ChatCompletionResponse:
    with (
        httpx.Client(transport=transport) as client,
        streamagg.chat(client, "http://t/v1", PAYLOAD, **options) as s,
    ):
        return s.finish()


def test_replay_transport_faults_reach_the_app() -> None:
    """Through ``ReplayTransport``: a cut is ``StreamInterruptedError``, an error event
    ``UpstreamError``, a stall past the watchdog ``StreamStalledError`` (each with the
    partial); re-chunked bytes and keep-alives fold to the same response."""
    with pytest.raises(streamagg.StreamInterruptedError) as cut:
        fold(ReplayTransport(PLAIN, faults="cut-after-event=5"))
    assert cut.value.partial.choices[0].message.content
    with pytest.raises(streamagg.UpstreamError, match="injected fault"):
        fold(ReplayTransport(PLAIN, faults=Faults(error_after_event=4)))
    with pytest.raises(streamagg.StreamStalledError):
        fold(ReplayTransport(PLAIN, faults="stall=2,stall-after-event=3"), idle_timeout=0.2)
    want = streamagg.replay(PLAIN)
    assert fold(ReplayTransport(PLAIN, faults="rechunk=1")) == want
    assert (
        fold(ReplayTransport(PLAIN, faults="stall=0.3,keepalive=0.1,stall-after-event=2")) == want
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("uvicorn")
    (tmp_path / "plain.sse").write_bytes(RAW)
    with serving(ReplayApp(tmp_path, timing=False)) as url:
        yield url


def test_serve_faults_by_header(served: str, caplog: pytest.LogCaptureFixture) -> None:
    """``X-Streamagg-Fault`` breaks one request's stream: a cut drops the connection (one
    access line says so, no uvicorn error), an error event ends it; a bad spec is a 400."""
    with caplog.at_level(logging.INFO), httpx.Client() as client:
        headers = {FAULT_HEADER: "cut-after-event=4"}
        with (
            streamagg.chat(client, served, {"model": "plain"}, headers=headers) as s,
            pytest.raises(streamagg.StreamInterruptedError),
        ):
            s.finish()
        headers = {FAULT_HEADER: "error-after-event=3,error-as=chunk"}
        with (
            streamagg.chat(client, served, {"model": "plain"}, headers=headers) as s,
            pytest.raises(streamagg.UpstreamError, match="injected fault"),
        ):
            s.finish()
        bad = client.post(
            f"{served}/chat/completions", json={"model": "plain"}, headers={FAULT_HEADER: "x=1"}
        )
        assert bad.status_code == 400
        assert "unknown fault" in bad.json()["error"]["message"]
        time.sleep(0.2)
    lines = [r.getMessage() for r in caplog.records if r.name == "streamagg.serve"]
    assert any("(cut by fault)" in line for line in lines)
    assert not [r for r in caplog.records if "without completing" in r.getMessage()]
