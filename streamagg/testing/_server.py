"""``streamagg serve``: an OpenAI-compatible endpoint that answers with recorded streams.

``ReplayApp`` is a plain ASGI application (no framework); ``serve()`` runs it on uvicorn, the
optional ``serve`` extra. Endpoints:

* ``POST /v1/chat/completions``, ``/v1/responses`` (OpenAI Responses API), ``/v1/messages``
  (Anthropic Messages), ``/v1/completions`` (legacy completions), also without ``/v1``;
  ``/api/chat`` and ``/api/generate`` (Ollama); ``/v1beta/models/MODEL:streamGenerateContent``
  and ``:generateContent`` (Gemini): the recording named by the ``X-Streamagg-Recording``
  header, else the one whose name is the request's model, else the next one in turn among the
  recordings of the endpoint's dialect (each recording's dialect is detected from its content,
  see ``_detect``). When the request streams (``"stream": true``; Ollama unless
  ``"stream": false``; Gemini's ``streamGenerateContent``, sent as SSE whatever ``alt`` says) the
  recording is sent at the recorded timing (unless timing is off), Ollama's JSON lines one line
  at a time; otherwise it is folded and sent as the one JSON object a non-streaming call
  returns. Faults (``faults=``, ``serve --fault``, or a request's ``X-Streamagg-Fault``
  header: a ``Faults.parse`` spec such as ``cut-after-event=5``) cut, stall, re-chunk or break
  a stream. A recorded error answer (a 429, a 500: ``http_answer``) is sent as it was recorded,
  status, headers and body. Recordings are the folder's ``.sse``, ``.ndjson`` and ``.jsonl``
  files.
* ``GET /v1/models``: the recordings, as models.

What it refuses (it is a test double on a developer's machine, but a folder can hold anything
and a client can send anything): a recording that is not a regular file (a FIFO, a device, a
folder), that leads outside the folder (a symbolic link to ``/etc/hostname`` or ``/dev/zero``;
a link to another file of the folder is fine) or that is larger than ``MAX_RECORDING`` (256
MiB) is not served: it is left out of the list, and a request naming it is answered 403 with
the reason. Files are read on a worker thread, never in the event loop, so a slow disk stalls
one request, not the server. A fault spec past the bounds of ``Faults`` is answered 400. The
folder is listed again only when it changes (its modification time), so ten thousand
recordings cost one listing, not one per request.

Each request runs in its own task (concurrent clients), and a client that disconnects stops its
stream at once. Each request is logged in one line on the ``streamagg.serve`` logger (INFO):
method, path, recording, status, events sent, duration, and whether the client left early.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from .._core.convert import to_dict
from .._core.dialect import Route
from .._core.errors import StreamError
from .._registry import DIALECTS
from .._registry.detect import detect_dialect, replay_any
from ._faults import CUT, FAULT_HEADER, Faults, iter_plan
from ._folder import (
    MAX_RECORDING,
    RECORDING_SUFFIXES,
    Listing,
    NotServedError,
    Version,
    read_recording,
    scan,
    version_of,
)
from ._format import content_type, http_answer, replay_segments

__all__ = [
    "MAX_RECORDING",
    "RECORDING_HEADER",
    "RECORDING_SUFFIXES",
    "ReplayApp",
    "bind",
    "make_server",
    "serve",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The request header that picks a recording by name (file name without ``.sse``).
RECORDING_HEADER = "x-streamagg-recording"
#: The largest request body read (bytes), and how long reading it may take (seconds).
MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 30.0
#: How long a connection may take to send a request's headers (seconds): a client that opens
#: connections and sends nothing (or a byte at a time) cannot hold them.
HEADER_TIMEOUT = 10.0
#: Connections served at once; more are answered 503 by uvicorn.
MAX_CONNECTIONS = 512
# A folder listed less than this long after it last changed is listed again at the next
# request: a change within the same tick of a coarse clock (1 s on HFS+, 2 s on FAT) would
# leave its modification time as it was (git's "racy" index entries, the same problem).
_RACY_SECONDS = 2.0
_LOG_EVERY = 60.0
# A path answered by a dialect's route: after an optional /v1 or /v1beta, the route's pattern.
_PREFIX = r"(?:/v1beta|/v1)?"


def _route(path: str) -> tuple[str, Route, re.Match[str]] | None:
    """The dialect and route a request path calls (the registry's, in its order), if any."""
    for dialect in DIALECTS.values():
        for route in dialect.routes:
            pattern = route.serve if route.serve is not None else re.escape(route.path)
            found = re.fullmatch(_PREFIX + pattern, path)
            if found is not None:
                return dialect.name, route, found
    return None


async def _json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _error(send: Send, status: int, message: str, kind: str) -> None:
    await _json(send, status, {"error": {"message": message, "type": kind}})


class ReplayApp:
    """ASGI application serving the recordings of ``directory`` (see the module's doc)."""

    def __init__(
        self,
        directory: str | Path,
        *,
        timing: bool = True,
        delay: float = 0.0,
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
        faults: Faults | None = None,
        max_recording: int = MAX_RECORDING,
    ):
        self.directory = Path(directory)
        self.faults = faults  # for every stream; a request's X-Streamagg-Fault header wins
        self.timing = timing
        self.delay = delay
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.max_recording = max_recording
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay must be a finite number of seconds, not {delay}")
        self._turns: dict[str, itertools.count[int]] = defaultdict(itertools.count)
        # The dialect of each recording: (its version, its dialect), by path.
        self._dialects: dict[Path, tuple[Version, str]] = {}
        self._listing: Listing | None = None
        self._lock = threading.Lock()  # one listing at a time (the worker threads share it)

    def dialect(self, path: Path) -> str:
        """The dialect of a recording (detected once per version of the file). Blocking I/O:
        the app calls it on a worker thread."""
        return self._dialect(path, version_of(path.stat()))

    def _dialect(self, path: Path, version: Version) -> str:
        known = self._dialects.get(path)
        if known is not None and known[0] == version:
            return known[1]
        dialect = detect_dialect(self._read(path)[0])
        self._dialects[path] = (version, dialect)
        return dialect

    def recordings(self) -> dict[str, Path]:
        """The recordings by name: the folder's regular files with a recording's ending, inside
        the folder, of at most ``max_recording`` bytes. The folder is listed again when it
        changed (new files count); blocking I/O, the app calls it on a worker thread."""
        return self._list().paths

    def _list(self) -> Listing:
        with self._lock:
            started = time.time()
            try:
                info = self.directory.stat()
            except OSError:
                return Listing()  # the folder is gone: no recordings (until it is back)
            version = version_of(info)
            listing = self._listing
            if listing is not None and listing.version == version and listing.settled:
                return listing
            try:
                fresh = scan(self.directory, self.max_recording)
            except OSError:
                return Listing()  # gone (or unreadable) since its stat
            fresh.version = version
            fresh.settled = started - info.st_mtime > _RACY_SECONDS
            for name, why in fresh.refused.items():
                if listing is None or listing.refused.get(name) != why:
                    access_log.warning("recording %s is not served: %s", name, why)
            kept = set(fresh.paths.values())
            self._dialects = {p: d for p, d in self._dialects.items() if p in kept}
            self._listing = fresh
            return fresh

    def _read(self, path: Path) -> tuple[bytes, Version]:
        return read_recording(path, self.directory.resolve(), self.max_recording)

    def _find(self, dialect: str, wanted: str, model: Any) -> tuple[Path, bytes]:
        """The recording that answers a call, and its bytes (on a worker thread: blocking
        I/O); raises ``NotServedError`` saying why there is none."""
        listing = self._list()
        if wanted:
            name = Path(wanted)
            key = name.stem if name.suffix in RECORDING_SUFFIXES else wanted
            if key in listing.refused:
                why = listing.refused[key]
                raise NotServedError(403, f"recording {key!r} is not served: {why}")
            if key not in listing.paths:
                raise NotServedError(404, f"no recording named {wanted!r}")
            path = listing.paths[key]
        elif isinstance(model, str) and model in listing.paths:
            path = listing.paths[model]
        else:
            path = self._next(listing, dialect)
        try:
            data, version = self._read(path)
        except FileNotFoundError:  # removed since the folder was listed
            raise NotServedError(404, f"no recording named {path.stem!r}") from None
        if version != listing.versions.get(path.stem):
            # Rewritten in place (the folder's time stays): list it again at the next request,
            # which detects its dialect again.
            listing.settled = False
        return path, data

    def _next(self, listing: Listing, dialect: str) -> Path:
        """The next recording of ``dialect`` in turn."""
        names = []
        for name, path in listing.paths.items():
            with contextlib.suppress(OSError, NotServedError):  # changed since it was listed
                if self._dialect(path, listing.versions[name]) == dialect:
                    names.append(name)
        if not names:
            raise NotServedError(404, f"no recordings of the {dialect} dialect to serve")
        return listing.paths[names[next(self._turns[dialect]) % len(names)]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":  # websockets: not ours
            return
        request = _Request(scope, send)
        try:
            await self._route(scope, receive, request.send, request)
        finally:
            request.log()

    async def _route(self, scope: Scope, receive: Receive, send: Send, request: _Request) -> None:
        method, path = scope["method"], scope["path"].rstrip("/")
        route = _route(path)
        if route is not None:
            if method != "POST":
                await _error(send, 405, "use POST", "invalid_request_error")
                return
            await self._call(route, scope, receive, send, request)
        elif path in ("/v1/models", "/models") and method == "GET":
            names = await asyncio.to_thread(self.recordings)
            data = [{"id": n, "object": "model", "owned_by": "streamagg"} for n in names]
            await _json(send, 200, {"object": "list", "data": data})
        else:
            await _error(send, 404, f"no route {method} {path or '/'}", "not_found")

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The request body, read in pieces (linear in its size) up to ``max_body`` bytes and
        within ``body_timeout`` seconds; None (after answering 413 or 408) when it is not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        pieces: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                await _error(send, 408, "the request body took too long", "invalid_request_error")
                return None
            if message["type"] == "http.disconnect":
                return None
            piece = message.get("body", b"")
            size += len(piece)
            if size > self.max_body:
                what = f"the request body is larger than {self.max_body} bytes"
                await _error(send, 413, what, "invalid_request_error")
                return None
            pieces.append(piece)
            if not message.get("more_body"):
                return b"".join(pieces)

    async def _call(
        self,
        route: tuple[str, Route, re.Match[str]],
        scope: Scope,
        receive: Receive,
        send: Send,
        request: _Request,
    ) -> None:
        """Answer a call of ``route``: (the dialect, its route, the path's match)."""
        dialect, called, found = route
        path_model = found.groupdict().get("model")
        payload = await self._payload(receive, send)
        if payload is None:
            return
        headers = dict(scope.get("headers") or [])
        wanted = _text(headers.get(RECORDING_HEADER.encode(), b""))
        faults = self.faults
        spec = headers.get(FAULT_HEADER.encode())
        if spec is not None:
            try:
                faults = Faults.parse(_text(spec))
            except ValueError as exc:
                await _error(send, 400, f"{FAULT_HEADER}: {exc}", "invalid_request_error")
                return
        model = path_model or payload.get("model")
        try:
            path, data = await asyncio.to_thread(self._find, dialect, wanted, model)
        except NotServedError as exc:
            await _error(send, exc.status, exc.message, exc.kind)
            return
        request.recording = path.name
        if await self._recorded_answer(send, data):
            return
        if _streams(called, found, payload):
            request.ending = await self._stream(receive, send, data, faults)
        else:
            await self._whole(send, path, data)

    async def _payload(self, receive: Receive, send: Send) -> dict[str, Any] | None:
        """The request's JSON object; None after answering why it is not one."""
        body = await self._read_body(receive, send)
        if body is None:
            return None
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            await _error(send, 400, "the request body is not JSON", "invalid_request_error")
            return None
        if not isinstance(payload, dict):
            await _error(send, 400, "the request body must be an object", "invalid_request_error")
            return None
        return payload

    async def _recorded_answer(self, send: Send, data: bytes) -> bool:
        """Send the recording if it is a recorded error answer (whatever the request asked)."""
        answer = http_answer(data)
        if answer is None:
            return False
        fields = [(k.encode(), v.encode()) for k, v in answer.headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": fields})
        await send({"type": "http.response.body", "body": answer.body})
        return True

    async def _whole(self, send: Send, path: Path, data: bytes) -> None:
        try:
            response = (await asyncio.to_thread(replay_any, data))[1]
        except StreamError as exc:
            await _error(send, 502, f"{path.name}: {exc}", "upstream_error")
            return
        await _json(send, 200, to_dict(response))

    async def _stream(
        self, receive: Receive, send: Send, data: bytes, faults: Faults | None
    ) -> str:
        """Send a recording as a stream (with ``faults``); how it ended: ``""`` (normally),
        ``"client left"`` or ``"cut by fault"``. The plan is made a step at a time, as the
        stream is sent (an hour of keep-alives every millisecond is millions of steps)."""
        kind = content_type(data)
        segments = await asyncio.to_thread(replay_segments, data)
        headers = [(b"content-type", kind.encode()), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            steps = iter_plan(
                segments,
                faults,
                timing=self.timing,
                delay=self.delay,
                ndjson=kind == "application/x-ndjson",
            )
            for wait, piece in steps:
                if wait:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(gone.wait(), wait)
                else:
                    # Let the loop run between pieces: a closed connection is noticed (and the
                    # watcher hears of it) before the next write, not thousands of writes later.
                    await asyncio.sleep(0)
                if gone.is_set():
                    return "client left"  # stop this stream, nothing else
                if piece is CUT:
                    return "cut by fault"  # the response is left incomplete: uvicorn drops it
                if piece:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return ""
        finally:
            watcher.cancel()


def _streams(route: Route, found: re.Match[str], payload: dict[str, Any]) -> bool:
    """Whether a call asks for a stream: by its path when the route's pattern has a ``stream``
    group (Gemini's method), else by the body's ``stream`` (Ollama's default is to stream)."""
    if "stream" in found.re.groupindex:
        return found["stream"] is not None
    if route.streams_by_default:
        return payload.get("stream") is not False
    return payload.get("stream") is True


def _text(value: bytes) -> str:
    """A header's value as text: UTF-8 (what clients send for a name like ``café``), else
    latin-1 (HTTP's historical charset, RFC 9110 section 5.5), which decodes any bytes."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


#: The logger of ``serve``'s access lines (one per request), at level INFO.
access_log = logging.getLogger("streamagg.serve")


class _Request:
    """One request's access-log line: what was asked, which recording answered, the status,
    how many pieces (events) were sent, how long it took, and whether the client left early."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.method = scope.get("method", "-")
        self.path = scope.get("path", "-")
        self.started = time.monotonic()
        self.recording = "-"
        self.status: int | None = None
        self.events = 0
        self.ending = ""  # how a stream ended, when not normally
        self._send = send

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message.get("body") and message.get("more_body"):
            self.events += 1
        await self._send(message)

    def log(self) -> None:
        took = time.monotonic() - self.started
        status = "-" if self.status is None else str(self.status)
        ending = self.ending or ("client left" if self.status is None else "")
        left = f" ({ending})" if ending else ""
        access_log.info(
            "%s %s recording=%s status=%s events=%d %.3fs%s",
            self.method,
            self.path,
            self.recording,
            status,
            self.events,
            took,
            left,
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _header_timeout_protocol(timeout: float) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection that has not sent a request's headers
    within ``timeout`` seconds (uvicorn itself waits forever for the first request's headers,
    so idle or trickling connections could exhaust the server's file descriptors)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415 - optional extra

    class HeaderTimeoutH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._header_timer.cancel()  # the next request's headers get the same time
            self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

    return HeaderTimeoutH11Protocol


class _OncePerMinute(logging.Filter):
    """Lets one error about accepting connections through per minute, not thousands: while
    file descriptors are exhausted, asyncio logs every failed accept and every retry it
    scheduled (and each retry again if the socket is closed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self._last = -math.inf

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "accept" not in message and "_start_serving" not in message:
            return True
        now = time.monotonic()
        if now - self._last < _LOG_EVERY:
            return False
        self._last = now
        return True


class _CutByFault(logging.Filter):
    """Drops uvicorn's error for a response left incomplete: the app does that only when a
    fault cuts the stream, and its access line says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _raise_open_files_limit() -> None:
    """Use the hard limit of open files, not the (often 1,024) soft one."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass  # not POSIX, or not allowed: keep what there is


def make_server(app: ReplayApp, *, header_timeout: float = HEADER_TIMEOUT) -> Any:
    """A uvicorn server for ``app`` (raises ImportError without the ``serve`` extra).

    Hardened as a test double that must survive a misbehaving client: headers within
    ``header_timeout`` seconds, idle keep-alive connections closed after 5 s, at most
    ``MAX_CONNECTIONS`` at once (more get a 503), the open-files limit raised to its maximum,
    and one log line per minute, not a flood, when file descriptors run out anyway.
    """
    import uvicorn  # noqa: PLC0415 - the optional ``serve`` extra, imported on use

    _raise_open_files_limit()
    logging.getLogger("asyncio").addFilter(_OncePerMinute())
    logging.getLogger("uvicorn.error").addFilter(_CutByFault())
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
        limit_concurrency=MAX_CONNECTIONS,
        http=_header_timeout_protocol(header_timeout),
    )
    return uvicorn.Server(config)


def serve(app: ReplayApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` with uvicorn until interrupted."""
    make_server(app).run(sockets=[sock])
