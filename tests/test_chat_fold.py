"""Chat completions' fold (``streamagg._chat.fold`` and the state it drives: ``state``,
``choice``, ``tools``, ``parts``): each rule of ``streamagg._chat.rules``, one test each, plus
hypothesis properties for the merge rules."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from httpx_sse import ServerSentEvent
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import (
    Aggregator,
    ContentDelta,
    FinishDelta,
    IncompleteStreamError,
    MalformedChunkError,
    ReasoningDelta,
    RefusalDelta,
    StreamError,
    ToolCallArgumentsDelta,
    ToolCallStart,
    UpstreamError,
    Usage,
    UsageDelta,
    fold,
    to_dict,
)

from .helpers import chunk, delta, sse


def done(*chunks: dict[str, Any]) -> Aggregator:
    """An aggregator fed the chunks and then ``[DONE]``."""
    agg = Aggregator()
    for c in chunks:
        agg.feed(c)
    agg.feed_event(ServerSentEvent(data="[DONE]"))
    return agg


def message(*chunks: dict[str, Any], index: int = 0) -> Any:
    choices = done(*chunks).result().choices
    return next(c for c in choices if c.index == index).message


# -- top-level fields ----------------------------------------------------------------------


def test_id_first_non_empty() -> None:
    """The id is the first non-empty one: Azure's first chunk has "", some send new ids."""
    r = done(chunk(id=""), chunk(delta(content="a"), id="A"), chunk(id="B")).result()
    assert r.id == "A"


def test_id_never_sent_is_empty() -> None:
    """Without any id the response id is the empty string."""
    assert done({"choices": [delta(content="a")]}).result().id == ""


def test_created_first_non_zero() -> None:
    """``created`` is the first non-zero value (Azure and Snowflake send 0)."""
    assert done(chunk(created=0), chunk(created=5), chunk(created=9)).result().created == 5


def test_model_first_non_empty_else_none() -> None:
    """``model`` is the first non-empty value, None when never sent."""
    assert done(chunk(model=""), chunk(model="gpt"), chunk(model="x")).result().model == "gpt"
    assert done({"choices": []}).result().model is None


def test_object_is_always_chat_completion() -> None:
    """The response object is "chat.completion" whatever the chunks said (Perplexity: .done)."""
    assert done(chunk(object="chat.completion.done")).result().object == "chat.completion"


@pytest.mark.parametrize("key", ["system_fingerprint", "service_tier"])
def test_system_fingerprint_and_service_tier_last_non_empty(key: str) -> None:
    """These take the last non-null, non-empty value."""
    r = done(chunk(**{key: "a"}), chunk(**{key: "b"}), chunk(**{key: ""}), chunk(**{key: None}))
    assert getattr(r.result(), key) == "b"
    assert getattr(done(chunk(**{key: ""})).result(), key) is None


def test_prompt_logprobs_last_non_empty() -> None:
    """vLLM's ``prompt_logprobs`` takes the last non-empty value."""
    lp = [None, {"1": {"logprob": -0.1}}]
    r = done(chunk(prompt_logprobs=lp), chunk(prompt_logprobs=None)).result()
    assert r.prompt_logprobs == lp


def test_usage_last_non_null_never_erased() -> None:
    """A later ``usage: null`` (OpenAI's trailing chunks) never erases the usage block."""
    u = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    r = done(chunk(usage=None), chunk(usage=u), chunk(usage=None)).result()
    assert r.usage == Usage(1, 2, 3)


def test_usage_cumulative_last_wins_never_summed() -> None:
    """Perplexity repeats cumulative usage on every chunk: the last wins, nothing is summed."""
    chunks = [
        chunk(usage={"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n})
        for n in (1, 2, 3)
    ]
    assert done(*chunks).result().usage == Usage(10, 3, 13)


def test_usage_totals_never_recomputed() -> None:
    """Totals are reported as sent, even when they do not add up or are missing."""
    r = done(chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 99}))
    assert r.result().usage == Usage(1, 2, 99)
    assert done(chunk(usage={"prompt_tokens": 1})).result().usage == Usage(prompt_tokens=1)


def test_usage_keeps_details_and_unknown_keys() -> None:
    """Usage details and provider keys (``cost``, Groq timings) are kept."""
    u = {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "completion_tokens_details": {"reasoning_tokens": 1},
        "cost": 0.5,
    }
    usage = done(chunk(usage=u)).result().usage
    assert usage is not None
    assert usage.completion_tokens_details == {"reasoning_tokens": 1}
    assert usage.extensions == {"cost": 0.5}


def test_usage_falls_back_to_x_groq_usage() -> None:
    """Without top-level usage, ``x_groq.usage`` is used."""
    groq = {"id": "req", "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}}
    r = done(chunk(delta(content="a", finish="stop"), x_groq=groq)).result()
    assert r.usage == Usage(4, 5, 9)
    assert r.extensions["x_groq"]["id"] == "req"


def test_usage_falls_back_to_usage_inside_a_choice() -> None:
    """Without top-level or x_groq usage, a usage object found inside a choice is used."""
    c = delta(content="a", finish="stop")
    c["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    r = done(chunk(c)).result()
    assert r.usage == Usage(1, 1, 2)
    assert "usage" not in r.choices[0].extensions


def test_usage_inside_a_choice_kept_when_top_level_usage_exists() -> None:
    """When top-level usage exists, a choice's own usage stays on that choice."""
    c = delta(content="a", finish="stop")
    c["usage"] = {"prompt_tokens": 1}
    r = done(chunk(c, usage={"prompt_tokens": 7})).result()
    assert r.usage == Usage(prompt_tokens=7)
    assert r.choices[0].extensions["usage"] == {"prompt_tokens": 1}


def test_extra_last_not_null_empty_or_empty_object() -> None:
    """``extra``: servers send "{}" on every chunk and the real value on the last one."""
    real = '{"sources": [1]}'
    r = done(chunk(extra="{}"), chunk(extra=real), chunk(extra=""), chunk(extra=None))
    assert r.result().extra == real
    assert done(chunk(extra="{}"), chunk(extra={})).result().extra is None
    assert done(chunk(extra={"sources": []})).result().extra == '{"sources": []}'


def test_other_top_level_keys_kept_last_non_null_wins() -> None:
    """Unknown top-level keys are kept; the last non-null value wins, dicts update by key."""
    r = done(
        chunk(citations=["a"], x_groq={"id": "r", "seed": 1}),
        chunk(citations=["a", "b"], x_groq={"id": "r", "usage": None}),
        chunk(citations=None),
    ).result()
    assert r.extensions == {"citations": ["a", "b"], "x_groq": {"id": "r", "seed": 1}}


def test_obfuscation_dropped() -> None:
    """``obfuscation`` (random padding) never reaches the output, top-level or in a delta."""
    r = done(chunk(delta(content="a", obfuscation="xyz"), obfuscation="pad")).result()
    assert "obfuscation" not in json.dumps(to_dict(r))


# -- choices ---------------------------------------------------------------------------------


def test_choices_keyed_by_index_any_order_sorted() -> None:
    """Choices interleave in any order (n>1) and come out sorted by index."""
    r = done(
        chunk(delta(2, content="c")),
        chunk(delta(0, content="a")),
        chunk(delta(2, content="C"), delta(1, content="b")),
    ).result()
    assert [(c.index, c.message.content) for c in r.choices] == [(0, "a"), (1, "b"), (2, "cC")]


def test_choice_index_missing_means_zero() -> None:
    """A choice without ``index`` is choice 0."""
    r = done({"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]}).result()
    assert [(c.index, c.message.content) for c in r.choices] == [(0, "ab")]


def test_role_first_non_empty_never_concatenated() -> None:
    """Providers that repeat ``role`` in every delta never get "assistantassistant"."""
    m = message(chunk(delta(role="")), chunk(delta(role="assistant")), chunk(delta(role="x")))
    assert m.role == "assistant"


def test_role_defaults_to_assistant() -> None:
    """Without any role the message role is "assistant"."""
    assert message(chunk(delta(content="a"))).role == "assistant"


def test_content_none_until_a_string_arrives() -> None:
    """``content`` stays None through nulls, and becomes "" once an empty string arrives."""
    assert message(chunk(delta(content=None))).content is None
    assert message(chunk(delta(content=None)), chunk(delta(content=""))).content == ""


@pytest.mark.parametrize("key", ["content", "refusal", "reasoning_content", "reasoning"])
def test_text_fields_concatenated(key: str) -> None:
    """Content, refusal and both reasoning keys concatenate, each under its own key."""
    pieces: list[dict[str, Any]] = [{key: "a"}, {key: None}, {key: "b"}]
    m = message(*(chunk(delta(0, None, **p)) for p in pieces))
    assert getattr(m, key) == "ab"
    for other in {"content", "refusal", "reasoning_content", "reasoning"} - {key}:
        assert getattr(m, other) is None


def test_content_parts_text_extends_content_thinking_extends_reasoning() -> None:
    """Mistral's content parts: ``text`` parts extend content, ``thinking`` parts reasoning."""
    m = message(
        chunk(delta(content=[{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}])),
        chunk(delta(content=[{"type": "thinking", "thinking": " ok"}])),
        chunk(delta(content=[{"type": "text", "text": "4"}])),
        chunk(delta(content="!")),
    )
    assert (m.content, m.reasoning) == ("4!", "hm ok")


def test_content_parts_of_unknown_type_kept() -> None:
    """Content parts of another type are kept in ``extensions["content_parts"]``."""
    part = {"type": "reference", "reference_ids": [1]}
    m = message(chunk(delta(content=[part])))
    assert m.content is None
    assert m.extensions == {"content_parts": [part]}


def test_finish_reason_last_non_empty() -> None:
    """``finish_reason``: the last non-null, non-empty value (some repeat it, some send "")."""
    c = [chunk(delta(finish="length")), chunk(delta(finish="")), chunk(delta(finish=None))]
    assert done(*c).result().choices[0].finish_reason == "length"
    c = [chunk(delta(finish="length")), chunk(delta(finish="stop"))]
    assert done(*c).result().choices[0].finish_reason == "stop"


def test_logprobs_token_lists_extended() -> None:
    """Logprob ``content`` and ``refusal`` token lists extend across chunks."""
    t1, t2 = {"token": "a", "logprob": -1.0}, {"token": "b", "logprob": -2.0}
    c1 = {"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [t1], "refusal": None}}
    c2 = {"index": 0, "delta": {"content": "b"}, "logprobs": {"content": [t2]}}
    c3 = {"index": 0, "delta": {}, "logprobs": {"content": None, "refusal": []}}
    lp = done(chunk(c1), chunk(c2), chunk(c3)).result().choices[0].logprobs
    assert lp is not None
    assert (lp.content, lp.refusal) == ([t1, t2], [])


def test_logprobs_none_if_never_sent() -> None:
    """Logprobs stay None when no token list ever arrived (Snowflake sends all-null objects)."""
    c = {"index": 0, "delta": {"content": "a"}, "logprobs": {"content": None, "refusal": None}}
    assert done(chunk(c)).result().choices[0].logprobs is None
    assert done(chunk(delta(content="a"))).result().choices[0].logprobs is None


def test_logprobs_unknown_keys_kept() -> None:
    """Unknown logprobs keys are merged into ``Logprobs.extensions``."""
    c = {"index": 0, "delta": {}, "logprobs": {"text_offset": [1]}}
    lp = done(chunk(c), chunk(c)).result().choices[0].logprobs
    assert lp is not None
    assert lp.extensions == {"text_offset": [1, 1]}


# -- tool calls ------------------------------------------------------------------------------


def tc(**kw: Any) -> dict[str, Any]:
    return delta(tool_calls=[kw])


def test_tool_calls_keyed_by_index() -> None:
    """Fragments join the call with their ``index``; ``index`` never reaches the output."""
    m = message(
        chunk(tc(index=0, id="a", type="function", function={"name": "f", "arguments": ""})),
        chunk(tc(index=1, id="b", type="function", function={"name": "g", "arguments": "{"})),
        chunk(tc(index=0, function={"arguments": "{}"})),
        chunk(tc(index=1, function={"arguments": "}"})),
    )
    assert to_dict_tools(m) == [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]


def to_dict_tools(m: Any) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "type": t.type, "function": {"name": t.function.name, **_args(t)}}
        for t in m.tool_calls
    ]


def _args(t: Any) -> dict[str, str]:
    return {"arguments": t.function.arguments}


def test_tool_call_indices_sparse_output_without_gaps() -> None:
    """A first call at index 1 (or gaps) comes out as a dense list in index order."""
    m = message(
        chunk(tc(index=3, id="c", function={"name": "h", "arguments": "3"})),
        chunk(tc(index=1, id="a", function={"name": "f", "arguments": "1"})),
    )
    assert [t.id for t in m.tool_calls] == ["a", "c"]


def test_tool_calls_several_entries_in_one_chunk_even_same_index() -> None:
    """One chunk may carry several fragments, two of them for the same index."""
    d = delta(
        tool_calls=[
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}},
            {"index": 0, "function": {"arguments": "}"}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "[]"}},
        ]
    )
    m = message(chunk(d))
    assert [(t.id, t.function.arguments) for t in m.tool_calls] == [("a", "{}"), ("b", "[]")]


def test_tool_call_id_type_name_first_non_empty() -> None:
    """id, type and name keep the first non-empty value (continuations may send "")."""
    m = message(
        chunk(tc(index=0, id="a", type="function", function={"name": "f", "arguments": "1"})),
        chunk(tc(index=0, id="", type="", function={"name": "", "arguments": "2"})),
        chunk(tc(index=0, id="z", type="x", function={"arguments": "3"})),
        chunk(tc(index=0, function={"name": "g", "arguments": "4"})),
    )
    assert m.tool_calls is not None
    (t,) = m.tool_calls
    assert (t.id, t.type, t.function.name, t.function.arguments) == ("a", "function", "f", "1234")


def test_tool_call_type_defaults_to_function() -> None:
    """Mistral sends no ``type``: it defaults to "function"."""
    (t,) = message(chunk(tc(id="a", function={"name": "f", "arguments": "{}"}))).tool_calls
    assert t.type == "function"


def test_tool_call_fragments_without_arguments() -> None:
    """Fragments without ``arguments`` (or with null) leave the arguments as they are."""
    m = message(
        chunk(tc(index=0, id="a", function={"name": "f"})),
        chunk(tc(index=0, function={"arguments": None})),
        chunk(tc(index=0, function={"arguments": "{}"})),
    )
    assert m.tool_calls[0].function.arguments == "{}"


def test_tool_call_arguments_object_kept_as_json_text() -> None:
    """Arguments sent as an object (not a string) are kept as its JSON text."""
    (t,) = message(
        chunk(tc(index=0, id="a", function={"name": "f", "arguments": {"x": 1}}))
    ).tool_calls
    assert json.loads(t.function.arguments) == {"x": 1}


def test_tool_calls_without_index_whole_calls() -> None:
    """Whole calls without ``index``: each new id starts a new call."""
    m = message(
        chunk(tc(id="a", function={"name": "f", "arguments": "{}"})),
        chunk(tc(id="b", function={"name": "g", "arguments": "[]"})),
    )
    assert [(t.id, t.function.name) for t in m.tool_calls] == [("a", "f"), ("b", "g")]


def test_tool_calls_without_index_known_id_continues_its_call() -> None:
    """Without ``index``, a known id picks the call it named."""
    m = message(
        chunk(tc(id="a", function={"name": "f", "arguments": "{"})),
        chunk(tc(id="b", function={"name": "g", "arguments": "["})),
        chunk(tc(id="a", function={"arguments": "}"})),
    )
    assert [t.function.arguments for t in m.tool_calls] == ["{}", "["]


def test_tool_calls_without_index_new_name_starts_a_call() -> None:
    """Without ``index`` or id, a non-empty function name starts a new call."""
    m = message(
        chunk(tc(function={"name": "f", "arguments": "1"})),
        chunk(tc(function={"name": "g", "arguments": "2"})),
    )
    assert [(t.function.name, t.function.arguments) for t in m.tool_calls] == [
        ("f", "1"),
        ("g", "2"),
    ]


def test_tool_calls_without_index_fragment_continues_most_recent_call() -> None:
    """Without index, id or name, a fragment continues the most recently started call."""
    m = message(
        chunk(tc(id="a", function={"name": "f", "arguments": "{"})),
        chunk(tc(id="b", function={"name": "g", "arguments": "["})),
        chunk(tc(function={"arguments": "]"})),
        chunk(tc(id="", function={"name": "", "arguments": ""})),
    )
    assert [t.function.arguments for t in m.tool_calls] == ["{", "[]"]


def test_tool_calls_without_index_first_fragment_with_neither_creates_a_call() -> None:
    """A first fragment with neither id nor name still starts a call."""
    m = message(chunk(tc(function={"arguments": "{"})), chunk(tc(function={"arguments": "}"})))
    (t,) = m.tool_calls
    assert (t.id, t.function.name, t.function.arguments) == ("", "", "{}")


def test_tool_call_unknown_keys_merged() -> None:
    """Unknown tool-call and function keys are kept (Gemini's ``extra_content``)."""
    m = message(
        chunk(tc(index=0, id="a", extra_content={"sig": "x"}, function={"name": "f", "t": "1"})),
        chunk(tc(index=0, function={"arguments": "{}", "t": "2"})),
    )
    (t,) = m.tool_calls
    assert t.extensions == {"extra_content": {"sig": "x"}}
    assert t.function.extensions == {"t": "2"}


def test_function_call_legacy_name_first_arguments_concatenated() -> None:
    """The legacy ``function_call``: name first non-empty, arguments concatenated."""
    m = message(
        chunk(delta(function_call={"name": "f", "arguments": "{"})),
        chunk(delta(function_call={"name": "", "arguments": "}"})),
    )
    assert m.function_call is not None
    assert (m.function_call.name, m.function_call.arguments) == ("f", "{}")


# -- other keys ------------------------------------------------------------------------------


def test_other_keys_indexed_lists_merge_entry_by_entry() -> None:
    """OpenRouter's ``reasoning_details``: entries with the same ``index`` merge, text joins."""
    e1 = {"type": "reasoning.text", "text": "a", "index": 0, "format": "x", "id": "r1"}
    e2 = {"type": "reasoning.text", "text": "b", "index": 0, "format": "x", "id": "r1"}
    e3 = {"type": "reasoning.text", "text": "c", "index": 1, "format": None}
    m = message(chunk(delta(reasoning_details=[e1])), chunk(delta(reasoning_details=[e2, e3])))
    assert m.extensions["reasoning_details"] == [
        {"type": "reasoning.text", "text": "ab", "index": 0, "format": "x", "id": "r1"},
        {"type": "reasoning.text", "text": "c", "index": 1, "format": None},
    ]


def test_other_keys_lists_extend_dicts_merge_scalars_last_non_null() -> None:
    """Other lists extend, dicts merge recursively, scalars take the last non-null value."""
    m = message(
        chunk(delta(annotations=[{"u": 1}], media={"id": "a", "transcript": "x"}, channel="c1")),
        chunk(delta(annotations=[{"u": 2}], media={"transcript": "y"}, channel="c2")),
        chunk(delta(channel=None)),
    )
    assert m.extensions == {
        "annotations": [{"u": 1}, {"u": 2}],
        "media": {"id": "a", "transcript": "y"},
        "channel": "c2",
    }


def test_other_keys_text_like_keys_concatenate() -> None:
    """Inside merges only text-like keys concatenate; ids and formats never double."""
    m = message(
        chunk(delta(thinking="a", media={"text": "x", "id": "1"})),
        chunk(delta(thinking="b", media={"text": "y", "id": "1"})),
        chunk(delta(thinking="c", media={"text": "z", "id": "1"})),
    )
    assert m.extensions == {"thinking": "abc", "media": {"text": "xyz", "id": "1"}}


def test_text_keys_are_configurable() -> None:
    """``Aggregator(text_keys=...)`` chooses which keys concatenate inside extensions."""
    agg = Aggregator(text_keys={"transcript"})
    agg.feed(chunk(delta(media={"transcript": "a", "text": "x"}, finish="stop")))
    agg.feed(chunk(delta(media={"transcript": "b", "text": "y"})))
    assert agg.result().choices[0].message.extensions == {
        "media": {"transcript": "ab", "text": "y"}
    }


def test_other_choice_keys_kept() -> None:
    """Choice-level provider keys (Azure's ``content_filter_results``) merge and are kept."""
    c1 = delta(content="a")
    c1["content_filter_results"] = {}
    c2 = delta(content="b", finish="stop")
    c2["content_filter_results"] = {"hate": {"filtered": False}}
    c2["native_finish_reason"] = "end_turn"
    r = done(chunk(c1), chunk(c2)).result()
    assert r.choices[0].extensions == {
        "content_filter_results": {"hate": {"filtered": False}},
        "native_finish_reason": "end_turn",
    }


def test_streaming_only_keys_never_reach_output() -> None:
    """A delta's ``index`` and ``obfuscation`` never reach the message."""
    m = message(chunk(delta(content="a", index=0, obfuscation="x")))
    assert m.extensions == {}


def test_message_key_folds_like_a_delta() -> None:
    """A choice with ``message`` (a plain completion body) folds like one big delta."""
    body = {
        "id": "x",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f"}}],
                },
                "finish_reason": "stop",
            }
        ],
    }
    m = fold([body]).choices[0].message
    assert m.tool_calls is not None
    assert (m.content, m.tool_calls[0].id) == ("hi", "a")


# -- deltas, snapshots, completeness ---------------------------------------------------------


def test_feed_returns_typed_deltas() -> None:
    """``feed`` returns what each chunk added, as pattern-matchable deltas."""
    agg = Aggregator()
    out = agg.feed(chunk(delta(role="assistant", content="Hi", refusal="no", reasoning="r")))
    out += agg.feed(chunk(delta(reasoning_content="rc")))
    out += agg.feed(chunk(tc(index=0, id="a", function={"name": "f", "arguments": "{"})))
    out += agg.feed(chunk(tc(index=0, function={"arguments": "}"})))
    out += agg.feed(chunk(delta(finish="tool_calls"), usage={"prompt_tokens": 1}))
    assert out == [
        ContentDelta(0, "Hi"),
        RefusalDelta(0, "no"),
        ReasoningDelta(0, "r", "reasoning"),
        ReasoningDelta(0, "rc", "reasoning_content"),
        ToolCallStart(0, 0, "a", "f"),
        ToolCallArgumentsDelta(0, 0, "{"),
        ToolCallArgumentsDelta(0, 0, "}"),
        UsageDelta(Usage(prompt_tokens=1)),
        FinishDelta(0, "tool_calls"),
    ]
    texts = []
    for d in out:
        match d:
            case ContentDelta(choice=0, text=text):
                texts.append(text)
    assert texts == ["Hi"]


def test_feed_no_delta_for_empty_strings() -> None:
    """Empty strings change nothing visible and give no delta."""
    assert Aggregator().feed(chunk(delta(role="assistant", content=""))) == []


def test_feed_deltas_for_content_parts() -> None:
    """Content parts give content and reasoning deltas."""
    parts = [{"type": "thinking", "thinking": "t"}, {"type": "text", "text": "x"}]
    assert Aggregator().feed(chunk(delta(content=parts))) == [
        ReasoningDelta(0, "t", "reasoning"),
        ContentDelta(0, "x"),
    ]


def test_snapshot_at_any_moment_is_independent() -> None:
    """A snapshot is a copy: later chunks do not change it."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="a", reasoning_details=[{"index": 0, "text": "x"}])))
    first = agg.snapshot()
    agg.feed(chunk(delta(content="b", reasoning_details=[{"index": 0, "text": "y"}])))
    assert first.choices[0].message.content == "a"
    assert first.choices[0].message.extensions["reasoning_details"][0]["text"] == "x"
    assert agg.snapshot().choices[0].message.content == "ab"


def test_fold_never_mutates_its_input() -> None:
    """The chunks given to the fold are left as they were."""
    chunks = [
        chunk(delta(content="a", reasoning_details=[{"index": 0, "text": "x"}]), x={"a": 1}),
        chunk(delta(content="b", reasoning_details=[{"index": 0, "text": "y"}]), x={"b": 2}),
    ]
    before = copy.deepcopy(chunks)
    done(*chunks).result()
    assert chunks == before


def test_complete_when_every_choice_finished() -> None:
    """Without ``[DONE]`` the stream is complete once every choice has a finish reason."""
    agg = Aggregator()
    agg.feed(chunk(delta(0, content="a"), delta(1, content="b", finish="stop")))
    assert not agg.complete
    agg.feed(chunk(delta(0, finish="length")))
    assert agg.complete
    assert not agg.done
    assert agg.result().choices[0].finish_reason == "length"


def test_incomplete_stream_error_with_partial() -> None:
    """Ending before ``[DONE]`` with an unfinished choice raises, with the partial attached."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="Hel")))
    with pytest.raises(IncompleteStreamError, match=r"choices \[0\]") as info:
        agg.result()
    assert info.value.partial.choices[0].message.content == "Hel"
    with pytest.raises(IncompleteStreamError, match="without any chunk"):
        Aggregator().result()
    usage_only = Aggregator()
    usage_only.feed({"choices": [], "usage": {"total_tokens": 1}})
    with pytest.raises(IncompleteStreamError, match="no choice was received"):
        usage_only.result()


def test_done_completes_a_stream_without_finish_reason() -> None:
    """``[DONE]`` completes a stream that never sent a finish reason (Snowflake)."""
    r = done(chunk(delta(content="a"))).result()
    assert r.choices[0].finish_reason is None


def test_events_after_done_ignored() -> None:
    """Anything after ``[DONE]`` is ignored."""
    agg = done(chunk(delta(content="a")))
    assert agg.feed_event(ServerSentEvent(data=json.dumps(chunk(delta(content="b"))))) == []
    assert agg.result().choices[0].message.content == "a"


def test_keep_alive_and_other_named_events_skipped() -> None:
    """Events with empty data and named events other than ``error`` are skipped."""
    agg = Aggregator()
    assert agg.feed_event(ServerSentEvent(data="")) == []
    assert agg.feed_event(ServerSentEvent(event="ping", data='{"type": "ping"}')) == []
    assert agg.feed_event(ServerSentEvent(data=" [DONE] ")) == []
    assert agg.done


def test_feed_event_returns_deltas() -> None:
    """``feed_event`` parses the JSON data and returns the deltas."""
    event = ServerSentEvent(data=json.dumps(chunk(delta(content="x"))))
    assert Aggregator().feed_event(event) == [ContentDelta(0, "x")]


# -- errors ----------------------------------------------------------------------------------


def test_upstream_error_top_level_error_folds_rest_first() -> None:
    """A payload with a top-level ``error`` is folded first (its usage kept), then raises."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="a", finish="length")))
    err = {"code": 400, "message": "Token limit reached"}
    with pytest.raises(UpstreamError, match="Token limit reached") as info:
        agg.feed(chunk(delta(content="b"), error=err, usage={"prompt_tokens": 3}))
    assert info.value.error == err
    assert info.value.partial.choices[0].message.content == "ab"
    assert info.value.partial.usage == Usage(prompt_tokens=3)
    with pytest.raises(UpstreamError):
        agg.result()


def test_upstream_error_event_named_error() -> None:
    """An SSE event named ``error`` raises with its ``error`` member, else the payload."""
    agg = Aggregator()
    agg.feed(chunk(delta(reasoning="r")))
    payload = {"error": {"message": "bad", "code": "tool_use_failed"}}
    with pytest.raises(UpstreamError, match="bad") as info:
        agg.feed_event(ServerSentEvent(event="error", data=json.dumps(payload)))
    assert info.value.error == payload["error"]
    assert info.value.partial.choices[0].message.reasoning == "r"

    with pytest.raises(UpstreamError) as info:
        Aggregator().feed_event(ServerSentEvent(event="error", data='{"detail": "x"}'))
    assert info.value.error == {"detail": "x"}
    with pytest.raises(UpstreamError, match="overloaded") as info:
        Aggregator().feed_event(ServerSentEvent(event="error", data="overloaded"))
    assert info.value.error == "overloaded"


def test_upstream_error_event_folds_what_else_it_carried() -> None:
    """An error event whose payload also carries chunk fields folds them first."""
    payload = {"error": {"message": "x"}, "usage": {"prompt_tokens": 2}}
    with pytest.raises(UpstreamError) as info:
        Aggregator().feed_event(ServerSentEvent(event="error", data=json.dumps(payload)))
    assert info.value.partial.usage == Usage(prompt_tokens=2)


def test_upstream_error_message_falls_back_to_text() -> None:
    """An error object without a message is shown whole."""
    with pytest.raises(UpstreamError, match="'code': 5"):
        Aggregator().feed(chunk(error={"code": 5}))


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', "42", "null"])
def test_malformed_chunk_error_not_a_json_object(data: str) -> None:
    """Event data that is not a JSON object raises ``MalformedChunkError`` with ``raw``."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="kept")))
    with pytest.raises(MalformedChunkError) as info:
        agg.feed_event(ServerSentEvent(data=data))
    assert info.value.raw in (data, json.loads(data) if data != "{not json" else data)
    assert info.value.partial.choices[0].message.content == "kept"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"choices": "x"}, "choices must be a list, not a string"),
        ({"choices": ["x"]}, "choices[] must be an object, not a string"),
        ({"choices": [{"index": "0", "delta": {}}]}, "choices[].index must be an integer"),
        ({"choices": [{"index": [0]}]}, "choices[].index must be an integer, not a list"),
        ({"choices": [{"delta": "x"}]}, "choices[].delta must be an object"),
        ({"choices": [{"message": 5}]}, "choices[].message must be an object"),
        ({"choices": [{"delta": {"content": 5}}]}, "delta.content must be a string or a list"),
        ({"choices": [{"delta": {"content": [5]}}]}, "delta.content[] must be an object"),
        (
            {"choices": [{"delta": {"content": [{"type": "thinking", "thinking": [5]}]}}]},
            "delta.content[].thinking[].text must be a string",
        ),
        (
            {"choices": [{"delta": {"content": [{"type": "thinking", "thinking": 5}]}}]},
            "delta.content[].thinking must be a list, not a number",
        ),
        ({"choices": [{"delta": {"role": 5}}]}, "delta.role must be a string"),
        ({"choices": [{"delta": {"refusal": 5}}]}, "delta.refusal must be a string"),
        ({"choices": [{"delta": {"reasoning": {}}}]}, "delta.reasoning must be a string"),
        ({"choices": [{"delta": {"tool_calls": 5}}]}, "delta.tool_calls must be a list"),
        ({"choices": [{"delta": {"tool_calls": ["x"]}}]}, "delta.tool_calls[] must be an"),
        (
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": 5}]}}]},
            "delta.tool_calls[].id must be a string, not a number",
        ),
        (
            {"choices": [{"delta": {"tool_calls": [{"id": {"x": 1}}]}}]},
            "delta.tool_calls[].id must be a string, not an object",
        ),
        (
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "type": 5}]}}]},
            "tool_calls[].type must be a string",
        ),
        (
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": 5}}]}}]},
            "delta.tool_calls[].function.name must be a string",
        ),
        (
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]},
            "delta.tool_calls[].function must be an object",
        ),
        ({"choices": [{"delta": {"function_call": "f"}}]}, "delta.function_call must be an"),
        ({"choices": [{"finish_reason": 5}]}, "choices[].finish_reason must be a string"),
        ({"choices": [{"logprobs": "x"}]}, "choices[].logprobs must be an object"),
        ({"choices": [{"logprobs": {"content": 5}}]}, "choices[].logprobs.content must be a"),
        ({"choices": [{"logprobs": {"refusal": "abc"}}]}, "choices[].logprobs.refusal must be"),
        ({"choices": [{"usage": []}]}, "choices[].usage must be an object, not a list"),
        ({"choices": [{"usage": "x"}]}, "choices[].usage must be an object, not a string"),
        ({"prompt_logprobs": {"a": 1}}, "prompt_logprobs must be a list"),
        ({"usage": {"prompt_tokens_details": [1]}}, "usage.prompt_tokens_details must be an"),
        ({"id": 5}, "id must be a string"),
        ({"created": "now"}, "created must be an integer"),
        ({"model": 5}, "model must be a string"),
        ({"system_fingerprint": 5}, "system_fingerprint must be a string"),
        ({"service_tier": 5}, "service_tier must be a string"),
        ({"usage": 5}, "usage must be an object, not a number"),
        ({"usage": {"prompt_tokens": "5"}}, "usage.prompt_tokens must be an integer"),
    ],
)
def test_malformed_chunk_error_impossible_types(bad: dict[str, Any], field: str) -> None:
    """A field with an impossible type is a typed error whose message names the field, never a
    crash from deep inside; what was folded before stays in ``.partial``."""
    agg = Aggregator()
    agg.feed({"choices": [delta(content="kept")]})
    with pytest.raises(MalformedChunkError) as info:
        agg.feed(bad)
    assert field in str(info.value)
    assert info.value.raw is not None
    assert info.value.partial.choices[0].message.content == "kept"


def test_a_bug_of_ours_is_not_reported_as_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only bad input becomes ``MalformedChunkError``: an exception raised by a bug in the fold
    itself propagates as it is."""
    from streamagg._chat.choice import ChoiceState

    def broken(self: ChoiceState, choice: Any, out: Any) -> None:
        raise AttributeError("a bug")

    monkeypatch.setattr(ChoiceState, "fold", broken)
    with pytest.raises(AttributeError, match="a bug"):
        Aggregator().feed({"choices": [delta(content="x")]})


def test_errors_share_a_base_class() -> None:
    """Every fold error is a ``StreamError`` carrying ``.partial``, the response so far."""
    partial = streamagg.ChatCompletionResponse(id="so-far")
    errors: list[StreamError[streamagg.ChatCompletionResponse]] = [
        UpstreamError("u", error={"message": "x"}, partial=partial),
        IncompleteStreamError("i", partial=partial),
        streamagg.StreamInterruptedError("s", partial=partial),
        MalformedChunkError("m", raw="x", partial=partial),
        streamagg.ContentTypeError("c", content_type="text/html", partial=partial),
    ]
    for error in errors:
        assert isinstance(error, StreamError)
        assert error.partial is partial
    agg = Aggregator()
    agg.feed({"id": "so-far", "choices": [delta(content="a")]})
    for bad in ({"choices": 5}, {"error": {"message": "boom"}}):
        with pytest.raises(StreamError) as info:
            Aggregator().feed(bad)
        assert isinstance(info.value.partial, streamagg.ChatCompletionResponse)
    with pytest.raises(IncompleteStreamError) as incomplete:
        agg.result()
    assert incomplete.value.partial.id == "so-far"


def test_fold_accepts_pydantic_like_chunks() -> None:
    """``fold`` takes objects with ``model_dump()`` (the openai SDK's chunks) as well as dicts."""

    class Dumps:
        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def model_dump(self, exclude_unset: bool = False) -> dict[str, Any]:
            assert exclude_unset
            return self.data

    r = fold([Dumps(chunk(delta(content="a"))), Dumps(chunk(delta(finish="stop")))])
    assert r.choices[0].message.content == "a"
    with pytest.raises(MalformedChunkError, match="not int"):
        fold([5])


# -- properties ------------------------------------------------------------------------------

_text = st.text(max_size=20)


def _splits(s: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(s)) for c in cuts})
    return [s[a:b] for a, b in zip([0, *points], [*points, len(s)], strict=True)]


@given(_text, st.lists(st.integers(0, 20), max_size=8))
def test_property_content_split_anywhere_concatenates(text: str, cuts: list[int]) -> None:
    """Content split anywhere into deltas folds back to the same text."""
    chunks = [chunk(delta(content=piece)) for piece in _splits(text, cuts)]
    assert message(*chunks).content == text


@given(
    st.lists(st.tuples(st.integers(0, 3), _text), min_size=1, max_size=20),
    st.randoms(use_true_random=False),
)
def test_property_choices_interleaved_any_order(pieces: list[tuple[int, str]], rnd: Any) -> None:
    """Choices folded in any interleaving give each choice its own text, in order."""
    expected: dict[int, str] = {}
    for i, t in pieces:
        expected[i] = expected.get(i, "") + t
    # Interleave while keeping each choice's own order.
    queues = {i: [t for j, t in pieces if j == i] for i in expected}
    chunks = []
    while queues:
        i = rnd.choice(sorted(queues))
        chunks.append(chunk(delta(i, content=queues[i].pop(0))))
        if not queues[i]:
            del queues[i]
    r = done(*chunks).result()
    assert {c.index: c.message.content for c in r.choices} == expected
    assert [c.index for c in r.choices] == sorted(expected)


@given(st.lists(st.tuples(st.integers(0, 4), _text), min_size=1, max_size=25))
def test_property_tool_arguments_by_index(fragments: list[tuple[int, str]]) -> None:
    """Interleaved argument fragments reassemble per index; output is dense and ordered."""
    expected: dict[int, str] = {}
    chunks = []
    for i, t in fragments:
        first = i not in expected
        expected[i] = expected.get(i, "") + t
        entry: dict[str, Any] = {"index": i, "function": {"arguments": t}}
        if first:
            entry.update(id=f"call_{i}", type="function")
            entry["function"]["name"] = f"f{i}"
        chunks.append(chunk(delta(tool_calls=[entry])))
    m = message(*chunks)
    assert [(t.id, t.function.arguments) for t in m.tool_calls] == [
        (f"call_{i}", expected[i]) for i in sorted(expected)
    ]


_usage = st.none() | st.builds(
    lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)


@given(st.lists(_usage, min_size=1, max_size=10))
def test_property_usage_last_non_null(usages: list[dict[str, int] | None]) -> None:
    """Usage is always the last non-null block, whatever came after it."""
    r = done(*[chunk(usage=u) for u in usages]).result()
    real = [u for u in usages if u is not None]
    assert (r.usage is None) if not real else (to_dict(r)["usage"] == real[-1])


_json_scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=5)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["text", "id", "format", "n"]), _json_scalar, max_size=4
        ).map(lambda d: {**d, "index": 0}),
        min_size=1,
        max_size=6,
    )
)
def test_property_indexed_entries_merge_text_concatenates_rest_last_wins(
    entries: list[dict[str, Any]],
) -> None:
    """Indexed list entries merge: text-like strings concatenate, other keys last non-null."""
    chunks = [chunk(delta(details=[e])) for e in entries]
    (merged,) = message(*chunks).extensions["details"]
    for key in ("id", "format", "n"):
        values = [e[key] for e in entries if e.get(key) is not None]
        assert merged.get(key) == (values[-1] if values else None)
    texts = [e["text"] for e in entries if e.get("text") is not None]
    if texts and all(isinstance(t, str) for t in texts):
        assert merged["text"] == "".join(texts)


def test_fold_accepts_any_mapping() -> None:
    """Chunks and their parts may be any ``Mapping``, not only dicts."""
    from types import MappingProxyType as Frozen

    d = Frozen({"content": "a", "media": Frozen({"id": "x"})})
    c = Frozen({"choices": [Frozen({"index": 0, "delta": d, "finish_reason": "stop"})]})
    m = fold([c]).choices[0].message
    assert (m.content, m.extensions) == ("a", {"media": {"id": "x"}})
    # Values of other types (a tuple from some pydantic dump) are kept as they are.
    assert fold([{**c, "pair": (1, 2)}]).extensions == {"pair": (1, 2)}


def test_feed_event_with_empty_event_name() -> None:
    """An event object whose ``event`` is "" counts as a message event."""

    class Event:
        event = ""
        data = json.dumps(chunk(delta(content="x")))

    assert Aggregator().feed_event(Event()) == [ContentDelta(0, "x")]


def test_not_complete_after_an_error() -> None:
    """After an upstream error the aggregator is not complete, even with finished choices."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="a", finish="stop")))
    with pytest.raises(UpstreamError):
        agg.feed({"error": {"message": "late"}})
    assert not agg.complete


def test_empty_and_null_values_change_nothing() -> None:
    """Empty or null values (prompt logprobs, a tool call with no function, null logprobs
    keys) leave the state as it was."""
    c = delta(tool_calls=[{"index": 0, "id": "a"}])
    c["logprobs"] = {"content": None, "top": None}
    r = done(chunk(c, prompt_logprobs=[])).result()
    assert r.prompt_logprobs is None
    assert r.choices[0].logprobs is None
    (t,) = r.choices[0].message.tool_calls or []
    assert (t.id, t.function.name, t.function.arguments) == ("a", "", "")


def test_other_keys_type_change_replaces() -> None:
    """When an extension value changes type, the new value replaces the old one."""
    m = message(chunk(delta(text=1)), chunk(delta(text="a")), chunk(delta(text=[1])))
    assert m.extensions == {"text": [1]}


_fuzz_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", "a", "stop", "{}", "assistant"])
)
_fuzz_keys = st.sampled_from(
    [
        *("id", "created", "model", "object", "system_fingerprint", "service_tier", "usage"),
        *("choices", "prompt_logprobs", "extra", "error", "x_groq", "index", "delta", "message"),
        *("finish_reason", "logprobs", "content", "refusal", "role", "tool_calls", "type"),
        *("function_call", "function", "name", "arguments", "reasoning", "reasoning_content"),
        *("text", "thinking", "prompt_tokens", "completion_tokens_details", "obfuscation", "x"),
    ]
)
_fuzz_json = st.recursive(
    _fuzz_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_fuzz_keys, inner, max_size=4),
    max_leaves=25,
)


@given(st.lists(_fuzz_json, max_size=5))
def test_property_any_input_gives_a_typed_error_or_a_response(chunks: list[Any]) -> None:
    """Whatever arrives, the fold raises only its typed errors, and what it folded stays a
    valid response (it converts to a dict and back)."""
    agg = Aggregator()
    for c in chunks:
        error = _feed_or_error(agg, c)
        assert error is None or error.partial == agg.snapshot()
    snapshot = agg.snapshot()
    assert streamagg.from_dict(to_dict(snapshot)) == snapshot
    with contextlib.suppress(StreamError):
        agg.result()


def _feed_or_error(agg: Aggregator, chunk: Any) -> StreamError[Any] | None:
    """Feed one chunk; the typed error it raised, if any (any other exception escapes)."""
    try:
        agg.feed(chunk)
    except (MalformedChunkError, UpstreamError) as exc:
        return exc
    return None


def test_input_after_the_end_is_ignored_by_every_feed_method() -> None:
    """After ``[DONE]`` (or ``feed_done()``), ``feed``, ``feed_event``, ``receive`` and
    ``receive_chunk`` fold nothing and give no deltas."""
    agg = done(chunk(delta(content="a", finish="stop")))
    more = chunk(delta(content="b"))
    assert agg.feed(more) == []
    assert agg.feed_event(ServerSentEvent(data=json.dumps(more))) == []
    assert agg.receive("message", json.dumps(more), []) is True
    assert agg.receive_chunk(more, None) is True
    assert agg.receive("error", '{"error": "late"}', None) is True
    assert agg.result().choices[0].message.content == "a"


def test_after_an_error_the_stream_has_ended() -> None:
    """An error chunk ends the stream: later chunks are ignored, ``result()`` re-raises."""
    agg = Aggregator()
    with pytest.raises(UpstreamError):
        agg.feed(chunk(delta(content="a"), error={"message": "boom"}))
    assert agg.feed(chunk(delta(content="b"))) == []
    with pytest.raises(UpstreamError, match="boom") as info:
        agg.result()
    assert info.value.partial.choices[0].message.content == "a"


def test_afold_folds_an_async_iterable() -> None:
    """``afold`` is the async twin of ``fold`` (an ``openai.AsyncStream``, say)."""
    chunks = [chunk(delta(content="a")), chunk(delta(content="b", finish="stop"))]

    async def source() -> AsyncIterator[dict[str, Any]]:
        for c in chunks:
            yield c

    assert anyio.run(streamagg.afold, source()) == fold(chunks)


def test_every_entry_point_takes_text_keys() -> None:
    """``text_keys`` changes which extension strings concatenate, the same way in ``fold``,
    ``afold``, ``replay`` and the ``Aggregator``."""
    chunks = [
        chunk(delta(note="a")),
        chunk(delta(note="b", finish="stop")),
    ]
    raw = sse(chunks)

    async def source() -> AsyncIterator[dict[str, Any]]:
        for c in chunks:
            yield c

    def note(response: streamagg.ChatCompletionResponse) -> Any:
        return response.choices[0].message.extensions["note"]

    assert note(fold(chunks)) == note(streamagg.replay(raw)) == "b"
    keys = {"note"}
    assert note(fold(chunks, text_keys=keys)) == "ab"
    assert note(anyio.run(lambda: streamagg.afold(source(), text_keys=keys))) == "ab"
    assert note(streamagg.replay(raw, text_keys=keys)) == "ab"


@pytest.mark.parametrize("name", ["message", "done", "completion", "error"])
def test_done_ends_the_stream_under_any_event_name(name: str) -> None:
    """``data: [DONE]`` ends the stream whatever the event is called."""
    agg = Aggregator()
    agg.feed(chunk(delta(content="a")))
    assert agg.receive(name, "[DONE]", None) is True
    assert agg.done
    assert agg.result().choices[0].message.content == "a"


# -- the long tail of provider shapes (each also has a constructed stream in tests/streams) --


def test_message_beside_a_delta_is_ignored_for_text_and_tool_calls() -> None:
    """A choice that carries both ``delta`` and ``message`` with the same piece folds the piece
    once; the message's other keys are kept where the deltas did not set them."""

    def both(finish: str | None = None, **d: Any) -> dict[str, Any]:
        entry = delta(0, finish, **d)
        entry["message"] = {**d, "trace": "t"}
        return chunk(entry)

    call = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
    m = message(both(content="Hi"), both(content="!"), both("tool_calls", tool_calls=[call]))
    assert m.content == "Hi!"
    assert [t.function.arguments for t in m.tool_calls or []] == ["{}"]
    assert m.extensions == {"trace": "t"}


def test_message_after_deltas_fills_only_what_is_empty() -> None:
    """A closing frame whose ``message`` holds the whole answer adds only what the deltas did
    not carry."""
    closing = chunk(
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi!", "refusal": "no", "extra": 1},
            "finish_reason": "stop",
        },
        object="chat.completion",
    )
    m = message(chunk(delta(content="Hi")), chunk(delta(content="!")), closing)
    assert (m.content, m.refusal, m.extensions) == ("Hi!", "no", {"extra": 1})


def test_message_without_deltas_folds_like_one_big_delta() -> None:
    """A ``message`` on a choice that never had a delta (a server that ignored ``stream``)
    folds whole."""
    m = message(chunk({"index": 0, "message": {"content": "whole"}, "finish_reason": "stop"}))
    assert m.content == "whole"


def test_new_id_and_name_at_a_used_index_start_a_new_call() -> None:
    """Parallel calls that all arrive at ``index: 0`` stay separate, in arrival order; a
    continuation without an id (or with a new id but no name) extends the current call."""
    deltas = []
    agg = Aggregator()
    for c in (
        chunk(tc(index=0, id="a", function={"name": "f", "arguments": "{"})),
        chunk(tc(index=0, function={"arguments": "}"})),
        chunk(tc(index=0, id="b", function={"name": "g", "arguments": "["})),
        chunk(tc(index=0, id="b2", function={"arguments": "]"})),
        chunk(tc(index=1, id="c", function={"name": "h", "arguments": "1"})),
    ):
        deltas += agg.feed(c)
    agg.feed_done()
    calls = agg.result().choices[0].message.tool_calls or []
    assert [(t.id, t.function.name, t.function.arguments) for t in calls] == [
        ("a", "f", "{}"),
        ("b", "g", "[]"),
        ("c", "h", "1"),
    ]
    starts = [d for d in deltas if isinstance(d, ToolCallStart)]
    assert len({s.tool for s in starts}) == 3  # each call has its own number in the deltas


def test_null_id_is_a_continuation() -> None:
    """The id ``"null"`` (Mistral's continuations) is no id: never a new call, never kept."""
    m = message(
        chunk(tc(index=0, id="abc", function={"name": "add", "arguments": '{"a": 1'})),
        chunk(tc(index=0, id="null", function={"name": "add", "arguments": "}"})),
    )
    assert [(t.id, t.function.arguments) for t in m.tool_calls or []] == [("abc", '{"a": 1}')]


@pytest.mark.parametrize(
    ("field", "single"),
    [
        ("tool_calls", {"index": 0, "id": "x", "function": {"name": "f", "arguments": "{}"}}),
        ("content", {"type": "text", "text": "part"}),
    ],
)
def test_single_object_where_a_list_belongs_is_a_list_of_one(field: str, single: Any) -> None:
    """A single object where the protocol says "a list of objects" (Hugging Face TGI's
    ``tool_calls``) reads as a list of one; so do ``choices`` and logprob token lists."""
    m = message(chunk(delta(**{field: single})))
    assert m.tool_calls or m.content == "part"
    one = {"index": 0, "delta": {"content": "a"}, "logprobs": {"content": {"token": "a"}}}
    r = done({"choices": one}).result()
    assert r.choices[0].message.content == "a"
    assert r.choices[0].logprobs is not None
    assert r.choices[0].logprobs.content == [{"token": "a"}]


def test_thinking_items_other_than_text_are_kept() -> None:
    """``text`` items of a ``thinking`` part extend reasoning; ``tool_reference`` and
    ``reference`` items are kept in ``thinking_parts``, never fatal."""
    ref = {"type": "tool_reference", "tool": "web_search", "url": "u"}
    part = {"type": "thinking", "thinking": [{"type": "text", "text": "a"}, ref, "b"]}
    m = message(chunk(delta(content=[part])))
    assert (m.reasoning, m.extensions) == ("ab", {"thinking_parts": [ref]})


def test_empty_content_parts_are_skipped() -> None:
    """Parts that carry nothing but their type (``reference_ids: []`` in every chunk) leave no
    trace; parts that carry something are kept."""
    empty = {"type": "reference", "reference_ids": []}
    full = {"type": "reference", "reference_ids": [2]}
    m = message(*(chunk(delta(content=[empty, {"type": "text", "text": "x"}])) for _ in "ab"))
    assert (m.content, m.extensions) == ("xx", {})
    m = message(chunk(delta(content=[empty, full])))
    assert m.extensions == {"content_parts": [full]}


def test_audio_pieces_join_as_decoded_bytes() -> None:
    """``delta.audio``: id first non-empty, transcript concatenated, each base64 data piece
    decoded and the bytes joined (the base64 texts are not concatenated), expires_at last."""
    pieces = [b"\x00\x01", b"\x02\x03\x04", b"\x05"]
    m = message(
        chunk(delta(audio={"id": "au", "transcript": "He", "data": b64(pieces[0])})),
        chunk(delta(audio={"id": "other", "transcript": "y", "data": b64(pieces[1])})),
        chunk(delta(audio={"data": b64(pieces[2]), "expires_at": 7, "format": "pcm16"})),
    )
    assert m.audio == streamagg.Audio(
        id="au",
        data=b64(b"".join(pieces)),
        transcript="Hey",
        expires_at=7,
        extensions={"format": "pcm16"},
    )
    with pytest.raises(MalformedChunkError, match=r"delta\.audio\.data must be base64 text"):
        Aggregator().feed(chunk(delta(audio={"data": "not base64!"})))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_padding_keys_are_dropped_and_configurable() -> None:
    """``obfuscation`` (OpenAI) and ``p`` (Mistral) are random padding, dropped by default at
    the top level and in deltas; ``padding_keys`` changes the set."""
    c = chunk(delta(content="a", p="x", finish="stop"), p="zz", obfuscation="q", pad="k")
    assert fold([c]).extensions == {"pad": "k"}
    assert fold([c]).choices[0].message.extensions == {}
    custom = fold([c], padding_keys={"pad"})
    assert custom.extensions == {"p": "zz", "obfuscation": "q"}
    assert custom.choices[0].message.extensions == {"p": "x"}


def test_keepalive_sent_as_data_is_skipped_and_counted() -> None:
    """Event data starting with ``:`` (``data: : keepalive`` from a proxy) is a keep-alive: no
    chunk, no error; ``keepalives`` counts them."""
    agg = Aggregator()
    assert agg.receive("message", ": keepalive", None) is False
    agg.feed(chunk(delta(content="a", finish="stop")))
    assert agg.receive("message", " :ping", None) is False
    assert agg.keepalives == 2
    assert agg.result().choices[0].message.content == "a"


def test_deltas_are_frozen_values() -> None:
    """Deltas are immutable values (their fast ``__init__`` keeps attrs' semantics): equal by
    fields, hashable, made by position or keyword; a class with a default is refused."""
    import attrs

    from streamagg._chat.events import ContentDelta, ToolCallStart
    from streamagg._core.report import fast_init

    delta = ContentDelta(0, "a")
    assert delta == ContentDelta(choice=0, text="a") != ContentDelta(1, "a")
    assert hash(delta) == hash(ContentDelta(0, "a"))
    assert ToolCallStart(0, 1, None, "f").name == "f"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        delta.text = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ContentDelta(0)  # type: ignore[call-arg]

    @attrs.frozen
    class WithDefault:
        n: int = 0

    with pytest.raises(TypeError, match="required plain fields"):
        fast_init(WithDefault)
