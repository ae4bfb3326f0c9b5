"""Chat completions' entry points over the sans-IO ``Aggregator``: ``replay`` (a recording),
``fold``/``afold`` (parsed chunks, or an openai SDK stream) and ``from_dict``; the top-level
``streamagg`` re-exports them."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from .._core.convert import converter
from .._core.drain import adrain, drain
from .._core.limits import DEFAULT_LIMITS, Limits
from .._core.source import Source, replay_into
from .fold import DEFAULT_TEXT_KEYS, Aggregator
from .models import ChatCompletionResponse
from .rules import DEFAULT_PADDING_KEYS

__all__ = ["afold", "fold", "from_dict", "replay"]


def replay(
    source: Source,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """Fold a recorded stream into the response it carries.

    ``source`` is the stream's bytes, a path (``str`` or ``os.PathLike``) to a recording, an open
    binary file, or an iterable of byte pieces. An event stream and a whole JSON completion (a
    recorded non-streaming answer) are both accepted, with or without a BOM. Raises the
    ``StreamError`` subclasses described in ``Aggregator``; each carries ``.partial``.
    The keywords are the fold options of ``Aggregator``.
    """
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    return replay_into(aggregator, source)


def fold(
    chunks: Iterable[Mapping[str, Any] | Any],
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """Fold chunk dicts (or pydantic chunks with ``model_dump()``) into the final response.

    The chunks are complete when every choice has a finish reason, or when they come from an
    openai SDK ``Stream`` that ended normally (the SDK consumes ``[DONE]``); otherwise
    ``IncompleteStreamError`` is raised with the partial response. An error the SDK raises
    mid-stream becomes ``UpstreamError`` (an error event) or ``StreamInterruptedError`` (a failed
    connection) with the partial response and the SDK's exception as ``__cause__``. For an async
    iterable (an ``openai.AsyncStream``), use ``afold``. The keywords are the fold options of
    ``Aggregator``.
    """
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    return drain(chunks, aggregator)


async def afold(
    chunks: AsyncIterable[Mapping[str, Any] | Any],
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """The async twin of ``fold``: ``await afold(async_stream)``."""
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    return await adrain(chunks, aggregator)


def from_dict(data: Mapping[str, Any]) -> ChatCompletionResponse:
    """A response from its dict form (``to_dict`` output or a non-streaming response body).

    Raises ``cattrs.ClassValidationError`` when a field has the wrong type.
    """
    result: ChatCompletionResponse = converter.structure(data, ChatCompletionResponse)
    return result
