"""Which dialect a recorded stream speaks, from its first events; and the folds by dialect.

The rule (general, never by provider): the first event that names its dialect decides.

* An SSE event name or JSON ``type`` that starts with ``response.`` is the OpenAI Responses API.
* ``message_start``, ``content_block_start``/``_delta``/``_stop``, ``message_delta``,
  ``message_stop`` and ``ping`` are Anthropic Messages.
* A chunk with ``choices`` (or an ``object`` starting with ``chat.completion``) is a chat
  completion.
* Events that say nothing (``error``, keep-alives, comments) are passed over. A stream that never
  decides (empty, or only errors) is a chat completion, the library's first dialect.

A whole JSON body (a recorded non-streaming answer) decides the same way by its keys: ``object:
"response"`` is a Responses API response, ``type: "message"`` an Anthropic message, anything else
a chat completion (an error body included).

``Detector`` reads bytes incrementally (linear however they are split) and keeps them until it
decides, so that they can then be given to the chosen fold's reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import _anthropic_models, _responses_models
from ._anthropic_fold import MessagesAggregator
from ._eventfold import decode_json
from ._fold import Aggregator
from ._ingest import Fold, StreamReader, body_is_json
from ._limits import DEFAULT_LIMITS, Limits
from ._models import ContentDelta
from ._replay import Source, iter_source
from ._responses_fold import ResponsesAggregator
from ._sse import SSEDecoder

__all__ = [
    "DIALECTS",
    "ENDPOINTS",
    "Detector",
    "detect_dialect",
    "make_fold",
    "output_text",
    "replay_any",
]

#: The dialects, by name, and their folds.
DIALECTS: dict[str, Callable[..., Fold[Any]]] = {
    "chat": Aggregator,
    "responses": ResponsesAggregator,
    "anthropic": MessagesAggregator,
}
#: The endpoint path (under ``/v1``) of each dialect.
ENDPOINTS = {"chat": "/chat/completions", "responses": "/responses", "anthropic": "/messages"}

_ANTHROPIC_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)


def _of_name(name: Any) -> str | None:
    if name.__class__ is not str:
        return None
    if name.startswith("response."):
        return "responses"
    if name in _ANTHROPIC_EVENTS:
        return "anthropic"
    return None


def _of_event(name: str, data: str) -> str | None:
    dialect = _of_name(name)
    if dialect is not None:
        return dialect
    try:
        chunk = decode_json(data)
    except (ValueError, RecursionError):
        return None
    if chunk.__class__ is not dict:
        return None
    dialect = _of_name(chunk.get("type"))
    if dialect is not None:
        return dialect
    kind = chunk.get("object")
    if "choices" in chunk or (kind.__class__ is str and kind.startswith("chat.completion")):
        return "chat"
    return None


def _of_body(body: bytes) -> str:
    try:
        data = decode_json(body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError):
        return "chat"
    if data.__class__ is not dict:
        return "chat"
    if data.get("object") == "response":
        return "responses"
    if data.get("type") == "message":
        return "anthropic"
    return "chat"


class Detector:
    """Bytes in (split anywhere), the dialect out once an event names it (see the module)."""

    def __init__(self) -> None:
        self.dialect: str | None = None
        self.pieces: list[bytes] = []  # what was read before the dialect was known
        self._json: bool | None = None
        self._decoder = SSEDecoder()
        self._head = b""

    def feed(self, data: bytes) -> str | None:
        """Read ``data``; the dialect once it is known (None: not yet)."""
        if self.dialect is not None:
            return self.dialect
        self.pieces.append(data)
        if self._json is None:
            self._head += data
            self._json = body_is_json(self._head)
            if self._json is None:
                return None
            data, self._head = self._head, b""
        if self._json:
            return None  # a JSON body is judged whole, at the end
        for event in self._decoder.feed_raw(data):
            dialect = _of_event(event[0], event[1])
            if dialect is not None:
                self.dialect = dialect
                return dialect
        return None

    def close(self) -> str:
        """The end of input: the dialect (a chat completion if nothing named one)."""
        if self.dialect is None:
            if self._json:
                self.dialect = _of_body(b"".join(self.pieces))
            else:
                events = self._decoder.close_raw() if self._decoder.failure is None else []
                found = (_of_event(e[0], e[1]) for e in events)
                self.dialect = next((d for d in found if d is not None), "chat")
        return self.dialect


def detect_dialect(data: bytes) -> str:
    """The dialect of a whole recording: ``"chat"``, ``"responses"`` or ``"anthropic"``."""
    detector = Detector()
    return detector.feed(data) or detector.close()


def make_fold(dialect: str, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> Fold[Any]:
    """A new fold of ``dialect`` with these options."""
    return DIALECTS[dialect](limits=limits, strict=strict)


def output_text(delta: object) -> str | None:
    """The output text a delta of any dialect adds (chat completions: choice 0's content)."""
    if isinstance(delta, ContentDelta):
        return delta.text if delta.choice == 0 else None
    if isinstance(delta, (_responses_models.TextDelta, _anthropic_models.TextDelta)):
        return delta.text
    return None


def replay_any(
    source: Source | Iterable[bytes],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    on_deltas: Callable[[list[Any]], None] | None = None,
) -> tuple[str, Any]:
    """Fold a recording of any dialect: ``(dialect, final object)``. ``on_deltas``, when given,
    is called with the deltas of each piece as it is read (for output while reading)."""
    detector = Detector()
    pieces = iter(iter_source(source))
    dialect: str | None = None
    for piece in pieces:
        dialect = detector.feed(piece)
        if dialect is not None:
            break
    if dialect is None:
        dialect = detector.close()
    reader = StreamReader(make_fold(dialect, limits, strict))
    for piece in _chain(detector.pieces, pieces):
        out: list[Any] | None = [] if on_deltas is not None else None
        done = reader.receive_data(piece, out)
        if on_deltas is not None and out:
            on_deltas(out)
        if done:
            break
    return dialect, reader.receive_eof()


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterable[bytes]:
    yield from first
    yield from rest
