"""Hypothesis strategies shared by the test modules: JSON values, and responses of two kinds.

* ``any_responses``: every response the models allow (for converter round trips);
* ``folded_responses``: responses in the form a fold produces (no null extension values, no key
  the fold reads itself, usage counts as integers), so that ``replay(synthesize(r)) == r``.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

from streamagg import (
    Audio,
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Logprobs,
    Message,
    ToolCall,
    Usage,
)
from streamagg._chat.models import STREAMING_ONLY_KEYS
from streamagg._chat.rules import DEFAULT_PADDING_KEYS
from streamagg._core.report import known_fields

text = st.text(max_size=30)
name = st.text(min_size=1, max_size=8)
optional_name = st.none() | name
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# JSON without nulls anywhere: what survives a fold's "null changes nothing" rule.
folded_values = st.recursive(
    st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(name, inner, max_size=2),
    max_leaves=5,
)
token = st.fixed_dictionaries({"token": text, "logprob": st.floats(-20, 0)})
count = st.none() | st.integers(0, 10**6)
details = st.dictionaries(name, st.integers(0, 9), max_size=2)


def extensions(
    model: type, *reserved: str, folded: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Extension keys for ``model``: anything but its own fields and streaming-only keys. With
    ``folded``, as a fold produces them: no null value, and none of the keys a fold reads itself
    (padding, ``usage``, ``error`` and the ``reserved`` ones)."""
    known = known_fields(model) | STREAMING_ONLY_KEYS | {"extensions"}
    if folded:
        known |= DEFAULT_PADDING_KEYS | {"usage", "error", *reserved}
    keys = name.filter(lambda k: k not in known)
    return st.dictionaries(keys, folded_values if folded else json_values, max_size=2)


def _functions(folded: bool) -> st.SearchStrategy[FunctionCall]:
    return st.builds(
        FunctionCall, name=text, arguments=text, extensions=extensions(FunctionCall, folded=folded)
    )


# A tool call's id: the fold reads the id "null" as no id (Mistral sends it on continuations),
# so a folded response never holds it.
tool_id = text.filter(lambda i: i != "null")


def _tool_calls(folded: bool) -> st.SearchStrategy[list[ToolCall]]:
    tool = st.builds(
        ToolCall,
        id=tool_id if folded else text,
        type=name if folded else st.just("function"),
        function=_functions(folded),
        extensions=extensions(ToolCall, folded=folded),
    )
    return st.lists(tool, min_size=1, max_size=3)


def _usages(folded: bool) -> st.SearchStrategy[Usage]:
    return st.builds(
        Usage,
        prompt_tokens=count,
        completion_tokens=count,
        total_tokens=count,
        prompt_tokens_details=st.none() | details,
        completion_tokens_details=st.none() | details,
        extensions=extensions(Usage, folded=folded),
    )


def _audios(folded: bool) -> st.SearchStrategy[Audio]:
    return st.builds(
        Audio,
        id=text,
        data=st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode("ascii")),
        transcript=text,
        expires_at=st.none() | st.integers(0, 2**40),
        extensions=extensions(Audio, folded=folded),
    )


_finish = st.none() | st.sampled_from(["stop", "length", "tool_calls"])
_optional_text = st.none() | text

_any_choice = st.builds(
    Choice,
    index=st.integers(0, 5),
    message=st.builds(
        Message,
        role=st.sampled_from(["assistant", "tool"]),
        content=_optional_text,
        refusal=_optional_text,
        tool_calls=st.none() | _tool_calls(False),
        function_call=st.none() | _functions(False),
        reasoning_content=_optional_text,
        reasoning=_optional_text,
        audio=st.none() | _audios(False),
        extensions=extensions(Message),
    ),
    finish_reason=_finish,
    logprobs=st.none()
    | st.builds(
        Logprobs,
        content=st.none() | st.lists(token, max_size=3),
        refusal=st.none() | st.lists(token, max_size=3),
    ),
    extensions=extensions(Choice),
)

any_responses = st.builds(
    ChatCompletionResponse,
    id=text,
    created=st.integers(0, 2**40),
    model=_optional_text,
    system_fingerprint=_optional_text,
    service_tier=_optional_text,
    choices=st.lists(_any_choice, max_size=3),
    usage=st.none() | _usages(False),
    prompt_logprobs=st.none() | st.lists(json_values, max_size=2),
    extra=_optional_text,
    extensions=extensions(ChatCompletionResponse),
)

_folded_logprobs = st.builds(
    Logprobs,
    content=st.none() | st.lists(token, max_size=6),
    refusal=st.lists(token, max_size=3),
    extensions=extensions(Logprobs, folded=True),
) | st.builds(Logprobs, content=st.lists(token, max_size=6))


@st.composite
def folded_responses(draw: st.DrawFn) -> ChatCompletionResponse:
    """Any response in the form a fold produces (so ``replay(synthesize(r)) == r`` can hold)."""
    indices = draw(st.lists(st.integers(0, 6), unique=True, max_size=3))
    choices = [
        Choice(
            index=i,
            message=Message(
                role=draw(st.sampled_from(["assistant", "tool", "developer"])),
                content=draw(_optional_text),
                refusal=draw(_optional_text),
                tool_calls=draw(st.none() | _tool_calls(True)),
                function_call=draw(st.none() | _functions(True)),
                reasoning_content=draw(_optional_text),
                reasoning=draw(_optional_text),
                audio=draw(st.none() | _audios(True)),
                extensions=draw(
                    extensions(Message, "content_parts", "message", "delta", folded=True)
                ),
            ),
            finish_reason=draw(_finish),
            logprobs=draw(st.none() | _folded_logprobs),
            extensions=draw(extensions(Choice, "delta", "message", folded=True)),
        )
        for i in sorted(indices)
    ]
    return ChatCompletionResponse(
        id=draw(text),
        created=draw(st.integers(0, 2**40)),
        model=draw(optional_name),
        system_fingerprint=draw(optional_name),
        service_tier=draw(optional_name),
        choices=choices,
        usage=draw(st.none() | _usages(True)),
        prompt_logprobs=draw(st.none() | st.lists(folded_values, min_size=1, max_size=2)),
        extra=draw(optional_name.filter(lambda e: e != "{}")),
        extensions=draw(extensions(ChatCompletionResponse, "x_groq", folded=True)),
    )
