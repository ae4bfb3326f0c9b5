"""The sans-IO fold of Ollama's native ``/api/chat`` and ``/api/generate`` streams (NDJSON: one
JSON object per line) into the answer a ``"stream": false`` call returns.

The rules, and why (Ollama builds its own non-streaming answer from the same chunks):

* The final object is the ``done: true`` line as it came (model, created_at, done_reason, and
  the timing and count fields, kept as sent), with the text of every line.
* ``message.content`` (chat) and ``response`` (generate) concatenate; ``thinking`` (in the
  message, or at the top level for generate) concatenates, and is kept only if a line had it.
* Tool calls are whole objects, kept in order and never merged: they may come in a
  ``done: false`` line before the final one (a peers' bug merged them).
* An ``{"error": ...}`` line raises ``UpstreamError`` with the partial answer.
* The stream is complete at the ``done: true`` line; lines may be split across reads anywhere
  (the NDJSON framing, ``_ndjson``, joins them).
"""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.errors import InvalidChunk
from .._core.fields import check_count, text_of
from .._core.fold import EventFold
from .._core.pieces import Pieces
from ._events import OllamaDelta, TextDelta, ThinkingDelta, ToolCallDelta
from ._models import OllamaResponse

__all__ = ["OllamaAggregator"]

# The keys of a usual line and message: scalars, or text and tool calls (measured where read).
_USUAL_LINE = frozenset({"model", "created_at", "message", "response", "thinking", "done"})
_USUAL_MESSAGE = frozenset({"role", "content", "thinking", "tool_calls"})


class OllamaAggregator(EventFold[OllamaResponse, OllamaDelta]):
    """Fold an Ollama NDJSON stream into the ``OllamaResponse`` (rules:
    ``streamagg.ollama._fold``).

    Sans-IO, with the API of the chat-completions ``Aggregator``: ``feed(line)`` for a parsed
    line (a dict, or an ollama-python response object), ``snapshot()`` and ``result()``;
    ``StreamReader`` drives ``receive`` with one line at a time (``framing = "ndjson"``).
    ``limits`` and ``strict`` are the fold options of ``Aggregator``.
    """

    #: The framing ``StreamReader`` reads this dialect's bytes with: one JSON object per line.
    framing = "ndjson"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._last: dict[str, Any] = {}  # the last line, as it came
        self._message: dict[str, Any] | None = None  # the last line's message (chat)
        self._text = Pieces()
        self._thinking: Pieces | None = None
        self._tool_calls: list[Any] = []

    def _incomplete(self) -> str:
        return "without any line" if self._chunks == 0 else "before its done: true line"

    def _object(self, body: dict[str, Any]) -> None:
        self._event(None, body, None)

    def _event(self, kind: Any, line: dict[str, Any], out: list[OllamaDelta] | None) -> None:
        error = line.get("error")
        if error is not None:
            self._raise_error(error)
        if not _USUAL_LINE.issuperset(line):
            self._check_depth(line, _USUAL_LINE)  # keys kept as they are: measured
        message = line.get("message")
        if message is not None:
            if message.__class__ is not dict:
                raise InvalidChunk("message", "an object", message)
            if not _USUAL_MESSAGE.issuperset(message):
                self._check_depth(message, _USUAL_MESSAGE)
            self._text_of(message, "content", out)
            self._thinking_of(message, out)
            calls = message.get("tool_calls")
            if calls is not None:
                self._calls(calls, out)
            self._message = message
        else:
            self._text_of(line, "response", out)
            self._thinking_of(line, out)
        self._last = line
        if line.get("done") is True:
            self._terminate()

    def _check_depth(self, data: dict[str, Any], usual: frozenset[str]) -> None:
        for key, value in data.items():
            if key not in usual:
                self._kept(value, key)

    def _text_of(self, source: dict[str, Any], key: str, out: list[OllamaDelta] | None) -> None:
        text = text_of(source.get(key), key)
        if text:
            self._text.add(text)
            if out is not None:
                out.append(TextDelta(text))

    def _thinking_of(self, source: dict[str, Any], out: list[OllamaDelta] | None) -> None:
        if "thinking" not in source:
            return
        text = text_of(source["thinking"], "thinking")
        if self._thinking is None:
            self._thinking = Pieces()
        if text:
            self._thinking.add(text)
            if out is not None:
                out.append(ThinkingDelta(text))

    def _calls(self, calls: Any, out: list[OllamaDelta] | None) -> None:
        if calls.__class__ is not list:
            calls = [calls]  # a single call where a list belongs: a list of one
        check_count(len(self._tool_calls) + len(calls), self.limits, "tool calls")
        for call in self._kept(calls, "tool_calls"):
            self._tool_calls.append(call)
            if out is not None:
                out.append(ToolCallDelta(len(self._tool_calls) - 1, call))

    def _make(self, partial: bool) -> OllamaResponse:
        data = dict(self._last)
        text = "".join(self._text)
        thinking = None if self._thinking is None else "".join(self._thinking)
        if self._message is not None:
            message = dict(self._message)
            message["content"] = text
            if thinking is not None:
                message["thinking"] = thinking
            if self._tool_calls:
                message["tool_calls"] = list(self._tool_calls)
            data["message"] = message
        elif self._chunks:
            data["response"] = text
            if thinking is not None:
                data["thinking"] = thinking
        response: OllamaResponse = converter.structure(data, OllamaResponse)
        return response
