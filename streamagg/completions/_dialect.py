"""The registry entry of legacy OpenAI completions (``POST /v1/completions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from ._events import CompletionDelta, CompletionText
from ._fold import CompletionsAggregator
from ._models import MODELS, Completion
from ._synthesize import synthesize

__all__ = ["DIALECT"]


def _claims_chunk(chunk: Mapping[str, Any]) -> bool:
    """A ``text_completion``, or choices that carry ``text`` and no ``delta`` or ``message``."""
    if chunk.get("object") == "text_completion":
        return True
    choices = chunk.get("choices")
    if choices.__class__ is list and choices and choices[0].__class__ is dict:
        first = choices[0]
        return "text" in first and "delta" not in first and "message" not in first
    return False


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, CompletionText) and delta.choice == 0 else None


DIALECT: Dialect[Completion, CompletionDelta] = Dialect(
    name="completions",
    aggregator=CompletionsAggregator,
    model=Completion,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_chunk=_claims_chunk,
    routes=(Route(path="/completions", body={"stream_options": {"include_usage": True}}),),
    done=b"data: [DONE]\n\n",
)
