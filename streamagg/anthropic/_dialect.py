"""The registry entry of anthropic Messages (``POST /v1/messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.dialect import Dialect, Route
from ._events import MessageDelta, TextDelta
from ._fold import MessagesAggregator
from ._models import MODELS, Message
from ._synthesize import synthesize

__all__ = ["DIALECT"]

#: The API version sent when the caller's headers name none.
ANTHROPIC_VERSION = "2023-06-01"
_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)


def _claims_body(body: Mapping[str, Any]) -> bool:
    return body.get("type") == "message"


def _auth(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key}


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


DIALECT: Dialect[Message, MessageDelta] = Dialect(
    name="anthropic",
    aggregator=MessagesAggregator,
    model=Message,
    models=MODELS,
    output_text=_output_text,
    synthesize=synthesize,
    claims_name=_EVENTS.__contains__,
    claims_body=_claims_body,
    routes=(
        Route(path="/messages", auth=_auth, headers={"anthropic-version": ANTHROPIC_VERSION}),
    ),
)
