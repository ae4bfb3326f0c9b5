"""The legacy completions fold under hostile input: logprob tokens bounded by depth, not by
``max_items``; objects that round-trip; typed errors."""

from __future__ import annotations

from typing import Any

import pytest

import streamagg
from streamagg import completions

from .helpers import sse


def choice(text: str, logprobs: Any = None, finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish}


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "c", "object": "text_completion", "created": 1, "model": "m", **top,
            "choices": list(choices)}  # fmt: skip


def test_logprob_tokens_are_not_items() -> None:
    """5,000 logprob tokens fold (4,097 raised ``LimitExceededError max_items=4096``): tokens
    are bounded by the stream's size, as chat's are."""
    tokens = 5_000
    logprobs: dict[str, list[Any]] = {
        "tokens": ["a"] * tokens,
        "token_logprobs": [-0.5] * tokens,
        "top_logprobs": [{"a": -0.5}] * tokens,
        "text_offset": list(range(tokens)),
    }
    half = {k: v[: tokens // 2] for k, v in logprobs.items()}
    rest = {k: v[tokens // 2 :] for k, v in logprobs.items()}
    raw = sse(
        [chunk(choice("a" * 2500, half)), chunk(choice("a" * 2500, rest, "stop"))], done=True
    )
    folded = completions.replay(raw)
    assert folded.choices[0].logprobs is not None
    assert folded.choices[0].logprobs.tokens == ["a"] * tokens


@pytest.mark.parametrize("key", ["tokens", "token_logprobs", "text_offset", "top_logprobs"])
def test_logprob_arrays_nested_past_max_depth_are_refused(key: str) -> None:
    """An element of a logprob array nested 900 deep was kept, then ``to_dict`` raised
    ``RecursionError``; now it is ``LimitExceededError`` when it arrives."""
    nested: Any = 0
    for _ in range(900):
        nested = [nested]
    raw = sse([chunk(choice("a", {key: [nested]}, "stop"))], done=True)
    with pytest.raises(streamagg.LimitExceededError, match="max_depth"):
        completions.replay(raw)


@pytest.mark.parametrize("field", [{"object": 2**70}, {"created": "x"}, {"model": []}])
def test_a_typed_field_of_another_type_round_trips(field: dict[str, Any]) -> None:
    """A field whose value has another type is kept as it came: ``from_dict(to_dict(c)) == c``."""
    completion = completions.from_dict({"id": "c", "choices": [], **field})
    ((key, value),) = field.items()
    assert streamagg.to_dict(completion)[key] == value
    assert completions.from_dict(streamagg.to_dict(completion)) == completion


@pytest.mark.parametrize("logprobs", [[1], "x", {"tokens": "abc"}])
def test_logprobs_of_another_shape_are_bad_input(logprobs: Any) -> None:
    """Logprobs that are not an object of lists are ``MalformedChunkError``."""
    with pytest.raises(streamagg.MalformedChunkError, match="logprobs"):
        completions.replay(sse([chunk(choice("a", logprobs, "stop"))], done=True))
