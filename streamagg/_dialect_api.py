"""What each dialect's public module shares: ``replay``, ``fold``/``afold`` and the app helpers,
written once over a fold class. The public modules (``streamagg.responses``,
``streamagg.anthropic``) give them their own names, types and documents."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from ._convert import converter
from ._eventfold import EventFold
from ._fold import Folding
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source, replay_into

__all__ = ["afold_events", "fold_events", "replay_source", "structure"]

R = TypeVar("R")
D = TypeVar("D")

FoldClass = Callable[..., EventFold[R, Any]]


def replay_source(
    cls: FoldClass[R], source: Source, limits: Limits = DEFAULT_LIMITS, strict: bool = True
) -> R:
    """Fold a recorded stream (bytes, a path, an open file, byte pieces) with a dialect's fold."""
    return replay_into(cls(limits=limits, strict=strict), source)


def fold_events(
    cls: FoldClass[R],
    events: Iterable[Mapping[str, Any] | Any],
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> R:
    """Fold parsed events (dicts, or an SDK's event objects or stream) with a dialect's fold."""
    fold = cls(limits=limits, strict=strict)
    return Folding(events, fold, fold.receive_event).run(events)


async def afold_events(
    cls: FoldClass[R],
    events: AsyncIterable[Mapping[str, Any] | Any],
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> R:
    """The async twin of ``fold_events``."""
    fold = cls(limits=limits, strict=strict)
    return await Folding(events, fold, fold.receive_event).arun(events)


def structure(data: Mapping[str, Any], cls: type[R]) -> R:
    """A dialect's final object from its dict form (``to_dict`` output or a non-streaming
    response body). Lenient: values of unexpected types are kept in ``extensions``."""
    result: R = converter.structure(data, cls)
    return result
