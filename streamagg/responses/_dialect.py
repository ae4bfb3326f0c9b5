"""The registry entry of the OpenAI Responses API (``POST /v1/responses``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from ._events import ResponseDelta, TextDelta
from ._fold import ResponsesAggregator
from ._models import MODELS, Response
from ._synthesize import synthesize

__all__ = ["DIALECT"]


def _claims_name(name: str) -> bool:
    return name.startswith("response.")


def _claims_body(body: Mapping[str, Any]) -> bool:
    return body.get("object") == "response"


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


DIALECT: Dialect[Response, ResponseDelta] = Dialect(
    name="responses",
    aggregator=ResponsesAggregator,
    model=Response,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_name=_claims_name,
    claims_body=_claims_body,
    routes=(Route(path="/responses"),),
)
