"""A realistic Responses API stream for a final object: the events the API itself sends, in its
order (the object's start, each part started, its strings in ``chunk_size`` pieces, finished,
and the end). Folding them gives the object back."""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.framing import cut, sse_event
from ._models import Response

__all__ = ["responses_events", "synthesize"]

Event = dict[str, Any]


# Item keys streamed as strings: the event that streams each (without .delta / .done).
_ITEM_STRINGS = {
    "function_call": ("arguments", "response.function_call_arguments"),
    "mcp_call": ("arguments", "response.mcp_call_arguments"),
    "custom_tool_call": ("input", "response.custom_tool_call_input"),
    "code_interpreter_call": ("code", "response.code_interpreter_call_code"),
}
_PART_STRINGS = {
    "output_text": ("text", "response.output_text"),
    "refusal": ("refusal", "response.refusal"),
    "reasoning_text": ("text", "response.reasoning_text"),
    "summary_text": ("text", "response.reasoning_summary_text"),
}


def _part_events(where: str, index: int, at: Event, part: Event, size: int) -> list[Event]:
    """The events of one content or summary part."""
    kind = part.get("type")
    key_name = "content_index" if where == "content" else "summary_index"
    where_at = {**at, key_name: index}
    added_type = "content_part" if where == "content" else "reasoning_summary_part"
    streamed = _PART_STRINGS.get(kind)  # type: ignore[arg-type]
    text = part.get(streamed[0]) if streamed else None
    if streamed is None or not isinstance(text, str):
        empty = part
        events: list[Event] = []
    else:
        key, name = streamed
        empty = {**part, key: ""}
        if "annotations" in empty:
            empty["annotations"] = []
        if "logprobs" in empty:
            empty["logprobs"] = []
        events = [{"type": f"{name}.delta", **where_at, "delta": p} for p in cut(text, size)]
        events.append({"type": f"{name}.done", **where_at, key: text})
        for n, annotation in enumerate(part.get("annotations") or ()):
            events.append(
                {
                    "type": "response.output_text.annotation.added",
                    **where_at,
                    "annotation_index": n,
                    "annotation": annotation,
                }
            )
    added = {"type": f"response.{added_type}.added", **where_at, "part": empty}
    done = {"type": f"response.{added_type}.done", **where_at, "part": part}
    return [added, *events, done]


def _item_events(index: int, item: Event, size: int) -> list[Event]:
    kind = item.get("type")
    at = {"item_id": item.get("id"), "output_index": index}
    empty = {**item}
    if "status" in item:
        empty["status"] = "in_progress"
    events: list[Event] = []
    for where in ("summary", "content"):
        parts = item.get(where)
        if isinstance(parts, list) and all(isinstance(p, dict) for p in parts):
            empty[where] = []
            for n, part in enumerate(parts):
                events += _part_events(where, n, at, part, size)
    streamed = _ITEM_STRINGS.get(kind)  # type: ignore[arg-type]
    if streamed is not None and isinstance(item.get(streamed[0]), str):
        key, name = streamed
        empty[key] = ""
        events += [{"type": f"{name}.delta", **at, "delta": p} for p in cut(item[key], size)]
        events.append({"type": f"{name}.done", **at, key: item[key]})
    added = {"type": "response.output_item.added", "output_index": index, "item": empty}
    done = {"type": "response.output_item.done", "output_index": index, "item": item}
    return [added, *events, done]


def responses_events(response: Response, chunk_size: int = 4) -> list[Event]:
    """The Responses API events that stream ``response``, each with its ``sequence_number``."""
    final: Event = converter.unstructure(response)
    start = {**final, "status": "in_progress", "output": []}
    if "usage" in start:
        start["usage"] = None
    events: list[Event] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(final.get("output") or ()):
        events += _item_events(index, item, chunk_size)
    status = final.get("status")
    ending = status if status in ("incomplete", "failed") else "completed"
    events.append({"type": f"response.{ending}", "response": final})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def synthesize(obj: Response, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: each an SSE event named by its type.
    ``include_usage`` is for chat completions' streams only."""
    return [sse_event(e, name=e["type"]) for e in responses_events(obj, chunk_size)]
