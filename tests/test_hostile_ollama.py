"""The Ollama fold under hostile input: typed errors, nesting bounded, objects that round-trip,
lines bounded in size."""

from __future__ import annotations

from typing import Any

import pytest

import streamagg
from streamagg import ollama

from .helpers import ndjson


def line(content: Any = "x", done: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "message": {"role": "assistant", "content": content}, "done": done,
            **extra}  # fmt: skip


@pytest.mark.parametrize("content", [[1], {"a": 1}, 5])
def test_content_of_another_type_is_bad_input(content: Any) -> None:
    """Message content that is not a string is ``MalformedChunkError``; lenient, a skip."""
    raw = ndjson([line(content), line("", done=True)])
    with pytest.raises(streamagg.MalformedChunkError, match="content"):
        ollama.replay(raw)
    assert ollama.replay(raw, strict=False).report.skipped  # type: ignore[union-attr]


@pytest.mark.parametrize("message", [[1], "x", 5])
def test_a_message_of_another_type_is_bad_input(message: Any) -> None:
    """A ``message`` that is not an object is ``MalformedChunkError`` naming it."""
    raw = ndjson([{"model": "m", "message": message, "done": False}])
    with pytest.raises(streamagg.MalformedChunkError, match="message"):
        ollama.replay(raw)


def test_kept_keys_nested_past_max_depth_are_refused() -> None:
    """A key kept as it is, nested deeper than ``max_depth``, is ``LimitExceededError``."""
    nested: Any = 0
    for _ in range(500):
        nested = [nested]
    with pytest.raises(streamagg.LimitExceededError, match="max_depth"):
        ollama.replay(ndjson([line(extra=nested), line("", done=True)]))


@pytest.mark.parametrize("field", [{"model": 5}, {"done": "yes"}, {"eval_count": []}])
def test_a_typed_field_of_another_type_round_trips(field: dict[str, Any]) -> None:
    """A field whose value has another type is kept as it came: ``from_dict(to_dict(r)) == r``."""
    response = ollama.from_dict({"message": {"role": "assistant", "content": ""}, **field})
    ((key, value),) = field.items()
    assert streamagg.to_dict(response)[key] == value
    assert ollama.from_dict(streamagg.to_dict(response)) == response


def test_a_line_that_never_ends_is_a_limit() -> None:
    """A line longer than ``max_event_size`` is ``LimitExceededError`` with the partial."""
    limits = streamagg.Limits(max_event_size=1_000)
    raw = ndjson([line("kept")]) + b'{"message": {"content": "' + b"x" * 5_000
    with pytest.raises(streamagg.LimitExceededError, match="max_event_size") as info:
        ollama.replay(raw, limits=limits)
    assert info.value.partial.message is not None
    assert info.value.partial.message.content == "kept"
