"""The converter (``streamagg._core.convert``): ``to_dict`` gives the OpenAI non-streaming shape,
``from_dict`` inverts it, and no dialect's ``from_dict`` fails on a JSON object."""

from __future__ import annotations

import json
from typing import Any

import cattrs
import pytest
from hypothesis import given

import streamagg
from streamagg import (
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Message,
    ToolCall,
    Usage,
    anthropic,
    from_dict,
    responses,
    to_dict,
)
from streamagg._core.convert import make_converter

from .strategies import any_responses


@given(any_responses)
def test_property_round_trip(response: ChatCompletionResponse) -> None:
    """``from_dict(to_dict(r)) == r`` for any response the models allow, also through JSON."""
    d = to_dict(response)
    assert from_dict(d) == response
    assert from_dict(json.loads(json.dumps(d))) == response


def test_to_dict_is_the_openai_shape() -> None:
    """Known fields in OpenAI's layout; absent optional fields left out; extensions spread."""
    r = ChatCompletionResponse(
        id="x",
        created=1,
        model="m",
        choices=[
            Choice(
                0,
                Message(
                    content="hi",
                    tool_calls=[ToolCall("c", function=FunctionCall("f", "{}"))],
                    extensions={"annotations": []},
                ),
                "stop",
            )
        ],
        usage=Usage(1, 2, 3),
        extensions={"citations": ["u"]},
    )
    assert to_dict(r) == {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "system_fingerprint": None,
        "service_tier": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                    "annotations": [],
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "citations": ["u"],
    }


def test_from_dict_keeps_unknown_keys_in_extensions() -> None:
    """Unknown keys at every level land in that model's ``extensions``."""
    r = from_dict(
        {
            "id": "x",
            "citations": [1],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "a", "annotations": None},
                    "stop_reason": 5,
                }
            ],
            "usage": {"prompt_tokens": 1, "cost": 0.1},
        }
    )
    assert r.extensions == {"citations": [1]}
    assert r.choices[0].extensions == {"stop_reason": 5}
    assert r.choices[0].message.extensions == {"annotations": None}
    assert r.usage is not None
    assert r.usage.extensions == {"cost": 0.1}


def test_from_dict_drops_streaming_only_tool_call_index() -> None:
    """A tool call's streaming ``index`` (as the openai SDK keeps it) is not carried over."""
    d = {"choices": [{"message": {"tool_calls": [{"index": 0, "id": "a", "function": {}}]}}]}
    (tool,) = from_dict(d).choices[0].message.tool_calls or []
    assert tool.extensions == {}
    assert "index" not in to_dict(from_dict(d))["choices"][0]["message"]["tool_calls"][0]


def test_known_field_wins_over_an_extension_of_the_same_name() -> None:
    """An extension cannot overwrite a known field in ``to_dict``."""
    r = ChatCompletionResponse(id="real", extensions={"id": "fake"})
    assert to_dict(r)["id"] == "real"


@pytest.mark.parametrize(
    "bad",
    [
        {"id": None},
        {"id": 5},
        {"created": "1"},
        {"choices": [{"message": {"role": None}}]},
        {"choices": ["x"]},
        {"usage": {"prompt_tokens": "1"}},
    ],
)
def test_from_dict_rejects_wrong_types(bad: dict[str, Any]) -> None:
    """Wrong types are a typed validation error, never silently coerced (None -> "None")."""
    with pytest.raises(cattrs.BaseValidationError):
        from_dict(bad)


def test_from_dict_of_a_non_streaming_body() -> None:
    """A plain non-streaming response body converts, its extensions kept."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "system_fingerprint": "fp",
        "service_tier": "default",
    }
    assert to_dict(from_dict(body)) == body


def test_make_converter_gives_an_independent_converter() -> None:
    """``make_converter`` builds a fresh converter with the same hooks."""
    converter = make_converter()
    r = streamagg.ChatCompletionResponse(id="a", extensions={"x": 1})
    assert converter.unstructure(r) == to_dict(r)
    assert converter.structure(to_dict(r), ChatCompletionResponse) == r


def test_to_dict_hands_over_logprob_tokens_as_they_are() -> None:
    """The dict is new but for the logprob tokens: the response's own objects (documented)."""
    token = {"token": "hi", "logprob": -0.1, "bytes": [104, 105], "top_logprobs": []}
    raw = (
        'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"},'
        '"logprobs":{"content":[' + json.dumps(token) + "]}}]}\n\ndata: [DONE]\n\n"
    ).encode()
    response = streamagg.replay(raw)
    logprobs = response.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content == [token]
    out = to_dict(response)
    kept = out["choices"][0]["logprobs"]["content"]
    assert kept == [token]
    assert kept is not logprobs.content
    assert kept[0] is logprobs.content[0]
    assert out["choices"][0]["message"] is not to_dict(response)["choices"][0]["message"]


def test_lenient_structure_keeps_values_of_other_types() -> None:
    """``from_dict`` never fails on JSON objects: a value of another type than its field's
    (a list of non-objects where parts belong, a string id) is kept in ``extensions`` and given
    back by ``to_dict``; a value that is not an object at all is a ``TypeError``."""
    data = {"id": 7, "object": "response", "output": [1, 2], "status": "completed"}
    response = responses.from_dict(data)
    assert response.id is None
    assert response.extensions == {"id": 7, "output": [1, 2]}
    assert streamagg.to_dict(response)["id"] == 7
    with pytest.raises(TypeError, match="expected an object for Message"):
        anthropic.from_dict([])  # type: ignore[arg-type]
