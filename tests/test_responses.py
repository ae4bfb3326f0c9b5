"""The Responses API fold: each rule of ``streamagg.responses._fold``, named after it."""

from __future__ import annotations

from typing import Any

import pytest

import streamagg
from streamagg import responses

from .helpers import sse


def created(**extra: Any) -> dict[str, Any]:
    response = {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress"}
    return {"type": "response.created", "response": {**response, "output": [], **extra}}


def terminal(kind: str = "completed", **response: Any) -> dict[str, Any]:
    body = {"id": "resp_1", "object": "response", "status": kind, "usage": None, **response}
    return {"type": f"response.{kind}", "response": body}


def message_added(index: int = 0, item_id: str = "msg_1") -> dict[str, Any]:
    item = {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant"}
    return {
        "type": "response.output_item.added",
        "output_index": index,
        "item": {**item, "content": []},
    }


def text_delta(text: str, index: int = 0, part: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "output_index": index,
        "content_index": part,
        "item_id": "msg_1",
        "delta": text,
        **extra,
    }


def test_items_keyed_by_output_index_not_id() -> None:
    """Deltas whose item id changed between events still extend the item at their index."""
    events = [created(), message_added(), text_delta("Hel"), {**text_delta("lo"), "item_id": "x"}]
    events.append(terminal(output=None))
    response = responses.fold(events)
    assert [item.id for item in response.output] == ["msg_1"]
    assert response.output_text == "Hello"


def test_output_item_done_replaces_the_item() -> None:
    """``output_item.done`` replaces the item whole: status, text and new keys."""
    done = {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hello!", "annotations": []}],
    }
    events = [created(), message_added(), text_delta("Hel")]
    events += [{"type": "response.output_item.done", "output_index": 0, "item": done}]
    response = responses.fold([*events, terminal(output=None)])
    assert streamagg.to_dict(response)["output"] == [done]


def test_terminal_response_is_authoritative() -> None:
    """Where the terminal response carries output, it wins over what was folded."""
    final = [{"type": "message", "id": "msg_9", "status": "completed", "content": []}]
    events = [created(), message_added(), text_delta("folded"), terminal(output=final)]
    response = responses.fold(events)
    assert streamagg.to_dict(response)["output"] == final
    assert response.status == "completed"


@pytest.mark.parametrize("output", [None, [], "absent"])
def test_terminal_without_output_keeps_the_folded_items(output: Any) -> None:
    """``output: null``, ``[]`` or no ``output`` at all: the folded items fill in (openai-python
    crashes on ``output: null``)."""
    end = terminal(output=output)
    if output == "absent":
        del end["response"]["output"]
    response = responses.fold([created(), message_added(), text_delta("Hi"), end])
    assert response.output_text == "Hi"
    assert response.output[0].status == "completed"  # never finished: completed by the end


def test_items_never_finished_take_the_terminal_status() -> None:
    """An item added but never finished takes the status of an ``incomplete`` response."""
    events = [created(), message_added(), text_delta("Hi"), terminal("incomplete", output=None)]
    response = responses.fold(events)
    assert response.status == "incomplete"
    assert response.output[0].status == "incomplete"


def test_text_refusal_reasoning_arguments_and_input_concatenate() -> None:
    """Every streamed string concatenates per item and part; ``….done`` sets it whole."""
    events: list[dict[str, Any]] = [created()]
    for kind, key, index, part in [
        ("output_text", "content_index", 0, 0),
        ("refusal", "content_index", 0, 1),
        ("reasoning_text", "content_index", 1, 0),
        ("reasoning_summary_text", "summary_index", 1, 2),
        ("function_call_arguments", None, 2, None),
        ("custom_tool_call_input", None, 3, None),
        ("mcp_call_arguments", None, 4, None),
        ("code_interpreter_call_code", None, 5, None),
    ]:
        for piece in ("a", "b", "c"):
            event: dict[str, Any] = {"type": f"response.{kind}.delta", "output_index": index}
            if key is not None:
                event[key] = part
            events.append({**event, "delta": piece})
    response = responses.fold([*events, terminal(output=None)])
    message, reasoning, *calls = streamagg.to_dict(response)["output"]
    assert message["type"] == "message"
    assert [p.get("text", p.get("refusal")) for p in message["content"]] == ["abc", "abc"]
    assert reasoning["content"][0] == {"type": "reasoning_text", "text": "abc"}
    assert reasoning["summary"] == [{"type": "summary_text", "text": "abc"}]
    assert [c["type"] for c in calls] == [
        "function_call",
        "custom_tool_call",
        "mcp_call",
        "code_interpreter_call",
    ]
    assert [c.get("arguments", c.get("input", c.get("code"))) for c in calls] == ["abc"] * 4
    done = {"type": "response.output_text.done", "output_index": 0, "content_index": 0}
    response = responses.fold([*events, {**done, "text": "whole"}, terminal(output=None)])
    assert response.output[0].content[0].text == "whole"  # type: ignore[index]


def test_annotations_and_logprobs_append() -> None:
    """``output_text.annotation.added`` and the logprobs of text deltas append to the part."""
    token = {"token": "a", "logprob": -0.1}
    annotation = {"type": "url_citation", "url": "https://example.com"}
    events = [
        created(),
        message_added(),
        text_delta("a", logprobs=[token]),
        text_delta("b", logprobs=[token]),
        {
            "type": "response.output_text.annotation.added",
            "output_index": 0,
            "content_index": 0,
            "annotation_index": 0,
            "annotation": annotation,
        },
    ]
    part = responses.fold([*events, terminal(output=None)]).output[0].content[0]  # type: ignore[index]
    assert part.logprobs == [token, token]
    assert part.annotations == [annotation]


def test_incomplete_is_a_valid_final_object() -> None:
    """``response.incomplete`` is the final object (as the non-streaming API returns it), not an
    error (openai-python raises on it)."""
    details = {"reason": "max_output_tokens"}
    events = [created(), message_added(), text_delta("Hi")]
    response = responses.fold([*events, terminal("incomplete", incomplete_details=details)])
    assert response.status == "incomplete"
    assert response.incomplete_details == details
    assert response.report is not None
    assert response.report.complete


def test_failed_raises_upstream_error_with_the_partial() -> None:
    """``response.failed`` raises ``UpstreamError`` whose partial is the failed response."""
    error = {"code": "server_error", "message": "boom"}
    events = [created(), message_added(), text_delta("Hi"), terminal("failed", error=error)]
    with pytest.raises(streamagg.UpstreamError, match="boom") as info:
        responses.fold(events)
    assert info.value.error == error
    assert info.value.partial.status == "failed"
    assert info.value.partial.output_text == "Hi"


def test_error_event_raises_upstream_error_with_the_partial() -> None:
    """An ``error`` event raises ``UpstreamError`` (at the end of the stream, whose terminal
    ``response.failed`` is then the partial); without a terminal event too."""
    error = {"type": "error", "code": "rate_limit", "message": "slow down", "param": None}
    raw = sse([created(), message_added(), text_delta("Hi"), error], named=True)
    with pytest.raises(streamagg.UpstreamError, match="slow down") as info:
        responses.replay(raw)
    assert info.value.error == {"code": "rate_limit", "message": "slow down", "param": None}
    assert info.value.partial.output_text == "Hi"
    assert info.value.partial.report is not None
    assert not info.value.partial.report.complete


def test_no_response_created() -> None:
    """A resumed background stream starts late: items and parts it never announced are made."""
    events = [text_delta("Hi", index=2), terminal(output=None)]
    response = responses.fold(events)
    item = streamagg.to_dict(response)["output"][0]
    assert item["type"] == "message"
    assert item["content"] == [{"type": "output_text", "text": "Hi", "annotations": []}]


def test_data_before_event_line_and_no_event_lines() -> None:
    """``data:`` before ``event:`` in a block, and no ``event:`` lines at all, fold the same."""
    events = [created(), message_added(), text_delta("Hi"), terminal(output=None)]
    raw = sse(events, named=True)
    plain = responses.replay(raw)
    swapped = b"\n\n".join(
        b"\n".join(reversed(block.split(b"\n"))) for block in raw.split(b"\n\n")
    )
    assert responses.replay(swapped) == plain
    assert responses.replay(sse(events)) == plain


def test_comments_and_a_trailing_done() -> None:
    """Comments are skipped; a ``[DONE]`` after the terminal event is never read."""
    events = [created(), message_added(), text_delta("Hi"), terminal(output=None)]
    raw = b": keep-alive\n\n" + sse(events, named=True, done=True)
    assert responses.replay(raw).output_text == "Hi"


def test_done_without_terminal_event_is_incomplete() -> None:
    """``[DONE]`` without a terminal event ends the stream, which is not complete."""
    raw = sse([created(), message_added(), text_delta("Hi")], named=True, done=True)
    with pytest.raises(streamagg.IncompleteStreamError, match="terminal") as info:
        responses.replay(raw)
    assert info.value.partial.output_text == "Hi"
    lenient = responses.replay(raw, strict=False)
    assert lenient.status == "in_progress"
    assert lenient.report is not None
    assert not lenient.report.complete


def test_server_tool_progress_sets_the_item_status() -> None:
    """``response.web_search_call.searching`` sets the status of the item it names."""
    item = {"type": "web_search_call", "id": "ws_1", "status": "in_progress"}
    events = [
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"},
    ]
    aggregator = responses.Aggregator()
    for event in events:
        aggregator.feed(event)
    assert aggregator.snapshot().output[0].status == "searching"


def test_deltas_are_typed() -> None:
    """Each kind of news comes as its own delta."""
    aggregator = responses.Aggregator()
    assert aggregator.feed(created()) == []
    assert aggregator.feed(message_added()) == [responses.ItemStart(0, "message", "msg_1")]
    assert aggregator.feed(text_delta("Hi")) == [responses.TextDelta(0, 0, "Hi")]
    refusal = {"type": "response.refusal.delta", "output_index": 0, "content_index": 1}
    assert aggregator.feed({**refusal, "delta": "No"}) == [responses.RefusalDelta(0, 1, "No")]
    summary = {"type": "response.reasoning_summary_text.delta", "output_index": 1}
    assert aggregator.feed({**summary, "summary_index": 0, "delta": "Hm"}) == [
        responses.ReasoningDelta(1, 0, "Hm", summary=True)
    ]
    args = {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{"}
    assert aggregator.feed(args) == [responses.ArgumentsDelta(2, "arguments", "{")]
    item = {"type": "function_call", "status": "completed", "arguments": "{}"}
    assert aggregator.feed(
        {"type": "response.output_item.done", "output_index": 2, "item": item}
    ) == [responses.ItemDone(2, "function_call", "completed")]
    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    (finished,) = aggregator.feed(terminal(output=None, usage=usage))
    assert finished == responses.ResponseFinished("completed", responses.ResponseUsage(1, 2, 3))
    assert aggregator.done
    assert aggregator.feed(text_delta("late")) == []  # nothing after the end


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**text_delta("x"), "output_index": -1}, "output_index must be a non-negative integer"),
        ({**text_delta("x"), "delta": 5}, "delta must be a string"),
        ({"type": "response.output_item.added", "output_index": 0, "item": []}, "item must be"),
        ({"type": "response.created", "response": "x"}, "response must be an object"),
    ],
)
def test_bad_fields_are_malformed_chunks(event: dict[str, Any], message: str) -> None:
    """A field of an impossible type raises ``MalformedChunkError`` naming it, with the partial;
    lenient, the event is skipped and listed in the report."""
    with pytest.raises(streamagg.MalformedChunkError, match=message) as info:
        responses.fold([created(), message_added(), event])
    assert info.value.partial.id == "resp_1"
    lenient = responses.fold([created(), event, terminal(output=None)], strict=False)
    assert lenient.report is not None
    assert len(lenient.report.skipped) == 1


def test_max_items_bounds_the_output() -> None:
    """Items past ``max_items`` raise ``LimitExceededError`` at once."""
    limits = streamagg.Limits(max_items=2)
    events = [created(), *(text_delta("x", index=i) for i in range(5))]
    with pytest.raises(streamagg.LimitExceededError, match="max_items=2") as info:
        responses.fold(events, limits=limits)
    assert len(info.value.partial.output) == 2


def test_data_that_is_not_an_object() -> None:
    """Event data that is JSON but not an object, or not JSON, is a malformed chunk."""
    with pytest.raises(streamagg.MalformedChunkError, match="JSON object"):
        responses.replay(b"data: [1, 2]\n\n")
    with pytest.raises(streamagg.MalformedChunkError, match="not JSON"):
        responses.replay(b"data: {oops\n\n")


def test_error_body_and_failed_body() -> None:
    """A recorded non-streaming error body, or a failed response, raises ``UpstreamError``."""
    with pytest.raises(streamagg.UpstreamError, match="bad key"):
        responses.replay(b'{"error": {"message": "bad key", "type": "invalid_request_error"}}')
    failed = (
        b'{"object": "response", "status": "failed", "error": {"message": "no"}, "output": []}'
    )
    with pytest.raises(streamagg.UpstreamError, match="no") as info:
        responses.replay(failed)
    assert info.value.partial.status == "failed"


def test_openai_sdk_event_objects_fold() -> None:
    """The openai SDK's event objects (pydantic) fold as their dicts do."""
    types = pytest.importorskip("openai.types.responses")
    event = types.ResponseTextDeltaEvent(
        type="response.output_text.delta",
        item_id="msg_1",
        output_index=0,
        content_index=0,
        delta="Hi",
        logprobs=[],
        sequence_number=1,
    )
    aggregator = responses.Aggregator()
    assert aggregator.feed(event) == [responses.TextDelta(0, 0, "Hi")]


@pytest.mark.anyio
async def test_afold_of_an_async_iterable() -> None:
    """``afold`` folds an async iterable of events."""

    async def events() -> Any:
        for event in [created(), message_added(), text_delta("Hi"), terminal(output=None)]:
            yield event

    assert (await responses.afold(events())).output_text == "Hi"


def test_events_without_indexes_find_their_item() -> None:
    """Some servers leave ``output_index`` (and part indexes) out: an event then belongs to the
    item its ``item_id`` names, else the last one; an item added without one is the next."""
    first = {**message_added(0, "msg_a"), "output_index": None}
    second = {**message_added(1, "msg_b")}
    del second["output_index"]
    delta = {"type": "response.output_text.delta", "item_id": "msg_a", "delta": "A"}
    last = {"type": "response.output_text.delta", "delta": "B"}
    response = responses.fold([created(), first, second, delta, last, terminal(output=None)])
    assert [(i.id, i.content[0].text) for i in response.output] == [("msg_a", "A"), ("msg_b", "B")]  # type: ignore[index]


def test_start_and_terminal_events_without_their_response() -> None:
    """A ``response.created`` without its response is passed over; a terminal event without
    one ends the stream with the status it names."""
    events = [{"type": "response.created"}, message_added(), text_delta("Hi")]
    response = responses.fold([*events, {"type": "response.completed"}])
    assert response.status == "completed"
    assert response.output_text == "Hi"
