"""Fold Anthropic Messages streams (``POST /v1/messages`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Message`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._anthropic_fold``); ``fold``/``afold``
take parsed events (dicts, or the anthropic SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

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
from ._dialect_api import DialectAPI as _DialectAPI
from ._dialect_api import lazy_app as _lazy_app

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

__getattr__ = _lazy_app(
    __name__, "_anthropic_app", frozenset({"acreate", "astream", "create", "stream"})
)

_api = _DialectAPI(Aggregator, Message)
#: Fold a recorded stream into the ``Message`` it carries (see ``DialectAPI.replay``).
replay = _api.replay
#: Fold parsed events (dicts, SDK events, an SDK stream) into the ``Message``.
fold = _api.fold
#: The async twin of ``fold``.
afold = _api.afold
#: A ``Message`` from its dict form (``to_dict`` output or a non-streaming body).
from_dict = _api.from_dict
