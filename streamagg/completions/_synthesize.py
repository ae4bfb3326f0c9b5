"""A realistic legacy completions stream for a final object: the events the API sends, in its
order (the object's start, each part started, its strings in ``chunk_size`` pieces, finished,
and the end). Folding them gives the object back."""

from __future__ import annotations

import itertools
from typing import Any

from .._core.convert import converter
from .._core.framing import cut, sse_event
from ._models import Completion

__all__ = ["completion_chunks", "synthesize"]

Event = dict[str, Any]


def completion_chunks(completion: Completion, chunk_size: int = 4) -> list[Event]:
    """The chunks of a legacy completions stream: each choice's text in pieces (logprob arrays
    spread over them), its finish reason on its last chunk, then a usage-only chunk."""
    final: Event = converter.unstructure(completion)
    keys = ("id", "object", "created", "model", "system_fingerprint")
    head: Event = {k: final[k] for k in keys if k in final}
    per_choice: list[list[Event]] = []
    for choice in final.get("choices") or ():
        pieces = cut(choice.get("text") or "", chunk_size) or [""]
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


def synthesize(obj: Completion, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: each a ``data:`` event (``data: [DONE]`` follows).
    ``include_usage`` is for chat completions' streams only."""
    return [sse_event(e) for e in completion_chunks(obj, chunk_size)]
