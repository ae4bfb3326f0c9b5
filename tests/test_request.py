"""``to_request_message`` (``streamagg._chat.request``): the folded message goes back into the
next request."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import streamagg

from .helpers import STREAMS


def folded(name: str) -> streamagg.Message:
    return streamagg.replay(STREAMS / f"{name}.sse").choices[0].message


def test_tool_calls_go_back_with_ids_names_and_arguments() -> None:
    """Role, content (None for a tool-call-only turn), and each call's id, type, name and
    arguments."""
    message = folded("openai-python__parallel-tool-calls")
    out = streamagg.to_request_message(message)
    assert out["role"] == "assistant"
    assert out["content"] is None
    assert [c["function"]["name"] for c in out["tool_calls"]] == [
        "GetWeatherArgs",
        "get_stock_price",
    ]
    assert all(c["id"] and c["type"] == "function" for c in out["tool_calls"])
    json.dumps(out)


def test_opaque_provider_state_is_echoed_and_reasoning_is_optional() -> None:
    """A call's extra keys (Gemini's thought signatures in ``extra_content``) and OpenRouter's
    ``reasoning_details`` go back unchanged; reasoning text only when asked for."""
    details = [{"type": "reasoning.encrypted", "data": "abc", "index": 0}]
    message = (
        streamagg.fold(
            [
                {
                    "choices": [
                        {
                            "delta": {
                                "reasoning": "think",
                                "reasoning_details": details,
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": "c1",
                                        "function": {"name": "f", "arguments": "{}"},
                                        "extra_content": {"google": {"thought_signature": "sig"}},
                                    }
                                ],
                            },
                            "finish_reason": "tool_calls",
                        }
                    ]
                }
            ]
        )
        .choices[0]
        .message
    )
    out = streamagg.to_request_message(message)
    assert out["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "sig"}}
    assert out["reasoning_details"] == details
    assert "reasoning" not in out
    assert streamagg.to_request_message(message, include_reasoning=True)["reasoning"] == "think"


def test_the_openai_sdk_accepts_it_as_a_request_message() -> None:
    """The dict validates as the SDK's assistant message and is sent as it is."""
    openai = pytest.importorskip("openai")
    from openai.types.chat import ChatCompletionAssistantMessageParam
    from pydantic import TypeAdapter

    message = folded("openai-python__parallel-tool-calls")
    out = streamagg.to_request_message(message)
    TypeAdapter(ChatCompletionAssistantMessageParam).validate_python(out)
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        answer = streamagg.to_dict(streamagg.replay(STREAMS / "openai-python__plain-content.sse"))
        return httpx.Response(200, json=answer)

    client = openai.OpenAI(
        api_key="k",
        base_url="http://t/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    messages: Any = [
        {"role": "user", "content": "weather and stock?"},
        out,
        *({"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in out["tool_calls"]),
    ]
    client.chat.completions.create(model="m", messages=messages)
    assert sent[0]["messages"][1] == out
