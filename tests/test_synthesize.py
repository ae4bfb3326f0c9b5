"""``synthesize`` (``streamagg.testing._synthesize``, and each dialect's ``_synthesize``): the
stream an object would have come as. ``replay(synthesize(x)) == x`` for every recorded object of
every dialect and for random ones, at any piece size; chat's stream is realistic (role first, text
in pieces, the finish chunk, usage, ``[DONE]``) and can carry timing lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamagg
from streamagg import (
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Message,
    ToolCall,
    anthropic,
    completions,
    gemini,
    ollama,
    responses,
)
from streamagg.testing import synthesize, synthesize_chunks
from streamagg.testing._format import timed_segments

from .dialects import RECORDINGS, folded, path
from .helpers import STREAMS
from .strategies import folded_responses

PLAIN = STREAMS / "openai-python__plain-content.sse"


# -- chat completions ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(folded_responses(), st.integers(1, 12))
def test_property_replay_of_synthesize_is_identity(
    response: ChatCompletionResponse, chunk_size: int
) -> None:
    """``replay(synthesize(r)) == r`` for any response (n>1, tool calls, refusal, reasoning,
    logprobs, usage, extensions), whatever the chunk size; also chunk by chunk via ``fold``."""
    assert streamagg.replay(synthesize(response, chunk_size=chunk_size)) == response
    chunks = synthesize_chunks(response, chunk_size=chunk_size)
    agg = streamagg.Aggregator()
    for chunk in chunks:
        agg.feed(chunk)
    agg.feed_done()
    assert agg.result() == response


@pytest.mark.parametrize("path", sorted(STREAMS.glob("*.sse")), ids=lambda p: p.stem)
def test_synthesize_recorded_responses(path: Path) -> None:
    """Every recorded stream's response survives synthesize -> replay, given as a dict too."""
    try:
        response = streamagg.replay(path)
    except streamagg.StreamError as exc:
        response = exc.partial
    again = streamagg.replay(synthesize(streamagg.to_dict(response), chunk_size=3))
    assert again == response


def test_synthesize_is_a_realistic_stream() -> None:
    """Role first, text in pieces, the finish chunk, a usage-only chunk, then ``[DONE]``."""
    response = streamagg.replay(PLAIN)
    chunks = synthesize_chunks(response, chunk_size=10)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert all(p is not None and len(p) <= 10 for p in pieces)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 44
    raw = synthesize(response)
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"usage" not in synthesize(response, include_usage=False)


def test_synthesize_tool_calls_and_interleaved_choices() -> None:
    """Tool-call arguments stream in pieces after a head with id and name; n>1 interleaves."""
    r = ChatCompletionResponse(
        choices=[
            Choice(0, Message(tool_calls=[ToolCall("c1", function=FunctionCall("f", "{}12"))])),
            Choice(1, Message(content="abcdef")),
        ]
    )
    chunks = synthesize_chunks(r, chunk_size=2)
    order = [c["choices"][0]["index"] for c in chunks]
    assert order[:4] == [0, 1, 0, 1]
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0] == {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    assert calls[1] == {"index": 0, "function": {"arguments": "12"}}


def test_synthesize_interval_adds_timing() -> None:
    """``interval`` puts a timing line before each event."""
    raw = synthesize(
        ChatCompletionResponse(choices=[Choice(0, Message(content="hi"))]), interval=0.5
    )
    times = [t for t, _ in timed_segments(raw)]
    assert times == [0.5 * n for n in range(1, len(times) + 1)]


def test_synthesize_rejects_a_bad_chunk_size() -> None:
    """The chunk size is at least one character."""
    with pytest.raises(ValueError, match="chunk_size"):
        synthesize(ChatCompletionResponse(), chunk_size=0)
    assert streamagg.replay(synthesize(ChatCompletionResponse())) == ChatCompletionResponse()


# -- the other dialects --------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_synthesize_replays_to_the_object(dialect: str, name: str, size: int) -> None:
    """``replay(synthesize(x)) == x`` for every recorded object, at any piece size."""
    obj = folded(dialect, path(dialect, name))
    assert folded(dialect, synthesize(obj, chunk_size=size)) == obj


def _deltas_only(raw: bytes) -> list[dict[str, Any]]:
    """A Responses stream's events without what carries the whole: no ``….done`` items, no
    terminal output."""
    events = []
    for line in raw.decode().split("\n"):  # SSE lines, not str.splitlines's
        if line.startswith("data: "):
            event = json.loads(line[6:])
            if event["type"] == "response.output_item.done":
                continue
            if event["type"] in ("response.completed", "response.incomplete"):
                event["response"] = {**event["response"], "output": None}
            events.append(event)
    return events


texts = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.sampled_from(["message", "reasoning", "call"]), texts), max_size=5
    ),
    size=st.integers(1, 9),
)
def test_property_responses_deltas_fold_to_the_object(
    parts: list[tuple[str, str]], size: int
) -> None:
    """The delta events of a synthesized stream alone (without the whole items of the
    ``….done`` events and the terminal output) fold to the same strings, at any piece size."""
    output: list[dict[str, Any]] = []
    for n, (kind, text) in enumerate(parts):
        if kind == "message":
            part = {"type": "output_text", "text": text, "annotations": []}
            output.append(
                {"type": "message", "id": f"m{n}", "role": "assistant", "content": [part]}
            )
        elif kind == "reasoning":
            summary = [{"type": "summary_text", "text": text}]
            output.append({"type": "reasoning", "id": f"r{n}", "summary": summary})
        else:
            output.append({"type": "function_call", "id": f"f{n}", "name": "f", "arguments": text})
    for item in output:
        item["status"] = "completed"
    response = responses.from_dict(
        {"id": "resp", "object": "response", "status": "completed", "output": output}
    )
    raw = synthesize(response, chunk_size=size)
    assert responses.replay(raw) == response
    assert responses.fold(_deltas_only(raw)) == response


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(
        st.one_of(
            st.builds(lambda t: {"type": "text", "text": t}, texts),
            st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "s"}, texts),
            st.builds(
                lambda d: {"type": "tool_use", "id": "t", "name": "f", "input": d},
                st.dictionaries(texts, st.integers() | texts, max_size=3),
            ),
        ),
        max_size=5,
    ),
    size=st.integers(1, 9),
)
def test_property_anthropic_synthesize_round_trips(
    blocks: list[dict[str, Any]], size: int
) -> None:
    """Any message of text, thinking and tool-use blocks streams and folds back to itself."""
    usage = {"input_tokens": 3, "output_tokens": 9}
    message = anthropic.from_dict(
        {"id": "msg", "type": "message", "role": "assistant", "content": blocks, "usage": usage}
    )
    assert anthropic.replay(synthesize(message, chunk_size=size)) == message


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.tuples(texts, st.booleans()), max_size=5),
    call=st.booleans(),
    size=st.integers(1, 9),
)
def test_property_gemini_synthesize_round_trips(
    texts: list[tuple[str, bool]], call: bool, size: int
) -> None:
    """Text parts (alternating thought flags, so the fold keeps them apart), signatures and a
    function call stream and fold back to the same response at any piece size."""
    parts: list[dict[str, Any]] = []
    for n, (text, signed) in enumerate(texts):
        part: dict[str, Any] = {"text": text}
        if n % 2:
            part["thought"] = True
        if signed:
            part["thoughtSignature"] = f"sig{n}"
        parts.append(part)
    if call:
        parts.append({"functionCall": {"name": "f", "args": {"a": 1}}})
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
    response = gemini.from_dict(
        {"candidates": [candidate], "usageMetadata": {"totalTokenCount": 4}}
    )
    assert gemini.replay(synthesize(response, chunk_size=size)) == response


@settings(max_examples=60, deadline=None)
@given(
    thinking=st.one_of(st.none(), texts),
    content=texts,
    calls=st.integers(0, 3),
    size=st.integers(1, 9),
    chat=st.booleans(),
)
def test_property_ollama_synthesize_round_trips(
    thinking: str | None, content: str, calls: int, size: int, chat: bool
) -> None:
    """Any chat or generate answer (thinking, text, whole tool calls) streams as JSON lines and
    folds back to itself, split anywhere."""
    final = {"model": "m", "created_at": "t", "done": True, "done_reason": "stop", "eval_count": 3}
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking is not None:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = [
                {"function": {"name": f"f{n}", "arguments": {}}} for n in range(calls)
            ]
        data = {**final, "message": message}
    else:
        data = {**final, "response": content}
        if thinking is not None:
            data["thinking"] = thinking
    response = ollama.from_dict(data)
    raw = synthesize(response, chunk_size=size)
    assert ollama.replay(raw) == response
    assert ollama.replay([raw[: len(raw) // 3], raw[len(raw) // 3 :]]) == response


@settings(max_examples=60, deadline=None)
@given(choices=st.lists(texts, min_size=1, max_size=3), size=st.integers(1, 9))
def test_property_completions_synthesize_round_trips(choices: list[str], size: int) -> None:
    """Any completion (n choices, logprob arrays, usage) streams and folds back to itself."""
    entries = []
    for n, text in enumerate(choices):
        tokens = list(text)
        logprobs = {
            "tokens": tokens,
            "token_logprobs": [-0.1] * len(tokens),
            "top_logprobs": [{t: -0.1} for t in tokens],
            "text_offset": list(range(len(tokens))),
        }
        entries.append({"text": text, "index": n, "logprobs": logprobs, "finish_reason": "length"})
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    completion = completions.from_dict(
        {
            "id": "c",
            "object": "text_completion",
            "created": 1,
            "model": "m",
            "choices": entries,
            "usage": usage,
        }
    )
    assert completions.replay(synthesize(completion, chunk_size=size)) == completion
