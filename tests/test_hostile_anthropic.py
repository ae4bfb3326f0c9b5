"""The Anthropic Messages fold under hostile input: typed errors (never a foreign exception),
nesting bounded as it arrives, objects that round-trip, and lookups that do not scan."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

import streamagg
from streamagg import anthropic

from .helpers import sse

START: dict[str, Any] = {
    "type": "message_start",
    "message": {"id": "m", "type": "message", "role": "assistant", "content": []},
}
TOOL: dict[str, Any] = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
}
TEXT: dict[str, Any] = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
STOP: list[dict[str, Any]] = [{"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]


def input_json(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": text},
    }


@pytest.mark.parametrize("kind", [[1], {"a": 1}, 5])
def test_a_delta_type_of_another_type_is_bad_input(kind: Any) -> None:
    """A ``delta.type`` that is a list (``TypeError: unhashable``), an object or a number is
    ``MalformedChunkError`` naming it; lenient, a skip."""
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": kind, "text": "x"}}
    raw = sse([START, TEXT, delta, *STOP])
    with pytest.raises(streamagg.MalformedChunkError, match=r"delta\.type must be a string"):
        anthropic.replay(raw)
    assert anthropic.replay(raw, strict=False).report.skipped  # type: ignore[union-attr]


@pytest.mark.parametrize("event", [{}, {"type": None}, {"type": 1.5}])
def test_an_event_without_a_string_type_is_bad_input(event: dict[str, Any]) -> None:
    """An event without a string ``type`` is bad input, strict and lenient alike."""
    with pytest.raises(streamagg.MalformedChunkError, match="type must be a string"):
        anthropic.replay(sse([START, event, *STOP]))


@pytest.mark.parametrize("levels", [129, 330, 1_000, 100_000])
def test_tool_input_nested_past_max_depth_is_refused_as_it_arrives(levels: int) -> None:
    """Tool input JSON nested deeper than ``max_depth`` (in pieces, brackets in strings not
    counted) is ``LimitExceededError`` when its delta arrives: ``to_dict`` was
    ``RecursionError``."""
    pieces = ["[" * (levels // 2), "[" * (levels - levels // 2)]
    raw = sse([START, TOOL, *(input_json(p) for p in pieces), *STOP])
    with pytest.raises(streamagg.LimitExceededError, match="field input") as info:
        anthropic.replay(raw)
    assert info.value.limit == "max_depth"
    streamagg.to_dict(info.value.partial)


def test_tool_input_within_max_depth_and_brackets_in_strings_are_kept() -> None:
    """128 levels fold (the object and 127 lists); so do thousands of brackets inside
    strings, with escaped quotes."""
    nested = "[" * 127 + "]" * 127
    text = '{"a": "' + '[{\\"[' * 500 + '", "b": ' + nested + "}"
    raw = sse([START, TOOL, input_json(text[:900]), input_json(text[900:]), *STOP])
    message = anthropic.replay(raw)
    assert message.content[0].input["a"].startswith('[{"[')
    streamagg.to_dict(message)


@pytest.mark.parametrize("field", [{"type": 1.5}, {"role": []}, {"stop_reason": {"a": 1}}])
def test_a_typed_field_of_another_type_round_trips(field: dict[str, Any]) -> None:
    """A field whose value has another type is kept as it came: ``from_dict(to_dict(m)) == m``
    (it was kept in ``extensions`` but dropped by ``to_dict``)."""
    message = anthropic.from_dict({"id": "m", "content": [], **field})
    ((key, value),) = field.items()
    assert streamagg.to_dict(message)[key] == value
    assert anthropic.from_dict(streamagg.to_dict(message)) == message


def test_deltas_without_an_index_go_to_the_last_block_without_a_scan() -> None:
    """Deltas without ``index`` (some gateways) go to the last block started, found without
    looking at every block (``max`` over 4,000 blocks was 19x slower)."""
    aggregator = anthropic.Aggregator()
    aggregator.feed(START)
    for n in range(50):
        block = {"type": "content_block_start", "index": n, "content_block": {"type": "text"}}
        aggregator.feed(block)

    class NoScan(dict[int, Any]):
        def __iter__(self) -> Any:
            raise AssertionError("the blocks were scanned")

    aggregator._blocks = NoScan(aggregator._blocks)
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}
    aggregator.feed(delta)
    aggregator.feed({"type": "content_block_start", "content_block": {"type": "text"}})
    aggregator.feed(delta)
    aggregator._blocks = dict(aggregator._blocks)
    content = aggregator.snapshot().content
    assert [b.text for b in content[49:]] == ["x", "x"]


def test_input_measured_in_bounded_memory() -> None:
    """A tool input of a million opening brackets in 1,000-byte deltas is refused, holding no
    more than a few times its own size."""
    raw = sse([START, TOOL, *(input_json("[" * 1_000) for _ in range(1_000)), *STOP])
    tracemalloc.start()
    try:
        with pytest.raises(streamagg.LimitExceededError):
            anthropic.replay(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * len(raw)
