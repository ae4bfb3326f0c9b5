"""The sans-IO fold of an Anthropic Messages stream (``message_start`` … ``message_stop``).

The rules, and why:

* ``message_start`` gives the message (id, model, role, initial usage). A second
  ``message_start`` (some gateways splice two messages into one stream) keeps the first id and
  puts the new message's blocks after the ones already folded, so that nothing is overwritten.
* Content blocks are keyed by ``index`` (an event without one is about the last block started,
  a block started without one is the next). ``content_block_start`` gives the block; a block that
  arrives whole there (a server tool's result, ``redacted_thinking``) stays as it came, and an
  empty block is kept.
* ``content_block_delta``: ``text_delta`` and ``thinking_delta`` concatenate; ``signature_delta``
  sets the signature (it is sent whole); ``citations_delta`` appends its citation;
  ``input_json_delta`` is buffered per block and parsed at ``content_block_stop`` (or at the
  end). Input that does not parse (a stream cut by ``max_tokens`` mid-JSON) never raises:
  ``input`` holds what parsed of it (``PartialJSON``) and ``partial_input`` the raw text. Any
  other delta type (``compaction_delta``...) copies its keys onto the block, strings
  concatenated, so a new delta type loses nothing.
* Usage: ``message_start`` gives the initial usage; every non-null key of
  ``message_delta.usage`` replaces it (the counts are cumulative: never summed); keys it does
  not send keep their values; unknown keys (``server_tool_use``, ``iterations``, cache fields)
  are kept.
* ``message_delta.delta`` keys (``stop_reason``, ``stop_sequence``, ``container``...) overwrite;
  other non-null keys of ``message_delta`` (``context_management``...) are kept on the message.
* ``ping`` is ignored. An ``error`` event raises ``UpstreamError`` with the partial message.
  Only ``message_stop`` completes the stream; its extra keys (Bedrock's
  ``amazon-bedrock-invocationMetrics``) are kept in the message's ``extensions``.
"""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.errors import InvalidChunk
from .._core.fields import NestingMeter, Streamed, check_count, index_of, text_of
from .._core.fold import EventFold, decode_json
from .._core.partial import PartialJSON
from .._core.pieces import Pieces
from ._events import (
    BlockStart,
    BlockStop,
    InputJSONDelta,
    MessageDelta,
    StopDelta,
    TextDelta,
    ThinkingDelta,
)
from ._models import Message, MessageUsage

__all__ = ["MessagesAggregator"]

# The keys of message_delta read by name; any other non-null key is kept on the message.
_MESSAGE_DELTA_READ = frozenset({"type", "delta", "usage"})
# Delta types whose one string concatenates onto a key of the block.
_TEXT_DELTAS = {"text_delta": "text", "thinking_delta": "thinking"}


class _Block(Streamed):
    """A content block: its JSON, its streamed strings as pieces, its input JSON text."""

    __slots__ = ("json", "meter", "opens", "raw")

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.json = Pieces()
        self.raw: str | None = None  # the input text, when it did not parse
        # The input text is parsed only when the message is built; its nesting is bounded as it
        # arrives. Counting brackets is a bound (some may be in strings): the text is measured
        # (``meter``) only once there are more than ``max_depth`` of them.
        self.opens = 0
        self.meter: NestingMeter | None = None

    def build(self) -> dict[str, Any]:
        data = super().build()
        citations = data.get("citations")
        if citations.__class__ is list:
            data["citations"] = list(citations)
        text = "".join(self.json)
        self.raw = None
        if text:
            try:
                data["input"] = decode_json(text)
            except (ValueError, RecursionError):
                parsed = PartialJSON()
                parsed.feed(text)
                data["input"] = parsed.value if parsed.value is not None else {}
                self.raw = text
        return data


class MessagesAggregator(EventFold[Message, MessageDelta]):
    """Fold an Anthropic Messages stream into the ``Message`` (rules:
    ``streamagg.anthropic._fold``).

    Sans-IO, with the API of the chat-completions ``Aggregator``: ``feed(event)`` for a parsed
    event (a dict, or an anthropic SDK event object), ``feed_event(sse)``, ``snapshot()`` and
    ``result()``; ``StreamReader`` drives ``receive``/``receive_body``. ``limits`` and
    ``strict`` are the fold options of ``Aggregator``. ``result()`` raises ``UpstreamError``
    (an ``error`` event) and, unless lenient, ``IncompleteStreamError`` before
    ``message_stop``; each with the partial ``Message``.
    """

    named = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._message: dict[str, Any] | None = None
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}
        self._top = -1  # the largest block index (deltas without an index go to it)
        self._offset = 0  # where the blocks of a second message_start go

    def _incomplete(self) -> str:
        if self._chunks == 0:
            return "without any event"
        return "before message_stop"

    # -- events ------------------------------------------------------------------------------

    def _event(self, kind: str, event: dict[str, Any], out: list[MessageDelta] | None) -> None:
        if kind == "content_block_delta":
            self._delta(event, out)
        elif kind == "content_block_start":
            self._start(event, out)
        elif kind == "content_block_stop":
            # The input JSON is parsed when the message is built: the same at the stop or later.
            index = self._index(event)
            if out is not None:
                out.append(BlockStop(index))
        elif kind == "message_delta":
            self._message_delta(event, out)
        elif kind == "message_start":
            self._message_start(event)
        elif kind == "message_stop":
            extras = {k: v for k, v in event.items() if k != "type"}
            self._message = {**(self._message or {}), **self._kept(extras, "message_stop")}
            self._terminate()
        else:
            self._other()  # ping, and events of no consequence for the message

    def _index(self, event: dict[str, Any]) -> int:
        """An event's block index; without one (some gateways leave it out), the last block
        started."""
        if event.get("index") is None:
            return self._top if self._blocks else self._offset
        return index_of(event, "index") + self._offset

    def _block(self, event: dict[str, Any]) -> tuple[int, _Block]:
        index = event.get("index")
        if index.__class__ is int:  # the usual case, a lookup (one per delta)
            index += self._offset
            block = self._blocks.get(index)
            if block is not None:
                return index, block
        index = self._index(event)
        block = self._blocks.get(index)
        if block is None:  # a delta for a block that never started
            check_count(len(self._blocks) + 1, self.limits, "content blocks")
            block = self._new_block(index, {})
        return index, block

    def _delta(self, event: dict[str, Any], out: list[MessageDelta] | None) -> None:
        delta = event.get("delta")
        if delta.__class__ is not dict:
            raise InvalidChunk("delta", "an object", delta)
        index, block = self._block(event)
        kind = delta.get("type")
        key = _TEXT_DELTAS.get(kind) if kind.__class__ is str else None
        if key is None:
            self._other_kind(index, block, kind, delta, out)
            return
        text = delta.get(key)
        if text.__class__ is not str:
            text = text_of(text, key)
        pieces = block.pieces.get(key)
        if pieces is None:
            block.extend(key, text)
            block.data.setdefault("type", key)
        else:
            pieces.add(text)
        if out is not None and text:
            out.append(TextDelta(index, text) if key == "text" else ThinkingDelta(index, text))

    def _other_kind(
        self,
        index: int,
        block: _Block,
        kind: Any,
        delta: dict[str, Any],
        out: list[MessageDelta] | None,
    ) -> None:
        """A delta that is not text: input JSON, a signature, a citation, or another type."""
        if kind == "input_json_delta":
            text = text_of(delta.get("partial_json"), "partial_json")
            block.opens += text.count("[") + text.count("{")
            if block.opens > self.limits.max_depth:
                self._measure_input(block, text)  # before the text is kept
            block.json.add(text)
            if out is not None and text:
                out.append(InputJSONDelta(index, text))
        elif kind == "signature_delta":
            block.data["signature"] = text_of(delta.get("signature"), "signature")
        elif kind == "citations_delta":
            citations = block.data.get("citations")
            if citations.__class__ is not list:
                citations = block.data["citations"] = []
            check_count(len(citations) + 1, self.limits, "citations in a block")
            citations.append(self._kept(delta.get("citation"), "citation"))
        elif kind.__class__ is str or kind is None:
            self._other_delta(block, delta)
        else:
            raise InvalidChunk("delta.type", "a string", kind)

    def _new_block(self, index: int, data: dict[str, Any]) -> _Block:
        block = self._blocks[index] = _Block(data)
        self._top = max(self._top, index)
        return block

    def _measure_input(self, block: _Block, text: str) -> None:
        """Refuse input JSON nested deeper than ``max_depth`` (it is parsed when built), before
        ``text`` is kept: the partial message holds only what fits."""
        if block.meter is None:
            block.meter = NestingMeter()
            block.meter.feed("".join(block.json))
        block.meter.feed(text)
        if block.meter.deepest > self.limits.max_depth:
            raise self._too_deep("the field input")

    def _other_delta(self, block: _Block, delta: dict[str, Any]) -> None:
        """A delta of another type: its keys onto the block, strings concatenated."""
        for name, value in delta.items():
            if name == "type":
                continue
            if value.__class__ is str:
                block.extend(name, value)
            else:
                block.data[name] = self._kept(value, name)

    def _start(self, event: dict[str, Any], out: list[MessageDelta] | None) -> None:
        if event.get("index") is None:  # a block started without its index: the next one
            index = (self._top if self._blocks else self._offset - 1) + 1
        else:
            index = index_of(event, "index") + self._offset
        data = event.get("content_block")
        if data.__class__ is not dict:
            raise InvalidChunk("content_block", "an object", data)
        if index not in self._blocks:
            check_count(len(self._blocks) + 1, self.limits, "content blocks")
        self._new_block(index, dict(self._kept(data, "content_block")))
        if out is not None:
            kind = data.get("type")
            out.append(BlockStart(index, kind if kind.__class__ is str else None))

    def _message_start(self, event: dict[str, Any]) -> None:
        message = event.get("message")
        if message.__class__ is not dict:
            raise InvalidChunk("message", "an object", message)
        message = self._kept(message, "message")
        if self._message is None:
            self._message = message
        else:  # a second message: keep the first id, put its blocks after ours
            self._message = {**message, **{k: v for k, v in self._message.items() if k == "id"}}
            self._offset = self._top + 1
        content = message.get("content")
        if content.__class__ is list:
            for i, block in enumerate(content):
                if block.__class__ is dict:
                    self._new_block(self._offset + i, dict(block))
        self._update_usage(message.get("usage"))

    def _update_usage(self, usage: Any) -> None:
        if usage is None:
            return
        if usage.__class__ is not dict:
            raise InvalidChunk("usage", "an object", usage)
        for key, value in usage.items():
            if value is not None:  # cumulative counts: replaced, never summed
                self._usage[key] = self._kept(value, "usage")

    def _message_delta(self, event: dict[str, Any], out: list[MessageDelta] | None) -> None:
        delta = event.get("delta")
        if delta is not None:
            if delta.__class__ is not dict:
                raise InvalidChunk("delta", "an object", delta)
            self._message = {**(self._message or {}), **self._kept(delta, "delta")}
        self._update_usage(event.get("usage"))
        extras = {k: v for k, v in event.items() if k not in _MESSAGE_DELTA_READ and v is not None}
        if extras:  # message-level news beside the delta (context_management...): kept
            self._message = {**(self._message or {}), **self._kept(extras, "message_delta")}
        if out is not None:
            reason = (self._message or {}).get("stop_reason")
            out.append(
                StopDelta(
                    reason if reason.__class__ is str else None,
                    converter.structure(self._usage, MessageUsage),
                )
            )

    def _object(self, body: dict[str, Any]) -> None:
        if body.get("type") == "error" or (
            body.get("error") is not None and "content" not in body
        ):
            self._raise_error(body.get("error"))
        self._message_start({"message": body})
        self._terminate()

    # -- the object --------------------------------------------------------------------------

    def _make(self, partial: bool) -> Message:
        data: dict[str, Any] = dict(self._message) if self._message is not None else {}
        blocks = [self._blocks[i] for i in sorted(self._blocks)]
        data["content"] = [block.build() for block in blocks]
        if self._usage:
            data["usage"] = dict(self._usage)
        message: Message = converter.structure(data, Message)
        for block, built in zip(blocks, message.content, strict=True):
            built.partial_input = block.raw  # the input text that did not parse, if any
        return message
