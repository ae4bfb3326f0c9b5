"""The app helpers of the Ollama dialect: a live ``/api/chat`` or ``/api/generate`` stream, folded.

``create`` POSTs to ``{url}/api/chat`` and ``generate`` to ``{url}/api/generate`` (``url``: the
server, ``http://localhost:11434``), with ``stream: true`` and ``api_key`` (Ollama's cloud) as a
Bearer token.
"""

from __future__ import annotations

from ._app import Dialect
from ._ollama_fold import OllamaAggregator
from ._ollama_models import OllamaDelta, OllamaResponse, TextDelta

__all__ = ["acreate", "agenerate", "astream", "create", "generate", "stream"]


def _text(delta: OllamaDelta) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


DIALECT: Dialect[OllamaResponse, OllamaDelta] = Dialect(
    OllamaAggregator, _text, "/api/chat", _auth
)
GENERATE: Dialect[OllamaResponse, OllamaDelta] = Dialect(
    OllamaAggregator, _text, "/api/generate", _auth
)
stream = DIALECT.stream
astream = DIALECT.astream
create = DIALECT.create
acreate = DIALECT.acreate
generate = GENERATE.create
agenerate = GENERATE.acreate
