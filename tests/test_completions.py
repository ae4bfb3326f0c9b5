"""The legacy completions fold: each rule of ``streamagg.completions._fold``, named after it."""

from __future__ import annotations

from typing import Any

import pytest

import streamagg
from streamagg import completions

from .helpers import sse

HEAD = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1,
    "model": "gpt-3.5-turbo-instruct",
}


def chunk(text: str, index: int = 0, finish: str | None = None, **choice: Any) -> dict[str, Any]:
    """A legacy completion chunk with one choice of ``text`` (not chat's ``chunk``)."""
    entry = {"text": text, "index": index, "logprobs": None, "finish_reason": finish, **choice}
    return {**HEAD, "choices": [entry]}


def test_text_concatenates_per_choice_index() -> None:
    """``text`` concatenates per choice, keyed by ``index`` and sorted."""
    events = [chunk("B", 1), chunk("A"), chunk("b", 1, "stop"), chunk("a", 0, "stop")]
    completion = completions.fold(events)
    assert [c.text for c in completion.choices] == ["Aa", "Bb"]
    assert completion.text == "Aa"


def test_logprob_arrays_extend_in_parallel() -> None:
    """``tokens``, ``token_logprobs``, ``top_logprobs`` and ``text_offset`` extend together."""

    def logprobs(token: str, offset: int) -> dict[str, Any]:
        return {
            "tokens": [token],
            "token_logprobs": [-0.5],
            "top_logprobs": [{token: -0.5}],
            "text_offset": [offset],
        }

    events = [
        chunk("a", logprobs=logprobs("a", 0)),
        chunk("b", 0, "stop", logprobs=logprobs("b", 1)),
    ]
    choice = completions.fold(events).choices[0]
    assert choice.logprobs == completions.CompletionLogprobs(
        tokens=["a", "b"],
        token_logprobs=[-0.5, -0.5],
        top_logprobs=[{"a": -0.5}, {"b": -0.5}],
        text_offset=[0, 1],
    )


def test_finish_reason_is_not_erased_by_a_later_empty_chunk() -> None:
    """A later chunk with ``finish_reason: null`` keeps the earlier reason (Azure)."""
    completion = completions.fold([chunk("a", 0, "length"), chunk("")])
    assert completion.choices[0].finish_reason == "length"


def test_usage_from_a_usage_only_chunk() -> None:
    """A usage-only chunk (``choices: []``) supplies usage; ``usage: null`` never erases it."""
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = [
        {**chunk("a"), "usage": None},
        {**HEAD, "choices": [], "usage": usage},
        chunk("", 0, "stop"),
    ]
    assert streamagg.to_dict(completions.fold(events))["usage"] == usage


def test_done_ends_the_stream_and_an_error_raises() -> None:
    """``[DONE]`` ends and completes the stream; an ``error`` chunk raises ``UpstreamError``."""
    raw = sse([chunk("Hi")])
    assert completions.replay(raw + b"data: [DONE]\n\n").text == "Hi"
    with pytest.raises(streamagg.IncompleteStreamError):
        completions.replay(raw)
    error = b'data: {"error": {"message": "quota"}}\n\n'
    with pytest.raises(streamagg.UpstreamError, match="quota") as info:
        completions.replay(raw + error)
    assert info.value.partial.text == "Hi"


def test_first_non_empty_id_model_created() -> None:
    """``id``, ``model`` and ``created`` keep the first non-empty value."""
    first = {**chunk("a"), "id": "", "created": 0}
    completion = completions.fold([first, chunk("b", 0, "stop")])
    assert (completion.id, completion.created) == ("cmpl-1", 1)


def test_deltas_are_typed() -> None:
    """Text and finish reasons come as typed deltas."""
    aggregator = completions.Aggregator()
    assert aggregator.feed(chunk("Hi")) == [completions.CompletionText(0, "Hi")]
    assert aggregator.feed(chunk("", 0, "stop")) == [completions.CompletionFinish(0, "stop")]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**HEAD, "choices": ["x"]}, "choices.. must be an object"),
        (chunk(5), "text must be a string"),  # type: ignore[arg-type]
        (chunk("a", logprobs=[1]), "logprobs must be an object"),
        (chunk("a", logprobs={"tokens": "x"}), "tokens must be a list"),
    ],
)
def test_bad_fields_are_malformed_chunks(event: dict[str, Any], message: str) -> None:
    """A field of an impossible type raises ``MalformedChunkError`` naming it."""
    with pytest.raises(streamagg.MalformedChunkError, match=message):
        completions.fold([chunk("a"), event])
