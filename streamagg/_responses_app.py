"""The app helpers of the Responses API dialect: a live ``POST /v1/responses`` stream, folded.

Each is a method of the dialect's ``Dialect`` (``streamagg._app``): ``stream``/``astream`` take
the arguments of ``client.stream``, ``create``/``acreate`` POST a payload to ``{url}/responses``
with ``stream: true`` and ``api_key`` as a Bearer token.
"""

from __future__ import annotations

from ._app import Dialect
from ._responses_fold import ResponsesAggregator
from ._responses_models import Response, ResponseDelta, TextDelta

__all__ = ["acreate", "astream", "create", "stream"]


def _text(delta: ResponseDelta) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


DIALECT: Dialect[Response, ResponseDelta] = Dialect(
    ResponsesAggregator, _text, "/responses", _auth
)
stream = DIALECT.stream
astream = DIALECT.astream
create = DIALECT.create
acreate = DIALECT.acreate
