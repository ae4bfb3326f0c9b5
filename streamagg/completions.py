"""Fold legacy OpenAI ``/v1/completions`` streams (``text_completion``) into one ``Completion``.

``replay(source)`` folds a recorded stream into the object a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._completions_fold``); ``fold``/``afold``
take parsed chunks (dicts, or the openai SDK's ``Completion`` chunks and streams);
``from_dict`` and ``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``,
``create``, ``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from ._completions_fold import CompletionsAggregator as Aggregator
from ._completions_models import (
    Completion,
    CompletionChoice,
    CompletionDelta,
    CompletionFinish,
    CompletionLogprobs,
    CompletionText,
    CompletionUsage,
)
from ._dialect_api import DialectAPI as _DialectAPI
from ._dialect_api import lazy_app as _lazy_app

if _typing.TYPE_CHECKING:
    from ._completions_app import acreate, astream, create, stream

__all__ = [
    "Aggregator",
    "Completion",
    "CompletionChoice",
    "CompletionDelta",
    "CompletionFinish",
    "CompletionLogprobs",
    "CompletionText",
    "CompletionUsage",
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
    __name__, "_completions_app", frozenset({"acreate", "astream", "create", "stream"})
)

_api = _DialectAPI(Aggregator, Completion)
#: Fold a recorded stream into the ``Completion`` it carries.
replay = _api.replay
#: Fold parsed chunks (dicts, openai SDK objects) into the ``Completion``.
fold = _api.fold
#: The async twin of ``fold``.
afold = _api.afold
#: A ``Completion`` from its dict form (a non-streaming body).
from_dict = _api.from_dict
