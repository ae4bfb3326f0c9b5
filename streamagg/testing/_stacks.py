"""The two HTTP stacks (httpx2 and httpx, see ``streamagg._app.stack``) as the test kit meets
them.

One transport of the kit serves clients of both stacks: it answers each request with the
classes of the request's own stack (``stack_of(request)``: its ``Response``, its byte streams,
its exceptions such as ``ReadTimeout``), so ``ReplayTransport(path)`` goes into an
``httpx2.Client`` or an ``httpx.Client`` alike, as httpx's ``MockTransport`` serves sync and
async clients alike.

At run time a kit transport subclasses httpx2's ``BaseTransport`` and ``AsyncBaseTransport``
only: httpx2 is a dependency of streamagg, and httpx is not imported for it (an application
that calls ``httpx2.alias_httpx()`` must do so before anything imports httpx, and the pytest
plugin is loaded before any application code). An ``httpx.Client`` takes any object with
``handle_request`` (it checks no class). Where httpx2 is missing (streamagg installed without
its dependencies, for an app on httpx alone) the base is httpx's pair, and with neither stack a
plain class: the kit still imports, so the pytest plugin never breaks a test session. For the
type checker a kit transport is a transport of both stacks (``Transport`` below).

A response body is different: both stacks check its class (``isinstance(stream,
SyncByteStream)``), so ``byte_stream`` makes a body class of the request's stack, once per
stack, when the first request of that stack arrives.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast, overload

from .._app.stack import STACKS, stack

if TYPE_CHECKING:
    import httpx
    import httpx2

    #: A transport of either stack, sync or async.
    AnyTransport: TypeAlias = (
        httpx2.BaseTransport
        | httpx2.AsyncBaseTransport
        | httpx.BaseTransport
        | httpx.AsyncBaseTransport
    )

    class Transport(
        httpx2.BaseTransport,
        httpx2.AsyncBaseTransport,
        httpx.BaseTransport,
        httpx.AsyncBaseTransport,
    ):
        """What the type checker sees of a kit transport: one of each stack, sync and async,
        answering a request of a stack with a response of that stack."""

        @overload
        def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
        @overload
        def handle_request(self, request: httpx.Request) -> httpx.Response: ...
        def handle_request(self, request: Any) -> Any: ...
        @overload
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
        @overload
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
        async def handle_async_request(self, request: Any) -> Any: ...

else:

    def _bases() -> tuple[type[Any], ...]:
        """The transport classes of the first installed stack (httpx2, else httpx)."""
        for name in STACKS:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            return module.BaseTransport, module.AsyncBaseTransport
        return (object,)

    class Transport(*_bases()):  # type: ignore[misc]
        """The base of the kit's transports (see the module's doc): sync and async, for clients
        of either stack."""


__all__ = ["Transport", "byte_stream", "installed"]

B = TypeVar("B")

_BYTE_STREAMS: dict[tuple[str, type[Any]], type[Any]] = {}


def byte_stream(module: ModuleType, body: type[B]) -> type[B]:
    """``body`` (a class with ``__iter__``, ``__aiter__``, ``close`` and ``aclose``) made a
    byte stream of the stack ``module`` (its ``SyncByteStream`` and ``AsyncByteStream``), so
    that the stack's ``Response`` accepts it as a body."""
    key = (module.__name__, body)
    made = _BYTE_STREAMS.get(key)
    if made is None:
        bases = (body, module.SyncByteStream, module.AsyncByteStream)
        made = type(body.__name__, bases, {"__module__": body.__module__})
        _BYTE_STREAMS[key] = made
    return cast("type[B]", made)


def installed() -> tuple[ModuleType, ...]:
    """The stacks that are installed, imported (httpx only when it is installed; once when
    ``httpx2.alias_httpx()`` made both names one module)."""
    modules: list[ModuleType] = []
    for name in STACKS:
        try:
            module = stack(name)
        except ImportError:
            continue
        if module not in modules:
            modules.append(module)
    return tuple(modules)
