"""Fold OpenAI Responses API streams (``POST /v1/responses`` with ``stream: true``).

``replay(source)`` folds a recorded stream into the ``Response`` a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg.responses._fold``); ``fold``/``afold``
take parsed events (dicts, or the openai SDK's event objects and streams); ``from_dict`` and
``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from .._core.dialect import lazy_app as _lazy_app
from ._events import (
    ArgumentsDelta,
    ItemDone,
    ItemStart,
    ReasoningDelta,
    RefusalDelta,
    ResponseDelta,
    ResponseFinished,
    TextDelta,
)
from ._fold import ResponsesAggregator as Aggregator
from ._models import ContentPart, OutputItem, Response, ResponseUsage

if _typing.TYPE_CHECKING:
    from .._app.dialects import Helpers as _Helpers

    _helpers = _typing.cast("_Helpers[Response, ResponseDelta]", None)
    acreate = _helpers.acreate
    astream = _helpers.astream
    create = _helpers.create
    stream = _helpers.stream

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

from ._dialect import DIALECT as _DIALECT

__getattr__ = _lazy_app(__name__, _DIALECT)
#: Fold a recorded stream into the ``Response`` it carries (see ``Dialect.replay``).
replay = _DIALECT.replay
#: Fold parsed events (dicts, SDK events, an SDK stream) into the ``Response``.
fold = _DIALECT.fold
#: The async twin of ``fold``.
afold = _DIALECT.afold
#: A ``Response`` from its dict form (``to_dict`` output or a non-streaming body).
from_dict = _DIALECT.from_dict
