"""Fold Ollama's native NDJSON streams (``/api/chat``, ``/api/generate``) into one answer.

``replay(source)`` folds a recorded stream into the ``OllamaResponse`` a ``"stream": false``
call returns; ``Aggregator`` is the sans-IO fold (rules: ``streamagg.ollama._fold``); the
stream is newline-delimited JSON, read by the NDJSON framing (``streamagg._core.ndjson``).
``fold``/``afold`` take parsed lines (dicts, or ollama-python response objects); ``from_dict``
and ``streamagg.to_dict`` convert. The app helpers (``stream``, ``astream``, ``create`` and
``acreate`` for ``/api/chat``, ``generate`` and ``agenerate`` for ``/api/generate``) need httpx
and are loaded on first use.
"""

import typing as _typing

from .._core.dialect import lazy_app as _lazy_app
from ._events import OllamaDelta, TextDelta, ThinkingDelta, ToolCallDelta
from ._fold import OllamaAggregator as Aggregator
from ._models import OllamaMessage, OllamaResponse

if _typing.TYPE_CHECKING:
    from .._app.dialects import Helpers as _Helpers

    _helpers = _typing.cast("_Helpers[OllamaResponse, OllamaDelta]", None)
    acreate = _helpers.acreate
    agenerate = _helpers.acreate
    astream = _helpers.astream
    create = _helpers.create
    generate = _helpers.create
    stream = _helpers.stream

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


from ._dialect import DIALECT as _DIALECT

__getattr__ = _lazy_app(__name__, _DIALECT)
#: Fold a recorded NDJSON stream into the ``OllamaResponse`` it carries.
replay = _DIALECT.replay
#: Fold parsed lines (dicts, ollama-python objects) into the ``OllamaResponse``.
fold = _DIALECT.fold
#: The async twin of ``fold``.
afold = _DIALECT.afold
#: An ``OllamaResponse`` from its dict form (a ``"stream": false`` body).
from_dict = _DIALECT.from_dict
