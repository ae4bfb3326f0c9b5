"""``streamagg serve``: an endpoint for every dialect that answers with recorded streams.

``ReplayApp`` is a plain ASGI application (no framework); ``serve()`` runs it on uvicorn, the
optional ``serve`` extra (``_uvicorn``). Endpoints:

* Each dialect's routes, from the registry: ``POST /v1/chat/completions``, ``/v1/responses``
  (OpenAI Responses API), ``/v1/messages`` (Anthropic Messages), ``/v1/completions`` (legacy
  completions), ``/api/chat`` and ``/api/generate`` (Ollama),
  ``/v1beta/models/MODEL:streamGenerateContent`` and ``:generateContent`` (Gemini). A path
  may start with ``/v1`` or ``/v1beta``, or with two of them (``/v1/v1/messages``: the
  Anthropic SDK given the base URL ``.../v1`` that the openai SDK takes), or with none.
* ``GET /v1/models``: the recordings, as models.

Which recording answers a call (``_find``):

1. the one named by the ``X-Streamagg-Recording`` header (its file name, with or without
   ``.sse``; 404 when there is none of that name);
2. else the one whose name is the request's model (the body's ``model``, Gemini's model in
   the path; the name with its ending works too);
3. else the next one in turn among the recordings of the endpoint's dialect (each
   recording's dialect is detected from its content; 404 when it has none).

A recording named (1 or 2) must be of the endpoint's dialect, or the call is answered 400
saying which dialect it is (the SDK would read nothing of it). What is sent is what the call
asked for (``_answers``): a stream when it streams, at the recorded timing unless timing is
off, with the faults asked for (``faults=``, ``serve --fault``, or a request's
``X-Streamagg-Fault`` header: a ``Faults.parse`` spec such as ``cut-after-event=5``), else
the folded JSON; a recorded error answer (a 429, a 500: ``http_answer``) as it was recorded,
status, headers and body.

Recordings are the ``.sse``, ``.ndjson`` and ``.jsonl`` files of the folder and of its
subfolders; a recording's name is its file name without the ending, so two files with one
name clash: neither is served (``check()`` raises ``RecordingClashError`` naming both, which
``streamagg serve`` reports at startup).

What it refuses (it is a test double on a developer's machine, but a folder can hold anything
and a client can send anything): a recording that is not a regular file (a FIFO, a device, a
folder), that leads outside the folder (a symbolic link to ``/etc/hostname`` or ``/dev/zero``;
a link to another file of the folder is fine) or that is larger than ``MAX_RECORDING`` (256
MiB) is not served: it is left out of the list, and a request naming it is answered 403 with
the reason. Files are read on a worker thread, never in the event loop, so a slow disk stalls
one request, not the server. A fault spec past the bounds of ``Faults`` is answered 400. The
folders are listed again only when one changes (its modification time), so ten thousand
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
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from .._core.dialect import Route
from .._core.errors import StreamError
from .._registry import DIALECTS
from .._registry.detect import Detector
from ._answers import BAD_GATEWAY, Segments, asks_for_stream, stream_of, whole
from ._faults import CUT, FAULT_HEADER, Faults, iter_plan
from ._folder import (
    MAX_RECORDING,
    RECORDING_SUFFIXES,
    Listing,
    NotServedError,
    RecordingClashError,
    Version,
    read_recording,
    scan,
)
from ._format import http_answer
from ._uvicorn import HEADER_TIMEOUT, MAX_CONNECTIONS, bind, make_server, serve

__all__ = [
    "HEADER_TIMEOUT",
    "MAX_CONNECTIONS",
    "MAX_RECORDING",
    "RECORDING_HEADER",
    "RECORDING_SUFFIXES",
    "RecordingClashError",
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
# A folder listed less than this long after it last changed is listed again at the next
# request: a change within the same tick of a coarse clock (1 s on HFS+, 2 s on FAT) would
# leave its modification time as it was (git's "racy" index entries, the same problem).
_RACY_SECONDS = 2.0
# What a path may start with before a route's own pattern: /v1 or /v1beta, twice at most (an
# SDK that adds /v1 itself, given the base URL .../v1 another SDK takes), or nothing.
_PREFIX = r"(?:/v1beta|/v1){0,2}"
_MODELS = re.compile(_PREFIX + "/models")
_DETECT_PIECE = 16 * 1024


def _route(path: str) -> tuple[str, Route, re.Match[str]] | None:
    """The dialect and route a request path calls (the registry's, in its order), if any."""
    for dialect in DIALECTS.values():
        for route in dialect.routes:
            pattern = route.serve if route.serve is not None else re.escape(route.path)
            found = re.fullmatch(_PREFIX + pattern, path)
            if found is not None:
                return dialect.name, route, found
    return None


def _detect(data: bytes) -> str:
    """The dialect of a recording, read in pieces until its first events name it: a whole
    recording decoded at once would hold all its events (and a recording is up to
    ``MAX_RECORDING`` bytes)."""
    detector = Detector()
    for start in range(0, len(data), _DETECT_PIECE):
        dialect = detector.feed(data[start : start + _DETECT_PIECE])
        if dialect is not None:
            return dialect
    return detector.close()


def _key(name: str) -> str:
    """The recording name a header or model means: the file name, its ending dropped."""
    path = Path(name)
    return path.stem if path.suffix in RECORDING_SUFFIXES else name


async def _json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _error(send: Send, status: int, message: str, kind: str) -> None:
    await _json(send, status, {"error": {"message": message, "type": kind}})


class ReplayApp:
    """ASGI application serving the recordings of ``directory`` and of its subfolders (see
    the module's doc)."""

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

    def _dialect(self, path: Path, version: Version, data: bytes | None = None) -> str:
        """The dialect of the recording at ``path`` in its ``version`` (``data``: its bytes,
        when they are read already), detected once per version of the file. Blocking I/O:
        the app calls it on a worker thread."""
        known = self._dialects.get(path)
        if known is not None and known[0] == version:
            return known[1]
        dialect = _detect(self._read(path)[0] if data is None else data)
        self._dialects[path] = (version, dialect)
        return dialect

    def recordings(self) -> dict[str, Path]:
        """The recordings by name: the regular files with a recording's ending in the folder
        and its subfolders, inside the folder, of at most ``max_recording`` bytes, and no
        other file of the same name. The folders are listed again when one changed (new
        files count); blocking I/O, the app calls it on a worker thread."""
        return self._list().paths

    def check(self) -> dict[str, Path]:
        """The recordings, listed now, after making sure no two files share a name: else
        ``RecordingClashError`` naming both files (relative to the folder). ``OSError`` when
        the folder cannot be listed. What ``streamagg serve`` asks before it starts."""
        listing = scan(self.directory, self.max_recording)
        for name, (first, second) in listing.clashes.items():
            raise RecordingClashError(
                f"two recordings are named {name!r}: {first} and {second} (a request names a "
                "recording by its file name without the ending: rename one)"
            )
        return listing.paths

    def _list(self) -> Listing:
        with self._lock:
            started = time.time()
            listing = self._listing
            if listing is not None and listing.settled and listing.unchanged():
                return listing
            try:
                fresh = scan(self.directory, self.max_recording)
            except OSError:
                return Listing()  # the folder is gone (or unreadable): no recordings
            fresh.settled = started - fresh.newest() > _RACY_SECONDS
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
        """The recording that answers a call of ``dialect``, and its bytes (on a worker
        thread: blocking I/O); raises ``NotServedError`` saying why there is none."""
        listing = self._list()
        named = False
        if wanted:
            key = _key(wanted)
            if key in listing.refused:
                why = listing.refused[key]
                raise NotServedError(403, f"recording {key!r} is not served: {why}")
            if key not in listing.paths:
                raise NotServedError(404, f"no recording named {wanted!r}")
            path, named = listing.paths[key], True
        elif isinstance(model, str) and _key(model) in listing.paths:
            path, named = listing.paths[_key(model)], True
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
        if named and http_answer(data) is None:
            found = self._dialect(path, version, data)
            if found != dialect:
                raise NotServedError(
                    400,
                    f"recording {path.stem!r} is a stream of the {found} dialect; this "
                    f"endpoint answers with {dialect} recordings",
                )
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
        elif (_MODELS.fullmatch(path) or path == "/models") and method == "GET":
            names = await asyncio.to_thread(self.recordings)
            data = [{"id": n, "object": "model", "owned_by": "streamagg"} for n in names]
            await _json(send, 200, {"object": "list", "data": data})
        else:
            await _error(send, 404, f"no route {method} {path or '/'}", "not_found")

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
        payload = await _payload(receive, send, self.max_body, self.body_timeout)
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
        if await _recorded_answer(send, data):
            return
        if asks_for_stream(called, found, payload):
            try:
                kind, segments = await asyncio.to_thread(stream_of, data, payload)
            except StreamError as exc:  # a JSON answer that does not fold: no stream to make
                what = f"{path.name} holds no stream and does not fold: {exc}"
                await _error(send, BAD_GATEWAY, what, "upstream_error")
                return
            request.ending = await self._stream(receive, send, kind, segments, faults)
        else:
            status, body = await asyncio.to_thread(whole, data, path.name)
            await _json(send, status, body)

    async def _stream(
        self,
        receive: Receive,
        send: Send,
        kind: str,
        segments: Segments,
        faults: Faults | None,
    ) -> str:
        """Send a stream's pieces (labelled ``kind``) with ``faults``; how it ended: ``""``
        (normally), ``"client left"`` or ``"cut by fault"``. The plan is made a step at a
        time, as the stream is sent (an hour of keep-alives every millisecond is millions of
        steps)."""
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


async def _read_body(
    receive: Receive, send: Send, max_body: int, body_timeout: float
) -> bytes | None:
    """The request body, read in pieces (linear in its size) up to ``max_body`` bytes and
    within ``body_timeout`` seconds; None (after answering 413 or 408) when it is not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body_timeout
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
        if size > max_body:
            what = f"the request body is larger than {max_body} bytes"
            await _error(send, 413, what, "invalid_request_error")
            return None
        pieces.append(piece)
        if not message.get("more_body"):
            return b"".join(pieces)


async def _payload(
    receive: Receive, send: Send, max_body: int, body_timeout: float
) -> dict[str, Any] | None:
    """The request's JSON object; None after answering why it is not one."""
    body = await _read_body(receive, send, max_body, body_timeout)
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


async def _recorded_answer(send: Send, data: bytes) -> bool:
    """Send the recording if it is a recorded error answer (whatever the request asked)."""
    answer = http_answer(data)
    if answer is None:
        return False
    fields = [(k.encode(), v.encode()) for k, v in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": fields})
    await send({"type": "http.response.body", "body": answer.body})
    return True


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
