"""The Ollama fold and the NDJSON framing: each rule of ``streamagg.ollama._fold`` and
``streamagg._core.ndjson``, named after it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import ollama
from streamagg._core.ndjson import NDJSONDecoder

from .helpers import ndjson

HEAD = {"model": "llama3.1", "created_at": "2024-10-01T16:15:20Z"}
FINAL = {"done": True, "done_reason": "stop", "total_duration": 9, "eval_count": 3}


def chat(content: str = "", **message: Any) -> dict[str, Any]:
    return {**HEAD, "message": {"role": "assistant", "content": content, **message}, "done": False}


def test_lines_split_across_reads() -> None:
    """Lines split anywhere across reads (inside a character, between CR and LF) fold the same."""
    raw = ndjson([chat("Héllo"), chat(" wörld"), {**chat(), **FINAL}]).replace(b"\n", b"\r\n")
    whole = ollama.replay(raw)
    assert whole.text == "Héllo wörld"
    for cut in range(len(raw) + 1):
        assert ollama.replay([raw[:cut], raw[cut:]]) == whole


def test_content_and_thinking_concatenate() -> None:
    """``message.content`` and ``thinking`` concatenate; thinking is kept only if sent."""
    lines = [
        chat("", thinking="Hm"),
        chat("", thinking="m."),
        chat("Hi"),
        chat("!"),
        {**chat(), **FINAL},
    ]
    message = ollama.fold(lines).message
    assert message is not None
    assert (message.content, message.thinking) == ("Hi!", "Hmm.")
    assert ollama.fold([chat("x"), {**chat(), **FINAL}]).message.thinking is None  # type: ignore[union-attr]


def test_generate_response_and_thinking_concatenate() -> None:
    """``/api/generate`` lines: ``response`` and top-level ``thinking`` concatenate; the final
    line's ``context`` is kept."""
    lines = [
        {**HEAD, "response": "", "thinking": "Hm", "done": False},
        {**HEAD, "response": "Fl", "done": False},
        {**HEAD, "response": "uffy", "done": False},
        {**HEAD, "response": "", **FINAL, "context": [1, 2]},
    ]
    response = ollama.fold(lines)
    assert (response.response, response.thinking, response.context) == ("Fluffy", "Hm", [1, 2])
    assert response.message is None
    assert "message" not in streamagg.to_dict(response)


def test_tool_calls_are_whole_and_never_merged() -> None:
    """Tool calls are kept whole and in order, even from a ``done: false`` line before the
    final one, and never merged (two calls of the same function stay two)."""
    first = {"function": {"name": "get", "arguments": {"city": "Paris"}}}
    second = {"function": {"name": "get", "arguments": {"city": "Rome"}}}
    lines = [chat("", tool_calls=[first]), chat("", tool_calls=[second]), {**chat(), **FINAL}]
    message = ollama.fold(lines).message
    assert message is not None
    assert message.tool_calls == [first, second]


def test_the_final_object_is_the_done_line_with_the_text() -> None:
    """The answer is the ``done: true`` line as sent (timings and counts kept), with the text."""
    final = {**chat(), **FINAL, "load_duration": 7, "prompt_eval_count": 11}
    data = streamagg.to_dict(ollama.fold([chat("Hi"), final]))
    assert data == {**final, "message": {"role": "assistant", "content": "Hi"}}


def test_an_error_line_raises_with_the_partial() -> None:
    """An ``{"error": ...}`` line raises ``UpstreamError`` with the partial answer."""
    raw = ndjson([chat("Hi"), {"error": "model runner crashed"}])
    with pytest.raises(streamagg.UpstreamError, match="model runner crashed") as info:
        ollama.replay(raw)
    assert info.value.partial.text == "Hi"


def test_complete_only_at_the_done_line() -> None:
    """Without a ``done: true`` line the answer is incomplete (lenient: the partial)."""
    raw = ndjson([chat("Hi")])
    with pytest.raises(streamagg.IncompleteStreamError, match="done: true") as info:
        ollama.replay(raw)
    assert info.value.partial.text == "Hi"
    assert ollama.replay(raw, strict=False).text == "Hi"


def test_a_last_line_without_newline_counts_and_a_cut_one_does_not() -> None:
    """The last line without its newline is read; a line cut mid-JSON by the end is not."""
    raw = ndjson([chat("Hi"), {**chat(), **FINAL}]).rstrip(b"\n")
    assert ollama.replay(raw).done is True
    with pytest.raises(streamagg.IncompleteStreamError):
        ollama.replay(raw[:-5])


def test_a_non_streaming_body_replays() -> None:
    """A recorded ``"stream": false`` answer (one JSON object) is the final answer."""
    body = {**HEAD, "message": {"role": "assistant", "content": "Hi"}, **FINAL}
    assert streamagg.to_dict(ollama.replay(json.dumps(body).encode())) == body


def test_deltas_are_typed() -> None:
    """Text, thinking and tool calls come as typed deltas."""
    aggregator = ollama.Aggregator()
    assert aggregator.feed(chat("", thinking="Hm")) == [ollama.ThinkingDelta("Hm")]
    assert aggregator.feed(chat("Hi")) == [ollama.TextDelta("Hi")]
    call = {"function": {"name": "f", "arguments": {}}}
    assert aggregator.feed(chat("", tool_calls=[call])) == [ollama.ToolCallDelta(0, call)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({**HEAD, "message": "x"}, "message must be an object"),
        (chat(5), "content must be a string"),  # type: ignore[arg-type]
        ({**HEAD, "response": [1]}, "response must be a string"),
    ],
)
def test_bad_fields_are_malformed_chunks(line: dict[str, Any], message: str) -> None:
    """A field of an impossible type raises ``MalformedChunkError`` naming it."""
    with pytest.raises(streamagg.MalformedChunkError, match=message):
        ollama.fold([chat("a"), line])


def test_ndjson_decoder_lines_bom_blank_lines_and_crlf() -> None:
    """The decoder drops one BOM, skips blank lines, strips CRLF, keeps the unended line."""
    decoder = NDJSONDecoder()
    assert decoder.feed(b'\xef\xbb\xbf{}\r\n\r\n  \n{"a"') == ["{}"]
    assert decoder.feed(b': 1}\n{"b": 2}') == ['{"a": 1}']
    assert decoder.close() == '{"b": 2}'
    assert decoder.close() is None


def test_ndjson_line_limit() -> None:
    """A line longer than ``max_event_size`` raises ``LimitExceededError`` at once, with the
    partial answer; a line that never ends stops there too."""
    limits = streamagg.Limits(max_event_size=150)
    raw = ndjson([chat("Hi"), chat("x" * 200)])
    with pytest.raises(streamagg.LimitExceededError, match="max_event_size=150") as info:
        ollama.replay(raw, limits=limits)
    assert info.value.partial.text == "Hi"
    endless = (b"x" * 10 for _ in range(100))
    with pytest.raises(streamagg.LimitExceededError):
        ollama.replay(endless, limits=limits)


@given(st.lists(st.text(max_size=8), max_size=6), st.data())
def test_property_any_split_gives_the_same_lines(texts: list[str], data: st.DataObject) -> None:
    """However the bytes are split, the decoder gives the same lines."""
    raw = ndjson([chat(t) for t in texts])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=5)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    decoder = NDJSONDecoder()
    lines = [line for piece in pieces for line in decoder.feed(piece)]
    assert [json.loads(line) for line in lines] == [chat(t) for t in texts]
