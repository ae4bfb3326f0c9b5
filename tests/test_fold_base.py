"""What every typed-event dialect's fold shares (``FoldBase`` in ``streamagg._core.fold``):
keep-alives and comments sent as data, ``[DONE]``, data that is not a JSON object, nesting limits,
SDK objects, SSE events, bodies, and input after the end. Each behaviour is checked on every such
dialect."""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses

from .helpers import ndjson, sse

# A first event of each dialect that starts an object (so that a snapshot has an id or text).
FIRST: dict[str, tuple[Any, dict[str, Any]]] = {
    "responses": (
        responses,
        {"type": "response.created", "response": {"id": "r", "object": "response", "output": []}},
    ),
    "anthropic": (anthropic, {"type": "message_start", "message": {"id": "m", "content": []}}),
    "gemini": (gemini, {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}),
    "ollama": (
        ollama,
        {"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": False},
    ),
    "completions": (completions, {"id": "c", "choices": [{"text": "Hi", "index": 0}]}),
}
DIALECTS = sorted(FIRST)


def framed(dialect: str, *events: Any) -> bytes:
    """Events as their dialect frames them (strings go as raw data)."""
    return ndjson(events) if dialect == "ollama" else sse(events)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_data_that_is_not_a_json_object_is_malformed(dialect: str) -> None:
    """Data that is not JSON, or JSON that is not an object, raises ``MalformedChunkError`` with
    the partial; lenient, it is skipped and listed in the report."""
    module, first = FIRST[dialect]
    for bad in ("{oops", "[1, 2]"):
        raw = framed(dialect, first, bad)
        with pytest.raises(streamagg.MalformedChunkError) as info:
            module.replay(raw)
        assert streamagg.to_dict(info.value.partial)
        lenient = module.replay(raw, strict=False)
        assert lenient.report.skipped[0].data.startswith(bad[:2])
        assert not lenient.report.complete


@pytest.mark.parametrize("dialect", ["responses", "anthropic", "gemini", "completions"])
def test_keepalives_as_data_and_done(dialect: str) -> None:
    """``data: : keepalive`` is counted, not folded; ``[DONE]`` ends the stream (nothing after
    it is read) without completing one that needs its terminal event."""
    module, first = FIRST[dialect]
    raw = framed(dialect, first, ": keepalive", "[DONE]", {"later": True})
    folded = module.replay(raw, strict=False)
    assert folded.report.keepalives == 1
    assert "later" not in json.dumps(streamagg.to_dict(folded))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_json_nested_past_the_limit(dialect: str) -> None:
    """Data nested deeper than ``max_depth`` (or than the decoder can read) raises
    ``LimitExceededError`` with the partial."""
    module, first = FIRST[dialect]
    limits = streamagg.Limits(max_depth=5)
    deep: Any = 1
    for _ in range(10):
        deep = {"x": deep}
    # Where the dialect keeps unknown keys as they are: the object of a start event, or the
    # chunk (line) itself.
    inner = {"responses": "response", "anthropic": "message"}.get(dialect)
    event = (
        {**first, inner: {**first[inner], "extra": deep}} if inner else {**first, "extra": deep}
    )
    with pytest.raises(streamagg.LimitExceededError, match="max_depth"):
        module.fold([event], limits=limits)
    with pytest.raises(streamagg.LimitExceededError, match="max_depth"):
        module.replay(framed(dialect, first, "[" * 100_000 + "]" * 100_000))
    with pytest.raises(streamagg.LimitExceededError, match="max_depth"):
        module.replay(json.dumps(event).encode(), limits=limits)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_objects_with_model_dump_and_others(dialect: str) -> None:
    """An SDK object (with ``model_dump``) folds as its dict; anything else is a malformed
    chunk (skipped when lenient); after the end nothing more is folded."""
    module, first = FIRST[dialect]

    class Event:
        def model_dump(self, **options: Any) -> dict[str, Any]:
            return first

    aggregator = module.Aggregator()
    aggregator.feed(Event())
    assert aggregator.chunks == 1
    with pytest.raises(streamagg.MalformedChunkError, match="not int"):
        aggregator.feed(7)
    lenient = module.Aggregator(strict=False)
    assert lenient.feed(7) == []
    aggregator.feed_done()
    assert aggregator.done
    assert aggregator.feed(first) == []
    assert aggregator.chunks == 1


@pytest.mark.parametrize("dialect", ["responses", "anthropic", "gemini", "completions"])
def test_feed_event_takes_sse_events(dialect: str) -> None:
    """``feed_event`` folds anything with ``event`` and ``data`` (httpx-sse's events)."""
    module, first = FIRST[dialect]
    (event,) = streamagg.parse_sse(framed(dialect, first))
    aggregator = module.Aggregator()
    aggregator.feed_event(event)
    assert aggregator.chunks == 1
    assert aggregator.feed_event(type(event)(event="message", data="")) == []  # a keep-alive


@pytest.mark.parametrize("dialect", DIALECTS)
def test_bodies_that_are_not_objects(dialect: str) -> None:
    """A body that is not JSON, or an array holding something else than objects, is malformed;
    an empty stream is incomplete."""
    module, _ = FIRST[dialect]
    with pytest.raises(streamagg.MalformedChunkError, match=r"objects|JSON object"):
        module.replay(b"[1]")
    with pytest.raises(streamagg.IncompleteStreamError, match="without any"):
        module.replay(b"")


def test_an_error_event_without_an_error_key() -> None:
    """An ``event: error`` whose data has no ``error`` key is the error itself."""
    raw = b'event: error\ndata: {"type": "error", "message": "overloaded"}\n\n'
    with pytest.raises(streamagg.UpstreamError, match="overloaded") as info:
        anthropic.replay(raw)
    assert info.value.error == {"message": "overloaded"}
    with pytest.raises(streamagg.UpstreamError, match="not json") as info:
        gemini.replay(b"event: error\ndata: not json\n\n")
    assert info.value.error == "not json"


def test_a_kept_field_too_deep_is_named() -> None:
    """The depth limit's message names the field that went past it."""
    deep: Any = 1
    for _ in range(10):
        deep = [deep]
    event = {"candidates": [{"content": {"parts": [{"text": "x"}]}}], "groundingMetadata": deep}
    with pytest.raises(streamagg.LimitExceededError, match="the field groundingMetadata nests"):
        gemini.fold([event], limits=streamagg.Limits(max_depth=5))
