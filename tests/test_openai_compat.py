"""Interoperation with the official ``openai`` SDK (skipped when it is not installed)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

import streamagg

from .helpers import STREAMS

openai_types = pytest.importorskip("openai.types.chat")

COMPLETE = [
    "openai-python__plain-content",
    "openai-python__n3-choices",
    "openai-python__parallel-tool-calls",
    "openai-python__refusal-logprobs",
    "openai-python__finish-length",
    "openllmetry__azure-gpt35turbo-prompt_filter_results-2024",
    "vercel-ai__deepseek-reasoner-text",
    "vercel-ai__groq-llama33-whole-toolcall-usage-and-x_groq",
    "vercel-ai__mistral-small-toolcall-no-index-single-chunk",
    "vercel-ai__perplexity-sonar-citations-cumulative-usage",
]


@pytest.mark.parametrize("name", COMPLETE)
def test_response_converts_to_the_sdk_chat_completion(name: str) -> None:
    """``ChatCompletion.model_validate(streamagg.to_dict(r))`` works and agrees with ``r``."""
    r = streamagg.replay(STREAMS / f"{name}.sse")
    completion = openai_types.ChatCompletion.model_validate(streamagg.to_dict(r))
    assert completion.id == r.id
    assert completion.object == "chat.completion"
    for theirs, ours in zip(completion.choices, r.choices, strict=True):
        assert theirs.message.content == ours.message.content
        assert theirs.finish_reason == ours.finish_reason
        assert [t.function.arguments for t in theirs.message.tool_calls or []] == [
            t.function.arguments for t in ours.message.tool_calls or []
        ]
    if r.usage is not None:
        assert completion.usage is not None
        assert completion.usage.total_tokens == r.usage.total_tokens


@pytest.mark.parametrize("name", COMPLETE)
def test_fold_takes_the_sdk_chunk_objects(name: str) -> None:
    """``fold()`` of the SDK's ``ChatCompletionChunk`` objects equals replaying the bytes.

    The chunks are built the way the SDK's ``Stream`` builds them: ``construct``, no
    validation (real providers send chunks that its schema would reject)."""
    chunks = [
        openai_types.ChatCompletionChunk.construct(**json.loads(e.data))
        for e in streamagg.parse_sse((STREAMS / f"{name}.sse").read_bytes())
        if e.data != "[DONE]"
    ]
    assert streamagg.fold(chunks) == streamagg.replay(STREAMS / f"{name}.sse")


def _sdk_client(body: bytes) -> Any:
    openai = pytest.importorskip("openai")
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    return openai.OpenAI(
        api_key="k", base_url="http://t/v1", http_client=httpx.Client(transport=transport)
    )


def _async_sdk_client(body: bytes) -> Any:
    openai = pytest.importorskip("openai")
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    return openai.AsyncOpenAI(
        api_key="k", base_url="http://t/v1", http_client=httpx.AsyncClient(transport=transport)
    )


def test_sdk_stream_that_ended_normally_is_complete() -> None:
    """An ``openai.Stream`` consumes ``[DONE]`` itself: a provider that sends no finish reason
    (Snowflake) folds from the SDK stream as it does from the bytes."""
    path = STREAMS / "pydantic-ai__snowflake-claude-no-finish-reason.sse"
    client = _sdk_client(path.read_bytes())
    stream = client.chat.completions.create(model="m", messages=[], stream=True)
    folded = streamagg.fold(stream)
    assert folded.choices[0].message.content == streamagg.replay(path).choices[0].message.content
    assert folded.usage == streamagg.replay(path).usage


@pytest.mark.parametrize(
    "name",
    [
        "vercel-ai__mistral-magistral-thinking-and-text-parts",
        "constructed__tool-calls-single-object",
    ],
)
def test_folding_sdk_chunks_prints_no_serialization_warnings(name: str) -> None:
    """Chunks whose provider fields do not match the SDK's types (content parts, a single tool
    call object) fold without pydantic's serializer warnings, to what the bytes fold to."""
    path = STREAMS / f"{name}.sse"
    stream = _sdk_client(path.read_bytes()).chat.completions.create(
        model="m", messages=[], stream=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folded = streamagg.fold(stream)
    assert folded == streamagg.replay(path)


def test_sdk_error_mid_stream_becomes_upstream_error_with_partial() -> None:
    """An ``openai.APIError`` raised by the SDK for an error event becomes ``UpstreamError``
    with what was folded before it and the SDK's exception as ``__cause__``."""
    openai = pytest.importorskip("openai")
    path = STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse"
    stream = _sdk_client(path.read_bytes()).chat.completions.create(
        model="m", messages=[], stream=True
    )
    with pytest.raises(streamagg.UpstreamError) as info:
        streamagg.fold(stream)
    assert isinstance(info.value.__cause__, openai.APIError)
    assert info.value.partial.choices[0].message.reasoning
    assert info.value.error == info.value.__cause__.body


def test_sdk_connection_failure_becomes_interrupted_with_partial() -> None:
    """A connection error raised by the chunk source becomes ``StreamInterruptedError``."""
    openai = pytest.importorskip("openai")

    def chunks() -> Iterator[dict[str, Any]]:
        yield {"choices": [{"index": 0, "delta": {"content": "par"}}]}
        raise openai.APIConnectionError(request=httpx.Request("POST", "http://t/"))

    with pytest.raises(streamagg.StreamInterruptedError) as info:
        streamagg.fold(chunks())
    assert isinstance(info.value.__cause__, openai.APIConnectionError)
    assert info.value.partial.choices[0].message.content == "par"


def test_other_exceptions_from_the_source_pass_through() -> None:
    """An exception that is not an SDK's is not ours to rename."""

    def chunks() -> Iterator[dict[str, Any]]:
        yield {"choices": []}
        raise KeyError("their bug")

    with pytest.raises(KeyError, match="their bug"):
        streamagg.fold(chunks())


def test_sdk_async_stream_folds_with_afold() -> None:
    """``afold`` takes an ``openai.AsyncStream`` and gives what replaying the bytes gives."""
    path = STREAMS / "openai-python__parallel-tool-calls.sse"

    async def main() -> streamagg.ChatCompletionResponse:
        client = _async_sdk_client(path.read_bytes())
        stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        return await streamagg.afold(stream)

    assert anyio.run(main) == streamagg.replay(path)
