"""The tool calls of a choice: how a fragment finds its call (by index, by id, or the last one
started), and when it starts a new one (see ``ToolCalls.fold``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import InvalidChunk, OverLimit
from .events import (
    Delta,
    ToolCallStart,
)
from .models import (
    ToolCall,
)
from .parts import ToolState
from .rules import NO_IDS, Rules, mapping

__all__ = ["ToolCalls", "by_order", "has_name"]


def by_order(tool: ToolState) -> tuple[int, int]:
    return tool.order


def has_name(function: Any) -> bool:
    return isinstance(function, Mapping) and bool(function.get("name"))


class ToolCalls:
    """The tool calls of one choice, keyed by their number (``tools``), with the indices and
    ids a fragment finds its call by, and the call started last."""

    __slots__ = ("by_index", "choice", "last_tool", "next_key", "rules", "tool_ids", "tools")

    def __init__(self, choice: int, rules: Rules) -> None:
        self.choice = choice
        self.rules = rules
        self.next_key = 0  # one more than the largest tool key in use
        self.tools: dict[int, ToolState] = {}  # by key
        self.by_index: dict[int, ToolState] = {}  # the call a stream index continues
        self.tool_ids: dict[str, ToolState] = {}
        self.last_tool: ToolState | None = None

    def fold(self, entry: Any, out: list[Delta] | None) -> None:
        """Fold one tool-call fragment.

        With an integer ``index`` (the OpenAI way; indices may be sparse, a chunk may carry
        several fragments, even two for one index) the fragment continues the call at that
        index, unless it starts a new one: a non-empty id that differs from the call's, with a
        non-empty function name (Ollama's OpenAI endpoint and some vLLM/SGLang tool parsers send
        every parallel call at index 0). The id ``"null"`` (Mistral, on continuations) is no id.
        Without an index (Mistral sends whole calls with no ``index``): a known id picks its
        call; a new non-empty id or function name starts a new call; anything else continues
        the most recently started call.
        """
        if entry.__class__ is not dict:
            entry = mapping(entry, "delta.tool_calls[]")
        get = entry.get
        index = get("index")
        call_id = get("id")
        function = get("function")
        kind = get("type")
        if call_id:
            if call_id.__class__ is not str:
                raise InvalidChunk("delta.tool_calls[].id", "a string", call_id)
            if call_id in NO_IDS:
                call_id = None
        if index.__class__ is int:
            call = self.by_index.get(index)
            if (
                call is not None
                and call_id
                and call.id
                and call_id != call.id
                and has_name(function)
            ):
                call = None  # a new call at a used index
        else:
            index = None
            call = self.tool_ids.get(call_id) if call_id else None
            if call is None and not call_id and not has_name(function):
                call = self.last_tool
        if call is None:
            call = self._start_call(index, call_id, function, out)
        if call_id and not call.id:
            call.id = call_id
            self.tool_ids[call_id] = call
        if kind and not call.type:
            if kind.__class__ is not str:
                raise InvalidChunk("delta.tool_calls[].type", "a string", kind)
            call.type = kind
        # Any key besides these four (or one of them null) sends the entry through the loop.
        if len(entry) > (
            (index is not None)
            + (get("id") is not None)
            + (function is not None)
            + (kind is not None)
        ):
            call.fold_extra(entry, self.rules)
        if function:
            call.fold_function(function, "delta.tool_calls[].function", self.rules, out)

    def _start_call(
        self, index: int | None, call_id: str | None, function: Any, out: list[Delta] | None
    ) -> ToolState:
        """A new tool call: numbered by its stream index (a new number if that is taken, or
        when there is no index), ordered by index and then arrival."""
        tools = self.tools
        if len(tools) >= self.rules.max_tool_calls:
            raise OverLimit("max_tool_calls", "tool calls in a choice")
        key = index if index is not None and index not in tools else self.next_key
        order = (key if index is None else index, len(tools))
        call = tools[key] = ToolState(self.choice, key, order)
        self.next_key = max(self.next_key, key + 1)
        if index is not None:
            self.by_index[index] = call
        self.last_tool = call
        if out is not None:
            name = function.get("name") if isinstance(function, Mapping) else None
            out.append(ToolCallStart(self.choice, key, call_id or None, name or None))
        return call

    def build(self, partial: bool) -> list[ToolCall] | None:
        """The calls in the order of their index, then of arrival; None when there are none."""
        return [t.build(partial) for t in sorted(self.tools.values(), key=by_order)] or None
