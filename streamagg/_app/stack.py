"""The two HTTP stacks streamagg works with: httpx2 and httpx.

httpx2 (the successor of httpx, maintained by the pydantic team) is what the official SDKs use
since openai 3 and anthropic 2, and what a default install of streamagg brings; httpx is
supported for those who hand streamagg an httpx client. The two have the same API under two
module names, but their classes are distinct: an ``httpx2.Client`` takes only an
``httpx2`` transport, answers with ``httpx2.Response`` objects and raises ``httpx2``
exceptions, and the SDKs refuse a client of the other stack.

So nothing in streamagg names a stack where a client is given: it asks the client
(``stack_of``) and uses that module's classes. Where streamagg makes a client or a transport,
the caller says which stack (``stack("httpx")``), by default httpx2 when it is installed
(``stack()``). Catching an exception of "either stack" is ``errors("HTTPError")``: the class of
every stack imported in the process (a stack never imported has made no object to catch).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import httpx
    import httpx2

    #: A client of either stack, and its async twin.
    Client: TypeAlias = httpx2.Client | httpx.Client
    AsyncClient: TypeAlias = httpx2.AsyncClient | httpx.AsyncClient
    Request: TypeAlias = httpx2.Request | httpx.Request
    Response: TypeAlias = httpx2.Response | httpx.Response
    URL: TypeAlias = httpx2.URL | httpx.URL

__all__ = ["STACKS", "errors", "stack", "stack_of"]

#: The stacks, in the order ``stack()`` prefers them.
STACKS = ("httpx2", "httpx")


def stack(name: str | None = None) -> ModuleType:
    """The module of the stack ``name`` (``"httpx2"`` or ``"httpx"``); by default httpx2 when
    it is installed, else httpx. ``ImportError`` (saying what to install) when it is not."""
    if name is not None and name not in STACKS:
        raise ValueError(f"unknown HTTP stack {name!r}: expected one of {', '.join(STACKS)}")
    for candidate in STACKS if name is None else (name,):
        try:
            return importlib.import_module(candidate)
        except ImportError:
            continue
    wanted = name or "httpx2"
    raise ImportError(f"streamagg needs {wanted} for HTTP: pip install {wanted}")


def stack_of(obj: Any) -> ModuleType:
    """The stack of a client, transport, request, response or exception (from its class or
    one of its bases); ``TypeError`` for an object of neither stack."""
    for cls in type(obj).__mro__:
        root = cls.__module__.partition(".")[0]
        module = sys.modules.get(root) if root in STACKS else None
        if module is not None:
            return module
    raise TypeError(
        f"expected an object of httpx2 or httpx (a Client, AsyncClient...), "
        f"got {type(obj).__module__}.{type(obj).__qualname__}"
    )


def loaded() -> tuple[ModuleType, ...]:
    """The stacks imported in this process, without importing any."""
    modules = (sys.modules.get(name) for name in STACKS)
    return tuple(module for module in modules if module is not None)


def errors(name: str) -> tuple[type[BaseException], ...]:
    """The exception class ``name`` (``"HTTPError"``, ``"StreamClosed"``...) of every stack
    imported in this process: what ``except`` catches for either stack."""
    return tuple(getattr(module, name) for module in loaded())
