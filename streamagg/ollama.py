"""Fold Ollama's native NDJSON streams (``/api/chat``, ``/api/generate``) into one answer.

``replay(source)`` folds a recorded stream into the ``OllamaResponse`` a ``"stream": false``
call returns; ``Aggregator`` is the sans-IO fold (rules: ``streamagg._ollama_fold``); the
stream is newline-delimited JSON, read by the NDJSON framing (``streamagg._ndjson``).
``fold``/``afold`` take parsed lines (dicts, or ollama-python response objects); ``from_dict``
and ``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create`` and
``acreate`` for ``/api/chat``, ``generate`` and ``agenerate`` for ``/api/generate``) need httpx
and are loaded on first use.
"""

import typing as _typing

from ._dialect_api import DialectAPI as _DialectAPI
from ._dialect_api import lazy_app as _lazy_app
from ._ollama_fold import OllamaAggregator as Aggregator
from ._ollama_models import (
    OllamaDelta,
    OllamaMessage,
    OllamaResponse,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
)

if _typing.TYPE_CHECKING:
    from ._ollama_app import acreate, agenerate, astream, create, generate, stream

__all__ = [
    "Aggregator",
    "OllamaDelta",
    "OllamaMessage",
    "OllamaResponse",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallDelta",
    "acreate",
    "afold",
    "agenerate",
    "astream",
    "create",
    "fold",
    "from_dict",
    "generate",
    "replay",
    "stream",
]

__getattr__ = _lazy_app(
    __name__,
    "_ollama_app",
    frozenset({"acreate", "agenerate", "astream", "create", "generate", "stream"}),
)

_api = _DialectAPI(Aggregator, OllamaResponse)
#: Fold a recorded NDJSON stream into the ``OllamaResponse`` it carries.
replay = _api.replay
#: Fold parsed lines (dicts, ollama-python objects) into the ``OllamaResponse``.
fold = _api.fold
#: The async twin of ``fold``.
afold = _api.afold
#: An ``OllamaResponse`` from its dict form (a ``"stream": false`` body).
from_dict = _api.from_dict
