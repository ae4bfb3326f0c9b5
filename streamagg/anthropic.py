"""Fold Anthropic Messages streams (``POST /v1/messages`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Message`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._anthropic_fold``); ``fold``/``afold``
take parsed events (dicts, or the anthropic SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

from __future__ import annotations

import typing as _typing
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from ._anthropic_fold import MessagesAggregator as Aggregator
from ._anthropic_models import (
    BlockStart,
    BlockStop,
    ContentBlock,
    InputJSONDelta,
    Message,
    MessageDelta,
    MessageUsage,
    StopDelta,
    TextDelta,
    ThinkingDelta,
)
from ._dialect_api import afold_events, fold_events, replay_source, structure
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source

if _typing.TYPE_CHECKING:
    from ._anthropic_app import acreate, astream, create, stream

__all__ = [
    "Aggregator",
    "BlockStart",
    "BlockStop",
    "ContentBlock",
    "InputJSONDelta",
    "Message",
    "MessageDelta",
    "MessageUsage",
    "StopDelta",
    "TextDelta",
    "ThinkingDelta",
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
        raise AttributeError(f"module 'streamagg.anthropic' has no attribute {name!r}")
    from . import _anthropic_app  # noqa: PLC0415 - the app layer, only when it is used

    value = getattr(_anthropic_app, name)
    globals()[name] = value
    return value


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
