"""The converter: ``to_dict`` gives the OpenAI non-streaming shape, ``from_dict`` inverts it."""

from __future__ import annotations

import json
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import (
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Logprobs,
    Message,
    ToolCall,
    Usage,
    from_dict,
    to_dict,
)
from streamagg._convert import make_converter

_json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _extensions(model: type) -> st.SearchStrategy[dict[str, Any]]:
    """Extension keys for ``model``: anything but its own field names (and ``index``)."""
    known = {a.name for a in attrs.fields(model)} | {"index"}
    keys = st.text(min_size=1, max_size=8).filter(lambda k: k not in known)
    return st.dictionaries(keys, _json, max_size=3)


_opt_text = st.none() | st.text(max_size=12)
_function = st.builds(
    FunctionCall,
    name=st.text(max_size=6),
    arguments=st.text(max_size=12),
    extensions=_extensions(FunctionCall),
)
_tool = st.builds(
    ToolCall,
    id=st.text(max_size=6),
    type=st.just("function"),
    function=_function,
    extensions=_extensions(ToolCall),
)
_token = st.fixed_dictionaries({"token": st.text(max_size=4), "logprob": st.floats(-10, 0)})
_message = st.builds(
    Message,
    role=st.sampled_from(["assistant", "tool"]),
    content=_opt_text,
    refusal=_opt_text,
    tool_calls=st.none() | st.lists(_tool, min_size=1, max_size=3),
    function_call=st.none() | _function,
    reasoning_content=_opt_text,
    reasoning=_opt_text,
    extensions=_extensions(Message),
)
_choice = st.builds(
    Choice,
    index=st.integers(0, 5),
    message=_message,
    finish_reason=st.none() | st.sampled_from(["stop", "length", "tool_calls"]),
    logprobs=st.none()
    | st.builds(
        Logprobs,
        content=st.none() | st.lists(_token, max_size=3),
        refusal=st.none() | st.lists(_token, max_size=3),
    ),
    extensions=_extensions(Choice),
)
_count = st.none() | st.integers(0, 10**6)
_usage = st.builds(
    Usage,
    prompt_tokens=_count,
    completion_tokens=_count,
    total_tokens=_count,
    prompt_tokens_details=st.none()
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    completion_tokens_details=st.none()
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    extensions=_extensions(Usage),
)
responses = st.builds(
    ChatCompletionResponse,
    id=st.text(max_size=8),
    created=st.integers(0, 2**40),
    model=_opt_text,
    system_fingerprint=_opt_text,
    service_tier=_opt_text,
    choices=st.lists(_choice, max_size=3),
    usage=st.none() | _usage,
    prompt_logprobs=st.none() | st.lists(_json, max_size=2),
    extra=_opt_text,
    extensions=_extensions(ChatCompletionResponse),
)


@given(responses)
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
                    "message": {"role": "assistant", "content": "a", "audio": None},
                    "stop_reason": 5,
                }
            ],
            "usage": {"prompt_tokens": 1, "cost": 0.1},
        }
    )
    assert r.extensions == {"citations": [1]}
    assert r.choices[0].extensions == {"stop_reason": 5}
    assert r.choices[0].message.extensions == {"audio": None}
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
