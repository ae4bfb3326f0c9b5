"""Chat completions' app helpers: ``stream``/``astream`` (the arguments of ``client.stream``),
``create``/``acreate`` (POST a payload to ``{url}/chat/completions``, as every dialect's
``create`` does; ``chat``/``achat`` are the same functions under their first names), and the
streams they return, whose views add ``partial_json``. The calls are the registry entry's
route, made by the same ``Call`` every dialect's helpers use (``dialects``); what is chat's own
is the fold options (``text_keys``, ``padding_keys``) and the typed signatures. Clients of
httpx2 and of httpx alike (``stack``)."""

from __future__ import annotations

from collections.abc import (
    Iterable,
    Mapping,
)
from typing import TYPE_CHECKING, Any, TypeVar

from .._chat.dialect import DIALECT as CHAT
from .._chat.events import ContentDelta, Delta
from .._chat.fold import DEFAULT_PADDING_KEYS, DEFAULT_TEXT_KEYS, Aggregator
from .._chat.models import ChatCompletionResponse
from .._core.errors import (
    StreamError,
)
from .._core.limits import DEFAULT_LIMITS, Limits
from .dialects import Call
from .streams import AsyncEventStream, EventStream, _StreamBase
from .timing import DEFAULT_IDLE_TIMEOUT

if TYPE_CHECKING:
    from .stack import URL, AsyncClient, Client

__all__ = [
    "AsyncChatStream",
    "ChatStream",
    "achat",
    "acreate",
    "astream",
    "chat",
    "content_text",
    "create",
    "make_aggregator",
    "stream",
]

R = TypeVar("R")
D = TypeVar("D")
_S = TypeVar("_S", bound="EventStream[Any, Any]")
_A = TypeVar("_A", bound="AsyncEventStream[Any, Any]")
_E = TypeVar("_E", bound=StreamError[Any])


def content_text(delta: Delta, choice: int = 0) -> str | None:
    """The text a delta adds to the content of ``choice``, if it is such a delta."""
    if isinstance(delta, ContentDelta) and delta.choice == choice:
        return delta.text
    return None


def make_aggregator(
    text_keys: Iterable[str], padding_keys: Iterable[str], limits: Limits, strict: bool
) -> Aggregator:
    """The chat-completions fold with these options."""
    return Aggregator(text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict)


class _ChatViews(_StreamBase[ChatCompletionResponse, Delta]):
    """Views of a chat-completion stream that both twins share."""

    _aggregator: Aggregator

    def partial_json(self, choice: int = 0, tool: int | None = None) -> Any:
        """The JSON parsed so far of a tool call's arguments (``tool``: its number, as in
        the deltas) or of a JSON-mode answer (``tool`` None); see ``Aggregator.partial_json``."""
        return self._aggregator.partial_json(choice, tool)


class ChatStream(_ChatViews, EventStream[ChatCompletionResponse, Delta]):
    """A streaming chat completion over a client (httpx2's or httpx's); see ``stream()``."""

    def __init__(
        self,
        client: Client,
        method: str,
        url: str | URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        self._aggregator = make_aggregator(text_keys, padding_keys, limits, strict)
        super().__init__(client, method, url, fold=self._aggregator, text=content_text, **kwargs)


class AsyncChatStream(_ChatViews, AsyncEventStream[ChatCompletionResponse, Delta]):
    """A streaming chat completion over an async client (httpx2's or httpx's); see
    ``astream()``."""

    def __init__(
        self,
        client: AsyncClient,
        method: str,
        url: str | URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        self._aggregator = make_aggregator(text_keys, padding_keys, limits, strict)
        super().__init__(client, method, url, fold=self._aggregator, text=content_text, **kwargs)


def stream(
    client: Client,
    method: str,
    url: str | URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> ChatStream:
    """Open a streaming chat completion: ``with stream(client, "POST", url, json=...) as s:``.

    ``client`` is an ``httpx2.Client`` or an ``httpx.Client``; the call takes the arguments of
    ``client.stream``. Iterating ``s`` yields typed deltas as they arrive; ``s.text()`` only the
    content text of choice 0; ``s.snapshot()`` the response so far; ``s.response`` the folded
    response once the stream ended. The body may be an event stream or a whole JSON completion
    (see ``StreamReader``), sent as it is or gzip- or deflate-coded (undone in bounded pieces,
    counted by ``limits``). Every failure is a ``StreamError`` with ``.partial``:
    ``HTTPStatusError`` (non-2xx; also the ``HTTPStatusError`` of the client's stack),
    ``ContentTypeError``, ``StreamInterruptedError`` (the request or the connection failed,
    before or during the stream: a refused connection, a timeout, a reset, a body that does not
    decode; the stack's exception is the ``__cause__``; or the stream was read after its block
    was left) and the fold's errors. Leaving the ``with`` block closes the deltas, the response
    and the connection. ``text_keys``, ``padding_keys``, ``limits`` and ``strict`` are the fold
    options of ``Aggregator``.

    The stall watchdog: ``idle_timeout`` seconds allowed between data events (keep-alive
    comments and pings do not count, unlike for httpx's read timeout, which any byte resets;
    ``DEFAULT_IDLE_TIMEOUT``, 600 s, so that no stream hangs a caller for ever) and
    ``total_timeout`` seconds for the whole stream (off by default); past either,
    ``StreamStalledError`` (a ``StreamInterruptedError``) with ``.partial``, and the connection
    is closed. ``None`` turns either off. The client's own timeouts still apply (the stacks'
    default: 5 s without any byte). ``s.timings`` gives the stream's ``Timings``.
    """
    return ChatStream(
        client,
        method,
        url,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def astream(
    client: AsyncClient,
    method: str,
    url: str | URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``stream()``: ``async with astream(client, ...) as s:``."""
    return AsyncChatStream(
        client,
        method,
        url,
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


#: How ``create()`` calls its route (the registry entry's): ``stream_options`` asks for usage.
_CALL = Call(CHAT.routes[0])


def create(
    client: Client,
    url: str | URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> ChatStream:
    """POST ``payload`` to ``{url}/chat/completions`` (``url`` may already end with it).

    Sets ``stream: true`` and ``stream_options: {"include_usage": true}`` unless the payload sets
    them (``stream_options: None`` sends none); ``api_key`` becomes a Bearer token. Returns the
    ``ChatStream`` of ``stream()``; other keyword arguments go to ``client.stream``. The same
    function as ``chat()``, under the name every dialect's helper has
    (``streamagg.responses.create``...).
    """
    return stream(
        client,
        **_CALL.request(client, url, payload, api_key, headers),
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


def acreate(
    client: AsyncClient,
    url: str | URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    total_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``create()`` (the same function as ``achat()``)."""
    return astream(
        client,
        **_CALL.request(client, url, payload, api_key, headers),
        text_keys=text_keys,
        padding_keys=padding_keys,
        limits=limits,
        strict=strict,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        **kwargs,
    )


#: ``create()`` under its first name (kept: both are documented).
chat = create
#: ``acreate()`` under its first name (kept: both are documented).
achat = acreate
