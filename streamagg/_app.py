"""``stream()`` / ``astream()``: wrap a live streaming call in an application.

All decisions live in ``_Session``, a sans-IO object: it is told the response's status and
headers, given body bytes, and told when the body ended or the connection failed; it returns
typed deltas and produces the folded response or the error. ``ChatStream`` and
``AsyncChatStream`` are two thin loops that only move bytes from httpx into it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._errors import (
    ContentTypeError,
    HTTPStatusError,
    ResponseNotReadyError,
    StreamError,
    StreamInterruptedError,
)
from ._fold import DEFAULT_TEXT_KEYS, Aggregator
from ._http import EventSource, aconnect_sse, connect_sse, media_type
from ._models import ChatCompletionResponse, ContentDelta, Delta
from ._replay import EventFold

__all__ = ["AsyncChatStream", "ChatStream", "achat", "astream", "chat", "stream"]

_E = TypeVar("_E", bound=StreamError)

# How the body is read, decided from the status and the content type.
_SSE = "sse"  # an event stream
_SNIFF = "sniff"  # labelled application/json: an event stream or a plain JSON completion
_JSON = "json"  # a plain JSON completion (the server ignored ``stream: true``)


class _Session:
    """The logic of a streaming call, without I/O."""

    def __init__(self, text_keys: Iterable[str]) -> None:
        self.aggregator = Aggregator(text_keys=text_keys)
        self._events = EventFold(self.aggregator)
        self._mode = _SSE
        self._body: list[bytes] = []
        self.done = False  # [DONE] arrived: read no more
        self.response: ChatCompletionResponse | None = None
        self.error: StreamError | None = None

    def start(self, response: httpx.Response) -> bool:
        """Check status and content type; True when the whole body must be read first."""
        if not response.is_success:
            return True
        media = media_type(response)
        if media == "text/event-stream":
            self._mode = _SSE
        elif media == "application/json":
            self._mode = _SNIFF
        else:
            raise self._fail(
                ContentTypeError(
                    f"expected an event stream (text/event-stream), got "
                    f"{media or 'no content type'!r} with status {response.status_code}",
                    content_type=media,
                    partial=self.aggregator.snapshot(),
                )
            )
        return False

    def status_error(self, response: httpx.Response) -> HTTPStatusError:
        """The error for a non-2xx response whose body has been read."""
        text = response.text
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        error = body.get("error") if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else error
        if not detail:
            detail = text[:200] or response.reason_phrase
        return self._fail(
            HTTPStatusError(
                f"HTTP {response.status_code} {response.reason_phrase}: {detail}",
                body=body,
                error=error,
                request=response.request,
                response=response,
                partial=self.aggregator.snapshot(),
            )
        )

    def feed(self, data: bytes) -> list[Delta]:
        """Body bytes in, deltas out; raises the stream's errors."""
        if self._mode == _SNIFF:
            self._body.append(data)
            head = b"".join(self._body).lstrip(b" \t\r\n\xef\xbb\xbf")
            if not head:
                return []
            # A JSON completion starts with "{"; an event stream with a field or a comment.
            self._mode = _JSON if head[:1] == b"{" else _SSE
            data = b"".join(self._body)
            self._body = []
        if self._mode == _JSON:
            self._body.append(data)
            return []
        out: list[Delta] = []
        try:
            self.done = self._events.feed(data, out)
        except StreamError as exc:
            raise self._fail(exc) from None
        return out

    def end(self) -> ChatCompletionResponse:
        """The body ended (or ``[DONE]`` arrived): the folded response, or the error."""
        aggregator = self.aggregator
        try:
            if self._mode == _JSON or self._body:
                # A whole (non-streaming) completion: fold it as one chunk; it is complete.
                raw = b"".join(self._body).decode("utf-8", "replace")
                aggregator._feed_data("message", raw, None)
                aggregator.feed_done()
            self._events.close()
            self.response = aggregator.result()
        except StreamError as exc:
            raise self._fail(exc) from None
        return self.response

    def interrupted(self, exc: httpx.TransportError) -> StreamInterruptedError:
        """The error for a connection that failed mid-stream."""
        return self._fail(
            StreamInterruptedError(
                f"the connection failed mid-stream: {type(exc).__name__}: {exc}",
                partial=self.aggregator.snapshot(),
            )
        )

    def _fail(self, error: _E) -> _E:
        self.error = error
        return error


def _first_choice_text(delta: Delta) -> str | None:
    """The text a delta adds to the content of choice 0, if it is such a delta."""
    if isinstance(delta, ContentDelta) and delta.choice == 0:
        return delta.text
    return None


class _StreamBase:
    """What both twins share: the session and the read-only views of it."""

    def __init__(self, text_keys: Iterable[str]) -> None:
        self._session = _Session(text_keys)
        self._http: httpx.Response | None = None

    @property
    def http_response(self) -> httpx.Response:
        """The underlying ``httpx.Response`` (status, headers)."""
        if self._http is None:
            raise ResponseNotReadyError(
                "the request has not been sent: enter the `with` block first"
            )
        return self._http

    @property
    def response(self) -> ChatCompletionResponse:
        """The folded response once the stream has ended.

        Re-raises the stream's error if it failed; raises ``ResponseNotReadyError`` before the end.
        """
        session = self._session
        if session.response is not None:
            return session.response
        if session.error is not None:
            raise session.error
        raise ResponseNotReadyError(
            "the stream has not ended: iterate it to the end (or call finish()) first; "
            "snapshot() gives the response so far"
        )

    def snapshot(self) -> ChatCompletionResponse:
        """The response folded so far."""
        return self._session.aggregator.snapshot()


class ChatStream(_StreamBase, AbstractContextManager["ChatStream"]):
    """A streaming chat completion over an ``httpx.Client``; see ``stream()``."""

    def __init__(
        self,
        client: httpx.Client,
        method: str,
        url: str | httpx.URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(text_keys)
        self._connect = connect_sse(client, method, str(url), **kwargs)
        self._deltas: Iterator[Delta] | None = None

    def __enter__(self) -> ChatStream:
        source: EventSource = self._connect.__enter__()
        response = self._http = source.response
        try:
            if self._session.start(response):
                response.read()
                raise self._session.status_error(response)
        except BaseException as exc:
            self._connect.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._connect.__exit__(exc_type, exc, tb)

    def __iter__(self) -> Iterator[Delta]:
        """The typed deltas, as they arrive. Iterating again continues where it stopped."""
        if self._deltas is None:
            self._deltas = self._read(self.http_response)
        return self._deltas

    def _read(self, response: httpx.Response) -> Iterator[Delta]:
        session = self._session
        try:
            for piece in response.iter_bytes():
                yield from session.feed(piece)
                if session.done:
                    break
        except httpx.TransportError as exc:
            raise session.interrupted(exc) from exc
        session.end()

    def text(self) -> Iterator[str]:
        """Only the content text of choice 0, as it arrives."""
        for delta in self:
            text = _first_choice_text(delta)
            if text is not None:
                yield text

    def finish(self) -> ChatCompletionResponse:
        """Read whatever is left of the stream and return the folded response."""
        for _ in self:
            pass
        return self.response


class AsyncChatStream(_StreamBase, AbstractAsyncContextManager["AsyncChatStream"]):
    """A streaming chat completion over an ``httpx.AsyncClient``; see ``astream()``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(text_keys)
        self._connect = aconnect_sse(client, method, str(url), **kwargs)
        self._deltas: AsyncIterator[Delta] | None = None

    async def __aenter__(self) -> AsyncChatStream:
        source: EventSource = await self._connect.__aenter__()
        response = self._http = source.response
        try:
            if self._session.start(response):
                await response.aread()
                raise self._session.status_error(response)
        except BaseException as exc:
            await self._connect.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._connect.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> AsyncIterator[Delta]:
        """The typed deltas, as they arrive. Iterating again continues where it stopped."""
        if self._deltas is None:
            self._deltas = self._read(self.http_response)
        return self._deltas

    async def _read(self, response: httpx.Response) -> AsyncIterator[Delta]:
        session = self._session
        try:
            async for piece in response.aiter_bytes():
                for delta in session.feed(piece):
                    yield delta
                if session.done:
                    break
        except httpx.TransportError as exc:
            raise session.interrupted(exc) from exc
        session.end()

    async def atext(self) -> AsyncIterator[str]:
        """Only the content text of choice 0, as it arrives."""
        async for delta in self:
            text = _first_choice_text(delta)
            if text is not None:
                yield text

    async def finish(self) -> ChatCompletionResponse:
        """Read whatever is left of the stream and return the folded response."""
        async for _ in self:
            pass
        return self.response


def stream(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    **kwargs: Any,
) -> ChatStream:
    """Open a streaming chat completion: ``with stream(client, "POST", url, json=...) as s:``.

    Takes the arguments of ``client.stream``. Iterating ``s`` yields typed deltas as they arrive;
    ``s.text()`` only the content text of choice 0; ``s.snapshot()`` the response so far;
    ``s.response`` the folded response once the stream ended. Raises ``HTTPStatusError`` (non-2xx),
    ``ContentTypeError``, ``StreamInterruptedError`` (connection failed) and the fold's errors;
    each carries ``.partial``. Leaving the ``with`` block closes the response and connection.
    """
    return ChatStream(client, method, url, text_keys=text_keys, **kwargs)


def astream(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``stream()``: ``async with astream(client, ...) as s:``."""
    return AsyncChatStream(client, method, url, text_keys=text_keys, **kwargs)


def _chat_request(
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    api_key: str | None,
    headers: Mapping[str, str] | None,
) -> tuple[httpx.URL, dict[str, Any], dict[str, str]]:
    target = httpx.URL(url)
    path = target.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        target = target.copy_with(path=path + "/chat/completions")
    body = dict(payload)
    body.setdefault("stream", True)
    body.setdefault("stream_options", {"include_usage": True})
    if body["stream_options"] is None:
        del body["stream_options"]  # an explicit None: send no stream_options at all
    all_headers = dict(headers or {})
    if api_key is not None:
        all_headers["Authorization"] = f"Bearer {api_key}"
    return target, body, all_headers


def chat(
    client: httpx.Client,
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    **kwargs: Any,
) -> ChatStream:
    """POST ``payload`` to ``{url}/chat/completions`` (``url`` may already end with it).

    Sets ``stream: true`` and ``stream_options: {"include_usage": true}`` unless the payload sets
    them (``stream_options: None`` sends none); ``api_key`` becomes a Bearer token. Returns the
    ``ChatStream`` of ``stream()``; other keyword arguments go to ``client.stream``.
    """
    target, body, all_headers = _chat_request(url, payload, api_key, headers)
    return stream(
        client, "POST", target, json=body, headers=all_headers, text_keys=text_keys, **kwargs
    )


def achat(
    client: httpx.AsyncClient,
    url: str | httpx.URL,
    payload: Mapping[str, Any],
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    **kwargs: Any,
) -> AsyncChatStream:
    """The async twin of ``chat()``."""
    target, body, all_headers = _chat_request(url, payload, api_key, headers)
    return astream(
        client, "POST", target, json=body, headers=all_headers, text_keys=text_keys, **kwargs
    )
