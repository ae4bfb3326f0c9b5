"""A realistic Ollama stream for a final object: the events the API itself sends, in its
order (the object's start, each part started, its strings in ``chunk_size`` pieces, finished,
and the end). Folding them gives the object back."""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.framing import cut, json_line
from ._models import OllamaResponse

__all__ = ["ollama_lines", "synthesize"]

Event = dict[str, Any]


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
        {text_key: "", "thinking": p} for p in cut(source.get("thinking") or "", chunk_size)
    ]
    shares += [{text_key: p} for p in cut(source.get(text_key) or "", chunk_size)]
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


def synthesize(obj: OllamaResponse, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: each a JSON line.
    ``include_usage`` is for chat completions' streams only."""
    return [json_line(e) for e in ollama_lines(obj, chunk_size)]
