"""Realistic streams for the final objects of the dialects other than chat completions.

Each event list is what the API itself sends, in its order: the start of the object, each item
or block started, its strings in ``chunk_size`` pieces, finished, and the end. Folding the
events gives the object back (``replay(synthesize(x)) == x``; a failed Responses API response
replays as the ``UpstreamError`` whose partial it is).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from ._anthropic_models import ContentBlock, Message
from ._completions_models import Completion
from ._convert import converter
from ._gemini_models import GenerateContentResponse
from ._ollama_models import OllamaResponse
from ._responses_models import Response

__all__ = [
    "anthropic_events",
    "completion_chunks",
    "gemini_chunks",
    "ollama_lines",
    "responses_events",
]

Event = dict[str, Any]


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- the Responses API -------------------------------------------------------------------------

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
        events = [{"type": f"{name}.delta", **where_at, "delta": p} for p in _pieces(text, size)]
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
        events += [{"type": f"{name}.delta", **at, "delta": p} for p in _pieces(item[key], size)]
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


# -- Anthropic Messages ------------------------------------------------------------------------


def _block_events(index: int, block: ContentBlock, size: int) -> list[Event]:
    whole: Event = converter.unstructure(block)
    start = dict(whole)
    deltas: list[Event] = []
    for key, delta_type in (("thinking", "thinking_delta"), ("text", "text_delta")):
        if isinstance(block.text if key == "text" else block.thinking, str):
            start[key] = ""
            deltas += [{"type": delta_type, key: p} for p in _pieces(whole[key], size)]
    if block.citations is not None:
        start["citations"] = []
        deltas += [{"type": "citations_delta", "citation": c} for c in block.citations]
    if block.signature is not None:
        start["signature"] = ""
        deltas.append({"type": "signature_delta", "signature": block.signature})
    if isinstance(block.input, dict) and block.input:
        start["input"] = {}
        text = json.dumps(block.input, ensure_ascii=False)
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text, size)]
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


# -- Gemini ------------------------------------------------------------------------------------


def gemini_chunks(response: GenerateContentResponse, chunk_size: int = 4) -> list[Event]:
    """The chunks of a Gemini stream for ``response``: each text part in pieces (its
    ``thoughtSignature`` on its first piece), other parts whole, candidates interleaved, the
    finish reason and the top-level keys (usage included, as Gemini repeats it) on the last."""
    final: Event = converter.unstructure(response)
    top = {k: v for k, v in final.items() if k != "candidates"}
    per_candidate: list[list[Event]] = []
    for candidate in final.get("candidates") or ():
        entries: list[Event] = []
        content = candidate.get("content") or {}
        role = content.get("role")
        for part in content.get("parts") or ():
            text = part.get("text")
            if isinstance(text, str) and set(part) <= {"text", "thought", "thoughtSignature"}:
                pieces = _pieces(text, chunk_size) or [""]
                for n, piece in enumerate(pieces):
                    entry = {**part, "text": piece} if n == 0 else {"text": piece}
                    if part.get("thought") and n:
                        entry["thought"] = True
                    entries.append(entry)
            else:
                entries.append(part)
        rest = {k: v for k, v in candidate.items() if k != "content"}
        chunks: list[Event] = []
        for part in entries:
            chunk_content: Event = {"parts": [part]}
            if role is not None:
                chunk_content["role"] = role
            chunks.append({"content": chunk_content, **_index_of(rest)})
        if not chunks:  # no parts: the content as it is, if any
            chunks.append({"content": content} if "content" in candidate else {})
        chunks[-1].update(rest)
        per_candidate.append(chunks)
    events: list[Event] = [
        {"candidates": [c for c in row if c is not None]}
        for row in itertools.zip_longest(*per_candidate)
    ]
    if not events:
        events.append({})
    events[-1].update(top)
    return events


def _index_of(candidate: Event) -> Event:
    return {"index": candidate["index"]} if "index" in candidate else {}


# -- Ollama ------------------------------------------------------------------------------------


def ollama_lines(response: OllamaResponse, chunk_size: int = 4) -> list[Event]:
    """The lines of an Ollama stream for ``response``: thinking then text in pieces, each tool
    call whole, then the ``done: true`` line with the timings and counts."""
    final: Event = converter.unstructure(response)
    head: Event = {k: final[k] for k in ("model", "created_at") if k in final}
    message = final.get("message")
    chat = isinstance(message, dict)
    source: Event = message if chat else final  # type: ignore[assignment]
    text_key = "content" if chat else "response"
    base = {k: v for k, v in source.items() if k not in (text_key, "thinking", "tool_calls")}
    if not chat:
        base = {}
    shares: list[Event] = [
        {text_key: "", "thinking": p} for p in _pieces(source.get("thinking") or "", chunk_size)
    ]
    shares += [{text_key: p} for p in _pieces(source.get(text_key) or "", chunk_size)]
    shares += [{text_key: "", "tool_calls": [c]} for c in source.get("tool_calls") or ()]
    ending: Event = {text_key: ""}
    if "thinking" in source:
        ending["thinking"] = ""
    if chat:
        lines = [{**head, "message": {**base, **share}, "done": False} for share in shares]
        lines.append({**final, "message": {**base, **ending}})
    else:
        lines = [{**head, **share, "done": False} for share in shares]
        lines.append({**final, **ending})
    return lines


# -- legacy completions ------------------------------------------------------------------------


def completion_chunks(completion: Completion, chunk_size: int = 4) -> list[Event]:
    """The chunks of a legacy completions stream: each choice's text in pieces (logprob arrays
    spread over them), its finish reason on its last chunk, then a usage-only chunk."""
    final: Event = converter.unstructure(completion)
    keys = ("id", "object", "created", "model", "system_fingerprint")
    head: Event = {k: final[k] for k in keys if k in final}
    per_choice: list[list[Event]] = []
    for choice in final.get("choices") or ():
        pieces = _pieces(choice.get("text") or "", chunk_size) or [""]
        logprobs = choice.get("logprobs")
        rest = {k: v for k, v in choice.items() if k not in ("text", "logprobs")}
        entries = []
        for n, piece in enumerate(pieces):
            entry: Event = {"text": piece, "index": choice.get("index", 0)}
            entry["logprobs"] = _logprob_share(logprobs, n, len(pieces))
            entry["finish_reason"] = None
            entries.append(entry)
        entries[-1].update(rest)
        per_choice.append(entries)
    chunks = [
        {**head, "choices": [e for e in row if e is not None]}
        for row in itertools.zip_longest(*per_choice)
    ]
    if "usage" in final:
        chunks.append({**head, "choices": [], "usage": final["usage"]})
    return chunks or [{**head, "choices": []}]


def _logprob_share(logprobs: Any, n: int, count: int) -> Any:
    """The ``n``-th of ``count`` shares of a choice's logprob arrays (other keys on the first)."""
    if not isinstance(logprobs, dict):
        return None if n else logprobs
    share: Event = {} if n else {k: v for k, v in logprobs.items() if not isinstance(v, list)}
    for key, values in logprobs.items():
        if isinstance(values, list):
            per = -(-len(values) // count)
            share[key] = values[n * per : (n + 1) * per]
    return share
