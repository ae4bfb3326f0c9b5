"""Fold OpenAI Responses API streams (``POST /v1/responses`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Response`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._responses_fold``); ``fold``/``afold``
take parsed events (dicts, or the openai SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from ._dialect_api import DialectAPI as _DialectAPI
from ._dialect_api import lazy_app as _lazy_app
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

__getattr__ = _lazy_app(
    __name__, "_responses_app", frozenset({"acreate", "astream", "create", "stream"})
)

_api = _DialectAPI(Aggregator, Response)
#: Fold a recorded stream into the ``Response`` it carries (see ``DialectAPI.replay``).
replay = _api.replay
#: Fold parsed events (dicts, SDK events, an SDK stream) into the ``Response``.
fold = _api.fold
#: The async twin of ``fold``.
afold = _api.afold
#: A ``Response`` from its dict form (``to_dict`` output or a non-streaming body).
from_dict = _api.from_dict
