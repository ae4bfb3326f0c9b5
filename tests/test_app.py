"""Chat's app helpers (``streamagg._app.chat``): ``stream()``/``astream()`` and
``chat()``/``achat()`` over ``httpx.MockTransport``; each behaviour is checked for both twins."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

import streamagg
from streamagg import ContentDelta, Delta, ToolCallStart

from .helpers import PAYLOAD, STREAMS
from .httpx_body import Pieces

PLAIN = (STREAMS / "openai-python__plain-content.sse").read_bytes()
TOOLS = (STREAMS / "openai-python__parallel-tool-calls.sse").read_bytes()
TWINS = ["sync", "async"]

Handler = Callable[[httpx.Request], httpx.Response]


def answering(body: bytes, content_type: str = "text/event-stream", **kw: Any) -> Handler:
    """A handler answering every request with ``body`` in small pieces."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": content_type}, stream=Pieces(body, **kw)
        )

    return handler


def run(
    twin: str, handler: Handler, *, text: bool = False, **chat_kw: Any
) -> tuple[list[Any], streamagg.ChatCompletionResponse]:
    """Call ``chat`` (or ``achat``) against the handler; return what iterating gave and the
    folded response."""
    transport = httpx.MockTransport(handler)
    if twin == "sync":
        with (
            httpx.Client(transport=transport) as client,
            streamagg.chat(client, "http://test/v1", PAYLOAD, **chat_kw) as s,
        ):
            items: list[Any] = list(s.text() if text else s)
            return items, s.response

    async def main() -> tuple[list[Any], streamagg.ChatCompletionResponse]:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            streamagg.achat(client, "http://test/v1", PAYLOAD, **chat_kw) as s,
        ):
            items = [x async for x in (s.text() if text else s)]
            return items, s.response

    return anyio.run(main)


@pytest.mark.parametrize("twin", TWINS)
def test_deltas_as_they_arrive_then_the_folded_response(twin: str) -> None:
    """Iterating yields the typed deltas; ``.response`` is the folded response afterwards."""
    deltas, response = run(twin, answering(TOOLS))
    assert response == streamagg.replay(TOOLS)
    starts = [d for d in deltas if isinstance(d, ToolCallStart)]
    assert [s.name for s in starts] == ["GetWeatherArgs", "get_stock_price"]
    assert isinstance(deltas[-1], streamagg.UsageDelta)


@pytest.mark.parametrize("twin", TWINS)
def test_text_yields_content_of_choice_zero(twin: str) -> None:
    """``text()``/``atext()`` yield only the content text of choice 0."""
    texts, response = run(twin, answering(PLAIN), text=True)
    assert "".join(texts) == response.choices[0].message.content
    n3 = (STREAMS / "openai-python__n3-choices.sse").read_bytes()
    texts, response = run(twin, answering(n3), text=True)
    assert "".join(texts) == response.choices[0].message.content


def test_response_before_the_end_is_a_clear_error() -> None:
    """``.response`` before the stream ended raises ``ResponseNotReadyError``; snapshot works."""
    with (
        httpx.Client(transport=httpx.MockTransport(answering(PLAIN))) as client,
        streamagg.stream(client, "GET", "http://test/") as s,
    ):
        with pytest.raises(streamagg.ResponseNotReadyError, match="not ended"):
            _ = s.response
        first = next(d for d in s if isinstance(d, ContentDelta))
        assert s.snapshot().choices[0].message.content == first.text
        assert s.http_response.status_code == 200
        assert s.finish().choices[0].finish_reason == "stop"
        assert s.finish() is s.response
    never_entered = streamagg.stream(httpx.Client(), "GET", "http://test/")
    with pytest.raises(streamagg.ResponseNotReadyError, match="with"):
        _ = never_entered.http_response


@pytest.mark.anyio
async def test_async_finish_and_snapshot() -> None:
    """The async twin's ``finish()`` reads the rest and returns the response."""
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answering(PLAIN))) as client,
        streamagg.astream(client, "GET", "http://test/") as s,
    ):
        assert s.snapshot().choices == []
        response = await s.finish()
        assert response == streamagg.replay(PLAIN)
        assert await s.finish() is response


def test_iterating_again_continues_where_it_stopped() -> None:
    """Breaking out of the loop and iterating again continues the same stream."""
    with (
        httpx.Client(transport=httpx.MockTransport(answering(PLAIN))) as client,
        streamagg.stream(client, "GET", "http://test/") as s,
    ):
        first = []
        for delta in s:
            first.append(delta)
            if len(first) == 3:
                break
        rest = list(s)
        assert list(s) == []
    agg = streamagg.Aggregator()
    expected = [d for e in streamagg.parse_sse(PLAIN) for d in agg.feed_event(e)]
    assert first + rest == expected


# -- the request chat() sends --------------------------------------------------------------


def capture(requests: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answering(PLAIN)(request)

    return handler


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://test/v1", "http://test/v1/chat/completions"),
        ("http://test/v1/", "http://test/v1/chat/completions"),
        ("http://test/v1/chat/completions", "http://test/v1/chat/completions"),
        ("http://test/v1?api-version=2024", "http://test/v1/chat/completions?api-version=2024"),
    ],
)
def test_chat_posts_to_chat_completions(twin: str, url: str, expected: str) -> None:
    """``chat`` POSTs to ``/chat/completions`` with stream and usage on, and the API key."""
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(capture(requests))
    if twin == "sync":
        with httpx.Client(transport=transport) as client:
            streamagg.chat(client, url, PAYLOAD, api_key="sk-x").__enter__().finish()
    else:

        async def main() -> None:
            async with (
                httpx.AsyncClient(transport=transport) as client,
                streamagg.achat(client, url, PAYLOAD, api_key="sk-x") as s,
            ):
                await s.finish()

        anyio.run(main)
    (request,) = requests
    assert (request.method, str(request.url)) == ("POST", expected)
    assert request.headers["authorization"] == "Bearer sk-x"
    assert request.headers["accept"] == "text/event-stream"
    body = json.loads(request.content)
    assert body == {**PAYLOAD, "stream": True, "stream_options": {"include_usage": True}}


def test_chat_keeps_what_the_caller_set() -> None:
    """The caller's own ``stream``/``stream_options`` win; ``stream_options: None`` sends none."""
    requests: list[httpx.Request] = []
    with httpx.Client(transport=httpx.MockTransport(capture(requests))) as client:
        for options in ({"include_usage": False}, None):
            payload = {**PAYLOAD, "stream_options": options}
            with streamagg.chat(client, "http://t", payload, headers={"x-a": "1"}) as s:
                s.finish()
    sent = [json.loads(r.content) for r in requests]
    assert sent[0]["stream_options"] == {"include_usage": False}
    assert "stream_options" not in sent[1]
    assert "authorization" not in requests[0].headers
    assert requests[0].headers["x-a"] == "1"


# -- what the server may answer ------------------------------------------------------------


@pytest.mark.parametrize("twin", TWINS)
def test_http_error_status_carries_status_and_parsed_error_body(twin: str) -> None:
    """A non-2xx answer raises ``HTTPStatusError`` with the status and the parsed error body."""
    error = {"message": "Incorrect API key", "type": "invalid_request_error", "code": "bad_key"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": error})

    with pytest.raises(streamagg.HTTPStatusError, match="401 Unauthorized: Incorrect") as info:
        run(twin, handler)
    exc = info.value
    assert (exc.status_code, exc.error, exc.body) == (401, error, {"error": error})
    assert isinstance(exc, httpx.HTTPStatusError)
    assert exc.response.status_code == 401
    assert exc.request.url.path == "/v1/chat/completions"
    assert exc.partial.choices == []


def test_http_error_status_with_a_text_body() -> None:
    """A non-JSON error body is kept as text."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway from proxy")

    with pytest.raises(streamagg.HTTPStatusError, match="proxy") as info:
        run("sync", handler)
    assert (info.value.body, info.value.error) == ("Bad Gateway from proxy", None)
    with pytest.raises(streamagg.HTTPStatusError, match="503 Service Unavailable: Service"):
        run("sync", lambda request: httpx.Response(503))


@pytest.mark.parametrize("twin", TWINS)
def test_plain_json_completion_is_folded(twin: str) -> None:
    """A server that ignored ``stream: true`` answers JSON: it folds into the same response."""
    body = streamagg.to_dict(streamagg.replay(TOOLS))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    deltas, response = run(twin, handler)
    assert deltas == []
    assert streamagg.to_dict(response) == body


@pytest.mark.parametrize("twin", TWINS)
def test_event_stream_labelled_json_is_handled(twin: str) -> None:
    """A stream that a proxy relabelled ``application/json`` is parsed as a stream."""
    _, response = run(twin, answering(b"\n" + PLAIN, "application/json; charset=utf-8", size=1))
    assert response == streamagg.replay(PLAIN)


@pytest.mark.parametrize("twin", TWINS)
def test_other_content_type_is_a_clear_error(twin: str) -> None:
    """Any other content type raises ``ContentTypeError`` naming it."""
    with pytest.raises(streamagg.ContentTypeError, match="'text/html' with status 200") as info:
        run(twin, answering(b"<html>", "text/html"))
    assert info.value.content_type == "text/html"


def test_json_body_that_is_not_a_completion() -> None:
    """A JSON body carrying an error object raises ``UpstreamError``; an empty one is
    incomplete."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": {"message": "quota"}})

    with pytest.raises(streamagg.UpstreamError, match="quota"):
        run("sync", handler)
    with pytest.raises(streamagg.IncompleteStreamError):
        run("sync", answering(b"", "application/json"))


@pytest.mark.parametrize("twin", TWINS)
def test_upstream_error_mid_stream_keeps_partial(twin: str) -> None:
    """An error event mid-stream raises ``UpstreamError`` with the partial response;
    ``.response`` then re-raises it."""
    raw = (STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse").read_bytes()
    with pytest.raises(streamagg.UpstreamError, match="Tool call validation") as info:
        run(twin, answering(raw, size=500))
    assert info.value.partial.choices[0].message.reasoning


def test_response_reraises_the_stream_error() -> None:
    """After a failed stream, ``.response`` raises the same error."""
    raw = (STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse").read_bytes()
    with (
        httpx.Client(transport=httpx.MockTransport(answering(raw))) as client,
        streamagg.stream(client, "GET", "http://test/") as s,
    ):
        with pytest.raises(streamagg.UpstreamError) as info:
            s.finish()
        with pytest.raises(streamagg.UpstreamError) as again:
            _ = s.response
        assert again.value is info.value


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize(
    "fault",
    [
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("connection reset by peer"),
        httpx.ReadTimeout("timed out"),
    ],
)
def test_connection_failure_mid_stream_keeps_partial(twin: str, fault: Exception) -> None:
    """A dropped connection or a read timeout raises ``StreamInterruptedError`` with
    everything received in ``.partial``."""
    cut = PLAIN.index(b"unable") + 200
    with pytest.raises(streamagg.StreamInterruptedError, match=type(fault).__name__) as info:
        run(twin, answering(PLAIN, fail_after=cut, fault=fault))
    assert isinstance(info.value, streamagg.IncompleteStreamError)
    assert info.value.__cause__ is fault
    content = info.value.partial.choices[0].message.content
    assert content is not None
    assert content.startswith("I'm unable")


@pytest.mark.parametrize("twin", TWINS)
def test_server_stops_mid_stream_keeps_partial(twin: str) -> None:
    """A body that ends before ``[DONE]`` and before the finish raises
    ``IncompleteStreamError``."""
    cut = PLAIN.index(b"unable") + 200
    with pytest.raises(streamagg.IncompleteStreamError) as info:
        run(twin, answering(PLAIN, fail_after=cut))
    assert not isinstance(info.value, streamagg.StreamInterruptedError)
    assert info.value.partial.choices[0].message.content


@pytest.mark.parametrize("twin", TWINS)
def test_leaving_early_closes_the_response(twin: str) -> None:
    """Breaking out of the ``with`` block closes the response body."""
    body = Pieces(PLAIN)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    transport = httpx.MockTransport(handler)
    if twin == "sync":
        with (
            httpx.Client(transport=transport) as client,
            streamagg.stream(client, "GET", "http://t/") as s,
        ):
            for delta in s:
                if isinstance(delta, ContentDelta):
                    break
            assert not body.closed
        assert body.closed
    else:

        async def main() -> None:
            async with (
                httpx.AsyncClient(transport=transport) as client,
                streamagg.astream(client, "GET", "http://t/") as s,
            ):
                async for delta in s:
                    if isinstance(delta, ContentDelta):
                        break
            assert body.closed

        anyio.run(main)


def test_errors_on_enter_close_the_response() -> None:
    """A status or content-type error raised when entering still closes the response."""
    body = Pieces(b"<html>")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html"}, stream=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(streamagg.ContentTypeError):
            streamagg.stream(client, "GET", "http://t/").__enter__()
        assert body.closed


def test_deltas_are_the_aggregators() -> None:
    """The deltas are exactly those ``Aggregator.feed_event`` gives for the same events."""
    agg = streamagg.Aggregator()
    expected: list[Delta] = []
    for event in streamagg.parse_sse(TOOLS):
        expected += agg.feed_event(event)
    deltas, _ = run("sync", answering(TOOLS, size=7))
    assert deltas == expected


@pytest.mark.parametrize("how", ["break", "empty"])
def test_finish_after_leaving_the_block_is_a_clear_error(how: str) -> None:
    """Reading a stream after its ``with`` block was left early says so, with what arrived as
    ``.partial`` (not a raw ``StreamClosed`` or a file-descriptor error)."""
    with (
        httpx.Client(transport=httpx.MockTransport(answering(TOOLS))) as client,
        streamagg.chat(client, "http://test/v1", PAYLOAD) as s,
    ):
        if how == "break":
            for _ in s:
                break
    with pytest.raises(streamagg.StreamInterruptedError, match="closed before it ended") as info:
        s.finish()
    partial = info.value.partial
    assert isinstance(partial, streamagg.ChatCompletionResponse)
    assert bool(partial.id) is (how == "break")  # the first event arrived before the break
    with pytest.raises(streamagg.StreamInterruptedError):
        s.response  # noqa: B018 - the same error again


@pytest.mark.anyio
async def test_leaving_async_with_closes_the_delta_generator() -> None:
    """Leaving ``async with`` closes the delta generator (and its byte iterator), so nothing
    is left for the garbage collector; reading afterwards is a clear error."""
    stream = Pieces(TOOLS)
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
    )
    async with (
        httpx.AsyncClient(transport=transport) as client,
        streamagg.achat(client, "http://test/v1", PAYLOAD) as s,
    ):
        deltas = aiter(s)
        await anext(deltas)
    assert stream.closed
    with pytest.raises(StopAsyncIteration):
        await anext(deltas)
    with pytest.raises(streamagg.StreamInterruptedError, match="closed before it ended"):
        await s.finish()
