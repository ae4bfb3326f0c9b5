"""The app helpers of the Anthropic Messages dialect: a live ``POST /v1/messages`` stream, folded.

Each is a method of the dialect's ``Dialect`` (``streamagg._app``): ``stream``/``astream`` take
the arguments of ``client.stream``, ``create``/``acreate`` POST a payload to ``{url}/messages``
with ``stream: true``, ``api_key`` as ``x-api-key`` and ``anthropic-version: 2023-06-01``
unless ``headers`` set another.
"""

from __future__ import annotations

from ._anthropic_fold import MessagesAggregator
from ._anthropic_models import Message, MessageDelta, TextDelta
from ._app import Dialect

__all__ = ["acreate", "astream", "create", "stream"]

#: The API version sent when the caller's headers name none.
ANTHROPIC_VERSION = "2023-06-01"


def _text(delta: MessageDelta) -> str | None:
    return delta.text if isinstance(delta, TextDelta) else None


def _auth(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key}


DIALECT: Dialect[Message, MessageDelta] = Dialect(
    MessagesAggregator, _text, "/messages", _auth, {"anthropic-version": ANTHROPIC_VERSION}
)
stream = DIALECT.stream
astream = DIALECT.astream
create = DIALECT.create
acreate = DIALECT.acreate
