"""The app helpers of the Gemini dialect: a live ``streamGenerateContent?alt=sse`` call, folded.

``create(client, url, payload, api_key=...)`` takes the model's URL
(``https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash``) and POSTs
``payload`` to ``{url}:streamGenerateContent?alt=sse`` with ``api_key`` as ``x-goog-api-key``.
"""

from __future__ import annotations

from ._app import Dialect
from ._gemini_fold import GeminiAggregator
from ._gemini_models import GeminiDelta, GenerateContentResponse, TextDelta

__all__ = ["acreate", "astream", "create", "stream"]


def _text(delta: GeminiDelta) -> str | None:
    return delta.text if isinstance(delta, TextDelta) and delta.candidate == 0 else None


def _auth(api_key: str) -> dict[str, str]:
    return {"x-goog-api-key": api_key}


DIALECT: Dialect[GenerateContentResponse, GeminiDelta] = Dialect(
    GeminiAggregator,
    _text,
    ":streamGenerateContent",
    _auth,
    params={"alt": "sse"},
    stream_flag=False,
)
stream = DIALECT.stream
astream = DIALECT.astream
create = DIALECT.create
acreate = DIALECT.acreate
