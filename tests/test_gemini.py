"""The Gemini fold: each rule of ``streamagg.gemini._fold``, named after it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamagg
from streamagg import gemini

USAGE = {"promptTokenCount": 5, "totalTokenCount": 5}


def chunk(*parts: dict[str, Any], index: int | None = None, **candidate: Any) -> dict[str, Any]:
    """A Gemini chunk: one candidate whose content has ``parts`` (not chat's ``chunk``)."""
    content = {"role": "model", "parts": list(parts)}
    entry: dict[str, Any] = {"content": content, **candidate}
    if index is not None:
        entry["index"] = index
    return {"candidates": [entry]}


def stop(index: int | None = None, **top: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"finishReason": "STOP"}
    if index is not None:
        entry["index"] = index
    return {"candidates": [entry], **top}


def parts(response: gemini.GenerateContentResponse, candidate: int = 0) -> list[Any]:
    return streamagg.to_dict(response)["candidates"][candidate]["content"]["parts"]  # type: ignore[no-any-return]


def test_candidates_by_index() -> None:
    """Candidates are keyed by ``index`` (missing means 0), sorted in the result."""
    events = [chunk({"text": "B"}, index=1), chunk({"text": "A"}), stop(1), stop(0)]
    response = gemini.fold(events)
    assert [c.content.parts[0].text for c in response.candidates or []] == ["A", "B"]  # type: ignore[union-attr,index]
    assert response.text == "A"


def test_text_parts_with_the_same_thought_flag_merge() -> None:
    """Consecutive text parts merge when their ``thought`` flags agree, not across them."""
    events = [
        chunk({"text": "Hm", "thought": True}),
        chunk({"text": "m.", "thought": True}),
        chunk({"text": "Hel"}),
        chunk({"text": "lo"}),
        stop(),
    ]
    assert parts(gemini.fold(events)) == [{"text": "Hmm.", "thought": True}, {"text": "Hello"}]


def test_a_later_signature_stays_on_the_merged_part() -> None:
    """A ``thoughtSignature`` that arrives later, even on an empty text part, stays on the part
    it merged into."""
    events = [
        chunk({"text": "Hel"}),
        chunk({"text": "lo"}),
        chunk({"text": "", "thoughtSignature": "S"}),
    ]
    assert parts(gemini.fold([*events, stop()])) == [{"text": "Hello", "thoughtSignature": "S"}]


def test_two_signed_parts_never_merge() -> None:
    """Two text parts that both carry a signature stay two parts."""
    events = [
        chunk({"text": "A", "thoughtSignature": "S1"}),
        chunk({"text": "B", "thoughtSignature": "S2"}),
    ]
    assert parts(gemini.fold([*events, stop()])) == [
        {"text": "A", "thoughtSignature": "S1"},
        {"text": "B", "thoughtSignature": "S2"},
    ]


def test_other_part_types_never_merge() -> None:
    """Function calls, code and results are kept whole, one part each, in order."""
    call = {"functionCall": {"name": "f", "args": {}}}
    code = {"executableCode": {"language": "PYTHON", "code": "1"}}
    result = {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}}
    events = [chunk(call), chunk(call), chunk({"text": "x"}), chunk(code), chunk(result), stop()]
    assert parts(gemini.fold(events)) == [call, call, {"text": "x"}, code, result]


def test_streamed_function_arguments_assemble_into_one_call() -> None:
    """``partialArgs`` (Vertex) write at their ``jsonPath``; strings concatenate; the call ends
    with an empty ``functionCall``."""
    events = [
        chunk({"functionCall": {"name": "book", "willContinue": True}}),
        chunk(
            {
                "functionCall": {
                    "partialArgs": [
                        {"jsonPath": "$.city", "stringValue": "Par", "willContinue": True},
                        {"jsonPath": "$.nights", "numberValue": 2},
                    ],
                    "willContinue": True,
                }
            }
        ),
        chunk(
            {
                "functionCall": {
                    "partialArgs": [
                        {"jsonPath": "$.city", "stringValue": "is"},
                        {"jsonPath": "$.rooms[1].type", "stringValue": "double"},
                        {"jsonPath": "$['late']", "boolValue": True},
                        {"jsonPath": "$.note", "nullValue": None},
                    ],
                    "willContinue": True,
                }
            }
        ),
        chunk({"functionCall": {}}),
        chunk({"text": "Booked."}),
        stop(),
    ]
    args = {
        "city": "Paris",
        "nights": 2,
        "rooms": [None, {"type": "double"}],
        "late": True,
        "note": None,
    }
    assert parts(gemini.fold(events)) == [
        {"functionCall": {"name": "book", "args": args}},
        {"text": "Booked."},
    ]


@pytest.mark.parametrize("path", ["city", "$.a..b", "$[x]"])
def test_bad_json_paths_are_malformed(path: str) -> None:
    """A ``jsonPath`` that is not a path raises ``MalformedChunkError`` naming it."""
    args = {"partialArgs": [{"jsonPath": path, "stringValue": "x"}], "willContinue": True}
    events = [
        chunk({"functionCall": {"name": "f", "willContinue": True}}),
        chunk({"functionCall": args}),
    ]
    with pytest.raises(streamagg.MalformedChunkError, match="jsonPath"):
        gemini.fold(events)


def test_usage_finish_reason_and_grounding_last_value_wins() -> None:
    """``usageMetadata`` is replaced (cumulative), never summed, and a chunk without it never
    erases it; ``finishReason`` and ``groundingMetadata`` keep their last value."""
    events = [
        {
            **chunk({"text": "a"}, groundingMetadata={"q": 1}),
            "usageMetadata": {"totalTokenCount": 3},
        },
        {
            **chunk({"text": "b"}, groundingMetadata={"q": 2}),
            "usageMetadata": {"totalTokenCount": 7},
        },
        chunk({"text": "c"}),
        stop(),
    ]
    response = gemini.fold(events)
    assert response.usage_metadata == gemini.UsageMetadata(total_token_count=7)
    candidate = (response.candidates or [])[0]
    assert candidate.grounding_metadata == {"q": 2}
    assert candidate.finish_reason == "STOP"


def test_citations_append() -> None:
    """``citationMetadata.citations`` of successive chunks append; its other keys keep their
    last value; a chunk without citations adds none."""
    first, second = {"uri": "a"}, {"uri": "b"}
    events = [
        chunk({"text": "x"}, citationMetadata={"citations": [first]}),
        chunk({"text": "y"}, citationMetadata={"citations": [second], "source": "web"}),
        chunk({"text": "z"}, citationMetadata={"source": "web"}),
        stop(),
    ]
    candidate = (gemini.fold(events).candidates or [])[0]
    assert candidate.citation_metadata == {"source": "web", "citations": [first, second]}


def test_null_candidates_content_and_parts_and_the_first_create_time() -> None:
    """``candidates``, ``content`` and ``parts`` may be null; ``createTime`` keeps its first
    value; a stream with neither candidates nor a blocked prompt is incomplete."""
    events = [
        {"candidates": None, "createTime": "t1"},
        {"candidates": [{"content": None}], "createTime": "t2"},
        {"candidates": [{"content": {"role": "model", "parts": None}}]},
        stop(),
    ]
    response = gemini.fold(events)
    assert response.create_time == "t1"
    assert (response.candidates or [])[0].content == gemini.Content(role="model")
    with pytest.raises(streamagg.IncompleteStreamError, match="without a candidate"):
        gemini.fold([{"modelVersion": "m"}])


def test_complete_when_every_candidate_has_a_finish_reason() -> None:
    """No ``[DONE]``: the stream is complete when every candidate has a finish reason."""
    with pytest.raises(streamagg.IncompleteStreamError, match=r"candidates \[1\]") as info:
        gemini.fold([chunk({"text": "A"}), chunk({"text": "B"}, index=1), stop(0)])
    assert info.value.partial.text == "A"
    assert gemini.fold([chunk({"text": "A"}), stop()]).report.complete  # type: ignore[union-attr]


def test_a_blocked_prompt_is_a_valid_final_object() -> None:
    """``promptFeedback.blockReason`` without candidates is the final object."""
    feedback = {"blockReason": "SAFETY", "safetyRatings": []}
    response = gemini.fold([{"promptFeedback": feedback, "usageMetadata": USAGE}])
    assert response.prompt_feedback == feedback
    assert response.candidates is None
    assert streamagg.to_dict(response) == {"promptFeedback": feedback, "usageMetadata": USAGE}


def test_an_error_chunk_raises_with_the_partial() -> None:
    """A chunk with ``error`` raises ``UpstreamError`` carrying the partial response."""
    error = {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}
    with pytest.raises(streamagg.UpstreamError, match="overloaded") as info:
        gemini.fold([chunk({"text": "Hi"}), {"error": error}])
    assert info.value.error == error
    assert info.value.partial.text == "Hi"


def test_keys_are_camel_case_in_to_dict() -> None:
    """``to_dict`` gives the API's camelCase keys; ``from_dict`` reads them back."""
    events = [
        chunk({"text": "x", "thoughtSignature": "S"}),
        stop(modelVersion="m", usageMetadata=USAGE),
    ]
    data = streamagg.to_dict(gemini.fold(events))
    assert set(data) == {"candidates", "modelVersion", "usageMetadata"}
    assert data["candidates"][0]["finishReason"] == "STOP"
    assert gemini.from_dict(data) == gemini.fold(events)


def test_an_array_body_folds_as_a_stream() -> None:
    """Without ``alt=sse`` Gemini streams one JSON array of chunks: read whole, it folds."""
    body = json.dumps([chunk({"text": "Hel"}), chunk({"text": "lo"}), stop()]).encode()
    assert gemini.replay(body).text == "Hello"


def test_deltas_are_typed() -> None:
    """Text, thought, new parts and finish reasons come as typed deltas."""
    aggregator = gemini.Aggregator()
    assert aggregator.feed(chunk({"text": "Hm", "thought": True})) == [
        gemini.PartStart(0, 0, "text"),
        gemini.ThoughtDelta(0, 0, "Hm"),
    ]
    assert aggregator.feed(chunk({"text": "Hi"})) == [
        gemini.PartStart(0, 1, "text"),
        gemini.TextDelta(0, 1, "Hi"),
    ]
    assert aggregator.feed(chunk({"text": "!"})) == [gemini.TextDelta(0, 1, "!")]
    assert aggregator.feed(chunk({"functionCall": {"name": "f"}})) == [
        gemini.PartStart(0, 2, "functionCall")
    ]
    assert aggregator.feed(stop()) == [gemini.FinishDelta(0, "STOP")]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"candidates": "x"}, "candidates must be a list"),
        ({"candidates": [{"index": -1}]}, "index must be"),
        (chunk({"text": 3}), "text must be a string"),
        ({"candidates": [{"content": {"parts": "x"}}]}, "parts must be a list"),
        ({"candidates": ["x"]}, r"candidates\[\] must be an object"),
        ({"candidates": [{"content": "x"}]}, "content must be an object"),
        ({"candidates": [{"content": {"parts": [1]}}]}, r"parts\[\] must be an object"),
        ({"candidates": [{"citationMetadata": {"citations": 1}}]}, "citations must be a list"),
    ],
)
def test_bad_fields_are_malformed_chunks(event: dict[str, Any], message: str) -> None:
    """A field of an impossible type raises ``MalformedChunkError`` naming it; lenient, the
    chunk is skipped and reported."""
    with pytest.raises(streamagg.MalformedChunkError, match=message):
        gemini.fold([chunk({"text": "a"}), event])
    lenient = gemini.fold([chunk({"text": "a"}), event, stop()], strict=False)
    assert lenient.report is not None
    assert len(lenient.report.skipped) == 1
