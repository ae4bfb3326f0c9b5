"""The Anthropic Messages fold: each rule of ``streamagg.anthropic._fold``, named after it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamagg
from streamagg import anthropic

from .helpers import sse

USAGE = {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 0}


def start(**usage: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**USAGE, **usage},
    }
    return {"type": "message_start", "message": message}


def block(index: int, kind: str = "text", **fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"text": {"text": ""}, "thinking": {"thinking": ""}}.get(kind, {})
    content = {"type": kind, **defaults, **fields}
    return {"type": "content_block_start", "index": index, "content_block": content}


def delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    """A ``content_block_delta`` event of the block ``index`` (not chat's ``delta``)."""
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def end(reason: str = "end_turn", **usage: Any) -> list[dict[str, Any]]:
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": None},
        "usage": usage or {"output_tokens": 5},
    }
    return [message_delta, {"type": "message_stop"}]


def test_blocks_by_index() -> None:
    """Blocks are keyed by ``index``: deltas of interleaved blocks go to their own block."""
    events = [start(), block(0), block(1), delta(1, "text_delta", text="B")]
    events += [delta(0, "text_delta", text="A"), stop(0), stop(1), *end()]
    message = anthropic.fold(events)
    assert [b.text for b in message.content] == ["A", "B"]
    assert message.text == "AB"


def test_text_and_thinking_deltas_concatenate() -> None:
    """``text_delta`` and ``thinking_delta`` concatenate onto their block."""
    events = [start(), block(0, "thinking"), delta(0, "thinking_delta", thinking="Hm")]
    events += [delta(0, "thinking_delta", thinking="m."), stop(0), block(1)]
    events += [delta(1, "text_delta", text="Hel"), delta(1, "text_delta", text="lo"), stop(1)]
    message = anthropic.fold([*events, *end()])
    assert message.content[0].thinking == "Hmm."
    assert message.content[1].text == "Hello"


def test_signature_delta_sets_the_signature() -> None:
    """``signature_delta`` sets the signature (it is sent whole: never doubled)."""
    events = [
        start(),
        block(0, "thinking", signature=""),
        delta(0, "signature_delta", signature="S1"),
    ]
    events += [delta(0, "signature_delta", signature="S2"), stop(0), *end()]
    assert anthropic.fold(events).content[0].signature == "S2"


def test_citations_delta_appends() -> None:
    """Each ``citations_delta`` appends its citation to the block's ``citations``."""
    first, second = {"type": "web_search_result_location", "url": "a"}, {"url": "b"}
    events = [start(), block(0, citations=None), delta(0, "citations_delta", citation=first)]
    events += [delta(0, "citations_delta", citation=second), delta(0, "text_delta", text="x")]
    message = anthropic.fold([*events, stop(0), *end()])
    assert message.content[0].citations == [first, second]


def test_input_json_is_buffered_and_parsed_at_block_stop() -> None:
    """``input_json_delta`` pieces are joined and parsed as one JSON value."""
    events = [start(), block(0, "tool_use", id="toolu_1", name="get", input={})]
    events += [delta(0, "input_json_delta", partial_json=p) for p in ['{"ci', 'ty": "P', 'aris"}']]
    message = anthropic.fold([*events, stop(0), *end("tool_use")])
    assert message.content[0].input == {"city": "Paris"}
    assert message.content[0].partial_input is None
    assert message.stop_reason == "tool_use"


def test_input_cut_by_max_tokens_keeps_the_raw_text() -> None:
    """A stream cut by ``max_tokens`` mid-JSON never raises: ``input`` holds what parsed and
    ``partial_input`` the raw text."""
    events = [start(), block(0, "tool_use", id="toolu_1", name="get", input={})]
    events += [delta(0, "input_json_delta", partial_json='{"city": "Par')]
    message = anthropic.fold([*events, stop(0), *end("max_tokens")])
    assert message.content[0].input == {"city": "Par"}
    assert message.content[0].partial_input == '{"city": "Par'
    assert "partial_input" not in streamagg.to_dict(message)["content"][0]


def test_tool_input_without_deltas_keeps_the_start_input() -> None:
    """A tool-use block with no ``input_json_delta`` keeps the input it started with."""
    events = [start(), block(0, "tool_use", id="t", name="now", input={}), stop(0), *end()]
    assert anthropic.fold(events).content[0].input == {}


def test_blocks_whole_in_content_block_start_are_kept() -> None:
    """Server tool results and redacted thinking arrive whole in ``content_block_start``."""
    result = {"type": "web_search_tool_result", "tool_use_id": "s", "content": [{"url": "u"}]}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    events = [start(), {"type": "content_block_start", "index": 0, "content_block": result}]
    events += [stop(0), {"type": "content_block_start", "index": 1, "content_block": redacted}]
    message = anthropic.fold([*events, stop(1), *end()])
    assert streamagg.to_dict(message)["content"] == [result, redacted]


def test_empty_blocks_are_kept() -> None:
    """A block that never receives a delta is kept as it started."""
    message = anthropic.fold([start(), block(0), stop(0), *end()])
    assert streamagg.to_dict(message)["content"] == [{"type": "text", "text": ""}]


def test_usage_keys_replace_never_sum() -> None:
    """``message_delta.usage`` keys replace those of ``message_start`` (cumulative counts);
    keys it does not send keep their values; unknown keys are kept; null never erases."""
    events = [start(cache_creation_input_tokens=3), block(0), stop(0)]
    usage: dict[str, Any] = {
        "output_tokens": 42,
        "input_tokens": None,
        "server_tool_use": {"web_search": 1},
    }
    message = anthropic.fold([*events, *end(**usage)])
    assert streamagg.to_dict(message)["usage"] == {
        "input_tokens": 10,
        "output_tokens": 42,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 3,
        "server_tool_use": {"web_search": 1},
    }


def test_ping_is_ignored() -> None:
    """``ping`` events change nothing (they are counted in the report)."""
    events = [start(), {"type": "ping"}, block(0), {"type": "ping"}, stop(0), *end()]
    message = anthropic.fold(events)
    assert message == anthropic.fold([e for e in events if e["type"] != "ping"])
    assert message.report is not None
    assert message.report.other_events == 2


def test_error_event_raises_upstream_error_with_the_partial() -> None:
    """An ``error`` event raises ``UpstreamError`` at once, with the message so far."""
    error = {"type": "overloaded_error", "message": "Overloaded"}
    raw = sse([start(), block(0), delta(0, "text_delta", text="Hi")], named=True)
    raw += sse([{"type": "error", "error": error}], named=True)
    with pytest.raises(streamagg.UpstreamError, match="Overloaded") as info:
        anthropic.replay(raw)
    assert info.value.error == error
    assert info.value.partial.text == "Hi"


def test_only_message_stop_completes_the_stream() -> None:
    """Without ``message_stop`` the stream is incomplete, even with a stop reason."""
    events = [start(), block(0), delta(0, "text_delta", text="Hi"), stop(0), end()[0]]
    with pytest.raises(streamagg.IncompleteStreamError, match="message_stop") as info:
        anthropic.fold(events)
    assert info.value.partial.stop_reason == "end_turn"
    lenient = anthropic.fold(events, strict=False)
    assert lenient.report is not None
    assert not lenient.report.complete


def test_message_stop_extras_are_kept() -> None:
    """Provider extras on ``message_stop`` (Bedrock's metrics) are kept in ``extensions``."""
    metrics = {"inputTokenCount": 8}
    events = [start(), *end()]
    events[-1] = {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}
    message = anthropic.fold(events)
    assert message.extensions == {"amazon-bedrock-invocationMetrics": metrics}


def test_other_delta_types_copy_their_keys() -> None:
    """A delta type the fold does not know (``compaction_delta``) copies its keys onto the
    block, strings concatenated: nothing is dropped."""
    events = [start(), block(0, "compaction", content="")]
    events += [delta(0, "compaction_delta", content="ab", meta={"n": 1})]
    events += [delta(0, "compaction_delta", content="cd"), stop(0), *end()]
    content = streamagg.to_dict(anthropic.fold(events))["content"]
    assert content == [{"type": "compaction", "content": "abcd", "meta": {"n": 1}}]


def test_second_message_start_appends_its_blocks() -> None:
    """A second ``message_start`` (two messages spliced) keeps the first id and puts its
    blocks after the ones folded."""
    events = [start(), block(0), delta(0, "text_delta", text="A"), stop(0)]
    second = start()
    second["message"]["id"] = "msg_2"
    events += [second, block(0), delta(0, "text_delta", text="B"), stop(0), *end()]
    message = anthropic.fold(events)
    assert message.id == "msg_1"
    assert [b.text for b in message.content] == ["A", "B"]


def test_deltas_are_typed() -> None:
    """Each kind of news comes as its own delta."""
    aggregator = anthropic.Aggregator()
    assert aggregator.feed(start()) == []
    assert aggregator.feed(block(0)) == [anthropic.BlockStart(0, "text")]
    assert aggregator.feed(delta(0, "text_delta", text="Hi")) == [anthropic.TextDelta(0, "Hi")]
    thinking = delta(0, "thinking_delta", thinking="Hm")
    assert aggregator.feed(thinking) == [anthropic.ThinkingDelta(0, "Hm")]
    json_delta = delta(0, "input_json_delta", partial_json="{")
    assert aggregator.feed(json_delta) == [anthropic.InputJSONDelta(0, "{")]
    assert aggregator.feed(stop(0)) == [anthropic.BlockStop(0)]
    (stopped,) = aggregator.feed(end()[0])
    assert stopped == anthropic.StopDelta("end_turn", anthropic.MessageUsage(10, 5, None, 0))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**delta(0, "text_delta", text="x"), "index": "0"}, "index must be"),
        (delta(0, "text_delta", text=7), "text must be a string"),
        ({"type": "content_block_start", "index": 0, "content_block": 1}, "content_block"),
        ({"type": "message_start", "message": []}, "message must be an object"),
        ({"type": "content_block_delta", "index": 0, "delta": "x"}, "delta must be"),
        ({"type": "message_delta", "usage": 3}, "usage must be an object"),
    ],
)
def test_bad_fields_are_malformed_chunks(event: dict[str, Any], message: str) -> None:
    """A field of an impossible type raises ``MalformedChunkError`` naming it, with the partial;
    lenient, the event is skipped and listed in the report."""
    with pytest.raises(streamagg.MalformedChunkError, match=message) as info:
        anthropic.fold([start(), event])
    assert info.value.partial.id == "msg_1"
    lenient = anthropic.fold([start(), event, *end()], strict=False)
    assert lenient.report is not None
    assert len(lenient.report.skipped) == 1


def test_max_items_bounds_the_blocks() -> None:
    """Blocks past ``max_items`` raise ``LimitExceededError`` at once."""
    limits = streamagg.Limits(max_items=2)
    with pytest.raises(streamagg.LimitExceededError, match="max_items=2") as info:
        anthropic.fold([start(), *(block(i) for i in range(5))], limits=limits)
    assert len(info.value.partial.content) == 2


def test_error_body_and_message_body() -> None:
    """A recorded non-streaming error body raises ``UpstreamError``; a message body is the
    final message."""
    error = b'{"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}'
    with pytest.raises(streamagg.UpstreamError, match="bad key"):
        anthropic.replay(error)
    body = json.dumps({**start()["message"], "content": [{"type": "text", "text": "Hi"}]})
    assert anthropic.replay(body.encode()).text == "Hi"


def test_unterminated_last_event_is_folded_when_whole() -> None:
    """A recording whose last blank line was stripped still ends with its ``message_stop``; an
    event cut mid-JSON by the end of input is discarded."""
    raw = sse([start(), block(0), delta(0, "text_delta", text="Hi"), stop(0), *end()], named=True)
    assert anthropic.replay(raw.rstrip(b"\n")).text == "Hi"
    with pytest.raises(streamagg.IncompleteStreamError):
        anthropic.replay(raw.rstrip(b"\n")[:-3])


def test_anthropic_sdk_event_objects_fold() -> None:
    """The anthropic SDK's event objects (pydantic) fold as their dicts do."""
    types = pytest.importorskip("anthropic.types")
    event = types.RawContentBlockDeltaEvent(
        type="content_block_delta", index=0, delta=types.TextDelta(type="text_delta", text="Hi")
    )
    aggregator = anthropic.Aggregator()
    assert aggregator.feed(event) == [anthropic.TextDelta(0, "Hi")]


@pytest.mark.anyio
async def test_afold_of_an_async_iterable() -> None:
    """``afold`` folds an async iterable of events."""

    async def events() -> Any:
        for event in [start(), block(0), delta(0, "text_delta", text="Hi"), stop(0), *end()]:
            yield event

    assert (await anthropic.afold(events())).text == "Hi"


def test_events_without_an_index_are_about_the_last_block() -> None:
    """A block started without ``index`` is the next; a delta or stop without one is about the
    last block started."""
    events = [start(), block(0)]
    events.append({"type": "content_block_start", "content_block": {"type": "text", "text": ""}})
    events.append({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "B"}})
    events += [{"type": "content_block_stop"}, *end()]
    assert [b.text for b in anthropic.fold(events).content] == ["", "B"]


def test_message_delta_keys_beside_the_delta_are_kept() -> None:
    """Message-level keys a ``message_delta`` carries beside ``delta`` and ``usage`` (such as
    ``context_management``) are kept on the message, never dropped."""
    events = [start(), block(0), stop(0), *end()]
    events[-2] = {**events[-2], "context_management": {"applied_edits": []}}
    message = anthropic.fold(events)
    assert message.extensions == {"context_management": {"applied_edits": []}}
