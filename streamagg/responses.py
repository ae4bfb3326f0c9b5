"""Fold OpenAI Responses API streams (``POST /v1/responses`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Response`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._responses_fold``); ``fold``/``afold``
take parsed events (dicts, or the openai SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

from __future__ import annotations

import typing as _typing
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from ._dialect_api import afold_events, fold_events, replay_source, structure
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source
from ._responses_fold import ResponsesAggregator as Aggregator
from ._responses_models import (
    ArgumentsDelta,
    ContentPart,
    ItemDone,
    ItemStart,
    OutputItem,
    ReasoningDelta,
    RefusalDelta,
    Response,
    ResponseDelta,
    ResponseFinished,
    ResponseUsage,
    TextDelta,
)

if _typing.TYPE_CHECKING:
    from ._responses_app import acreate, astream, create, stream

__all__ = [
    "Aggregator",
    "ArgumentsDelta",
    "ContentPart",
    "ItemDone",
    "ItemStart",
    "OutputItem",
    "ReasoningDelta",
    "RefusalDelta",
    "Response",
    "ResponseDelta",
    "ResponseFinished",
    "ResponseUsage",
    "TextDelta",
    "acreate",
    "afold",
    "astream",
    "create",
    "fold",
    "from_dict",
    "replay",
    "stream",
]

_LAZY = frozenset({"acreate", "astream", "create", "stream"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'streamagg.responses' has no attribute {name!r}")
    from . import _responses_app  # noqa: PLC0415 - the app layer, only when it is used

    value = getattr(_responses_app, name)
    globals()[name] = value
    return value


def replay(source: Source, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> Response:
    """Fold a recorded Responses API stream into the ``Response`` it carries.

    ``source`` is the stream's bytes, a path to a recording, an open binary file or byte pieces;
    a recorded non-streaming answer (the ``response`` JSON) is accepted too. Raises
    ``UpstreamError`` (``response.failed``, an ``error`` event), ``IncompleteStreamError`` (no
    terminal event; unless ``strict=False``), ``MalformedChunkError`` and
    ``LimitExceededError``, each with the partial ``Response`` as ``.partial``.
    """
    return replay_source(Aggregator, source, limits, strict)


def fold(
    events: Iterable[Mapping[str, Any] | Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> Response:
    """Fold parsed events: dicts, or the openai SDK's event objects (a
    ``client.responses.create(..., stream=True)`` stream, whose errors become ``UpstreamError``
    or ``StreamInterruptedError`` with the partial response)."""
    return fold_events(Aggregator, events, limits, strict)


async def afold(
    events: AsyncIterable[Mapping[str, Any] | Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> Response:
    """The async twin of ``fold``."""
    return await afold_events(Aggregator, events, limits, strict)


def from_dict(data: Mapping[str, Any]) -> Response:
    """A ``Response`` from its dict form (``to_dict`` output or a non-streaming body)."""
    return structure(data, Response)
