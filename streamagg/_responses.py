"""The entry points of the Responses API dialect (re-exported by ``streamagg.responses``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from ._dialect_api import afold_events, fold_events, replay_source, structure
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source
from ._responses_fold import ResponsesAggregator as Aggregator
from ._responses_models import Response

__all__ = ["afold", "fold", "from_dict", "replay"]


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
