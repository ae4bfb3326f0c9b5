"""The registry entry of ollama's native NDJSON (``POST /api/chat`` and ``/api/generate``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from ._events import OllamaDelta, TextDelta
from ._fold import OllamaAggregator
from ._models import MODELS, OllamaResponse
from ._synthesize import synthesize

__all__ = ["DIALECT"]


def _claims_chunk(chunk: Mapping[str, Any]) -> bool:
    return "done" in chunk and ("message" in chunk or "response" in chunk)


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


DIALECT: Dialect[OllamaResponse, OllamaDelta] = Dialect(
    name="ollama",
    aggregator=OllamaAggregator,
    model=OllamaResponse,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_chunk=_claims_chunk,
    # Ollama streams unless the body says ``"stream": false``.
    routes=(
        Route(path="/api/chat", streams_by_default=True),
        Route(path="/api/generate", name="generate", streams_by_default=True),
    ),
)
