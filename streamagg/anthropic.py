"""Fold Anthropic Messages streams (``POST /v1/messages`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Message`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._anthropic_fold``); ``fold``/``afold``
take parsed events (dicts, or the anthropic SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from ._anthropic import afold, fold, from_dict, replay
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


def __getattr__(name: str) -> _typing.Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'streamagg.anthropic' has no attribute {name!r}")
    from . import _anthropic_app  # noqa: PLC0415 - the app layer, only when it is used

    value = getattr(_anthropic_app, name)
    globals()[name] = value
    return value
