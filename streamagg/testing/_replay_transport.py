"""``ReplayTransport``: a transport (sync and async, httpx2 and httpx) that answers with
recordings.

Which recording answers a request is the caller's choice (``Recordings``). How it answers is
the request's: a call that asks for a stream gets one, a call that does not gets the JSON a
non-streaming call returns, whatever the recording holds (the rule ``serve`` follows too):

* a recorded stream answers a streaming call as it was recorded (its last event ended by a
  blank line when the file lacks it: an SDK's parser drops an event that is not ended), and a
  non-streaming call with the object it folds to (``to_dict``), or, when the stream ends in an
  error the provider sent, with that error and the status the provider gives it;
* a recorded JSON answer answers a non-streaming call as it was recorded, and a streaming call
  with the stream ``synthesize`` makes of it (the dialect's own events; no usage chunk when
  the call says ``stream_options: {"include_usage": false}``);
* a recorded error answer answers every call as it was recorded;
* a recording that cannot be turned into what was asked (a stream that does not fold, a body
  of no dialect) is a test error saying so (``RecordingMissingError``), never an answer that
  the code under test could take for the server's.

Whether a call asks for a stream (``asks_for_stream``): the registry's route that ends the
request's path says it for Gemini (``:streamGenerateContent``); else the body's ``"stream"``
does; else the route's default (Ollama streams, the other APIs answer whole). A request that
says nothing and calls no route of a known API gets the recording as it is.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from http import HTTPStatus
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from .._app.stack import stack_of
from .._core.convert import to_dict
from .._core.dialect import Route
from .._core.errors import StreamError, UpstreamError
from .._registry import DIALECTS
from .._registry.detect import replay_any
from ._answers import upstream_status
from ._errors import NetworkForbiddenError, RecordingMissingError
from ._faults import Faults, iter_plan
from ._format import HTTPAnswer, ReplaySegments, content_type, event_end
from ._replay_body import Opened, body, open_recording
from ._stacks import Transport
from ._synthesize import synthesize

if TYPE_CHECKING:
    import httpx
    import httpx2

    from .._app.stack import URL, Request, Response

__all__ = [
    "NetworkForbiddenError",
    "Recording",
    "RecordingMissingError",
    "Recordings",
    "ReplayTransport",
    "asks_for_stream",
    "describe",
]

#: A recording: a path to an ``.sse`` file or its bytes.
Recording: TypeAlias = "str | os.PathLike[str] | bytes"
#: What ``ReplayTransport`` answers with: one recording for every request, recordings in turn,
#: a mapping (keys: the request's ``model``, ``"METHOD /path"`` or ``"/path"``), or a callable
#: from the request to a recording (None for "no recording": ``RecordingMissingError``).
Recordings: TypeAlias = (
    "Recording | Sequence[Recording] | Mapping[str, Recording]"
    " | Callable[[httpx2.Request], Recording | None] | Callable[[httpx.Request], Recording | None]"
)

_JSON = "application/json"
_NDJSON = "application/x-ndjson"
_SSE = "text/event-stream"


def _name(recording: Recording) -> str:
    """A recording, for messages: its path, or the size of its bytes."""
    return f"<{len(recording)} bytes>" if isinstance(recording, bytes) else str(recording)


def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object ({} for any other body)."""
    try:
        body = json.loads(request.content)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _request_model(request: Request) -> str | None:
    model = _body(request).get("model")
    return model if isinstance(model, str) else None


def describe(request: Request, url: URL | None = None) -> str:
    """A request, for messages: method, URL (``url`` in place of its own: one without
    credentials) and the body's model when it has one."""
    model = _request_model(request)
    shown = request.url if url is None else url
    return f"{request.method} {shown}" + (f" (model {model!r})" if model else "")


def _missing(request: Request, why: str, available: str) -> RecordingMissingError:
    return RecordingMissingError(f"no recording for {describe(request)}: {why}; {available}")


def _route_of(path: str) -> tuple[Route, re.Match[str]] | None:
    """The registry's route that ends ``path`` (after any base URL: ``/v1/chat/completions``,
    ``/proxy/openai/chat/completions``): the longest when several do (chat's
    ``/chat/completions`` before legacy ``/completions``)."""
    best: tuple[Route, re.Match[str]] | None = None
    for dialect in DIALECTS.values():
        for route in dialect.routes:
            pattern = route.serve if route.serve is not None else re.escape(route.path)
            found = re.search(f"(?:{pattern})\\Z", path)
            if found is not None and (best is None or found.start() < best[1].start()):
                best = route, found
    return best


def asks_for_stream(request: Request) -> bool | None:
    """Whether ``request`` asks for a stream (see the module's doc); None when it does not
    say and calls no known route."""
    found = _route_of(request.url.path)
    if found is not None and "stream" in found[1].re.groupindex:
        return found[1]["stream"] is not None
    flag = _body(request).get("stream")
    if isinstance(flag, bool):
        return flag
    return None if found is None else found[0].streams_by_default


def _include_usage(request: Request) -> bool:
    """Whether a stream made for ``request`` ends with usage: unless its ``stream_options``
    say ``include_usage: false``."""
    options = _body(request).get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is False)


def _segments(pieces: Iterable[bytes], kind: str) -> Iterator[tuple[float | None, bytes]]:
    """What a replay sends of a recording read in ``pieces`` (``ReplaySegments``), an event
    stream's last event ended when the recording lacks the blank line after it (as ``serve``
    sends it, and as ``replay`` reads it): the line ends go out last, as a piece of their own
    (each piece is sent as it is cut, never held back)."""
    cutter = ReplaySegments(ndjson=kind == _NDJSON)
    tail = b""  # the last bytes sent
    crlf = False  # the last piece ends its lines with CRLF
    for at, piece in _cut(pieces, cutter):
        yield at, piece
        tail = (tail + piece[-4:])[-4:]
        crlf = b"\r\n" in piece
    ending = event_end(tail, b"\r\n" if crlf else b"\n") if kind == _SSE else b""
    if ending:
        yield None, ending


def _cut(pieces: Iterable[bytes], cutter: ReplaySegments) -> Iterator[tuple[float | None, bytes]]:
    for piece in pieces:
        yield from cutter.feed(piece)
    yield from cutter.close()


class ReplayTransport(Transport):
    """Answer requests with recorded streams, for ``httpx2`` and ``httpx`` clients, sync and
    async (each request gets a response of its own stack).

    ``recordings`` is one recording (a path or bytes) for every request, a list served in turn,
    a mapping (looked up by the request body's ``model``, then ``"POST /v1/chat/completions"``,
    then ``"/v1/chat/completions"``), or a callable taking the request. A request without a
    recording (a list used up, a key that matches nothing, a file that is not there) raises
    ``RecordingMissingError`` naming the request and the recordings: a test error, never an
    HTTP answer that the code under test could handle as the server's.

    The answer is what the request asked for (see the module's doc): a stream goes out event by
    event (JSON lines line by line) as it is read from the file, at once, with ``delay``
    seconds between events, or, with ``timing=True``, at the recorded times; a recording of any
    size is replayed holding one piece of it, never the whole. A recorded error answer
    (``http_answer``) goes out with its status, headers and body. ``faults`` (a ``Faults``, or
    its ``Faults.parse`` spec such as ``"cut-after-event=5"``) injects the failures real
    streams have: a dropped connection (the stack's ``RemoteProtocolError``), an error event, a
    stall, re-chunked bytes, keep-alives, another speed. ``requests`` lists the requests
    received, bodies read.
    """

    def __init__(
        self,
        recordings: Recordings,
        *,
        timing: bool = False,
        delay: float = 0.0,
        faults: Faults | str | None = None,
    ) -> None:
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay must be a finite number of seconds, not {delay}")
        self._recordings = recordings
        self.faults = Faults.parse(faults) if isinstance(faults, str) else faults
        self._turn = itertools.count()
        self.timing = timing
        self.delay = delay
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _choose(self, request: Request) -> Recording:
        __tracebackhide__ = True
        recordings = self._recordings
        if isinstance(recordings, (str, bytes, os.PathLike)):
            return recordings
        if isinstance(recordings, Mapping):
            keys = (_request_model(request), f"{request.method} {request.url.path}")
            for key in (*keys, request.url.path):
                if key is not None and key in recordings:
                    return recordings[key]
            available = f"the recordings are keyed {sorted(recordings)!r}"
            raise _missing(request, "no key matches its model, method and path", available)
        if isinstance(recordings, Sequence):
            with self._lock:
                turn = next(self._turn)
            turns = cast("Sequence[Recording]", recordings)
            if turn < len(turns):
                return turns[turn]
            names = [_name(r) for r in turns]
            raise _missing(
                request,
                f"it is request {turn + 1}",
                f"the {len(turns)} recordings {names!r} were used",
            )
        chosen = recordings(request)  # type: ignore[arg-type]  # the callable takes its stack's
        if chosen is None:
            raise _missing(request, "the recordings callable returned None", "no recording chosen")
        return chosen

    def _answer(self, request: Request) -> Response:
        __tracebackhide__ = True
        with self._lock:
            self.requests.append(request)
        recording = self._choose(request)
        try:
            opened = open_recording(recording)
        except OSError as exc:
            raise _missing(
                request, f"cannot read {recording!s}", exc.strerror or str(exc)
            ) from None
        module = stack_of(request)
        if opened.answer is not None:  # a recorded error answer: its status, headers and body
            return _whole_answer(module, request, opened.answer)
        wanted = asks_for_stream(request)
        if wanted is None or wanted == (opened.kind != _JSON):
            kind, pieces = opened.kind, opened.pieces()
        elif wanted:
            kind, pieces = _synthesized(request, recording, opened)
        else:
            folded = _folded(request, recording, opened)
            if folded.status != HTTPStatus.OK:  # the provider's error, carried by the stream
                return _whole_answer(module, request, folded)
            kind, pieces = _JSON, iter([folded.body])
        steps = iter_plan(
            _segments(pieces, kind),
            self.faults,
            timing=self.timing,
            delay=self.delay,
            ndjson=kind == _NDJSON,
        )
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        return cast(
            "Response",
            module.Response(
                200,
                headers={"content-type": kind, "cache-control": "no-cache"},
                stream=body(module, steps, read_timeout, opened),
                request=request,
            ),
        )

    def handle_request(self, request: Request) -> Any:
        __tracebackhide__ = True
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: Request) -> Any:
        __tracebackhide__ = True
        await request.aread()
        return self._answer(request)


def _cannot(request: Request, recording: Recording, why: str) -> RecordingMissingError:
    """The test error for a recording that cannot give what ``request`` asks for."""
    asked = "a stream" if asks_for_stream(request) else "a whole (non-streaming) answer"
    return RecordingMissingError(
        f"no recording for {describe(request)}: it asks for {asked}, and {_name(recording)} "
        f"{why}; record the call as it is made now"
    )


def _whole_answer(module: ModuleType, request: Request, answer: HTTPAnswer) -> Response:
    """``answer`` as a response of the stack ``module``, its body whole."""
    response = module.Response(
        answer.status, headers=answer.headers, content=answer.body, request=request
    )
    return cast("Response", response)


def _folded(request: Request, recording: Recording, opened: Opened) -> HTTPAnswer:
    """The answer a non-streaming call gets from a recorded stream: the JSON of the object it
    folds to; or, for a stream that ended in the provider's error, that error with the status
    the provider gives it (``upstream_status``, as ``serve`` answers it)."""
    __tracebackhide__ = True
    json_type = [("content-type", _JSON)]
    try:
        result = replay_any(opened.pieces())[1]
    except UpstreamError as exc:
        error = exc.error if isinstance(exc.error, dict) else {"message": str(exc.error)}
        body = json.dumps({"error": error}, ensure_ascii=False).encode()
        return HTTPAnswer(upstream_status(error), json_type, body)
    except StreamError as exc:
        why = f"is a stream that does not fold into an answer ({type(exc).__name__}: {exc})"
        raise _cannot(request, recording, why) from None
    body = json.dumps(to_dict(result), ensure_ascii=False).encode()
    return HTTPAnswer(HTTPStatus.OK, json_type, body)


def _synthesized(
    request: Request, recording: Recording, opened: Opened
) -> tuple[str, Iterator[bytes]]:
    """The stream (its content type and bytes) that a recorded JSON answer folds from."""
    __tracebackhide__ = True
    try:
        result = replay_any(opened.read())[1]
        stream = synthesize(result, include_usage=_include_usage(request))
    except (StreamError, TypeError, ValueError) as exc:
        why = f"is a JSON body that no stream can be made of ({type(exc).__name__}: {exc})"
        raise _cannot(request, recording, why) from None
    return content_type(stream), iter([stream])
