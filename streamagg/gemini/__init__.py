"""Fold Gemini ``streamGenerateContent?alt=sse`` streams into the ``GenerateContentResponse``.

``replay(source)`` folds a recorded stream into the object ``generateContent`` returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg.gemini._fold``); ``fold``/``afold`` take
parsed chunks (dicts, or google-genai response objects); ``from_dict`` and ``streamagg.to_dict``
convert (the API's camelCase keys). The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from .._core.dialect import lazy_app as _lazy_app
from ._events import FinishDelta, GeminiDelta, PartStart, TextDelta, ThoughtDelta
from ._fold import GeminiAggregator as Aggregator
from ._models import Candidate, Content, GenerateContentResponse, Part, UsageMetadata

if _typing.TYPE_CHECKING:
    from .._app.dialects import Helpers as _Helpers

    _helpers = _typing.cast("_Helpers[GenerateContentResponse, GeminiDelta]", None)
    acreate = _helpers.acreate
    astream = _helpers.astream
    create = _helpers.create
    stream = _helpers.stream

__all__ = [
    "Aggregator",
    "Candidate",
    "Content",
    "FinishDelta",
    "GeminiDelta",
    "GenerateContentResponse",
    "Part",
    "PartStart",
    "TextDelta",
    "ThoughtDelta",
    "UsageMetadata",
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
#: Fold a recorded stream into the ``GenerateContentResponse`` it carries.
replay = _DIALECT.replay
#: Fold parsed chunks (dicts, google-genai objects) into the ``GenerateContentResponse``.
fold = _DIALECT.fold
#: The async twin of ``fold``.
afold = _DIALECT.afold
#: A ``GenerateContentResponse`` from its dict form (camelCase keys, as the API sends).
from_dict = _DIALECT.from_dict
