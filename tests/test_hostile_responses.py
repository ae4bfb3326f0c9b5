"""The Responses API fold under hostile input: typed errors (never a foreign exception), objects
that round-trip, and lookups that do not scan. Each test pins one finding of the hostile review."""

from __future__ import annotations

from typing import Any

import pytest

import streamagg
from streamagg import responses

from .helpers import sse


def text(response: responses.Response, item: int) -> str | None:
    """The text of an output item's first part."""
    content = response.output[item].content
    assert content is not None
    return content[0].text


CREATED = {"type": "response.created", "response": {"id": "r", "object": "response", "output": []}}


@pytest.mark.parametrize(
    "event",
    [{}, {"type": None}, {"type": 5}, {"type": []}, {"choices": []}, {"type": {"a": 1}}],
)
def test_an_event_without_a_string_type_is_bad_input(event: dict[str, Any]) -> None:
    """An event whose ``type`` is missing or not a string is ``MalformedChunkError`` naming the
    field (strict), a skip with that reason (lenient): never ``AttributeError``/``TypeError``."""
    raw = sse([CREATED, event])
    with pytest.raises(streamagg.MalformedChunkError, match="type must be a string"):
        responses.replay(raw)
    partial = responses.replay(raw, strict=False)
    assert partial.report is not None
    assert any("type must be a string" in s.reason for s in partial.report.skipped)


@pytest.mark.parametrize("index", [[1], {"a": 1}, "0", -1, 1.5])
def test_an_output_index_of_another_type_is_bad_input(index: Any) -> None:
    """An ``output_index`` that is a list, an object, a string, negative or a float is bad
    input naming it (a list or an object was ``TypeError: unhashable``)."""
    delta = {"type": "response.output_text.delta", "output_index": index, "delta": "x"}
    with pytest.raises(streamagg.MalformedChunkError, match="output_index"):
        responses.replay(sse([CREATED, delta]))


@pytest.mark.parametrize("item_id", [[1], {"a": 1}])
def test_an_item_id_of_another_type_is_no_id(item_id: Any) -> None:
    """An ``item_id`` that is not a string names no item: the delta goes to the last item."""
    added = {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"type": "message", "id": "m0", "role": "assistant", "content": []},
    }
    delta = {"type": "response.output_text.delta", "item_id": item_id, "delta": "x"}
    partial = responses.replay(sse([CREATED, added, delta]), strict=False)
    assert text(partial, 0) == "x"


@pytest.mark.parametrize("field", [{"object": None}, {"object": 5}, {"status": []}])
def test_a_typed_field_of_another_type_round_trips(field: dict[str, Any]) -> None:
    """A field whose value has another type is kept as it came: ``to_dict`` gives it back and
    ``from_dict(to_dict(r)) == r``."""
    data = {"id": "r", **field, "output": []}
    response = responses.from_dict(data)
    ((key, value),) = field.items()
    assert streamagg.to_dict(response)[key] == value
    assert responses.from_dict(streamagg.to_dict(response)) == response


def test_deltas_by_item_id_are_looked_up_not_scanned() -> None:
    """Deltas addressed by ``item_id`` alone find their item through an index of ids (a scan
    of the items was 67x slower at 4,000 items): the fold never iterates its items for them,
    and a replaced item's old id names nothing."""
    aggregator = responses.Aggregator()
    aggregator.feed(CREATED)
    for n in range(50):
        item = {"type": "message", "id": f"m{n}", "role": "assistant", "content": []}
        aggregator.feed({"type": "response.output_item.added", "output_index": n, "item": item})

    class NoScan(dict[int, Any]):
        def items(self) -> Any:
            raise AssertionError("the items were scanned")

        def __iter__(self) -> Any:
            raise AssertionError("the items were scanned")

    aggregator._items = NoScan(aggregator._items)
    for n in (7, 3, 49, 7):
        delta = {"type": "response.output_text.delta", "item_id": f"m{n}", "delta": f"{n}."}
        aggregator.feed(delta)
    aggregator._items = dict(aggregator._items)
    snapshot = aggregator.snapshot()
    assert (text(snapshot, 7), text(snapshot, 3), text(snapshot, 49)) == ("7.7.", "3.", "49.")
    renamed = {"type": "message", "id": "other", "role": "assistant", "content": []}
    aggregator.feed({"type": "response.output_item.added", "output_index": 3, "item": renamed})
    aggregator.feed({"type": "response.output_text.delta", "item_id": "m3", "delta": "!"})
    assert text(aggregator.snapshot(), 49) == "49.!"
