"""Random chunk streams built from the fold rules fold to what a plain model of the rules
predicts, whatever the byte split; any prefix of a stream folds or raises an
``IncompleteStreamError`` whose partial agrees with the prefix."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamagg

from .helpers import sse

CHOICES = [0, 1, 3]  # sparse choice indices
TOOLS = [0, 2, 5]  # sparse tool indices
_text = st.text(alphabet="ab \u00e9\U0001f600\n", max_size=4)


@st.composite
def operations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One stream as a list of chunks, each with one choice entry (or a usage-only chunk)."""
    ops: list[dict[str, Any]] = []
    started: set[tuple[int, int]] = set()
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["text", "parts", "role", "tool", "usage", "null-usage"]))
        index = draw(st.sampled_from(CHOICES))
        if kind == "text":
            ops.append({"choice": index, "delta": {"content": draw(_text)}})
        elif kind == "parts":
            parts = [{"type": "text", "text": draw(_text)} for _ in range(draw(st.integers(1, 2)))]
            ops.append({"choice": index, "delta": {"content": parts}})
        elif kind == "role":
            ops.append({"choice": index, "delta": {"role": "assistant"}})
        elif kind == "tool":
            tool = draw(st.sampled_from(TOOLS))
            fragment: dict[str, Any] = {"index": tool, "function": {"arguments": draw(_text)}}
            if (index, tool) not in started:
                started.add((index, tool))
                fragment.update(id=f"call_{tool}", type="function")
                fragment["function"]["name"] = f"f{tool}"
            ops.append({"choice": index, "delta": {"tool_calls": [fragment]}})
        elif kind == "usage":
            n = draw(st.integers(0, 99))
            ops.append(
                {"usage": {"prompt_tokens": n, "completion_tokens": 1, "total_tokens": n + 1}}
            )
        else:
            ops.append({"usage": None})
    finishes = draw(st.lists(st.sampled_from(CHOICES), unique=True, max_size=3))
    ops.extend({"choice": i, "delta": {}, "finish": "stop"} for i in finishes)
    return ops


def to_chunk(op: dict[str, Any]) -> dict[str, Any]:
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 1}
    if "choice" in op:
        entry = {"index": op["choice"], "delta": op["delta"], "finish_reason": op.get("finish")}
        chunk["choices"] = [entry]
        chunk["usage"] = None
    else:
        chunk["choices"] = []
        chunk["usage"] = op["usage"]
    return chunk


def model(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules, written plainly: per choice, the first role, text concatenated (None until
    a string arrives), tool calls by index with the first id and name and arguments joined,
    the last finish reason; the last non-null usage."""
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for op in ops:
        if "choice" not in op:
            usage = op["usage"] if op["usage"] is not None else usage
            continue
        c = choices.setdefault(
            op["choice"], {"role": None, "content": None, "tools": {}, "finish": None}
        )
        delta = op["delta"]
        if "role" in delta and c["role"] is None:
            c["role"] = delta["role"]
        content = delta.get("content")
        pieces = [content] if isinstance(content, str) else [p["text"] for p in content or []]
        for piece in pieces:
            c["content"] = (c["content"] or "") + piece
        for fragment in delta.get("tool_calls", []):
            tool = c["tools"].setdefault(fragment["index"], {"id": "", "name": "", "args": ""})
            tool["id"] = tool["id"] or fragment.get("id", "")
            tool["name"] = tool["name"] or fragment["function"].get("name", "")
            tool["args"] += fragment["function"]["arguments"]
        c["finish"] = op.get("finish") or c["finish"]
    return {
        "choices": [
            {
                "index": i,
                "role": c["role"] or "assistant",
                "content": c["content"],
                "tools": [(t["id"], t["name"], t["args"]) for _, t in sorted(c["tools"].items())]
                or None,
                "finish": c["finish"],
            }
            for i, c in sorted(choices.items())
        ],
        "usage": usage,
    }


def observed(response: streamagg.ChatCompletionResponse) -> dict[str, Any]:
    return {
        "choices": [
            {
                "index": c.index,
                "role": c.message.role,
                "content": c.message.content,
                "tools": [
                    (t.id, t.function.name, t.function.arguments)
                    for t in c.message.tool_calls or []
                ]
                or None,
                "finish": c.finish_reason,
            }
            for c in response.choices
        ],
        "usage": None if response.usage is None else streamagg.to_dict(response)["usage"],
    }


def stream_of(ops: list[dict[str, Any]], done: bool = True) -> bytes:
    """The operations' chunks as an event stream, non-ASCII text as UTF-8 (so that byte splits
    fall inside characters), ``[DONE]`` last unless ``done`` is false."""
    return sse([to_chunk(op) for op in ops], done=done, ensure_ascii=False)


@settings(max_examples=300)
@given(operations(), st.lists(st.integers(0, 10_000), max_size=6))
def test_random_streams_fold_as_the_model_predicts(
    ops: list[dict[str, Any]], cuts: list[int]
) -> None:
    """Interleaved sparse choices, sparse tool indices, repeated roles, null usage after usage
    and content parts fold to the model's prediction, whatever the byte split."""
    raw = stream_of(ops)
    if not ops:
        return  # [DONE] without any chunk is incomplete, tested on its own
    expected = model(ops)
    assert observed(streamagg.replay(raw)) == expected
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert observed(streamagg.replay(pieces)) == expected


@settings(max_examples=200)
@given(operations(), st.integers(0, 20))
def test_a_prefix_folds_or_is_incomplete_with_the_prefix_as_partial(
    ops: list[dict[str, Any]], keep: int
) -> None:
    """The first ``keep`` chunks, without ``[DONE]``: either every choice finished and they
    fold, or ``IncompleteStreamError`` carries exactly what the prefix says."""
    prefix = ops[:keep]
    expected = model(prefix)
    finished = bool(expected["choices"]) and all(c["finish"] for c in expected["choices"])
    if finished:
        assert observed(streamagg.replay(stream_of(prefix, done=False))) == expected
    else:
        with pytest.raises(streamagg.IncompleteStreamError) as info:
            streamagg.replay(stream_of(prefix, done=False))
        assert observed(info.value.partial) == expected
