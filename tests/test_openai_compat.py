"""Interoperation with the official ``openai`` SDK (skipped when it is not installed)."""

from __future__ import annotations

import json

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
