"""The registry entry of chat completions (``POST /v1/chat/completions``), the library's first
dialect: what a stream that names no dialect is read as."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from .events import ContentDelta, Delta
from .fold import Aggregator
from .models import MODELS, ChatCompletionResponse
from .synthesize import synthesize

__all__ = ["DIALECT"]


def _claims_chunk(chunk: Mapping[str, Any]) -> bool:
    """Choices (legacy completions' come first in the registry), or a ``chat.completion``."""
    if chunk.get("choices") is not None:
        return True
    kind = chunk.get("object")
    return kind.__class__ is str and kind.startswith("chat.completion")


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, ContentDelta) and delta.choice == 0 else None


DIALECT: Dialect[ChatCompletionResponse, Delta] = Dialect(
    name="chat",
    aggregator=Aggregator,
    model=ChatCompletionResponse,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_chunk=_claims_chunk,
    # ``stream_options: None`` in a payload sends no ``stream_options`` at all.
    routes=(
        Route(
            path="/chat/completions",
            name="chat",
            body={"stream_options": {"include_usage": True}},
        ),
    ),
    done=b"data: [DONE]\n\n",
)
