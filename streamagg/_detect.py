"""Which dialect a recorded stream speaks, from its first events; and the folds by dialect.

The rule (general, never by provider): the first event (or line) that names its dialect decides.

* An SSE event name or JSON ``type`` that starts with ``response.`` is the OpenAI Responses API.
* ``message_start``, ``content_block_start``/``_delta``/``_stop``, ``message_delta``,
  ``message_stop`` and ``ping`` are Anthropic Messages.
* A chunk with ``candidates``, ``promptFeedback`` or ``usageMetadata`` is Gemini.
* A chunk whose ``object`` is ``text_completion``, or whose choices carry ``text`` and no
  ``delta``, is a legacy completion; any other chunk with ``choices`` (or an ``object`` starting
  with ``chat.completion``) is a chat completion.
* A body of JSON lines whose first line has ``done`` and a ``message`` or ``response`` is
  Ollama's NDJSON.
* Events that say nothing (``error``, keep-alives, comments) are passed over. A stream that never
  decides (empty, or only errors) is a chat completion, the library's first dialect.

A whole JSON body (a recorded non-streaming answer) decides by the same keys: ``object:
"response"`` is a Responses API response, ``type: "message"`` an Anthropic message.

``Detector`` reads bytes incrementally (linear however they are split) and keeps them until it
decides, so that they can then be given to the chosen fold's reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import (
    _anthropic_models,
    _completions_models,
    _gemini_models,
    _ollama_models,
    _responses_models,
)
from ._anthropic_fold import MessagesAggregator
from ._completions_fold import CompletionsAggregator
from ._eventfold import decode_json
from ._fold import Aggregator
from ._gemini_fold import GeminiAggregator
from ._ingest import Fold, StreamReader, body_is_json
from ._limits import DEFAULT_LIMITS, Limits
from ._models import ContentDelta
from ._ollama_fold import OllamaAggregator
from ._replay import Source, iter_source
from ._responses_fold import ResponsesAggregator
from ._sse import SSEDecoder

__all__ = [
    "DIALECTS",
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
    "gemini": GeminiAggregator,
    "ollama": OllamaAggregator,
    "completions": CompletionsAggregator,
}

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
_GEMINI_KEYS = frozenset({"candidates", "promptFeedback", "usageMetadata"})


def _of_name(name: Any) -> str | None:
    if name.__class__ is not str:
        return None
    if name.startswith("response."):
        return "responses"
    if name in _ANTHROPIC_EVENTS:
        return "anthropic"
    return None


def _of_choices(chunk: dict[str, Any]) -> str | None:
    """Chat or legacy completions, by the object and the shape of the choices."""
    kind = chunk.get("object")
    if kind == "text_completion":
        return "completions"
    choices = chunk.get("choices")
    if choices is None and not (kind.__class__ is str and kind.startswith("chat.completion")):
        return None
    if choices.__class__ is list and choices and choices[0].__class__ is dict:
        first = choices[0]
        if "text" in first and "delta" not in first and "message" not in first:
            return "completions"
    return "chat"


def _of_chunk(chunk: dict[str, Any]) -> str | None:
    """The dialect a streamed chunk (or line) names, if any."""
    dialect = _of_name(chunk.get("type")) or _of_choices(chunk)
    if dialect is not None:
        return dialect
    if not _GEMINI_KEYS.isdisjoint(chunk):
        return "gemini"
    if "done" in chunk and ("message" in chunk or "response" in chunk):
        return "ollama"
    return None


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
            return "chat"
        return "ollama" if data.__class__ is dict and _of_chunk(data) == "ollama" else "chat"
    if data.__class__ is list and data and data[0].__class__ is dict:
        data = data[0]
    if data.__class__ is not dict:
        return "chat"
    if data.get("object") == "response":
        return "responses"
    if data.get("type") == "message":
        return "anthropic"
    return _of_chunk(data) or "chat"


class Detector:
    """Bytes in (split anywhere), the dialect out once an event names it (see the module)."""

    def __init__(self) -> None:
        self.dialect: str | None = None
        self.pieces: list[bytes] = []  # what was read before the dialect was known
        self._json: bool | None = None
        self._decoder = SSEDecoder()
        self._head = b""
        self._line: list[bytes] | None = []  # a JSON body's first line, until it ends

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
            return self._first_line(data)
        for event in self._decoder.feed_raw(data):
            dialect = _of_event(event[0], event[1])
            if dialect is not None:
                self.dialect = dialect
                return dialect
        return None

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
        if chunk.__class__ is dict and _of_chunk(chunk) == "ollama":
            self.dialect = "ollama"
        return self.dialect

    def close(self) -> str:
        """The end of input: the dialect (a chat completion if nothing named one)."""
        if self.dialect is None:
            if self._json:
                self.dialect = _of_body(b"".join(self.pieces).decode("utf-8-sig", "replace"))
            else:
                events = self._decoder.close_raw() if self._decoder.failure is None else []
                found = (_of_event(e[0], e[1]) for e in events)
                self.dialect = next((d for d in found if d is not None), "chat")
        return self.dialect


def detect_dialect(data: bytes) -> str:
    """The dialect of a recording (its first events are enough): ``"chat"``, ``"responses"``,
    ``"anthropic"``, ``"gemini"``, ``"ollama"`` or ``"completions"``, the name of the module
    (``streamagg.responses``...) whose ``replay`` reads it; ``"chat"`` is ``streamagg.replay``."""
    detector = Detector()
    return detector.feed(data) or detector.close()


def make_fold(dialect: str, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> Fold[Any]:
    """A new fold of ``dialect`` with these options."""
    return DIALECTS[dialect](limits=limits, strict=strict)


_TEXT_DELTAS = (
    _responses_models.TextDelta,
    _anthropic_models.TextDelta,
    _ollama_models.TextDelta,
)


def output_text(delta: object) -> str | None:
    """The output text a delta of any dialect adds (of the first choice or candidate)."""
    if isinstance(delta, ContentDelta):
        return delta.text if delta.choice == 0 else None
    if isinstance(delta, _TEXT_DELTAS):
        return delta.text
    if isinstance(delta, _gemini_models.TextDelta):
        return delta.text if delta.candidate == 0 else None
    if isinstance(delta, _completions_models.CompletionText):
        return delta.text if delta.choice == 0 else None
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
