"""Both HTTP stacks, first-class (issue 22): every app function, sync and async, and the relay
take an ``httpx2`` client or an ``httpx`` client and behave the same with either, over the
stack's own ``MockTransport`` and over a real loopback socket: the folded object, the HTTP
status error (an instance of ``streamagg.HTTPStatusError`` and of the client's stack's
``HTTPStatusError``) and an interrupted stream (the stack's exception as ``__cause__``).

The httpx cases are skipped where httpx is not installed (httpx2 is the default dependency)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import anyio
import attrs
import pytest

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses
from streamagg._app.http import HTTPStatusError, status_error
from streamagg._app.stack import stack_of

from .dialects import COMPLETION, GEMINI, GENERATE, MESSAGE, OLLAMA, TEXT
from .helpers import PAYLOAD, STREAMS
from .stacks import STACK_NAMES, TWINS, body, stack_param, streaming, transport

PLAIN = (STREAMS / "openai-python__plain-content.sse").read_bytes()
BASE = "http://api.test/v1"
URL = f"{BASE}/anything"


@pytest.fixture(params=STACK_NAMES)
def stack(request: pytest.FixtureRequest) -> ModuleType:
    """The module of one HTTP stack."""
    return stack_param(request)


def failing_status(module: ModuleType) -> Any:
    """A transport of ``module`` answering 429 with an OpenAI-style error body."""

    def answer(request: Any) -> Any:
        return module.Response(
            429,
            headers={"content-type": "application/json"},
            stream=body(module, b'{"error": {"message": "slow down", "type": "rate"}}'),
        )

    return transport(module, answer)


@attrs.frozen
class Call:
    """One app function, with its async twin: how to open it on a client, and the recording
    its server sends (``dialect`` names the module whose ``replay`` gives the expected
    object; ``"chat"`` is ``streamagg``)."""

    name: str
    dialect: str
    raw: bytes
    open: Callable[[Any], Any]
    aopen: Callable[[Any], Any]
    content_type: str = "text/event-stream"

    def expected(self) -> Any:
        """What folding the recording gives."""
        return _module(self.dialect).replay(self.raw)

    def __str__(self) -> str:
        return self.name


def _module(dialect: str) -> Any:
    return streamagg if dialect == "chat" else getattr(streamagg, dialect)


def _dialect_calls(dialect: str, raw: bytes, payload: dict[str, Any]) -> list[Call]:
    module = _module(dialect)
    content_type = "application/x-ndjson" if dialect == "ollama" else "text/event-stream"
    return [
        Call(
            f"{dialect}.create",
            dialect,
            raw,
            lambda c: module.create(c, BASE, payload),
            lambda c: module.acreate(c, BASE, payload),
            content_type,
        ),
        Call(
            f"{dialect}.stream",
            dialect,
            raw,
            lambda c: module.stream(c, "POST", URL, json=payload),
            lambda c: module.astream(c, "POST", URL, json=payload),
            content_type,
        ),
    ]


CALLS: list[Call] = [
    Call(
        "stream",
        "chat",
        PLAIN,
        lambda c: streamagg.stream(c, "POST", URL, json=PAYLOAD),
        lambda c: streamagg.astream(c, "POST", URL, json=PAYLOAD),
    ),
    Call(
        "create",
        "chat",
        PLAIN,
        lambda c: streamagg.create(c, BASE, PAYLOAD),
        lambda c: streamagg.acreate(c, BASE, PAYLOAD),
    ),
    Call(
        "chat",
        "chat",
        PLAIN,
        lambda c: streamagg.chat(c, BASE, PAYLOAD),
        lambda c: streamagg.achat(c, BASE, PAYLOAD),
    ),
    *_dialect_calls("responses", TEXT.read_bytes(), {"model": "m"}),
    *_dialect_calls("anthropic", MESSAGE.read_bytes(), {"model": "m"}),
    *_dialect_calls("gemini", GEMINI.read_bytes(), {"contents": []}),
    *_dialect_calls("ollama", OLLAMA.read_bytes(), {"model": "m"}),
    *_dialect_calls("completions", COMPLETION.read_bytes(), {"prompt": "p"}),
    Call(
        "ollama.generate",
        "ollama",
        GENERATE.read_bytes(),
        lambda c: ollama.generate(c, BASE, {"model": "m"}),
        lambda c: ollama.agenerate(c, BASE, {"model": "m"}),
        "application/x-ndjson",
    ),
]
CALL_IDS = [call.name for call in CALLS]


def run(twin: str, module: ModuleType, call: Call, mock: Any) -> tuple[list[Any], Any]:
    """Open ``call`` (or its async twin) on a client of ``module`` over ``mock``: the deltas
    it gave and the folded object; a stream error is raised."""
    if twin == "sync":
        with module.Client(transport=mock) as client, call.open(client) as s:
            return list(s), s.response

    async def main() -> tuple[list[Any], Any]:
        async with module.AsyncClient(transport=mock) as client, call.aopen(client) as s:
            return [delta async for delta in s], s.response

    return anyio.run(main)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_every_app_function_folds_over_either_stack(
    stack: ModuleType, twin: str, call: Call
) -> None:
    """Each app function, and its async twin, folds its dialect's stream the same over a
    client of httpx2 and of httpx; its HTTP response is of the client's stack."""
    deltas, response = run(twin, stack, call, streaming(stack, call.raw, call.content_type))
    assert response == call.expected()
    assert deltas


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_the_status_error_is_of_both_classes(stack: ModuleType, twin: str, call: Call) -> None:
    """A non-2xx answer raises an error that is a ``streamagg.HTTPStatusError`` and the
    client's stack's ``HTTPStatusError`` (``except`` of either catches it), with the status,
    the parsed body, the stack's response and the dialect's partial object."""
    with pytest.raises(stack.HTTPStatusError) as info:
        run(twin, stack, call, failing_status(stack))
    error = info.value
    assert isinstance(error, streamagg.HTTPStatusError)
    assert isinstance(error, streamagg.StreamError)
    assert stack_of(error) is stack
    assert isinstance(error.response, stack.Response)
    assert isinstance(error.request, stack.Request)
    assert error.status_code == 429
    assert error.error == {"message": "slow down", "type": "rate"}
    assert "HTTP 429 Too Many Requests: slow down" in str(error)
    assert type(error.partial) is type(call.expected())


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_an_interrupted_stream_has_the_stacks_error_as_cause(
    stack: ModuleType, twin: str, call: Call
) -> None:
    """A connection that drops mid-stream raises ``StreamInterruptedError`` whose
    ``__cause__`` is the stack's own exception, with the dialect's partial object."""
    fault = stack.ReadError("connection reset by peer")
    mock = streaming(
        stack, call.raw, call.content_type, fail_after=len(call.raw) // 2, fault=fault
    )
    with pytest.raises(streamagg.StreamInterruptedError) as info:
        run(twin, stack, call, mock)
    assert info.value.__cause__ is fault
    assert "ReadError: connection reset by peer" in str(info.value)
    assert type(info.value.partial) is type(call.expected())


@pytest.mark.parametrize("twin", TWINS)
def test_a_connection_refused_before_the_stream_has_the_stacks_error_as_cause(
    stack: ModuleType, twin: str
) -> None:
    """A request that fails before any answer raises ``StreamInterruptedError`` caused by the
    stack's ``ConnectError``."""
    fault = stack.ConnectError("refused")

    def answer(request: Any) -> Any:
        raise fault

    with pytest.raises(streamagg.StreamInterruptedError, match="before the stream") as info:
        run(twin, stack, CALLS[0], transport(stack, answer))
    assert info.value.__cause__ is fault


def test_chat_and_create_are_one_function() -> None:
    """Chat completions' ``create``/``acreate`` (every dialect's names) and ``chat``/``achat``
    (their first names) are the same functions, all public."""
    assert streamagg.chat is streamagg.create
    assert streamagg.achat is streamagg.acreate
    assert {"create", "acreate", "chat", "achat"} <= set(streamagg.__all__)
    for module in (responses, anthropic, gemini, ollama, completions):
        assert callable(module.create)
        assert callable(module.acreate)


def test_one_joined_error_class_per_stack(stack: ModuleType) -> None:
    """``status_error`` makes its error of one class per stack, shown as the public class; the
    public class itself names no stack."""
    request = stack.Request("POST", URL)
    first = status_error(stack.Response(500, request=request, content=b""), 1)
    second = status_error(stack.Response(502, request=request, content=b"x"), 2)
    assert type(first) is type(second)
    assert type(first).__name__ == "HTTPStatusError"
    assert type(first).__module__ == HTTPStatusError.__module__
    assert not issubclass(HTTPStatusError, stack.HTTPStatusError)
    assert "HTTP 500 Internal Server Error" in str(first)
    assert second.body == "x"


def test_a_client_of_no_stack_is_a_clear_error() -> None:
    """An object that is no client of either stack is refused with ``TypeError`` naming it."""
    with pytest.raises(TypeError, match="expected an object of httpx2 or httpx"):
        streamagg.stream(object(), "GET", URL)  # type: ignore[arg-type]


# -- relay ------------------------------------------------------------------------------------


def relayed(twin: str, module: ModuleType, mock: Any) -> tuple[bytes, list[Any]]:
    """``relay()`` (or ``arelay()``) over a client of ``module``: the forwarded bytes and the
    ``on_finish`` calls."""
    finished: list[Any] = []

    def on_finish(response: Any, error: Any) -> None:
        finished.append((response, error))

    if twin == "sync":
        with module.Client(transport=mock) as client:
            relay = streamagg.relay(client, "POST", URL, json=PAYLOAD, on_finish=on_finish)
            return b"".join(relay), finished

    async def main() -> bytes:
        async with module.AsyncClient(transport=mock) as client:
            relay = streamagg.arelay(client, "POST", URL, json=PAYLOAD, on_finish=on_finish)
            return b"".join([piece async for piece in relay])

    return anyio.run(main), finished


@pytest.mark.parametrize("twin", TWINS)
def test_relay_over_either_stack(stack: ModuleType, twin: str) -> None:
    """The relay forwards the upstream bytes unchanged and finishes with the folded response,
    over a client of either stack."""
    forwarded, finished = relayed(twin, stack, streaming(stack, PLAIN))
    assert forwarded == PLAIN
    assert finished == [(streamagg.replay(PLAIN), None)]


@pytest.mark.parametrize("twin", TWINS)
def test_relay_status_error_is_of_both_classes(stack: ModuleType, twin: str) -> None:
    """A relayed non-2xx answer forwards its body and finishes with an error of both
    ``HTTPStatusError`` classes."""
    forwarded, finished = relayed(twin, stack, failing_status(stack))
    assert b"slow down" in forwarded
    [(partial, error)] = finished
    assert isinstance(error, streamagg.HTTPStatusError)
    assert isinstance(error, stack.HTTPStatusError)
    assert error.status_code == 429
    assert partial == streamagg.ChatCompletionResponse()


@pytest.mark.parametrize("twin", TWINS)
def test_relay_interrupted_has_the_stacks_error_as_cause(stack: ModuleType, twin: str) -> None:
    """A relayed upstream that drops finishes with ``StreamInterruptedError`` caused by the
    stack's exception, and the partial response."""
    fault = stack.RemoteProtocolError("peer closed connection")
    forwarded, finished = relayed(
        twin, stack, streaming(stack, PLAIN, fail_after=len(PLAIN) // 2, fault=fault)
    )
    assert PLAIN.startswith(forwarded)
    [(partial, error)] = finished
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert error.__cause__ is fault
    assert partial.choices[0].message.content


# -- a real socket ----------------------------------------------------------------------------

NAME = "openai-python__plain-content"


@pytest.mark.parametrize("twin", TWINS)
def test_a_real_socket_with_either_stack(server: str, stack: ModuleType, twin: str) -> None:
    """Over loopback, a client of either stack folds the stream, gets both status error
    classes for a 404, and a dropped connection's stack exception as ``__cause__``."""

    def fold(url: str) -> Any:
        if twin == "sync":
            with stack.Client(timeout=10) as client, streamagg.create(client, url, PAYLOAD) as s:
                return s.finish()

        async def main() -> Any:
            async with (
                stack.AsyncClient(timeout=10) as client,
                streamagg.acreate(client, url, PAYLOAD) as s,
            ):
                return await s.finish()

        return anyio.run(main)

    assert fold(f"{server}/{NAME}") == streamagg.replay(STREAMS / f"{NAME}.sse")
    with pytest.raises(stack.HTTPStatusError) as status:
        fold(f"{server}/no-such-recording")
    assert isinstance(status.value, streamagg.HTTPStatusError)
    assert status.value.status_code == 404
    with pytest.raises(streamagg.StreamInterruptedError) as cut:
        fold(f"{server}/{NAME}?cut=300")
    assert isinstance(cut.value.__cause__, stack.HTTPError)
    assert cut.value.partial.id


def test_relay_keeps_at_most_max_error_body_of_an_error(stack: ModuleType) -> None:
    """A relayed error body is forwarded whole; only its first ``max_error_body`` bytes are
    kept for the error."""
    finished: list[Any] = []
    limits = streamagg.Limits(max_error_body=9)
    error_body = b'{"error": {"message": "slow down", "type": "rate"}}'

    def answer(request: Any) -> Any:
        return stack.Response(429, stream=body(stack, error_body, size=4))

    with stack.Client(transport=transport(stack, answer)) as client:
        relay = streamagg.relay(
            client, "POST", URL, limits=limits, on_finish=lambda *outcome: finished.append(outcome)
        )
        forwarded = b"".join(relay)
    [(_, error)] = finished
    assert forwarded == error_body
    assert error.body == '{"error":'


def test_an_async_relay_closed_early_finishes_once(stack: ModuleType) -> None:
    """``aclose()`` before the end (the downstream client went away) closes the upstream and
    finishes once with ``StreamInterruptedError`` and the partial response."""
    finished: list[Any] = []

    async def main() -> None:
        async with stack.AsyncClient(transport=streaming(stack, PLAIN)) as client:
            relay = streamagg.arelay(
                client, "POST", URL, on_finish=lambda *outcome: finished.append(outcome)
            )
            assert await anext(relay)
            await relay.aclose()
            await relay.aclose()

    anyio.run(main)
    [(partial, error)] = finished
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert "went away" in str(error)
    assert partial.id
