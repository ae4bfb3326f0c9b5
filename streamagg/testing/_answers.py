"""What ``serve`` answers a call with, from a recording and the request (sans-IO).

One rule: answer what the request asked for.

* A call that streams gets a stream: an event stream is sent event by event (its last event
  ended by a blank line even when the file lacks it, so that a client sees every event the
  fold sees), JSON lines line by line, and a recorded non-streaming answer (one JSON object)
  as the stream that folds to it (``synthesize``). A call with ``stream_options:
  {"include_usage": false}`` gets no usage chunk (the recorded one, a chunk with
  ``choices: []`` and a ``usage``, is left out).
* A call that does not stream gets the folded object as JSON. A recording that ends in an
  error the provider sent (an SSE ``error`` event, an ``{"error": ...}`` chunk) answers with
  that error and the status the provider gives it (``upstream_status``); a recording that does
  not fold answers 502 saying why.

A recorded error answer (``: http-status: 429`` lines, see ``_format``) is sent as it was
recorded, whatever the call asked; the server does that before asking this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .._core.convert import to_dict
from .._core.dialect import Route
from .._core.errors import StreamError, UpstreamError
from .._registry.detect import replay_any
from ._format import content_type, replay_segments
from ._synthesize import synthesize

__all__ = [
    "BAD_GATEWAY",
    "Segments",
    "asks_for_stream",
    "ended",
    "include_usage",
    "stream_of",
    "upstream_status",
    "whole",
    "without_usage_chunks",
]

#: A recording's pieces as they are sent: ``(recorded time or None, bytes)``.
Segments = list[tuple[float | None, bytes]]

#: The status of an answer the server could not make from its recording (or of an upstream
#: error whose status nothing says): the provider behind the "gateway" failed.
BAD_GATEWAY = 502

# Where an error object says its HTTP status, by the names providers use (Groq's
# ``status_code``, OpenRouter's and Gemini's numeric ``code``).
_STATUS_KEYS = ("status_code", "status", "code", "http_status", "statusCode")
# The HTTP status of each error type the APIs document (Anthropic's error types,
# https://docs.anthropic.com/en/api/errors; OpenAI's, https://platform.openai.com/docs/guides/
# error-codes), for an error event that names its type but not its status.
_STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "server_error": 500,
    "overloaded_error": 529,
}
_ERROR_STATUSES = range(400, 600)
_LINE_END = re.compile(rb"\r\n|\r|\n")


def asks_for_stream(route: Route, found: re.Match[str], payload: Mapping[str, Any]) -> bool:
    """Whether a call asks for a stream: by its path when the route's pattern has a ``stream``
    group (Gemini's method), else by the body's ``stream`` (Ollama's default is to stream)."""
    if "stream" in found.re.groupindex:
        return found["stream"] is not None
    if route.streams_by_default:
        return payload.get("stream") is not False
    return payload.get("stream") is True


def include_usage(payload: Mapping[str, Any]) -> bool:
    """Whether a streaming call wants the usage chunk: unless it says
    ``stream_options: {"include_usage": false}``."""
    options = payload.get("stream_options")
    return not (isinstance(options, Mapping) and options.get("include_usage") is False)


def stream_of(data: bytes, payload: Mapping[str, Any]) -> tuple[str, Segments]:
    """The content type and pieces of the stream that answers a streaming call from the
    recording ``data`` (see the module's doc). Raises the fold's ``StreamError`` when the
    recording is a JSON answer that does not fold (there is no stream to make of it).
    Blocking work (a fold, a synthesis): run it on a worker thread."""
    kind = content_type(data)
    usage = include_usage(payload)
    if kind == "application/json":  # a non-streaming answer: the stream that folds to it
        data = synthesize(replay_any(data)[1], include_usage=usage)
        kind = content_type(data)
        usage = True  # synthesized as asked
    segments = replay_segments(data)
    if kind == "application/x-ndjson":
        return kind, segments
    if not usage:
        segments = without_usage_chunks(segments)
    return kind, ended(segments)


def ended(segments: Segments) -> Segments:
    """An event stream's pieces with its last event ended: when the stream does not end in a
    blank line, the line ends that make one are added to the last piece (a client's SSE
    parser drops an event that is not ended, as the spec says, where the fold reads it)."""
    if not segments:
        return segments
    tail = b""
    for _, piece in reversed(segments):  # back to the last line end (an event's length)
        tail = piece + tail
        ends = list(_LINE_END.finditer(tail))
        # A line end at the very start may be the LF of a CRLF split between two pieces.
        if len(tail) >= len(b"\r\n\r\n") and ends and ends[-1].start() > 0:
            break
    ends = list(_LINE_END.finditer(tail))
    eol = ends[-1][0] if ends and ends[-1][0] != b"\r" else b"\n"
    missing = _missing_end(tail[-4:], eol)
    if not missing:
        return segments
    at, last = segments[-1]
    return [*segments[:-1], (at, last + missing)]


def _missing_end(tail: bytes, eol: bytes) -> bytes:
    """What ends the last event of a stream whose last bytes are ``tail``: nothing when its
    last line is blank, one line end after a line that ended, two after one that did not
    (``eol``: the stream's own line end)."""
    for end in (b"\r\n", b"\n", b"\r"):
        if tail.endswith(end):
            rest = tail[: -len(end)]
            return b"" if rest.endswith((b"\n", b"\r")) else end
    return eol + eol


def without_usage_chunks(segments: Segments) -> Segments:
    """The pieces without the usage chunks (``choices: []`` and a ``usage``) a call that asked
    for none must not get; their recorded times stay with the pieces that follow."""
    return [(at, piece) for at, piece in segments if not _is_usage_chunk(piece)]


def _is_usage_chunk(event: bytes) -> bool:
    if b'"usage"' not in event:
        return False
    lines = _LINE_END.split(event)
    data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
    try:
        chunk = json.loads(b"\n".join(data)) if data else None
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(chunk, dict) and chunk.get("choices") == [] and chunk.get("usage") is not None
    )


def whole(data: bytes, name: str) -> tuple[int, Any]:
    """The status and JSON body that answer a call that does not stream, from the recording
    ``data`` (called ``name`` in an error). Blocking work (a fold): run it on a worker
    thread."""
    try:
        response = replay_any(data)[1]
    except UpstreamError as exc:
        error = exc.error
        if not isinstance(error, dict):
            error = {"message": str(error), "type": "upstream_error"}
        return upstream_status(error), {"error": error}
    except StreamError as exc:
        return BAD_GATEWAY, {"error": {"message": f"{name}: {exc}", "type": "upstream_error"}}
    return 200, to_dict(response)


def upstream_status(error: Mapping[str, Any]) -> int:
    """The HTTP status of an error the provider sent in its stream: the error status it
    carries (``status_code``, ``status`` or a numeric ``code``), else the status the API
    documents for its ``type`` (or ``code``), else 502 (``BAD_GATEWAY``)."""
    for key in _STATUS_KEYS:
        value = error.get(key)
        if isinstance(value, str) and value.isdigit() and len(value) == len("400"):
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value in _ERROR_STATUSES:
            return value
    for key in ("type", "code"):
        value = error.get(key)
        if isinstance(value, str) and value in _STATUS_OF_TYPE:
            return _STATUS_OF_TYPE[value]
    return BAD_GATEWAY
