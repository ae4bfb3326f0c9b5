"""What the tests of both HTTP stacks share: the stack of a test (``stack_param``, for a
``stack`` fixture), response bodies and mock transports in that stack's classes, and the twins.

A module's own fixture is two lines::

    @pytest.fixture(params=STACK_NAMES)
    def stack(request: pytest.FixtureRequest) -> ModuleType:
        return stack_param(request)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from functools import cache
from types import ModuleType
from typing import Any

import pytest

#: The stacks every test of an app function runs with (httpx is skipped when not installed).
STACK_NAMES = ["httpx2", "httpx"]
#: The sync function and its async twin.
TWINS = ["sync", "async"]


def stack_param(request: pytest.FixtureRequest) -> ModuleType:
    """The module of the stack named by the fixture's parameter; the test is skipped when it
    is not installed."""
    module: ModuleType = pytest.importorskip(request.param)
    return module


@cache
def _pieces_class(module: ModuleType) -> type[Any]:
    """A response body of the stack ``module`` (sync and async), made once per stack."""

    class Pieces(module.SyncByteStream, module.AsyncByteStream):  # type: ignore[name-defined,misc]
        """``body`` in ``size``-byte pieces; after ``fail_after`` bytes, ``fault`` is raised
        (a dropped connection)."""

        def __init__(self, body: bytes, size: int, fail_after: int | None, fault: Any) -> None:
            self.body, self.size, self.fail_after, self.fault = body, size, fail_after, fault

        def __iter__(self) -> Iterator[bytes]:
            end = len(self.body) if self.fail_after is None else self.fail_after
            for start in range(0, end, self.size):
                yield self.body[start : min(start + self.size, end)]
            if self.fault is not None:
                raise self.fault

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for piece in self:
                yield piece

    return Pieces


def body(
    module: ModuleType,
    data: bytes,
    size: int = 64,
    *,
    fail_after: int | None = None,
    fault: Exception | None = None,
) -> Any:
    """A streamed response body in ``module``'s classes: ``data`` in ``size``-byte pieces,
    and after ``fail_after`` bytes the exception ``fault``."""
    return _pieces_class(module)(data, size, fail_after, fault)


def transport(module: ModuleType, answer: Callable[[Any], Any]) -> Any:
    """The stack's ``MockTransport`` answering every request with ``answer(request)``."""
    return module.MockTransport(answer)


def streaming(
    module: ModuleType, data: bytes, content_type: str = "text/event-stream", **kw: Any
) -> Any:
    """A transport of ``module`` that streams ``data`` (``kw``: see ``body``)."""

    def answer(request: Any) -> Any:
        headers = {"content-type": content_type}
        return module.Response(200, headers=headers, stream=body(module, data, **kw))

    return transport(module, answer)
