"""The app helpers of every dialect, made from its registry entry: ``stream``/``astream`` (the
arguments of ``client.stream``) and, for each route, ``create``/``acreate`` (Ollama's second
route: ``generate``/``agenerate``), which POST a payload to the route's endpoint. A dialect's
public module loads them on first use (``streamagg._core.dialect.lazy_app``): they need an HTTP
stack. Each takes a client of httpx2 or of httpx (``stack``); chat completions' ``create`` and
``acreate`` (``chat``) are made of the same ``Call``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._core.dialect import Dialect, Route
from .._core.fold import Fold
from .._core.limits import DEFAULT_LIMITS, Limits
from .stack import stack_of
from .streams import AsyncEventStream, EventStream

if TYPE_CHECKING:
    from .stack import URL, AsyncClient, Client

__all__ = ["Call", "Helpers", "endpoint", "helpers"]

R = TypeVar("R")
D = TypeVar("D")


def endpoint(url: str | URL, suffix: str, module: ModuleType) -> URL:
    """``url`` with ``suffix`` (``/chat/completions``, ``/responses``...) appended to its path,
    unless the path already ends with it: a ``URL`` of the stack ``module``."""
    target: URL = module.URL(str(url))
    path = target.path.rstrip("/")
    if not path.endswith(suffix):
        target = target.copy_with(path=path + suffix)
    return target


class Call:
    """How to call one route: the arguments of ``client.stream`` for a payload."""

    def __init__(self, route: Route) -> None:
        self.route = route

    def request(
        self,
        client: Client | AsyncClient,
        url: str | URL,
        payload: Mapping[str, Any],
        api_key: str | None,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """POST ``payload`` to the route's endpoint under ``url`` (which may already end with
        it), with the route's body defaults (one the payload sets to None is not sent),
        ``stream: true`` unless the payload sets it (Gemini asks by its URL instead), the
        route's default headers under the caller's, and ``api_key`` in its auth header; the
        URL and headers are of ``client``'s stack."""
        module = stack_of(client)
        route = self.route
        body = {**route.body, **payload}
        for key in route.body:
            if body[key] is None:
                del body[key]
        if route.stream_flag:
            body.setdefault("stream", True)
        all_headers = module.Headers(route.headers)
        all_headers.update(headers or {})  # the caller's headers win, whatever their case
        if api_key is not None:
            all_headers.update(route.auth(api_key))
        request: dict[str, Any] = {
            "method": "POST",
            "url": endpoint(url, route.path, module),
            "json": body,
            "headers": all_headers,
        }
        if route.params:
            request["params"] = dict(route.params)
        return request


class Helpers(Generic[R, D]):
    """The app helpers of one dialect: ``stream``/``astream``, and ``create``/``acreate`` for
    its first route (more routes: attributes named after them)."""

    def __init__(
        self, make_fold: Callable[..., Fold[R]], text: Callable[[D], str | None], route: Route
    ) -> None:
        self.make_fold = make_fold
        self.text = text
        self.call = Call(route)

    def stream(
        self,
        client: Client,
        method: str,
        url: str | URL,
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> EventStream[R, D]:
        """Open a stream of this dialect: ``with d.stream(client, "POST", url, json=...) as s:``.

        As ``streamagg.stream()`` for chat completions: iterating ``s`` yields the dialect's
        typed deltas, ``s.text()`` the output text, ``s.snapshot()`` the object so far,
        ``s.response`` the final one; every failure is a ``StreamError`` with the partial
        object; ``idle_timeout``/``total_timeout`` (in ``kwargs``, with the arguments of
        ``client.stream``) are the stall watchdog's, and ``s.timings`` works the same way."""
        fold = self.make_fold(limits=limits, strict=strict)
        return EventStream(client, method, url, fold=fold, text=self.text, **kwargs)

    def astream(
        self,
        client: AsyncClient,
        method: str,
        url: str | URL,
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> AsyncEventStream[R, D]:
        """The async twin of ``stream``."""
        fold = self.make_fold(limits=limits, strict=strict)
        return AsyncEventStream(client, method, url, fold=fold, text=self.text, **kwargs)

    def create(
        self,
        client: Client,
        url: str | URL,
        payload: Mapping[str, Any],
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> EventStream[R, D]:
        """POST ``payload`` to the dialect's endpoint under ``url`` (which may already end with
        it) with ``stream: true`` unless the payload sets it (Gemini asks by its URL instead);
        ``api_key`` goes in the dialect's auth header. ``options``: those of ``stream``
        (``limits``, ``strict``, ``idle_timeout``, ``total_timeout``) and of
        ``client.stream``. ``client``: an ``httpx2.Client`` or an ``httpx.Client``."""
        request = self.call.request(client, url, payload, api_key, headers)
        return self.stream(client, **request, **options)

    def acreate(
        self,
        client: AsyncClient,
        url: str | URL,
        payload: Mapping[str, Any],
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> AsyncEventStream[R, D]:
        """The async twin of ``create``."""
        request = self.call.request(client, url, payload, api_key, headers)
        return self.astream(client, **request, **options)


@cache
def helpers(dialect: Dialect[R, D]) -> Helpers[R, D]:
    """The app helpers of ``dialect`` (made once): ``stream``/``astream``, ``create``/
    ``acreate`` for its first route, and ``NAME``/``aNAME`` for each other route."""
    made: Helpers[R, D] = Helpers(dialect.aggregator, dialect.output_text, dialect.routes[0])
    for n, route in enumerate(dialect.routes):
        made_here = made if n == 0 else Helpers(dialect.aggregator, dialect.output_text, route)
        setattr(made, route.name, made_here.create)
        setattr(made, "a" + route.name, made_here.acreate)
    return made
