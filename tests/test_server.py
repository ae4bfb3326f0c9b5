"""``streamagg serve``'s ASGI app (``streamagg.testing._server``) on uvicorn, over a real
loopback socket."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

import streamagg
from streamagg import ChatCompletionResponse, Choice, Message
from streamagg.testing import synthesize
from streamagg.testing._server import RECORDING_HEADER, ReplayApp, bind, make_server

from .helpers import SAMPLE, STREAMS, start_server

pytest.importorskip("uvicorn")

PLAIN_BYTES = (STREAMS / "openai-python__plain-content.sse").read_bytes()
SLOW_FROM = streamagg.replay(PLAIN_BYTES)
NAMES = SAMPLE[:3]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recordings")
    for name in NAMES:
        shutil.copy(STREAMS / f"{name}.sse", path / f"{name}.sse")
    slow = attrs.evolve(SLOW_FROM, id="chatcmpl-slow")
    (path / "slow.sse").write_bytes(synthesize(slow, chunk_size=20, interval=0.05))
    return path


start = start_server


@pytest.fixture(scope="module")
def base(folder: Path) -> Iterator[str]:
    """A running replay server with recorded timing on (the default)."""
    url, server, thread = start(ReplayApp(folder))
    yield url
    server.should_exit = True
    thread.join(10)


def fold(
    base: str, name: str | None = None, model: str = "any"
) -> streamagg.ChatCompletionResponse:
    headers = {RECORDING_HEADER: name} if name else {}
    with (
        httpx.Client() as client,
        streamagg.chat(client, base, {"model": model, "messages": []}, headers=headers) as s,
    ):
        return s.finish()


def test_recording_chosen_by_header(base: str) -> None:
    """The ``X-Streamagg-Recording`` header names the recording."""
    for name in NAMES:
        assert fold(base, name) == streamagg.replay(STREAMS / f"{name}.sse")
    assert fold(base, NAMES[0] + ".sse") == streamagg.replay(STREAMS / f"{NAMES[0]}.sse")


def test_recording_chosen_by_model(base: str) -> None:
    """Without the header, a ``model`` equal to a recording's name picks it."""
    assert fold(base, model=NAMES[1]) == streamagg.replay(STREAMS / f"{NAMES[1]}.sse")


def test_round_robin_otherwise(base: str) -> None:
    """Without header or matching model, the recordings answer in turn."""
    ids = {fold(base).id for _ in range(4)}
    assert len(ids) == 4


def test_several_concurrent_clients(base: str) -> None:
    """Twelve clients at once, on threads and on asyncio, each get their own stream."""
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: fold(base, NAMES[n % 3]), range(6)))
    assert [r.id for r in results] == [
        streamagg.replay(STREAMS / f"{NAMES[n % 3]}.sse").id for n in range(6)
    ]

    spans: list[tuple[float, float]] = []

    async def one(client: httpx.AsyncClient) -> streamagg.ChatCompletionResponse:
        async with streamagg.achat(client, base, {"model": "slow"}) as s:
            first = None
            async for _ in s:
                first = first if first is not None else time.monotonic()
            assert first is not None
            spans.append((first, time.monotonic()))
            return s.response

    async def many() -> list[streamagg.ChatCompletionResponse]:
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(*(one(client) for _ in range(6)))

    slow = anyio.run(many)
    assert all(r == attrs.evolve(SLOW_FROM, id="chatcmpl-slow") for r in slow)
    # Served side by side: every stream had started before any of them ended.
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_recorded_timing_is_honoured(base: str) -> None:
    """Events arrive at their recorded times (0.05 s apart here)."""
    with (
        httpx.Client() as client,
        streamagg.chat(client, base, {"model": "slow"}) as s,
    ):
        started = time.monotonic()
        s.finish()
    # A lower bound only: the server sleeps at least that long; a busy machine only adds.
    assert time.monotonic() - started >= 0.3


def test_client_disconnect_stops_its_stream_only(base: str) -> None:
    """A client leaving mid-stream does not disturb the server or other clients."""
    for _ in range(3):
        with (
            httpx.Client() as client,
            streamagg.chat(client, base, {"model": "slow"}) as s,
        ):
            next(iter(s))
    assert fold(base, NAMES[0]).choices[0].finish_reason == "stop"


def test_not_streaming_gives_one_json_completion(base: str) -> None:
    """``"stream": false`` answers with the folded response as JSON."""
    with httpx.Client() as client:
        answer = client.post(f"{base}/chat/completions", json={"model": NAMES[1], "stream": False})
    assert answer.headers["content-type"] == "application/json"
    assert streamagg.from_dict(answer.json()) == streamagg.replay(STREAMS / f"{NAMES[1]}.sse")


def test_models_and_errors(base: str) -> None:
    """``/v1/models`` lists recordings; unknown names, bad bodies and routes get JSON errors."""
    with httpx.Client() as client:
        models = client.get(f"{base}/models").json()
        assert sorted(m["id"] for m in models["data"]) == sorted([*NAMES, "slow"])
        missing = client.post(
            f"{base}/chat/completions", json={}, headers={RECORDING_HEADER: "nope"}
        )
        assert missing.status_code == 404
        assert "no recording named 'nope'" in missing.json()["error"]["message"]
        assert client.post(f"{base}/chat/completions", content=b"{").status_code == 400
        assert client.post(f"{base}/chat/completions", json=[1]).status_code == 400
        assert client.get(f"{base}/chat/completions").status_code == 405
        assert client.get(f"{base}/elsewhere").status_code == 404


def test_broken_recording_when_not_streaming(tmp_path: Path) -> None:
    """A recording that does not fold answers 502 when asked for a whole completion; no
    recordings at all answer 404; timing can be switched off."""
    (tmp_path / "bad.sse").write_bytes(b"data: {oops\n\n")
    url, server, thread = start(ReplayApp(tmp_path, timing=False))
    try:
        with httpx.Client() as client:
            answer = client.post(f"{url}/chat/completions", json={"stream": False})
            assert answer.status_code == 502
            assert "bad.sse" in answer.json()["error"]["message"]
            (tmp_path / "bad.sse").unlink()
            assert client.post(f"{url}/chat/completions", json={}).status_code == 404
    finally:
        server.should_exit = True
        thread.join(10)


def asgi(
    app: ReplayApp, scope: dict[str, Any], messages: list[dict[str, Any]], stay: bool = False
) -> list[dict[str, Any]]:
    """Run the ASGI app on scripted messages; return what it sent. After the messages the
    client disconnects, or (``stay``) stays connected."""
    sent: list[dict[str, Any]] = []
    inbox = list(messages)

    async def receive() -> dict[str, Any]:
        if not inbox and stay:
            await anyio.sleep_forever()
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    anyio.run(app, scope, receive, send)
    return sent


def test_asgi_edges(folder: Path) -> None:
    """Websockets are not served, a client gone before its body was read gets nothing, other
    messages while streaming are ignored, and lifespan events are answered."""
    app = ReplayApp(folder, timing=False)
    assert asgi(app, {"type": "websocket"}, []) == []
    http = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
    assert asgi(app, http, [{"type": "http.disconnect"}]) == []
    body = {"type": "http.request", "body": b'{"model": "slow", "stream": true}'}
    sent = asgi(app, http, [body, {"type": "http.request", "body": b""}], stay=True)
    assert sent[0]["status"] == 200
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    # The watcher skips other messages, sees the disconnect (the inbox is empty), and the
    # stream stops before its end, paced or not.
    for delay in (0.0, 0.001):
        paced_app = ReplayApp(folder, timing=False, delay=delay)
        sent = asgi(paced_app, http, [body, {"type": "http.request", "body": b""}])
        assert sent[0]["status"] == 200
        assert all(m.get("more_body") is not False for m in sent)
    life = asgi(
        app, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    )
    assert [m["type"] for m in life] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_serve_runs_uvicorn_on_the_socket(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve()`` runs the app on the given socket until the server is told to exit."""
    from streamagg.testing import _server, _uvicorn

    servers: list[object] = []
    real = _uvicorn.make_server

    def keep(app: ReplayApp) -> object:
        servers.append(real(app))
        return servers[-1]

    monkeypatch.setattr(_uvicorn, "make_server", keep)
    sock = bind("127.0.0.1", 0)
    thread = threading.Thread(target=_server.serve, args=(ReplayApp(folder), sock), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not servers or not servers[0].started:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    assert fold(base, NAMES[0]).choices[0].finish_reason == "stop"
    servers[0].should_exit = True  # type: ignore[attr-defined]
    thread.join(10)
    assert not thread.is_alive()


def test_record_from_the_replay_server_replays_identically(
    base: str, folder: Path, tmp_path: Path
) -> None:
    """``streamagg record`` against ``streamagg serve`` gives back the served recording: the
    same bytes (timing lines aside), the same response, and event times that follow the
    recorded pace."""
    from streamagg._cli import main
    from streamagg.testing._format import timed_segments

    out = tmp_path / "again.sse"
    header = f"{RECORDING_HEADER}: slow"
    assert main(["record", base, "--data", '{"model": "m"}', "-H", header, "-o", str(out)]) == 0
    served = (folder / "slow.sse").read_bytes()
    recorded = timed_segments(out.read_bytes())
    assert b"".join(p for _, p in recorded) == b"".join(p for _, p in timed_segments(served))
    assert streamagg.replay(out) == streamagg.replay(served)
    times = [t for t, _ in recorded if t is not None]
    assert len(times) == len(recorded)
    assert times == sorted(times)
    last = times[-1]
    assert last >= 0.3  # the served pace: 0.05 s per event (a lower bound only)


def test_a_non_streaming_answer_recorded_from_serve_replays(
    base: str, folder: Path, tmp_path: Path
) -> None:
    """A ``"stream": false`` call to ``serve`` recorded with ``record()`` is a JSON recording
    that replays to the same response everywhere: ``replay``, ``ReplayTransport``, the CLI."""
    from streamagg._cli import main
    from streamagg.testing import ReplayTransport, record

    out = tmp_path / "whole.json"
    with httpx.Client(transport=record(out)) as client:
        answer = client.post(f"{base}/chat/completions", json={"model": NAMES[1], "stream": False})
    assert answer.headers["content-type"] == "application/json"
    want = streamagg.replay(STREAMS / f"{NAMES[1]}.sse")
    assert streamagg.from_dict(json.loads(out.read_bytes())) == want  # the body, as it came
    assert streamagg.replay(out) == want
    with (
        httpx.Client(transport=ReplayTransport(out)) as client,
        streamagg.chat(client, "http://t/v1", {"model": "m", "stream": False}) as s,
    ):
        assert s.finish() == want
    assert main(["replay", str(out)]) == 0


# -- security: what a misbehaving client cannot do ------------------------------------------


def test_names_never_reach_outside_the_folder_and_errors_show_no_path(
    base: str, folder: Path
) -> None:
    """A recording name or model with ``..``, slashes or an absolute path picks nothing, and
    the 404 names the recording only, never the folder's path."""
    outside = folder.parent / "secret.sse"
    outside.write_bytes(PLAIN_BYTES)
    with httpx.Client() as client:
        for name in ("../secret", "..", "/etc/passwd", str(outside), "sub/../secret"):
            answer = client.post(
                f"{base}/chat/completions", json={}, headers={RECORDING_HEADER: name}
            )
            assert answer.status_code == 404, name
            assert str(folder) not in answer.text
        for model in ("../secret", str(outside.with_suffix(""))):
            answer = client.post(
                f"{base}/chat/completions", json={"model": model, "stream": False}
            )
            assert "secret" not in answer.text


def test_the_default_address_is_loopback() -> None:
    """``streamagg serve`` listens on 127.0.0.1 unless told otherwise."""
    from streamagg._cli import _parser

    assert _parser().parse_args(["serve", "d"]).host == "127.0.0.1"


def test_request_bodies_are_bounded_and_checked(folder: Path) -> None:
    """A body over ``max_body`` gets 413, JSON nested too deeply 400, a body that trickles in
    too slowly 408 (read linearly, in pieces)."""
    app = ReplayApp(folder, timing=False, max_body=10_000, body_timeout=0.3)
    url, server, thread = start(app)
    try:
        with httpx.Client() as client:
            big = client.post(f"{url}/chat/completions", content=b"{" + b" " * 20_000 + b"}")
            assert big.status_code == 413
            nested = client.post(f"{url}/chat/completions", content=b"[" * 5_000)
            assert nested.status_code == 400

            def trickle() -> Iterator[bytes]:
                yield b'{"model":'
                time.sleep(0.6)
                yield b'"x"}'

            slow = client.post(f"{url}/chat/completions", content=trickle())
            assert slow.status_code == 408
    finally:
        server.should_exit = True
        thread.join(10)


def test_idle_connections_are_closed_after_the_header_timeout(folder: Path) -> None:
    """A connection that sends nothing, or half of its headers, is closed after the header
    timeout: idle clients cannot hold the server's file descriptors."""
    sock = bind("127.0.0.1", 0)
    server = make_server(ReplayApp(folder), header_timeout=0.3)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for opening in (b"", b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"):
            with socket.create_connection(("127.0.0.1", port)) as idle:
                idle.sendall(opening)
                idle.settimeout(5)
                started = time.monotonic()
                assert idle.recv(100) == b""  # closed by the server
                assert time.monotonic() - started < 4
        with httpx.Client() as client:  # a well-behaved client is served
            assert client.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)


def test_running_out_of_file_descriptors_logs_one_line_a_minute() -> None:
    """asyncio's accept error, repeated while descriptors are exhausted, is logged once a
    minute, not thousands of times."""
    from streamagg.testing._uvicorn import _OncePerMinute

    records = [
        logging.LogRecord("asyncio", logging.ERROR, "", 0, message, None, None)
        for message in ["socket.accept() out of system resource"] * 500 + ["other"]
    ]
    gate = _OncePerMinute()
    assert [r.getMessage() for r in records if gate.filter(r)] == [
        "socket.accept() out of system resource",
        "other",
    ]


@pytest.mark.slow  # a server process, and seconds of idle connections
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file-descriptor limits")
def test_out_of_file_descriptors_logs_a_line_not_a_flood(folder: Path, tmp_path: Path) -> None:
    """``streamagg serve`` with a 64-descriptor limit and 150 idle connections: it keeps
    running, logs the accept failure at most once, and serves again once they are closed."""
    script = tmp_path / "serve.py"
    script.write_text(
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "from streamagg._cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    server = subprocess.Popen(
        [sys.executable, str(script), "serve", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" at ")[1].split()[0]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        idle = [connect(port) for _ in range(150)]
        time.sleep(2)
        for conn in idle:
            if conn is not None:
                conn.close()
        time.sleep(1.5)
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{url}/models").status_code == 200
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    records = [line for line in err.splitlines() if not line.startswith((" ", "Traceback"))]
    logged = [r for r in records if "accept" in r or "_start_serving" in r]
    assert len(logged) <= 1, err[:3000]
    assert len(err.splitlines()) < 60, err[:3000]


def connect(port: int) -> socket.socket | None:
    """A connection to ``port``, or None when it cannot be made."""
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None


def test_a_client_that_leaves_stops_its_stream_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that closes 200 bytes into an untimed stream stops it at once: one access line
    saying so, not a flood of ``socket.send() raised exception.`` (there were thousands)."""
    big = ChatCompletionResponse(choices=[Choice(0, Message(content="x" * 50_000))])
    (tmp_path / "big.sse").write_bytes(synthesize(big, chunk_size=5))
    url, server, thread = start(ReplayApp(tmp_path, timing=False))
    port = int(url.split(":")[2].split("/")[0])
    body = b'{"model": "big", "stream": true}'
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(head % len(body) + body)
                client.recv(200)
        deadline = time.monotonic() + 10
        while len([r for r in caplog.records if r.name == "streamagg.serve"]) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
    server.should_exit = True
    thread.join(10)
    access = [r.getMessage() for r in caplog.records if r.name == "streamagg.serve"]
    assert len(access) == 3
    assert all("(client left)" in line and "recording=big.sse" in line for line in access)
    assert not [r for r in caplog.records if "socket.send" in r.getMessage()]


def test_serve_answers_a_recorded_error(tmp_path: Path) -> None:
    """A recorded error answer is sent as recorded (status, headers, body), streaming or not."""
    recording = (
        b': http-status: 503\n: http-header: retry-after: 7\n\n{"error": {"message": "busy"}}'
    )
    (tmp_path / "busy.sse").write_bytes(recording)
    url, server, thread = start(ReplayApp(tmp_path, timing=False))
    try:
        with httpx.Client() as client:
            for stream in (True, False):
                answer = client.post(
                    f"{url}/chat/completions", json={"model": "busy", "stream": stream}
                )
                assert answer.status_code == 503
                assert answer.headers["retry-after"] == "7"
                assert answer.json() == {"error": {"message": "busy"}}
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.slow  # a load test: 400 requests against one server
def test_two_hundred_clients_with_disconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """200 concurrent clients, half of them leaving after their first event: every one that
    stays gets the whole response, the server keeps serving, and the log has exactly one line
    per request (nothing else)."""
    (tmp_path / "plain.sse").write_bytes(PLAIN_BYTES)
    url, server, thread = start(ReplayApp(tmp_path, timing=False, delay=0.002))
    want = streamagg.replay(PLAIN_BYTES)

    async def one(client: httpx.AsyncClient, leave: bool) -> bool:
        async with streamagg.achat(client, url, {"model": "plain"}) as s:
            if leave:
                async for _ in s:
                    return True
            return await s.finish() == want

    async def many() -> list[bool]:
        limits = httpx.Limits(max_connections=250)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            tasks = [one(client, n % 2 == 0) for n in range(200)]
            return list(await asyncio.gather(*tasks))

    try:
        with caplog.at_level(logging.INFO):
            results = anyio.run(many)
            assert all(results)
            deadline = time.monotonic() + 10
            while len([r for r in caplog.records if r.name == "streamagg.serve"]) < 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert anyio.run(many)  # still serving
    finally:
        server.should_exit = True
        thread.join(10)
    access = [r for r in caplog.records if r.name == "streamagg.serve"]
    assert len(access) == 400
    assert sum("(client left)" in r.getMessage() for r in access) >= 1
    others = [
        r for r in caplog.records if r.name != "streamagg.serve" and r.levelno >= logging.WARNING
    ]
    assert others == []
