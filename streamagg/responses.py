"""Fold OpenAI Responses API streams (``POST /v1/responses`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Response`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._responses_fold``); ``fold``/``afold``
take parsed events (dicts, or the openai SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from ._responses import afold, fold, from_dict, replay
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


def __getattr__(name: str) -> _typing.Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'streamagg.responses' has no attribute {name!r}")
    from . import _responses_app  # noqa: PLC0415 - the app layer, only when it is used

    value = getattr(_responses_app, name)
    globals()[name] = value
    return value
