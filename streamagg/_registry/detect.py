"""Which dialect a recorded stream speaks, from its first events; and a replay of any dialect.

The rule (general, never by provider), asked of the registry's dialects in order: the first
event (or line) that names its dialect decides, by its SSE event name or JSON ``type`` (each
dialect's ``claims_name``: ``response.*`` is the Responses API, ``message_start``... Anthropic),
else by the keys of its JSON (``claims_chunk``: ``choices``, ``candidates``, ``done``...). Events
that say nothing (``error``, keep-alives, comments) are passed over. A stream that never decides
(empty, or only errors) is the default dialect's, chat completions.

A whole JSON body (a recorded non-streaming answer) decides by ``claims_body`` (``object:
"response"``, ``type: "message"``), then as a chunk; a body of JSON lines whose first line is a
chunk of a dialect framed as lines (Ollama) is that dialect's.

``Detector`` reads bytes incrementally (linear however they are split) and keeps them until it
decides, so that they can then be given to the chosen fold's reader. It keeps at most
``max_event_size`` bytes (the most a whole JSON body may be): input that names no dialect by
then (random bytes, a file that is no recording) is refused with ``LimitExceededError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._core.errors import LimitExceededError
from .._core.fold import decode_json
from .._core.limits import DEFAULT_LIMITS, Limits
from .._core.reader import StreamReader, body_is_json
from .._core.source import Source, iter_source
from .._core.sse import SSEDecoder
from . import DEFAULT, DIALECTS

__all__ = ["Detector", "detect_dialect", "output_text", "replay_any"]


def _of_name(name: Any) -> str | None:
    """The dialect an SSE event name or JSON ``type`` names, if any."""
    if name.__class__ is not str:
        return None
    return next((d.name for d in DIALECTS.values() if d.claims_name(name)), None)


def _of_chunk(chunk: dict[str, Any]) -> str | None:
    """The dialect a streamed chunk (or line) names, if any."""
    dialect = _of_name(chunk.get("type"))
    if dialect is not None:
        return dialect
    return next((d.name for d in DIALECTS.values() if d.claims_chunk(chunk)), None)


def _of_line(line: Any) -> str | None:
    """The dialect of a body's first line when it is a chunk of a dialect framed as JSON
    lines (Ollama's), if any."""
    name = _of_chunk(line) if line.__class__ is dict else None
    return name if name is not None and DIALECTS[name].framing == "ndjson" else None


def _of_event(name: str, data: str) -> str | None:
    dialect = _of_name(name)
    if dialect is not None:
        return dialect
    try:
        chunk = decode_json(data)
    except (ValueError, RecursionError):
        return None
    return _of_chunk(chunk) if chunk.__class__ is dict else None


def _of_body(body: str) -> str:
    """The dialect of a whole JSON body: an object, an array of chunks (Gemini without
    ``alt=sse``), or JSON lines (Ollama)."""
    try:
        data = decode_json(body)
    except (ValueError, RecursionError):
        first = body.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
        try:
            data = decode_json(first)
        except (ValueError, RecursionError):
            return DEFAULT.name
        return _of_line(data) or DEFAULT.name
    if data.__class__ is list and data and data[0].__class__ is dict:
        data = data[0]
    if data.__class__ is not dict:
        return DEFAULT.name
    claimed = next((d.name for d in DIALECTS.values() if d.claims_body(data)), None)
    return claimed or _of_chunk(data) or DEFAULT.name


class Detector:
    """Bytes in (split anywhere), the dialect out once an event names it (see the module)."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.dialect: str | None = None
        self.limits = limits
        self.pieces: list[bytes] = []  # what was read before the dialect was known
        self._held = 0  # their size
        self._json: bool | None = None
        self._decoder = SSEDecoder()
        self._head = b""
        self._line: list[bytes] | None = []  # a JSON body's first line, until it ends

    def feed(self, data: bytes) -> str | None:
        """Read ``data``; the dialect once it is known (None: not yet)."""
        if self.dialect is not None:
            return self.dialect
        self.pieces.append(data)
        self._held += len(data)
        if self._held > self.limits.max_event_size:
            self._give_up()
        if self._json is None:
            self._head += data
            self._json = body_is_json(self._head)
            if self._json is None:
                return None
            data, self._head = self._head, b""
        if self._json:
            return self._first_line(data)
        for event in self._decoder.feed_raw(data):
            dialect = _of_event(event[0], event[1])
            if dialect is not None:
                self.dialect = dialect
                return dialect
        return None

    def _give_up(self) -> None:
        limit = self.limits.max_event_size
        raise LimitExceededError(
            f"the first {limit} bytes name no dialect (max_event_size={limit}): "
            "not a recording of a stream, or of no API streamagg knows",
            limit="max_event_size",
            value=limit,
            partial=DEFAULT.new_fold(self.limits).snapshot(),
        )

    def _first_line(self, data: bytes) -> str | None:
        """A JSON body: its first line decides when it is a whole chunk (NDJSON); otherwise
        the body is judged whole, at the end."""
        if self._line is None:
            return None
        end = data.find(b"\n")
        if end < 0:
            self._line.append(data)
            return None
        line = b"".join([*self._line, data[:end]]).decode("utf-8-sig", "replace")
        self._line = None
        try:
            chunk = decode_json(line)
        except (ValueError, RecursionError):
            return None  # a pretty-printed body
        self.dialect = _of_line(chunk)
        return self.dialect

    def close(self) -> str:
        """The end of input: the dialect (a chat completion if nothing named one)."""
        if self.dialect is None:
            if self._json:
                self.dialect = _of_body(b"".join(self.pieces).decode("utf-8-sig", "replace"))
            else:
                events = self._decoder.close_raw() if self._decoder.failure is None else []
                found = (_of_event(e[0], e[1]) for e in events)
                self.dialect = next((d for d in found if d is not None), DEFAULT.name)
        return self.dialect


def detect_dialect(data: bytes) -> str:
    """The dialect of a recording (its first events are enough): ``"chat"``, ``"responses"``,
    ``"anthropic"``, ``"gemini"``, ``"ollama"`` or ``"completions"``, the name of the module
    (``streamagg.responses``...) whose ``replay`` reads it; ``"chat"`` is ``streamagg.replay``."""
    detector = Detector()
    return detector.feed(data) or detector.close()


def output_text(delta: object) -> str | None:
    """The output text a delta of any dialect adds (of the first choice or candidate)."""
    for dialect in DIALECTS.values():
        text = dialect.output_text(delta)
        if text is not None:
            return text
    return None


def replay_any(
    source: Source | Iterable[bytes],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    on_deltas: Callable[[list[Any]], None] | None = None,
) -> tuple[str, Any]:
    """Fold a recording of any dialect: ``(dialect, final object)``. ``on_deltas``, when given,
    is called with the deltas of each piece as it is read (to show them while reading)."""
    detector = Detector(limits)
    pieces = iter(iter_source(source))
    dialect: str | None = None
    for piece in pieces:
        dialect = detector.feed(piece)
        if dialect is not None:
            break
    if dialect is None:
        dialect = detector.close()
    reader = StreamReader(DIALECTS[dialect].new_fold(limits, strict))
    for piece in _chain(detector.pieces, pieces):
        out: list[Any] | None = None if on_deltas is None else []
        done = reader.receive_data(piece, out)
        if out:
            on_deltas(out)  # type: ignore[misc]
        if done:
            break
    return dialect, reader.receive_eof()


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterable[bytes]:
    yield from first
    yield from rest
