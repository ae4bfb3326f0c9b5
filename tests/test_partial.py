"""``PartialJSON`` (``streamagg._core.partial``) and the partial values a stream offers while it
runs."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import streamagg
from streamagg import PartialJSON

from .helpers import STREAMS

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def feed_all(pieces: list[str]) -> PartialJSON:
    parser = PartialJSON()
    for piece in pieces:
        parser.feed(piece)
    return parser


@given(_json, st.lists(st.integers(0, 10_000), max_size=8), st.booleans())
def test_any_split_parses_to_what_json_loads_gives(
    value: Any, cuts: list[int], ascii: bool
) -> None:
    """Fed in any pieces (escapes and surrogate pairs split included), the value at the end is
    ``json.loads`` of the text; every value on the way is a prefix of it."""
    text = json.dumps(value, ensure_ascii=ascii)
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    parser = PartialJSON()
    for piece in pieces:
        parser.feed(piece)
        assert parser.error is None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        parser.feed(" ")  # a number at the very end may still go on
    assert parser.value == json.loads(text)


def test_the_value_while_it_arrives() -> None:
    """Complete keys and values so far, the last string partial; numbers and literals once
    complete; a key only once complete."""
    parser = PartialJSON()
    steps = [
        ('{"city": "Par', {"city": "Par"}),
        ('is", "days": [1, 2', {"city": "Paris", "days": [1]}),
        (', 3], "unit": tr', {"city": "Paris", "days": [1, 2, 3]}),
        ('ue, "no', {"city": "Paris", "days": [1, 2, 3], "unit": True}),
        ('te": "\\u00e9', {"city": "Paris", "days": [1, 2, 3], "unit": True, "note": "\u00e9"}),
    ]
    assert parser.value is None
    for text, expected in steps:
        parser.feed(text)
        assert parser.value == expected


@pytest.mark.parametrize(
    "text", ['{"a": 1,, }', '{"a" 1}', "[1 2]", '{"a": tru e}', '"\\q"', "[1]]", "{1: 2}"]
)
def test_invalid_json_never_raises_and_stops_at_the_last_valid_point(text: str) -> None:
    """Invalid JSON sets ``error`` and keeps what was valid; feeding more changes nothing."""
    parser = feed_all([text])
    assert parser.error is not None
    before = json.dumps(parser.value)
    parser.feed('"more", 5]}')
    assert json.dumps(parser.value) == before


def partial_arguments_after(pieces: list[str]) -> list[Any]:
    """The partial arguments after each of these argument fragments of one tool call."""
    agg = streamagg.Aggregator()
    values = []
    for n, piece in enumerate(pieces):
        fragment: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
        if n == 0:
            fragment["id"] = "c"
            fragment["function"]["name"] = "f"
        agg.feed({"choices": [{"delta": {"tool_calls": [fragment]}}]})
        values.append(copy.deepcopy(agg.partial_json(0, 0)))  # the value is a live view
    return values


def test_stream_offers_partial_arguments_and_json_content() -> None:
    """Mid-stream, the snapshot's tool calls carry their arguments parsed so far, and
    ``partial_json`` gives them (or a JSON-mode answer) at any moment."""
    raw = (STREAMS / "openai-python__parallel-tool-calls.sse").read_bytes()
    agg = streamagg.Aggregator()
    seen = []
    for event in streamagg.parse_sse(raw):
        agg.feed_event(event)
        seen.append(agg.partial_json(0, 0))
    final = json.loads(agg.result().choices[0].message.tool_calls[0].function.arguments)  # type: ignore[index]
    assert seen[-1] == final
    assert {"city": "Edinburgh"}.items() <= final.items()
    fragments = partial_arguments_after(['{"city": "Edi', 'nburgh", "units"', ': "c"}'])
    assert fragments == [
        {"city": "Edi"},
        {"city": "Edinburgh"},
        {"city": "Edinburgh", "units": "c"},
    ]
    snapshot = agg.snapshot()
    assert snapshot.choices[0].message.tool_calls[1].partial_arguments == json.loads(  # type: ignore[index]
        snapshot.choices[0].message.tool_calls[1].function.arguments  # type: ignore[index]
    )
    assert agg.result().choices[0].message.tool_calls[0].partial_arguments is None  # type: ignore[index]
    assert agg.partial_json(5) is None
    assert agg.partial_json(0, 9) is None
    content = streamagg.Aggregator()
    for piece in ['{"answer": ', '"4', '2"}']:
        content.feed({"choices": [{"delta": {"content": piece}}]})
    assert content.partial_json() == {"answer": "42"}


@pytest.mark.anyio
async def test_partial_arguments_over_a_real_socket(server: str) -> None:
    """The async twin offers the partial arguments while a real stream arrives."""
    import httpx

    url = f"{server}/openai-python__parallel-tool-calls?piece=30"
    async with httpx.AsyncClient() as client, streamagg.achat(client, url, {"messages": []}) as s:
        values = [
            copy.deepcopy(s.partial_json(delta.choice, delta.tool))  # a live view: copy it
            async for delta in s
            if isinstance(delta, streamagg.ToolCallArgumentsDelta)
        ]
    assert {"city": "Edinb"} in values
    assert values[-1] == {"ticker": "AAPL", "exchange": "NASDAQ"}
    assert s.snapshot().choices[0].message.tool_calls[0].partial_arguments == {  # type: ignore[index]
        "city": "Edinburgh",
        "country": "GB",
        "units": "c",
    }
