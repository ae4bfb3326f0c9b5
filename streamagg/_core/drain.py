"""Drive a fold from parsed chunks or events: a list of dicts, or an SDK's stream of objects.

``drain`` and ``adrain`` are what every dialect's ``fold()``/``afold()`` run. They own the rules
for how such a source ends: an SDK's ``Stream``/``AsyncStream`` (openai, anthropic) consumes
``[DONE]`` itself, so one that ends without raising has ended normally (``feed_done()``); an
exception it raises becomes ours, with the partial object: ``StreamInterruptedError`` for a
failed connection, ``UpstreamError`` for an error the API sent. The SDKs are recognised by
their class names, so the core imports neither them nor httpx.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any, NoReturn, TypeVar

from .errors import StreamError, StreamInterruptedError, UpstreamError
from .fold import FoldBase

__all__ = ["adrain", "drain"]

R = TypeVar("R")

_CONNECTION_ERRORS = frozenset(
    {"APIConnectionError", "APITimeoutError", "TransportError", "TimeoutException"}
)


def _is_sdk_stream(items: object) -> bool:
    """An SDK's ``Stream``/``AsyncStream`` (openai, anthropic)."""
    module = type(items).__module__ or ""
    return module.split(".")[0] in ("openai", "anthropic") and hasattr(items, "response")


def _raise_failure(fold: FoldBase[Any, Any], exc: Exception) -> NoReturn:
    """Raise what an exception from the source becomes (our own errors, and any exception that
    is not an SDK's, as they are)."""
    names = set() if isinstance(exc, StreamError) else {c.__name__ for c in type(exc).__mro__}
    if names & _CONNECTION_ERRORS:
        raise StreamInterruptedError(
            f"the stream failed: {type(exc).__name__}: {exc}", partial=fold.snapshot()
        ) from exc
    if "APIError" in names:
        raise UpstreamError(
            f"the server sent an error: {exc}",
            error=getattr(exc, "body", None) or str(exc),
            partial=fold.snapshot(),
        ) from exc
    raise exc


def drain(items: Iterable[Any], fold: FoldBase[R, Any]) -> R:
    """Fold every item of a (sync) source: the final object."""
    receive = fold.receive_item
    try:
        for item in items:
            receive(item, None)
    except Exception as exc:  # an SDK's errors become ours; others are re-raised
        _raise_failure(fold, exc)
    if _is_sdk_stream(items):
        fold.feed_done()
    return fold.result()


async def adrain(items: AsyncIterable[Any], fold: FoldBase[R, Any]) -> R:
    """Fold every item of an async source: the final object."""
    receive = fold.receive_item
    try:
        async for item in items:
            receive(item, None)
    except Exception as exc:  # an SDK's errors become ours; others are re-raised
        _raise_failure(fold, exc)
    if _is_sdk_stream(items):
        fold.feed_done()
    return fold.result()
