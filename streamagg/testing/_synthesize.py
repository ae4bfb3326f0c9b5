"""``synthesize()``: the realistic stream, as bytes, that folds to a given final object, in its
dialect's own events and framing (each dialect's synthesizer, found through the registry)."""

from __future__ import annotations

from collections.abc import Mapping

from .._chat.synthesize import synthesize_chunks
from .._registry import DEFAULT, dialect_of
from ._format import timing_line

__all__ = ["synthesize", "synthesize_chunks"]


def synthesize(
    response: object,
    *,
    chunk_size: int = 4,
    include_usage: bool = True,
    interval: float | None = None,
) -> bytes:
    """A realistic stream (bytes) for a final object, in its API's own dialect and framing.

    A ``ChatCompletionResponse`` (or its dict) gives ``chat.completion.chunk`` events ending in
    ``data: [DONE]``; a Responses API ``Response`` the ``response.*`` events; an Anthropic
    ``Message`` ``message_start`` … ``message_stop``; a Gemini ``GenerateContentResponse`` its
    chunks (CRLF-framed, as Gemini sends them); an ``OllamaResponse`` JSON lines; a legacy
    ``Completion`` its chunks and ``[DONE]``. ``replay(synthesize(r)) == r`` with the dialect's
    ``replay``. With ``interval``, each event is preceded by a timing line (``: t=...``),
    ``interval`` seconds apart, so ``ReplayTransport(timing=True)`` paces it (not for Ollama's
    JSON lines, which have no comments: ``ValueError``). The object of a dialect registered
    later streams the same way (``TypeError`` for an object of no dialect).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if isinstance(response, Mapping):
        response = DEFAULT.from_dict(response)
    dialect = dialect_of(response)
    if interval is not None and dialect.framing == "ndjson":
        raise ValueError("JSON lines have no timing lines: use interval=None for Ollama")
    events = dialect.synthesize(response, chunk_size, include_usage)
    if dialect.done:
        events.append(dialect.done)
    if interval is None:
        return b"".join(events)
    return b"".join(timing_line(n * interval) + e for n, e in enumerate(events, 1))
