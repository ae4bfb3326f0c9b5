"""The sans-IO fold of an OpenAI Responses API stream (``event: response.*``) into a ``Response``.

The rules, and why:

* Output items are keyed by ``output_index``, never by id: some servers change an item's id
  between its events. An event without ``output_index`` is about the item its ``item_id``
  names, else the last one (an item added without one is the next); parts without their index
  are part 0. ``output_item.added`` starts an item; ``output_item.done`` replaces it
  whole (its status, encrypted reasoning and final text are authoritative).
* Content parts are keyed by ``content_index`` and summary parts by ``summary_index``;
  ``content_part.*`` and ``reasoning_summary_part.*`` add and replace them the same way.
* Streamed strings concatenate per item and part (the table ``_STREAMED``): output text,
  refusal, reasoning text, reasoning summary text, function-call and MCP arguments,
  custom-tool input, code-interpreter code. Each ``….done`` event sets the whole string.
  Annotations (``output_text.annotation.added``) and logprobs (on text deltas) append.
* An event for an item or part that was never announced (a resumed background stream starts
  late) creates it, with the type its event implies.
* Server tool progress events (``response.web_search_call.searching``, ``…_call.completed``...)
  set the item's status to their last word.
* The terminal event (``response.completed``, ``response.incomplete``, ``response.failed``) ends
  the stream. Its ``response`` is authoritative; where its ``output`` does not carry an item
  (``output: null``, absent, empty or shorter) the folded item fills in, and an item that was
  added but never finished takes the terminal status (``completed`` or ``incomplete``).
* ``response.incomplete`` is a valid final object (status ``incomplete``), as the non-streaming
  API returns it. ``response.failed`` and an ``error`` event raise ``UpstreamError`` with the
  partial response; after an ``error`` event the fold still reads up to the terminal event,
  whose ``response`` (status ``failed``) is the partial.
* No ``response.created`` (a resumed stream), ``data:`` before ``event:``, no ``event:`` lines
  at all (the type is in the JSON), comments and a trailing ``[DONE]`` are all accepted.
"""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.errors import InvalidChunk
from .._core.fields import Streamed, check_count, index_of, text_of
from .._core.fold import EventFold
from .._core.pieces import Pieces
from ._events import (
    ArgumentsDelta,
    ItemDone,
    ItemStart,
    ReasoningDelta,
    RefusalDelta,
    ResponseDelta,
    ResponseFinished,
    TextDelta,
)
from ._models import Response, ResponseUsage

__all__ = ["ResponsesAggregator"]

# The streamed strings: event type (without ``.delta``/``.done``) -> where the string lives
# (``content`` or ``summary`` parts, or None: on the item itself), its key, and the item and
# part types an event implies when the item or part was never announced.
_STREAMED: dict[str, tuple[str | None, str, str, str | None]] = {
    "response.output_text": ("content", "text", "message", "output_text"),
    "response.refusal": ("content", "refusal", "message", "refusal"),
    "response.reasoning_text": ("content", "text", "reasoning", "reasoning_text"),
    "response.reasoning_summary_text": ("summary", "text", "reasoning", "summary_text"),
    "response.function_call_arguments": (None, "arguments", "function_call", None),
    "response.custom_tool_call_input": (None, "input", "custom_tool_call", None),
    "response.mcp_call_arguments": (None, "arguments", "mcp_call", None),
    "response.code_interpreter_call_code": (None, "code", "code_interpreter_call", None),
}
_DELTAS = {f"{name}.delta": spec for name, spec in _STREAMED.items()}
_DONES = {f"{name}.done": spec for name, spec in _STREAMED.items()}
_PART_INDEX = {"content": "content_index", "summary": "summary_index"}
_TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
_STARTED = frozenset({"response.created", "response.in_progress", "response.queued"})
# Keys of a server tool's progress event besides its type: nothing else is in it.
_PROGRESS_KEYS = frozenset({"type", "item_id", "output_index", "sequence_number"})


class _Part(Streamed):
    """A content or summary part: its JSON, and its streamed strings as pieces."""

    __slots__ = ()

    def build(self) -> dict[str, Any]:
        data = super().build()
        for key in ("annotations", "logprobs"):  # lists the fold appends to: copied
            value = data.get(key)
            if value.__class__ is list:
                data[key] = list(value)
        return data


def _parts(value: Any) -> dict[int, _Part]:
    if value.__class__ is not list:
        return {}
    return {i: _Part(dict(p)) for i, p in enumerate(value) if p.__class__ is dict}


class _Item(_Part):
    """An output item: its JSON, its streamed strings, and its parts."""

    __slots__ = ("content", "done", "summary")

    def __init__(self, data: dict[str, Any], done: bool = False) -> None:
        super().__init__(data)
        self.content = _parts(data.get("content"))
        self.summary = _parts(data.get("summary"))
        self.done = done

    def build(self) -> dict[str, Any]:
        data = super().build()
        for key in ("content", "summary"):
            parts: dict[int, _Part] = getattr(self, key)
            if parts:
                data[key] = [parts[i].build() for i in sorted(parts)]
        return data


class ResponsesAggregator(EventFold[Response, ResponseDelta]):
    """Fold a Responses API stream into the ``Response`` (rules: ``streamagg.responses._fold``).

    Sans-IO, with the API of the chat-completions ``Aggregator``: ``feed(event)`` for a parsed
    event (a dict, or an openai SDK event object), ``feed_event(sse)``, ``snapshot()`` and
    ``result()``; ``StreamReader`` drives ``receive``/``receive_body``. ``limits`` and
    ``strict`` are the fold options of ``Aggregator``. ``result()`` raises ``UpstreamError``
    (``response.failed`` or an ``error`` event) and, unless lenient, ``IncompleteStreamError``
    before a terminal event; each with the partial ``Response``.
    """

    named = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._response: dict[str, Any] | None = None  # from response.created / in_progress
        self._terminal: dict[str, Any] | None = None
        self._items: dict[int, _Item] = {}
        self._last = -1  # the largest output index
        self._ids: dict[str, int] = {}  # the index of each item id (the first item with it)

    def _incomplete(self) -> str:
        if self._chunks == 0:
            return "without any event"
        return "before its terminal event (response.completed, .incomplete or .failed)"

    # -- events ------------------------------------------------------------------------------

    def _event(self, kind: str, event: dict[str, Any], out: list[ResponseDelta] | None) -> None:
        spec = _DELTAS.get(kind)
        if spec is not None:
            self._streamed(spec, event, text_of(event.get("delta"), "delta"), False, out)
        elif (spec := _DONES.get(kind)) is not None:
            key = spec[1]
            self._streamed(spec, event, text_of(event.get(key), key), True, None)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            self._item_event(kind.endswith("done"), event, out)
        elif kind in ("response.content_part.added", "response.content_part.done"):
            self._part_event("content", "part", event)
        elif kind in (
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_part.done",
        ):
            self._part_event("summary", "part", event)
        elif kind == "response.output_text.annotation.added":
            self._annotation(event)
        elif kind in _TERMINAL:
            self._finish(_TERMINAL[kind], event, out)
        elif kind in _STARTED:
            response = event.get("response")
            if response is None:
                self._other()
            elif response.__class__ is not dict:
                raise InvalidChunk("response", "an object", response)
            else:
                self._response = self._kept(response, "response")
        elif not self._progress(kind, event):
            self._other()

    def _output_index(self, event: dict[str, Any]) -> int:
        """An event's ``output_index``; without one (some servers leave it out), the item its
        ``item_id`` names, else the last item."""
        if event.get("output_index") is not None:
            return index_of(event, "output_index")
        item_id = event.get("item_id")
        index = self._ids.get(item_id) if item_id.__class__ is str else None
        if index is not None:
            return index
        return max(self._last, 0)

    def _item(self, event: dict[str, Any], item_type: str) -> tuple[int, _Item]:
        """The item an event is about (and its index), created if it was never announced."""
        index = self._output_index(event)
        item = self._items.get(index)
        if item is None:
            check_count(len(self._items) + 1, self.limits, "output items")
            data: dict[str, Any] = {"type": item_type, "id": event.get("item_id")}
            if item_type == "message":
                data["role"] = "assistant"
            data["status"] = "in_progress"
            item = self._store(index, _Item(data))
        return index, item

    def _store(self, index: int, item: _Item) -> _Item:
        """Keep ``item`` at ``index``, and where its id and the last index point."""
        old = self._items.get(index)
        old_id = None if old is None else old.data.get("id")
        if old_id.__class__ is str and self._ids.get(old_id) == index:
            del self._ids[old_id]
        self._items[index] = item
        self._last = max(self._last, index)
        ident = item.data.get("id")
        if ident.__class__ is str:
            self._ids.setdefault(ident, index)
        return item

    def _part(self, item: _Item, where: str, index: int, part_type: str) -> _Part:
        parts: dict[int, _Part] = getattr(item, where)
        part = parts.get(index)
        if part is None:
            check_count(len(parts) + 1, self.limits, "parts in an item")
            data: dict[str, Any] = {"type": part_type}
            if part_type == "output_text":
                data["annotations"] = []
            part = parts[index] = _Part(data)
        return part

    def _streamed(
        self,
        spec: tuple[str | None, str, str, str | None],
        event: dict[str, Any],
        text: str,
        whole: bool,
        out: list[ResponseDelta] | None,
    ) -> None:
        # The hot path of a stream (one call per delta): lookups inline, calls only for what
        # is new (an item or part never announced, the first piece of a string).
        where, key, item_type, part_type = spec
        index = event.get("output_index")
        item = self._items.get(index) if index.__class__ is int else None
        if item is None:
            index, item = self._item(event, item_type)
        target: _Part = item
        part_index = 0
        if where is not None:
            part_index = event.get(_PART_INDEX[where])  # type: ignore[assignment]
            target = getattr(item, where).get(part_index) if part_index.__class__ is int else None  # type: ignore[assignment]
            if target is None:
                part_index = index_of(event, _PART_INDEX[where], 0)
                target = self._part(item, where, part_index, part_type or "")
            logprobs = event.get("logprobs")
            if logprobs.__class__ is list and logprobs:
                self._logprobs(target, logprobs, whole)
        if whole:
            target.pieces[key] = Pieces((text,))
            return
        pieces = target.pieces.get(key)
        if pieces is None:
            target.extend(key, text)
        else:
            pieces.add(text)
        if out is not None and text:
            out.append(_delta(spec, index, part_index, text))  # type: ignore[arg-type]

    def _logprobs(self, part: _Part, logprobs: list[Any], whole: bool) -> None:
        kept = part.data.get("logprobs")
        if whole or kept.__class__ is not list:
            part.data["logprobs"] = self._kept(list(logprobs), "logprobs")
        else:
            kept.extend(self._kept(logprobs, "logprobs"))

    def _item_event(
        self, done: bool, event: dict[str, Any], out: list[ResponseDelta] | None
    ) -> None:
        data = event.get("item")
        if data.__class__ is not dict:
            raise InvalidChunk("item", "an object", data)
        if event.get("output_index") is not None or done:
            index = self._output_index({"item_id": data.get("id"), **event})
        else:  # an item added without its index: the next one
            index = self._last + 1
        if index not in self._items:
            check_count(len(self._items) + 1, self.limits, "output items")
        item = self._store(index, _Item(dict(self._kept(data, "item")), done))
        check_count(max(len(item.content), len(item.summary)), self.limits, "parts in an item")
        if out is not None:
            kind, status = data.get("type"), data.get("status")
            name = kind if kind.__class__ is str else None
            if done:
                out.append(ItemDone(index, name, status if status.__class__ is str else None))
            else:
                ident = data.get("id")
                out.append(ItemStart(index, name, ident if ident.__class__ is str else None))

    def _part_event(self, where: str, key: str, event: dict[str, Any]) -> None:
        data = event.get(key)
        if data.__class__ is not dict:
            raise InvalidChunk(key, "an object", data)
        _, item = self._item(event, "message" if where == "content" else "reasoning")
        index = index_of(event, _PART_INDEX[where], 0)
        parts: dict[int, _Part] = getattr(item, where)
        if index not in parts:
            check_count(len(parts) + 1, self.limits, "parts in an item")
        parts[index] = _Part(dict(self._kept(data, key)))

    def _annotation(self, event: dict[str, Any]) -> None:
        _, item = self._item(event, "message")
        part = self._part(item, "content", index_of(event, "content_index", 0), "output_text")
        annotations = part.data.get("annotations")
        if annotations.__class__ is not list:
            annotations = part.data["annotations"] = []
        check_count(len(annotations) + 1, self.limits, "annotations in a part")
        annotations.append(self._kept(event.get("annotation"), "annotation"))

    def _progress(self, kind: str, event: dict[str, Any]) -> bool:
        """A server tool's progress event (``response.<tool>_call.<status>``, nothing else in
        it): the item's status. False for any other event."""
        name, _, status = kind.rpartition(".")
        if not name.endswith("_call") or not _PROGRESS_KEYS.issuperset(event):
            return False
        item = self._items.get(self._output_index(event))
        if item is not None and not item.done:
            item.data["status"] = status
        return True

    def _finish(self, status: str, event: dict[str, Any], out: list[ResponseDelta] | None) -> None:
        response = event.get("response")
        if response is None:  # a terminal event without its response: the status it names
            response = {**(self._response or {}), "status": status}
        elif response.__class__ is not dict:
            raise InvalidChunk("response", "an object", response)
        self._terminal = self._kept(response, "response")
        if status == "failed" or response.get("status") == "failed":
            self._note_error(response.get("error"))  # unless an error event came first
        self._terminate()
        if out is not None:
            usage = converter.structure(response.get("usage") or {}, ResponseUsage)
            actual = response.get("status")
            out.append(ResponseFinished(actual if actual.__class__ is str else status, usage))

    def _error_event(self, event: dict[str, Any]) -> None:
        # The Responses API sends ``response.failed`` after an ``error`` event: read on to it,
        # so that the partial is the failed response. The error event's error is the error.
        self._note_error(event.get("error", {k: v for k, v in event.items() if k != "type"}))

    def _object(self, body: dict[str, Any]) -> None:
        if body.get("object") != "response" and body.get("error") is not None:
            self._raise_error(body["error"])  # an error object, not a response
        self._terminal = body
        if body.get("status") == "failed":
            self._raise_error(body.get("error"))
        self._terminate()

    # -- the object --------------------------------------------------------------------------

    def _make(self, partial: bool) -> Response:
        terminal = self._terminal
        base = terminal if terminal is not None else self._response
        data: dict[str, Any] = dict(base) if base is not None else {"object": "response"}
        items = {index: item.build() for index, item in self._items.items()}
        if terminal is not None:
            status = terminal.get("status")
            if status in ("completed", "incomplete"):
                for index, item in self._items.items():
                    if not item.done and items[index].get("status") == "in_progress":
                        items[index]["status"] = status
            final = terminal.get("output")
            if final.__class__ is list:
                items.update(enumerate(final))
        data["output"] = [items[i] for i in sorted(items)]
        response: Response = converter.structure(data, Response)
        return response


def _delta(
    spec: tuple[str | None, str, str, str | None],
    item: int,
    part: int,
    text: str,
) -> ResponseDelta:
    where, key, _, part_type = spec
    if where is None:
        return ArgumentsDelta(item, key, text)
    if part_type == "output_text":
        return TextDelta(item, part, text)
    if part_type == "refusal":
        return RefusalDelta(item, part, text)
    return ReasoningDelta(item, part, text, summary=where == "summary")
