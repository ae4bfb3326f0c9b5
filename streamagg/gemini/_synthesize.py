"""A realistic Gemini stream for a final object: the events the API itself sends, in its
order (the object's start, each part started, its strings in ``chunk_size`` pieces, finished,
and the end). Folding them gives the object back."""

from __future__ import annotations

import itertools
from typing import Any

from .._core.convert import converter
from .._core.framing import cut, sse_event
from ._models import GenerateContentResponse

__all__ = ["gemini_chunks", "synthesize"]

Event = dict[str, Any]


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
                pieces = cut(text, chunk_size) or [""]
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


def synthesize(obj: GenerateContentResponse, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: each a ``data:`` event ended by CRLF, as Gemini sends them.
    ``include_usage`` is for chat completions' streams only."""
    return [sse_event(e, end=b"\r\n\r\n") for e in gemini_chunks(obj, chunk_size)]
