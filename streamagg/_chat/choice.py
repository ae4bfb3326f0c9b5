"""One choice being folded: its message, tool calls, logprobs and finish reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import InvalidChunk
from .._core.merge import copy_json
from .._core.pieces import JOIN_AT, Pieces
from .events import (
    ContentDelta,
    Delta,
    FinishDelta,
    ReasoningDelta,
    RefusalDelta,
)
from .models import (
    Choice,
    Message,
)
from .parts import AudioState, LogprobsState, PartialText, ToolState
from .rules import (
    COMMON_CHOICE,
    OTHER_TEXT_FIELDS,
    TEXT_AND_TOOLS,
    Rules,
    as_list,
    check_usage,
    is_empty_part,
    joined,
    mapping,
)
from .tools import ToolCalls

__all__ = ["ChoiceState"]


class ChoiceState:
    """One choice being folded: its message, tool calls, logprobs and finish reason."""

    __slots__ = (
        "audio",
        "calls",
        "content",
        "content_partial",
        "delta_extra",
        "extra",
        "finish_reason",
        "function_call",
        "had_delta",
        "index",
        "logprobs",
        "parts",
        "reasoning",
        "reasoning_content",
        "refusal",
        "role",
        "rules",
        "thinking_parts",
        "usage",
    )

    def __init__(self, index: int, rules: Rules) -> None:
        self.index = index
        self.rules = rules
        self.role = ""
        # The text fields: None until a string arrives.
        self.content: Pieces | None = None
        self.refusal: Pieces | None = None
        self.reasoning_content: Pieces | None = None
        self.reasoning: Pieces | None = None
        self.calls = ToolCalls(index, rules)
        self.function_call: ToolState | None = None
        self.audio: AudioState | None = None
        self.logprobs: LogprobsState | None = None
        self.finish_reason: str | None = None
        self.parts: list[Any] = []
        self.thinking_parts: list[Any] = []
        self.delta_extra: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.usage: Mapping[str, Any] | None = None
        self.had_delta = False
        self.content_partial = PartialText()

    def fold(self, choice: Mapping[str, Any], out: list[Delta] | None) -> None:
        """One entry of a chunk's ``choices`` (already known to be an object)."""
        get = choice.get
        value = get("delta")
        if value:
            if value.__class__ is not dict:
                value = mapping(value, "choices[].delta")
            self.had_delta = True
            text = value.get("content")
            if text.__class__ is str and len(value) == 1:
                self.add_content(text, out)  # the hottest path: a delta of one piece of content
            else:
                self.fold_delta(value, out)
        value = get("finish_reason")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("choices[].finish_reason", "a string", value)
            self.finish_reason = value
            if out is not None:
                out.append(FinishDelta(self.index, value))
        value = get("logprobs")
        if value:
            logprobs = self.logprobs
            if logprobs is None:
                logprobs = self.logprobs = LogprobsState()
            logprobs.fold(value, self.rules)
        if not COMMON_CHOICE.issuperset(choice):
            self._fold_rare(choice, out)

    def _fold_rare(self, choice: Mapping[str, Any], out: list[Delta] | None) -> None:
        for key, value in choice.items():
            if value is None or key in COMMON_CHOICE:
                continue
            if key == "message":
                message = mapping(value, "choices[].message")
                self.fold_message(message, bool(choice.get("delta")), out)
            elif key == "usage":
                self.usage = self.rules.kept(check_usage(value, "choices[].usage"))
            else:
                self.extra[key] = self.rules.merge(self.extra.get(key), value, key)

    def fold_message(
        self, message: Mapping[str, Any], beside_delta: bool, out: list[Delta] | None
    ) -> None:
        """A whole ``message`` on a choice.

        It never repeats what deltas carried: beside a ``delta`` (some providers send both, with
        the same pieces) its text and tool calls are ignored; on a choice that already had
        deltas (a closing ``chat.completion`` frame) it fills only what is still empty; on a
        choice that never had one (a server that ignored ``stream: true``, a non-streaming body)
        it folds like one big delta. Its other keys are kept where the deltas did not set them.
        """
        if not self.had_delta and not beside_delta:
            self.fold_delta(message, out)
            return
        fill = {}
        for key, value in message.items():
            if value is None:
                continue
            if key in TEXT_AND_TOOLS:
                if beside_delta or not self._is_empty(key):
                    continue
            elif key == "role":
                if self.role:
                    continue
            elif key in self.delta_extra or key in self.rules.skipped:
                continue
            fill[key] = value
        if fill:
            self.fold_delta(fill, out)

    def _is_empty(self, key: str) -> bool:
        if key == "tool_calls":
            return not self.calls.tools
        value = getattr(self, key)
        return value is None or (isinstance(value, Pieces) and not "".join(value))

    def fold_delta(self, delta: Mapping[str, Any], out: list[Delta] | None) -> None:
        """A choice's ``delta`` (or whole ``message``)."""
        for key, value in delta.items():
            if value is None:
                continue
            if key == "content":
                if value.__class__ is str:
                    self.add_content(value, out)
                elif value.__class__ is list or isinstance(value, Mapping):
                    self.fold_parts(as_list(value, "delta.content"), out)
                else:
                    raise InvalidChunk("delta.content", "a string or a list of parts", value)
            elif key == "role":
                if value and not self.role:
                    if value.__class__ is not str:
                        raise InvalidChunk("delta.role", "a string", value)
                    self.role = value
            elif key == "tool_calls":
                calls = value if value.__class__ is list else as_list(value, "delta.tool_calls")
                fold_call = self.calls.fold
                for entry in calls:
                    fold_call(entry, out)
            elif key in OTHER_TEXT_FIELDS:
                self.add_text(key, value, OTHER_TEXT_FIELDS[key], out)
            elif key == "function_call":
                call = self.function_call
                if call is None:
                    call = self.function_call = ToolState(self.index, None)
                call.fold_function(value, "delta.function_call", self.rules, out)
            elif key == "audio":
                if self.audio is None:
                    self.audio = AudioState()
                self.audio.fold(value, self.rules)
            elif key not in self.rules.skipped:
                self.delta_extra[key] = self.rules.merge(self.delta_extra.get(key), value, key)

    def add_content(self, text: str, out: list[Delta] | None) -> None:
        """A piece of the content (a string)."""
        parts = self.content
        if parts is None:
            self.content = Pieces((text,))
        else:
            parts.append(text)
            if len(parts) > JOIN_AT:
                parts.compact()
        if out is not None and text:
            out.append(ContentDelta(self.index, text))

    def add_text(self, key: str, text: Any, field: str, out: list[Delta] | None) -> None:
        """Extend the text field ``key`` (``refusal``, ``reasoning_content`` or ``reasoning``;
        None until a string arrives) and report the delta. Content strings take
        ``add_content``."""
        if text.__class__ is not str:
            raise InvalidChunk(field, "a string", text)
        parts = getattr(self, key)
        if parts is None:
            setattr(self, key, Pieces((text,)))
        else:
            parts.append(text)  # Pieces.add, inline: once a chunk of reasoning
            if len(parts) > JOIN_AT:
                parts.compact()
        if out is not None and text:
            if key == "refusal":
                out.append(RefusalDelta(self.index, text))
            else:
                out.append(ReasoningDelta(self.index, text, key))

    def fold_parts(self, parts: list[Any], out: list[Delta] | None) -> None:
        """Content sent as typed parts (Mistral): ``text`` parts extend content, the ``text``
        items of ``thinking`` parts extend ``reasoning`` (other items, such as references, are
        kept in ``extensions["thinking_parts"]``); parts that carry nothing are skipped; other
        parts are kept in ``extensions["content_parts"]``."""
        for entry in parts:
            part = mapping(entry, "delta.content[]")
            kind = part.get("type")
            if kind == "text" and part.get("text").__class__ is str:
                self.add_content(part["text"], out)
            elif kind == "thinking":
                thinking: Any = part.get("thinking")
                if thinking is None:
                    continue
                items = [thinking] if thinking.__class__ is str else thinking
                for item in as_list(items, "delta.content[].thinking"):
                    self._thinking_item(item, out)
            elif not is_empty_part(part):
                self.parts.append(copy_json(self.rules.kept(part)))

    def _thinking_item(self, item: Any, out: list[Delta] | None) -> None:
        field = "delta.content[].thinking[].text"
        if not isinstance(item, Mapping):
            self.add_text("reasoning", item, field, out)  # a plain string (or a bad item)
        elif item.get("type", "text") == "text":
            self.add_text("reasoning", item.get("text"), field, out)
        elif not is_empty_part(item):
            self.thinking_parts.append(copy_json(self.rules.kept(item)))

    def partial_json(self, tool: int | None) -> Any:
        """The value parsed so far of a tool call's arguments (by its number), or of the
        content (None); None for a tool call that does not exist."""
        if tool is None:
            return self.content_partial.value(self.content or Pieces())
        call = self.calls.tools.get(tool)
        return None if call is None else call.partial.value(call.arguments)

    def build(self, keep_usage: bool, partial: bool = False) -> Choice:
        extensions = copy_json(self.delta_extra) if self.delta_extra else {}
        if self.parts:
            extensions["content_parts"] = copy_json(self.parts)
        if self.thinking_parts:
            extensions["thinking_parts"] = copy_json(self.thinking_parts)
        fc = self.function_call
        message = Message(
            role=self.role or "assistant",
            content=joined(self.content),
            refusal=joined(self.refusal),
            tool_calls=self.calls.build(partial),
            function_call=None if fc is None else fc.function(),
            reasoning_content=joined(self.reasoning_content),
            reasoning=joined(self.reasoning),
            audio=None if self.audio is None else self.audio.build(),
            extensions=extensions,
        )
        choice_extra = copy_json(self.extra) if self.extra else {}
        if keep_usage and self.usage is not None:
            choice_extra["usage"] = copy_json(self.usage)
        return Choice(
            index=self.index,
            message=message,
            finish_reason=self.finish_reason,
            logprobs=None if self.logprobs is None else self.logprobs.build(),
            extensions=choice_extra,
        )
