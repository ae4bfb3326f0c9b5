"""Fold Gemini ``streamGenerateContent?alt=sse`` streams into the ``GenerateContentResponse``.

``replay(source)`` folds a recorded stream into the object ``generateContent`` returns;
``Aggregator`` is the sans-IO fold (rules: ``streamagg._gemini_fold``); ``fold``/``afold`` take
parsed chunks (dicts, or google-genai response objects); ``from_dict`` and ``streamagg.to_dict``
convert (the API's camelCase keys). The app helpers (``stream``, ``astream``, ``create``,
``acreate``) need httpx and are loaded on first use.
"""

import typing as _typing

from ._dialect_api import DialectAPI as _DialectAPI
from ._dialect_api import lazy_app as _lazy_app
from ._gemini_fold import GeminiAggregator as Aggregator
from ._gemini_models import (
    Candidate,
    Content,
    FinishDelta,
    GeminiDelta,
    GenerateContentResponse,
    Part,
    PartStart,
    TextDelta,
    ThoughtDelta,
    UsageMetadata,
)

if _typing.TYPE_CHECKING:
    from ._gemini_app import acreate, astream, create, stream

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

__getattr__ = _lazy_app(
    __name__, "_gemini_app", frozenset({"acreate", "astream", "create", "stream"})
)

_api = _DialectAPI(Aggregator, GenerateContentResponse)
#: Fold a recorded stream into the ``GenerateContentResponse`` it carries.
replay = _api.replay
#: Fold parsed chunks (dicts, google-genai objects) into the ``GenerateContentResponse``.
fold = _api.fold
#: The async twin of ``fold``.
afold = _api.afold
#: A ``GenerateContentResponse`` from its dict form (camelCase keys, as the API sends).
from_dict = _api.from_dict
