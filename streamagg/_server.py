"""``streamagg serve``: an OpenAI-compatible endpoint that answers with recorded streams.

``ReplayApp`` is a plain ASGI application (no framework); ``serve()`` runs it on uvicorn, the
optional ``serve`` extra. Endpoints:

* ``POST /v1/chat/completions`` (also ``/chat/completions``): the recording named by the
  ``X-Streamagg-Recording`` header, else the one whose name is the request's ``model``, else the
  next one in turn. Sent at the recorded timing unless timing is off. With ``"stream": false``
  the recording is folded and sent as one JSON completion.
* ``GET /v1/models``: the recordings, as models.

Each request runs in its own task (concurrent clients), and a client that disconnects stops its
stream at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from ._convert import to_dict
from ._errors import StreamError
from ._recording import content_type, paced, timed_segments
from ._replay import replay

__all__ = ["RECORDING_HEADER", "ReplayApp", "bind", "make_server", "serve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The request header that picks a recording by name (file name without ``.sse``).
RECORDING_HEADER = "x-streamagg-recording"


async def _json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _error(send: Send, status: int, message: str, kind: str) -> None:
    await _json(send, status, {"error": {"message": message, "type": kind}})


class ReplayApp:
    """ASGI application serving the ``.sse`` recordings of ``directory``."""

    def __init__(self, directory: str | Path, *, timing: bool = True, delay: float = 0.0):
        self.directory = Path(directory)
        self.timing = timing
        self.delay = delay
        self._turn = itertools.count()

    def recordings(self) -> dict[str, Path]:
        """The recordings by name, read from the folder at each request (new files count)."""
        return {p.stem: p for p in sorted(self.directory.glob("*.sse"))}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":  # websockets: not ours
            return
        method, path = scope["method"], scope["path"].rstrip("/")
        if path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                await _error(send, 405, "use POST", "invalid_request_error")
                return
            await self._chat(scope, receive, send)
        elif path in ("/v1/models", "/models") and method == "GET":
            names = self.recordings()
            data = [{"id": n, "object": "model", "owned_by": "streamagg"} for n in names]
            await _json(send, 200, {"object": "list", "data": data})
        else:
            await _error(send, 404, f"no route {method} {path or '/'}", "not_found")

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            await _error(send, 400, "the request body is not JSON", "invalid_request_error")
            return
        if not isinstance(payload, dict):
            await _error(send, 400, "the request body must be an object", "invalid_request_error")
            return
        headers = dict(scope.get("headers") or [])
        wanted = headers.get(RECORDING_HEADER.encode(), b"").decode("latin-1")
        path = self._choose(wanted, payload.get("model"))
        if path is None:
            what = f"no recording named {wanted!r}" if wanted else "no recordings"
            await _error(send, 404, f"{what} in {self.directory}", "not_found")
            return
        if payload.get("stream") is False:
            await self._whole(send, path)
        else:
            await self._stream(receive, send, path)

    def _choose(self, wanted: str, model: Any) -> Path | None:
        recordings = self.recordings()
        if wanted:
            return recordings.get(wanted.removesuffix(".sse"))
        if isinstance(model, str) and model in recordings:
            return recordings[model]
        if not recordings:
            return None
        names = sorted(recordings)
        return recordings[names[next(self._turn) % len(names)]]

    async def _whole(self, send: Send, path: Path) -> None:
        try:
            response = replay(path)
        except StreamError as exc:
            await _error(send, 502, f"{path.name}: {exc}", "upstream_error")
            return
        await _json(send, 200, to_dict(response))

    async def _stream(self, receive: Receive, send: Send, path: Path) -> None:
        data = path.read_bytes()
        headers = [(b"content-type", content_type(data).encode()), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            for wait, piece in paced(timed_segments(data), timing=self.timing, delay=self.delay):
                if wait:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(gone.wait(), wait)
                if gone.is_set():
                    return  # the client went away: stop this stream, nothing else
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def make_server(app: ReplayApp) -> Any:
    """A uvicorn server for ``app`` (raises ImportError without the ``serve`` extra)."""
    import uvicorn  # noqa: PLC0415 - the optional ``serve`` extra, imported on use

    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def serve(app: ReplayApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` with uvicorn until interrupted."""
    make_server(app).run(sockets=[sock])
