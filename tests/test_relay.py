"""``relay()`` / ``arelay()`` (``streamagg._app.relay``) as the body of a Starlette
``StreamingResponse`` on a real uvicorn server, relaying a real loopback upstream: the bytes pass
unchanged, and ``on_finish`` runs exactly once with the right response or partial, however the
relay ends."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import streamagg
from streamagg.testing._server import bind

from .helpers import PAYLOAD, STREAMS, sse

starlette = pytest.importorskip("starlette.applications")
uvicorn = pytest.importorskip("uvicorn")
from starlette.requests import Request  # noqa: E402
from starlette.responses import StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

NAME = "openai-python__plain-content"
RAW = (STREAMS / f"{NAME}.sse").read_bytes()
ERROR = "pydantic-ai__groq-gptoss-event-error-no-done"
Finished = tuple[streamagg.ChatCompletionResponse, "streamagg.StreamError[Any] | None"]


class Calls:
    """The ``on_finish`` calls, with a way to wait for the first."""

    def __init__(self) -> None:
        self.calls: list[Finished] = []
        self.event = threading.Event()

    def __call__(self, response: Any, error: Any) -> None:
        self.calls.append((response, error))
        self.event.set()

    def one(self) -> Finished:
        for _ in range(100):
            if self.event.wait(0.05):
                break
            gc.collect()  # a sync generator the server dropped is closed when collected
        time.sleep(0.2)  # a second call, if there were one, would have come by now
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


CALLS: dict[str, Calls] = {}


def make_app(upstream: str) -> Any:
    async def relay_async(request: Request) -> StreamingResponse:
        query = request.url.query
        calls = CALLS[request.query_params["id"]]
        client = httpx.AsyncClient(timeout=10)
        body = streamagg.arelay(
            client,
            "POST",
            f"{upstream}/{request.path_params['name']}?{query}",
            json=PAYLOAD,
            on_finish=calls,
            idle_timeout=float(request.query_params.get("idle", 30)),
        )
        return StreamingResponse(body, media_type="text/event-stream")

    def relay_sync(request: Request) -> StreamingResponse:
        query = request.url.query
        calls = CALLS[request.query_params["id"]]
        body = streamagg.relay(
            httpx.Client(timeout=10),
            "POST",
            f"{upstream}/{request.path_params['name']}?{query}",
            json=PAYLOAD,
            on_finish=calls,
            idle_timeout=float(request.query_params.get("idle", 30)),
        )
        return StreamingResponse(body, media_type="text/event-stream")

    return starlette.Starlette(
        routes=[
            Route("/async/{name}", relay_async, methods=["POST"]),
            Route("/sync/{name}", relay_sync, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def gateway(server: str) -> Iterator[str]:
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(make_app(server), log_level="warning", lifespan="off")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner.should_exit = True
    thread.join(10)


_count = iter(range(10**6))


def calls_for(twin: str) -> tuple[str, Calls]:
    key = f"{twin}-{next(_count)}"
    CALLS[key] = Calls()
    return key, CALLS[key]


TWINS = ["async", "sync"]


@pytest.mark.parametrize("twin", TWINS)
def test_a_whole_stream_passes_unchanged_and_finishes_once(gateway: str, twin: str) -> None:
    """The downstream client gets the upstream bytes unchanged; ``on_finish`` gets the folded
    response and no error, once."""
    key, calls = calls_for(twin)
    got = httpx.post(f"{gateway}/{twin}/{NAME}?id={key}&piece=50").content
    assert got == RAW
    response, error = calls.one()
    assert error is None
    assert response == streamagg.replay(RAW)


@pytest.mark.parametrize("twin", TWINS)
def test_an_upstream_error_is_forwarded_and_finishes_with_it(gateway: str, twin: str) -> None:
    """An error event reaches the downstream client; ``on_finish`` gets the partial response
    and the ``UpstreamError``."""
    key, calls = calls_for(twin)
    got = httpx.post(f"{gateway}/{twin}/{ERROR}?id={key}").content
    assert b"event: error" in got
    response, error = calls.one()
    assert isinstance(error, streamagg.UpstreamError)
    assert response.choices[0].message.reasoning


@pytest.mark.parametrize("twin", TWINS)
def test_an_upstream_drop_finishes_with_the_partial(gateway: str, twin: str) -> None:
    """The upstream drops mid-stream: the downstream stream ends, ``on_finish`` gets what was
    folded and the interruption."""
    key, calls = calls_for(twin)
    with httpx.stream("POST", f"{gateway}/{twin}/{NAME}?id={key}&cut=2000") as answer:
        got = b"".join(answer.iter_bytes())
    assert RAW.startswith(got)
    response, error = calls.one()
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert response.choices[0].message.content
    assert RAW.startswith(got)


@pytest.mark.parametrize("twin", TWINS)
def test_a_stalled_upstream_finishes_with_stalled(gateway: str, twin: str) -> None:
    """An upstream that stops sending data is stopped by the watchdog."""
    key, calls = calls_for(twin)
    cut = RAW.index(b"\n\n", 1500) + 2
    url = f"{gateway}/{twin}/{NAME}?id={key}&cut={cut}&stall=5&keepalive=0.05&idle=0.3"
    got = httpx.post(url, timeout=10).content
    assert got.startswith(RAW[:cut])
    response, error = calls.one()
    assert isinstance(error, streamagg.StreamStalledError)
    assert response.choices[0].message.content


@pytest.mark.parametrize("twin", TWINS)
def test_the_downstream_client_leaving_finishes_once_with_the_partial(
    gateway: str, twin: str
) -> None:
    """The downstream client disconnects mid-stream: ``on_finish`` runs once, with the partial
    response folded so far and an interruption saying the client went away."""
    key, calls = calls_for(twin)
    url = f"{gateway}/{twin}/{NAME}?id={key}&piece=40&pause=0.05"
    got = b""
    with httpx.stream("POST", url) as answer:
        for piece in answer.iter_bytes():
            got += piece
            if got.count(b"\n\n") >= 4:
                break  # leave after a few events
    assert RAW.startswith(got)
    response, error = calls.one()
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert "went away" in str(error)
    assert (
        0
        < len(response.choices[0].message.content or "")
        < len(streamagg.replay(RAW).choices[0].message.content or "")
    )


def test_rewrite_changes_what_is_forwarded_not_what_is_folded(server: str) -> None:
    """``rewrite`` drops a key from each forwarded event; the fold still sees the original."""
    calls = Calls()

    def drop_model(event: bytes) -> bytes:
        if not event.startswith(b"data: {"):
            return event
        chunk = json.loads(event[6:])
        chunk.pop("model", None)
        return sse([chunk])

    with httpx.Client() as client:
        body = streamagg.relay(
            client, "POST", f"{server}/{NAME}", json=PAYLOAD, on_finish=calls, rewrite=drop_model
        )
        forwarded = b"".join(body)
    assert b'"model"' not in forwarded
    assert streamagg.replay(forwarded).model is None
    response, error = calls.one()
    assert error is None
    assert response.model == "gpt-4o-2024-08-06"
    assert body.response == response
    assert body.error is None
    assert body.timings.chunks == 33


def test_an_http_error_is_forwarded_and_finishes_with_it() -> None:
    """A non-2xx upstream answer forwards its body and finishes with ``HTTPStatusError``."""
    calls = Calls()
    transport = httpx.MockTransport(
        lambda r: httpx.Response(429, json={"error": {"message": "slow down"}})
    )
    with httpx.Client(transport=transport) as client:
        body = streamagg.relay(client, "POST", "http://t/v1", on_finish=calls)
        assert json.loads(b"".join(body)) == {"error": {"message": "slow down"}}
    response, error = calls.one()
    assert isinstance(error, streamagg.HTTPStatusError)
    assert error.status_code == 429
    assert response.choices == []


def test_closing_a_sync_relay_early_finishes_once() -> None:
    """A WSGI server closes the body iterable when its client goes away: ``close()``."""
    calls = Calls()
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=RAW)
    )
    with httpx.Client(transport=transport) as client:
        body = streamagg.relay(client, "POST", "http://t/v1", on_finish=calls)
        next(body)
        body.close()
        body.close()
    response, error = calls.one()
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert response.id
    assert body.snapshot() == response
