"""The entry points of the Anthropic Messages dialect (re-exported by ``streamagg.anthropic``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from ._anthropic_fold import MessagesAggregator as Aggregator
from ._anthropic_models import Message
from ._dialect_api import afold_events, fold_events, replay_source, structure
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source

__all__ = ["afold", "fold", "from_dict", "replay"]


def replay(source: Source, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> Message:
    """Fold a recorded Anthropic Messages stream into the ``Message`` it carries.

    ``source`` is the stream's bytes, a path to a recording, an open binary file or byte pieces;
    a recorded non-streaming answer (the message JSON) is accepted too. Raises
    ``UpstreamError`` (an ``error`` event), ``IncompleteStreamError`` (no ``message_stop``;
    unless ``strict=False``), ``MalformedChunkError`` and ``LimitExceededError``, each with the
    partial ``Message`` as ``.partial``.
    """
    return replay_source(Aggregator, source, limits, strict)


def fold(
    events: Iterable[Mapping[str, Any] | Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> Message:
    """Fold parsed events: dicts, or the anthropic SDK's event objects (a
    ``client.messages.create(..., stream=True)`` stream, whose errors become ``UpstreamError``
    or ``StreamInterruptedError`` with the partial message)."""
    return fold_events(Aggregator, events, limits, strict)


async def afold(
    events: AsyncIterable[Mapping[str, Any] | Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> Message:
    """The async twin of ``fold``."""
    return await afold_events(Aggregator, events, limits, strict)


def from_dict(data: Mapping[str, Any]) -> Message:
    """A ``Message`` from its dict form (``to_dict`` output or a non-streaming body)."""
    return structure(data, Message)
