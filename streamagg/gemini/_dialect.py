"""The registry entry of gemini's ``streamGenerateContent`` (``alt=sse``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from ._events import GeminiDelta, TextDelta
from ._fold import GeminiAggregator
from ._models import MODELS, GenerateContentResponse
from ._synthesize import synthesize

__all__ = ["DIALECT"]

_KEYS = frozenset({"candidates", "promptFeedback", "usageMetadata"})


def _claims_chunk(chunk: Mapping[str, Any]) -> bool:
    return not _KEYS.isdisjoint(chunk)


def _auth(api_key: str) -> dict[str, str]:
    return {"x-goog-api-key": api_key}


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, TextDelta) and delta.candidate == 0 else None


DIALECT: Dialect[GenerateContentResponse, GeminiDelta] = Dialect(
    name="gemini",
    aggregator=GeminiAggregator,
    model=GenerateContentResponse,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_chunk=_claims_chunk,
    # The model's URL names the method: ``:streamGenerateContent`` streams, ``:generateContent``
    # does not; the body has no ``stream`` key.
    routes=(
        Route(
            path=":streamGenerateContent",
            serve=r"/models/(?P<model>[^/:]+):(?:(?P<stream>streamG)|g)enerateContent",
            auth=_auth,
            params={"alt": "sse"},
            stream_flag=False,
        ),
    ),
)
