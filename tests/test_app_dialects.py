"""The app helpers of the dialects other than chat (``streamagg._app.dialects``): the Responses and
Anthropic helpers against a real loopback server, with the same behaviour as ``chat()`` (deltas,
text, the folded object, errors with the dialect's partial, the watchdog, timings), sync and
async; and, over ``httpx.MockTransport``, the request each dialect's ``create`` sends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses

from .dialects import path

TEXT = ("responses", "pydantic-ai__gpt4o-text")
MESSAGE = ("anthropic", "anthropic-sdk-python__sonnet4-text-then-tool-use")
MODULES: dict[str, Any] = {"responses": responses, "anthropic": anthropic}


def url(server: str, dialect: str, name: str, **query: Any) -> str:
    options = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{server}/{dialect}/{name}" + (f"?{options}" if options else "")


@pytest.mark.parametrize(("dialect", "name"), [TEXT, MESSAGE])
def test_create_streams_deltas_and_folds(server: str, dialect: str, name: str) -> None:
    """``create()`` yields the dialect's deltas and ends with the object ``replay`` gives."""
    module = MODULES[dialect]
    with httpx.Client() as client, module.create(client, url(server, dialect, name), {}) as s:
        deltas = list(s)
        assert s.response == module.replay(path(dialect, name))
    assert deltas
    timings = s.timings
    assert timings.time_to_first_token is not None
    assert timings.output_tokens_per_second is not None  # from usage.output_tokens


@pytest.mark.parametrize(("dialect", "name"), [TEXT, MESSAGE])
def test_text_yields_the_output_text(server: str, dialect: str, name: str) -> None:
    """``text()`` yields only the output text, which joins to the object's text."""
    module = MODULES[dialect]
    with httpx.Client() as client, module.create(client, url(server, dialect, name), {}) as s:
        text = "".join(s.text())
        final = s.finish()
    assert text == (final.output_text if dialect == "responses" else final.text)
    assert text


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "name"), [TEXT, MESSAGE])
async def test_acreate_is_the_async_twin(server: str, dialect: str, name: str) -> None:
    """``acreate()`` gives the same deltas and object as ``create()``."""
    module = MODULES[dialect]
    async with (
        httpx.AsyncClient() as client,
        module.acreate(client, url(server, dialect, name), {}) as s,
    ):
        text = "".join([t async for t in s.text()])
        final = await s.finish()
    assert final == module.replay(path(dialect, name))
    assert text


@pytest.mark.parametrize(("dialect", "name"), [TEXT, MESSAGE])
def test_a_cut_stream_raises_with_the_dialect_partial(
    server: str, dialect: str, name: str
) -> None:
    """A connection dropped mid-stream raises ``StreamInterruptedError`` whose partial is the
    dialect's own object."""
    module = MODULES[dialect]
    target = url(server, dialect, name, cut=1500)
    with httpx.Client() as client, module.stream(client, "POST", target) as s:
        stream = s
        with pytest.raises(streamagg.StreamInterruptedError) as info:
            stream.finish()
    kind = responses.Response if dialect == "responses" else anthropic.Message
    assert isinstance(info.value.partial, kind)
    assert info.value.partial.id


@pytest.mark.parametrize("dialect", ["responses", "anthropic"])
def test_http_error_carries_the_dialect_partial(server: str, dialect: str) -> None:
    """A non-2xx answer raises ``HTTPStatusError`` with the status and an empty partial of the
    dialect's type."""
    module = MODULES[dialect]
    with httpx.Client() as client:
        call = module.create(client, url(server, dialect, "missing"), {})
        with pytest.raises(streamagg.HTTPStatusError) as info:
            call.__enter__()
    assert info.value.response.status_code == 404
    assert isinstance(info.value.partial, (responses.Response, anthropic.Message))


def test_the_watchdog_stops_a_stalled_stream(server: str) -> None:
    """``idle_timeout`` raises ``StreamStalledError`` with the partial when data stops."""
    target = url(server, *MESSAGE, cut=800, stall=5)
    with httpx.Client() as client, anthropic.create(client, target, {}, idle_timeout=0.3) as s:
        stream = s
        with pytest.raises(streamagg.StreamStalledError) as info:
            stream.finish()
    assert isinstance(info.value.partial, anthropic.Message)
    assert info.value.partial.id


def test_requests_are_built_for_each_api() -> None:
    """``create()`` posts to the dialect's endpoint with ``stream: true`` and its auth header;
    the caller's headers win over the defaults whatever their case."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = path(*MESSAGE).read_bytes()
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        first_call = responses.create(
            client, "https://api.example/v1", {"model": "m"}, api_key="k"
        )
        with first_call, pytest.raises(streamagg.IncompleteStreamError):  # an Anthropic stream
            first_call.finish()
        with anthropic.create(
            client,
            "https://api.example/v1/messages",
            {"model": "m", "stream": True},
            api_key="secret",
            headers={"Anthropic-Version": "2099-01-01"},
        ) as second_call:
            second_call.finish()
    first, second = seen
    assert first.url.path == "/v1/responses"
    assert first.headers["authorization"] == "Bearer k"
    assert json.loads(first.content) == {"model": "m", "stream": True}
    assert second.url.path == "/v1/messages"
    assert second.headers["x-api-key"] == "secret"
    assert second.headers.get_list("anthropic-version") == ["2099-01-01"]
    assert "authorization" not in second.headers


def test_requests_are_built_for_gemini_ollama_and_completions() -> None:
    """Each ``create`` calls its API's endpoint its way: Gemini's method and ``alt=sse`` in the
    URL with ``x-goog-api-key`` and no ``stream`` key; Ollama's ``/api/chat`` and
    ``/api/generate``; legacy completions with ``stream_options``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"", headers={"content-type": "text/event-stream"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        streams: list[Any] = [
            gemini.create(client, "https://g.test/v1beta/models/m", {"contents": []}, api_key="g"),
            ollama.create(client, "http://o.test", {"model": "m"}),
            ollama.generate(client, "http://o.test", {"model": "m"}),
            completions.create(client, "https://c.test/v1", {"prompt": "p"}, api_key="c"),
        ]
        for opened in streams:
            with opened, pytest.raises(streamagg.IncompleteStreamError):
                opened.finish()
    first, chat, generate, legacy = seen
    assert str(first.url) == "https://g.test/v1beta/models/m:streamGenerateContent?alt=sse"
    assert first.headers["x-goog-api-key"] == "g"
    assert json.loads(first.content) == {"contents": []}
    assert (chat.url.path, generate.url.path) == ("/api/chat", "/api/generate")
    assert json.loads(chat.content) == {"model": "m", "stream": True}
    assert legacy.url.path == "/v1/completions"
    assert json.loads(legacy.content) == {
        "prompt": "p",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
