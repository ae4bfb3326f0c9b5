"""Repeated shapes (``streamagg._chat.shapes``): a chunk folded from its shape folds exactly as
when parsed.

Every check folds the same bytes twice, with shapes and with them turned off
(``Aggregator(shapes=False)``), and compares the results, the deltas and the errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import StreamError
from streamagg._chat.fold import Aggregator
from streamagg._chat.shapes import Shape, _maker, learn
from streamagg._core.reader import StreamReader
from streamagg._core.sse import Item

from .helpers import NAMES, STREAMS, using_orjson

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m"}


def fold(raw: bytes, shapes: bool) -> tuple[Any, list[Any], int]:
    """(result or error, deltas, shapes learned) of a stream read in 7-byte pieces."""
    aggregator = Aggregator(strict=False, shapes=shapes)
    reader = StreamReader(aggregator)
    deltas: list[Any] = []
    outcome: Any
    try:
        for i in range(0, len(raw), 7):
            if reader.receive_data(raw[i : i + 7], deltas):
                break
        outcome = streamagg.to_dict(reader.receive_eof())
    except StreamError as exc:
        outcome = (type(exc).__name__, str(exc), streamagg.to_dict(exc.partial))
    return outcome, deltas, aggregator.shapes


def same_both_ways(raw: bytes) -> int:
    """Assert the two folds agree; the number of shapes the first learned."""
    with_shapes, deltas, learned = fold(raw, shapes=True)
    without, plain_deltas, _ = fold(raw, shapes=False)
    assert with_shapes == without
    assert deltas == plain_deltas
    return learned


def sse(*chunks: dict[str, Any] | str, done: bool = True) -> bytes:
    events = [c if isinstance(c, str) else json.dumps(c) for c in chunks]
    return "".join(f"data: {e}\n\n" for e in [*events, *(["[DONE]"] if done else [])]).encode()


def piece(content: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    delta = {"content": content}
    return {**HEAD, "choices": [{"index": index, "delta": delta, "finish_reason": None}], **extra}


def fragment(arguments: str, index: int = 0, **call: Any) -> dict[str, Any]:
    entry = {"index": index, "function": {"arguments": arguments}, **call}
    return {**HEAD, "choices": [{"index": 0, "delta": {"tool_calls": [entry]}}]}


@pytest.mark.parametrize("name", NAMES)
def test_recordings_fold_the_same_with_shapes(name: str) -> None:
    """Every recorded chat stream folds to the same response and deltas with shapes."""
    same_both_ways((STREAMS / f"{name}.sse").read_bytes())


def test_repeated_chunks_are_learned_once_and_folded_from_the_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream of content pieces learns one shape (from its fourth chunk: short streams
    learn nothing), and only the chunks up to it and the last one (of another shape) are
    parsed."""
    raw = sse(*(piece(f" w{i}") for i in range(50)), {**HEAD, "choices": []})
    assert same_both_ways(raw) == 1
    parsed = 0
    full = Aggregator._dispatch

    def counting(self: Aggregator, chunk: Any, out: Any) -> None:
        nonlocal parsed
        parsed += 1
        full(self, chunk, out)

    monkeypatch.setattr(Aggregator, "_dispatch", counting)
    assert fold(raw, shapes=True)[0]["choices"][0]["message"]["content"].startswith(" w0 w1")
    assert parsed == 5


def test_padding_is_a_hole_too() -> None:
    """Random padding in every chunk (OpenAI's ``obfuscation``) does not stop the shape."""
    raw = sse(*(piece(f"{i}", obfuscation="x" * (i % 7)) for i in range(30)))
    assert same_both_ways(raw) == 1


def test_strings_with_quotes_escapes_and_look_alikes() -> None:
    """Pieces with quotes, backslashes, escapes, non-ASCII and the text of a key fold as
    parsed, in both escaping styles."""
    texts = ['"', "\\", '\\"', "é", "😀", '"content":"x"', "\u2028", "", "a\nb"]
    for ascii_only in (True, False):
        chunks = [json.dumps(piece(t), ensure_ascii=ascii_only) for t in texts * 3]
        assert same_both_ways(sse(*chunks)) >= 1


def test_a_chunk_that_differs_outside_the_holes_is_parsed() -> None:
    """A finish reason, a usage, a new model or an extra key makes the chunk its own: parsed."""
    raw = sse(
        piece("a"),
        piece("b"),
        {**piece("c"), "model": "other"},
        {**piece("d"), "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
        {**piece("e"), "x_extra": {"k": 1}},
        {**HEAD, "choices": [{"index": 0, "delta": {"content": "f"}, "finish_reason": "stop"}]},
        piece("g"),
    )
    same_both_ways(raw)


def test_whitespace_and_repeated_keys() -> None:
    """Whitespace anywhere and a key given twice (the last one counts) fold as parsed."""
    spaced = json.dumps(piece("x"), indent=None, separators=(" , ", " : "))
    twice = '{"id":"c","choices":[{"index":0,"delta":{"content":"1","content":"2"}}]}'
    twice_b = '{"id":"c","choices":[{"index":0,"delta":{"content":"1","content":"3"}}]}'
    raw = sse(spaced, spaced.replace('"x"', '"y"'), twice, twice_b, twice, twice_b)
    same_both_ways(raw)


def test_last_non_empty_fields_come_back_with_their_shape() -> None:
    """A fingerprint and a service tier that another chunk changed are set again by a chunk
    folded from its shape, as parsing it would."""
    a = {**piece("a"), "system_fingerprint": "fp_a", "service_tier": "default"}
    b = {**piece("b"), "system_fingerprint": "fp_b", "service_tier": "flex"}
    raw = sse(*[a] * 6, b, a, b, {**piece("c"), "system_fingerprint": ""}, a)
    assert same_both_ways(raw) >= 1
    result = fold(raw, shapes=True)[0]
    assert (result["system_fingerprint"], result["service_tier"]) == ("fp_a", "default")


def test_lenient_chunks_skipped_in_part_teach_nothing() -> None:
    """A chunk the lenient fold skipped (a bad ``system_fingerprint``) is not learned: its
    repeats are skipped as parsed chunks are."""
    bad = {**piece("x"), "system_fingerprint": 5}
    raw = sse(piece("a"), *[bad] * 8)
    assert same_both_ways(raw) == 0
    assert fold(raw, shapes=True)[0]["choices"][0]["message"]["content"] == "a"


def test_strings_that_look_like_the_probes() -> None:
    """Chunks whose strings are the probes ``_locate`` proves a hole with fold as parsed."""
    probe = "\x00streamagg probe A1"
    chunks = [piece(probe, obfuscation=probe), piece("x", obfuscation=probe), piece(probe)]
    same_both_ways(sse(*chunks * 3))


def test_tool_arguments_follow_the_call_that_holds_the_index() -> None:
    """Argument fragments fold from their shape into the call at their index, also after a new
    call took that index over."""
    raw = sse(
        fragment("", id="call_a", type="function"),
        fragment('{"a'),
        fragment('":1'),
        fragment("}"),
        {
            **HEAD,
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_b",
                                "function": {"name": "g", "arguments": ""},
                            }
                        ]
                    },
                }
            ],
        },
        fragment('{"b'),
        fragment('":2}'),
        fragment("", id="null"),
        fragment(""),
    )
    same_both_ways(raw)
    calls = fold(raw, shapes=True)[0]["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ['{"a":1}', '{"b":2}']


def with_tokens(content: str, tokens: Any, **logprobs: Any) -> dict[str, Any]:
    chunk = piece(content)
    chunk["choices"][0]["logprobs"] = {"content": tokens, **logprobs}
    return chunk


def token(text: str) -> dict[str, Any]:
    return {"token": text, "logprob": -0.5, "bytes": list(text.encode()), "top_logprobs": []}


@pytest.mark.parametrize("orjson", [True, False])
def test_logprob_tokens_are_a_hole_too(orjson: bool) -> None:
    """Chunks with logprobs fold from their shape (tokens read by either decoder, up to the
    fixed piece after them); a token that is not an object is bad input, as when parsed."""
    with using_orjson(orjson):
        chunks = [with_tokens(f" {i}", [token(f" {i}")], refusal=None) for i in range(20)]
        chunks += [with_tokens("x", [token("a"), token('"}]},')]), with_tokens("y", [])]
        # What follows the tokens differs from the shape's fixed piece: parsed.
        chunks += [with_tokens("v", [token("v")], refusal=[]), *chunks[:5]]
        assert same_both_ways(sse(*chunks)) >= 1
        bad = [*chunks, with_tokens("z", [token("z"), 3]), with_tokens("w", [token("w")])]
        same_both_ways(sse(*bad))
        with pytest.raises(streamagg.MalformedChunkError):
            streamagg.replay(sse(*bad))
        # Not a list where the shape has one: one token object is read as a list of one, a
        # string is bad input, both as when parsed.
        one = [*chunks, with_tokens("t", token("t"))]
        assert same_both_ways(sse(*one)) >= 1
        assert fold(sse(*one), shapes=True)[0]["choices"][0]["logprobs"]["content"][-1] == token(
            "t"
        )
        not_a_list = [*chunks, with_tokens("s", "tokens")]
        same_both_ways(sse(*not_a_list))
        with pytest.raises(streamagg.MalformedChunkError):
            streamagg.replay(sse(*not_a_list))


def test_many_choices_keep_one_shape_each() -> None:
    """``n=3``: each choice's chunks keep their own shape."""
    raw = sse(*(piece(f"{i}", index=i % 3) for i in range(60)))
    assert same_both_ways(raw) == 3


def test_the_newest_shape_is_tried_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel tool calls one after the other: each call's fragments match the newest shape,
    the first tried, however many calls came before."""
    chunks: list[dict[str, Any]] = []
    for call in range(10):
        start = {"index": call, "id": f"call_{call}", "function": {"name": "f", "arguments": ""}}
        chunks.append({**HEAD, "choices": [{"index": 0, "delta": {"tool_calls": [start]}}]})
        chunks += [fragment(f"{n}", call) for n in range(30)]
    raw = sse(*chunks)
    assert same_both_ways(raw) == 8  # the newest eight are kept
    tries = 0

    def counted(data: str, chunk: dict[str, Any], state: Any, loads: Any) -> Shape | None:
        shape = learn(data, chunk, state, loads)
        if shape is not None:
            full = shape.apply

            def counting(data: str, out: Any) -> bool:
                nonlocal tries
                tries += 1
                return full(data, out)

            shape.apply = counting
        return shape

    monkeypatch.setattr("streamagg._chat.fold.learn", counted)
    fold(raw, shapes=True)
    assert tries < 2 * len(chunks), tries  # a call's first chunks try every shape first


def test_learning_backs_off_when_chunks_never_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks that never repeat (a new id in each) cost a shape attempt a few times only."""
    calls = 0

    def counting(data: str, chunk: dict[str, Any], state: Any, loads: Any) -> Shape | None:
        nonlocal calls
        calls += 1
        learn(data, chunk, state, loads)
        return None

    monkeypatch.setattr("streamagg._chat.fold.learn", counting)
    raw = sse(*({**piece("x"), "id": f"c{i}"} for i in range(5000)))
    fold(raw, shapes=True)
    assert calls <= 13  # 1, 2, 4, ... 1,024 chunks apart, then every 1,024


def test_not_json_where_a_shape_was() -> None:
    """Data that starts like a shape but is not JSON is still bad input."""
    good = json.dumps(piece("a"))
    raw = sse(good, good, good[:-5] + "]]}}", good)
    same_both_ways(raw)
    with pytest.raises(streamagg.MalformedChunkError):
        streamagg.replay(raw)


texts = st.text(max_size=4) | st.sampled_from(['"', "\\", "é", "😀", '"content":"', "\n"])


@st.composite
def chunk_texts(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 13))
    index = draw(st.integers(0, 1))
    chunk: dict[str, Any]
    if kind <= 3:
        chunk = piece(draw(texts), index)
    elif kind == 4:
        delta = {"role": "assistant", "reasoning_content": draw(texts), "content": None}
        chunk = {**HEAD, "choices": [{"index": index, "delta": delta, "logprobs": None}]}
    elif kind <= 6:
        chunk = fragment(draw(texts), draw(st.integers(0, 1)))
    elif kind == 7:
        call = {"id": draw(st.sampled_from(["call_x", "call_y", "null", ""])), "type": "function"}
        chunk = fragment(draw(texts), draw(st.integers(0, 1)), **call)
    elif kind == 8:
        chunk = {**piece(draw(texts), index), "obfuscation": draw(st.text(max_size=3))}
    elif kind == 9:
        chunk = {**piece(draw(texts), index), draw(st.sampled_from(["usage", "x"])): {"a": 1}}
    elif kind == 10:
        chunk = {**piece(draw(texts), index), "service_tier": draw(st.sampled_from(["a", "b"]))}
    elif kind == 12:
        fingerprint = draw(st.sampled_from(["fp_a", "fp_b", ""]))
        chunk = {**piece(draw(texts), index), "system_fingerprint": fingerprint}
    else:
        tokens = draw(st.lists(st.builds(token, texts) | st.sampled_from([1, None]), max_size=2))
        chunk = with_tokens(draw(texts), draw(st.sampled_from([tokens, None, {}])))
    if draw(st.booleans()):
        chunk = dict(reversed(list(chunk.items())))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")]))
    return json.dumps(chunk, separators=separators, ensure_ascii=draw(st.booleans()))


@given(st.lists(chunk_texts(), min_size=1, max_size=25), st.booleans(), st.booleans())
def test_any_mix_of_chunks_folds_the_same_with_shapes(
    chunks: list[str], done: bool, orjson: bool
) -> None:
    """Property: any mix of repeated and changing chunks (text, reasoning, tool fragments with
    and without ids, padding, usage, extension keys, logprobs, any key order and spacing, any
    escaping) folds to the same response, deltas and errors with shapes as without, with
    either decoder (their shapes read token lists differently)."""
    with using_orjson(orjson):
        same_both_ways(sse(*chunks, done=done))


def test_generated_streams() -> None:
    """The benchmark's kinds of stream fold the same with shapes."""
    chunks: Iterator[dict[str, Any]] = (
        piece(f" {i}", obfuscation="ab"[: i % 3]) for i in range(300)
    )
    same_both_ways(sse(*chunks))


def test_empty_or_null_logprobs_do_not_stop_the_shape() -> None:
    """``"logprobs": {}`` and token lists that are null are fixed text, not holes."""
    for logprobs in ({}, {"content": None, "refusal": None}):
        chunks = [piece(f"{i}") for i in range(12)]
        for chunk in chunks:
            chunk["choices"][0]["logprobs"] = logprobs
        assert same_both_ways(sse(*chunks)) == 1


@pytest.mark.parametrize("orjson", [True, False])
def test_the_generated_fold_reads_as_documented(orjson: bool) -> None:
    """A shape's ``apply`` is one straight function (``Shape``'s docstring shows one): the
    holes read in turn, then folded, with no call per hole but the reads and the appends. Its
    text is compiled once per kind of shape: another stream of the same kind reuses it."""
    chunks = [with_tokens(f" {i}", [token(f" {i}")], refusal=None) for i in range(8)]
    texts: list[Item] = [json.dumps(c, separators=(",", ":")) for c in chunks]
    with using_orjson(orjson):
        aggregator = Aggregator()
        aggregator.receive_events(texts, None)
        hits = _maker.cache_info().hits
        another = Aggregator()
        another.receive_events(texts, None)
        assert _maker.cache_info().hits == hits + 1
    (shape,) = aggregator._shapes
    assert another._shapes[0].source is shape.source  # one copy of the text
    source = shape.source
    assert source.startswith("def make(add0, add1, head, head_size, loads, part0, ")
    assert "\n    def apply(data, out):\n" in source
    assert "v0, end = scan_string(data, head_size)" in source
    read = "v1 = loads(data[pos:end])" if orjson else "v1, end = scan_value(data, pos)"
    assert read in source
    folds = "        add0(v0, out)\n        add1(v1)\n        return True\n"
    assert source.endswith(folds + "    return apply\n")
    assert "." not in folds  # the holes call bound methods: the text names none
    assert "for " not in source.replace("for token in v1:", "")
