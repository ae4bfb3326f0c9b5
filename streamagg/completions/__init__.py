"""Fold legacy OpenAI ``/v1/completions`` streams (``text_completion``) into one ``Completion``.

``replay(source)`` folds a recorded stream into the object a non-streaming call returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg.completions._fold``); ``fold``/``afold``
take parsed chunks (dicts, or the openai SDK's ``Completion`` chunks and streams);
``from_dict`` and ``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``,
``create``, ``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from .._core.dialect import lazy_app as _lazy_app
from ._events import CompletionDelta, CompletionFinish, CompletionText
from ._fold import CompletionsAggregator as Aggregator
from ._models import Completion, CompletionChoice, CompletionLogprobs, CompletionUsage

if _typing.TYPE_CHECKING:
    from .._app.dialects import Helpers as _Helpers

    _helpers = _typing.cast("_Helpers[Completion, CompletionDelta]", None)
    acreate = _helpers.acreate
    astream = _helpers.astream
    create = _helpers.create
    stream = _helpers.stream

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

from ._dialect import DIALECT as _DIALECT

__getattr__ = _lazy_app(__name__, _DIALECT)
#: Fold a recorded stream into the ``Completion`` it carries.
replay = _DIALECT.replay
#: Fold parsed chunks (dicts, openai SDK objects) into the ``Completion``.
fold = _DIALECT.fold
#: The async twin of ``fold``.
afold = _DIALECT.afold
#: A ``Completion`` from its dict form (a non-streaming body).
from_dict = _DIALECT.from_dict
