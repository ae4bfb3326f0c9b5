"""The app helpers of the legacy completions dialect: a live ``POST /v1/completions`` stream.

``create`` POSTs to ``{url}/completions`` with ``stream: true`` and
``stream_options: {"include_usage": true}`` unless the payload sets them, ``api_key`` as a
Bearer token.
"""

from __future__ import annotations

from ._app import Dialect
from ._completions_fold import CompletionsAggregator
from ._completions_models import Completion, CompletionDelta, CompletionText

__all__ = ["acreate", "astream", "create", "stream"]


def _text(delta: CompletionDelta) -> str | None:
    return delta.text if isinstance(delta, CompletionText) and delta.choice == 0 else None


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


DIALECT: Dialect[Completion, CompletionDelta] = Dialect(
    CompletionsAggregator,
    _text,
    "/completions",
    _auth,
    body={"stream_options": {"include_usage": True}},
)
stream = DIALECT.stream
astream = DIALECT.astream
create = DIALECT.create
acreate = DIALECT.acreate
