"""Shared fixtures: a real HTTP server on loopback that sends the recorded streams. Shared data
and helpers live in ``helpers.py``, hypothesis strategies in ``strategies.py``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import settings

from .helpers import STREAMS

# No per-example deadline: a deadline is a timing assertion, and the machines that run the suite
# are shared and noisy (a slow example under coverage is not a failure).
settings.register_profile("streamagg", deadline=None)
settings.load_profile("streamagg")

# The package's own pytest plugin (its entry point is switched off in pyproject.toml, see there).
pytest_plugins = ["streamagg.testing._pytest_plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Handler(BaseHTTPRequestHandler):
    """Sends ``tests/streams/<name>.sse`` for ``/<name>`` (or ``/<name>/chat/completions``,
    ``/<name>/responses``, ``/<name>/messages``; ``<name>`` may be ``<dialect>/<recording>``)
    in chunked pieces.

    Query options: ``piece`` (bytes per write, default 64), ``pause`` (seconds between writes,
    default 0.001), ``cut`` (stop after this many bytes and drop the connection), ``stall``
    (after ``cut`` bytes, wait this long before dropping), ``keepalive`` (while stalled, send a
    ``: keepalive`` comment this often), ``type`` (Content-Type).
    """

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def _stall(self, seconds: float, keepalive: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(keepalive or seconds, max(deadline - time.monotonic(), 0)))
            if keepalive:
                comment = b": keepalive\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(comment), comment))
                self.wfile.flush()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        opts = {k: v[0] for k, v in parse_qs(url.query).items()}
        name = url.path
        for endpoint in ("/chat/completions", "/responses", "/messages"):
            name = name.removesuffix(endpoint)
        name = name.strip("/")
        path = STREAMS / f"{name}.sse"
        if not path.exists():
            self.send_error(404)
            return
        body = path.read_bytes()
        piece = int(opts.get("piece", 64))
        pause = float(opts.get("pause", 0.001))
        cut = int(opts.get("cut", len(body)))
        self.send_response(200)
        self.send_header("content-type", opts.get("type", "text/event-stream"))
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for start in range(0, cut, piece):
                data = body[start : min(start + piece, cut)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(pause)
            if cut < len(body):
                self._stall(float(opts.get("stall", 0)), float(opts.get("keepalive", 0)))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client went away: that is allowed


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The base URL of a loopback HTTP server sending recorded streams (free port)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
