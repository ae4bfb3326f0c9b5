"""A realistic Anthropic Messages stream for a final object: the events the API sends, in its
order (the object's start, each part started, its strings in ``chunk_size`` pieces, finished,
and the end). Folding them gives the object back."""

from __future__ import annotations

import json
from typing import Any

from .._core.convert import converter
from .._core.framing import cut, sse_event
from ._models import ContentBlock, Message

__all__ = ["anthropic_events", "synthesize"]

Event = dict[str, Any]


def _block_events(index: int, block: ContentBlock, size: int) -> list[Event]:
    whole: Event = converter.unstructure(block)
    start = dict(whole)
    deltas: list[Event] = []
    for key, delta_type in (("thinking", "thinking_delta"), ("text", "text_delta")):
        if isinstance(block.text if key == "text" else block.thinking, str):
            start[key] = ""
            deltas += [{"type": delta_type, key: p} for p in cut(whole[key], size)]
    if block.citations is not None:
        start["citations"] = []
        deltas += [{"type": "citations_delta", "citation": c} for c in block.citations]
    if block.signature is not None:
        start["signature"] = ""
        deltas.append({"type": "signature_delta", "signature": block.signature})
    if isinstance(block.input, dict) and block.input:
        start["input"] = {}
        text = json.dumps(block.input, ensure_ascii=False)
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in cut(text, size)]
    events: list[Event] = [{"type": "content_block_start", "index": index, "content_block": start}]
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def anthropic_events(message: Message, chunk_size: int = 4) -> list[Event]:
    """The Anthropic Messages events that stream ``message``."""
    final: Event = converter.unstructure(message)
    usage = final.get("usage")
    start = {**final, "content": [], "stop_reason": None, "stop_sequence": None}
    end_usage: Event = {}
    if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
        start["usage"] = {**usage, "output_tokens": min(usage["output_tokens"], 1)}
        end_usage = {"output_tokens": usage["output_tokens"]}
    events: list[Event] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message.content):
        events += _block_events(index, block, chunk_size)
    delta = {"stop_reason": message.stop_reason, "stop_sequence": message.stop_sequence}
    events.append({"type": "message_delta", "delta": delta, "usage": end_usage})
    events.append({"type": "message_stop"})
    return events


def synthesize(obj: Message, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: each an SSE event named by its type.
    ``include_usage`` is for chat completions' streams only."""
    return [sse_event(e, name=e["type"]) for e in anthropic_events(obj, chunk_size)]
