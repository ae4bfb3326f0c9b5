"""The generic merge of provider extensions (``streamagg._core.merge``), against a simple model."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamagg._core.merge import copy_json, merge, nesting_exceeds, two_deep

TEXT_KEYS = frozenset({"text"})


def model_merge(old: Any, new: Any, key: str) -> Any:
    """The merge rules written as plainly as possible (quadratic, copying, obviously right)."""
    if old is None:
        return copy.deepcopy(new)
    if isinstance(new, str):
        return old + new if key in TEXT_KEYS and isinstance(old, str) else new
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for k, v in new.items():
            if v is not None:
                out[k] = model_merge(out.get(k), v, k)
        return out
    if isinstance(old, list) and isinstance(new, list):
        indexed = all(isinstance(e, dict) and type(e.get("index")) is int for e in old + new)
        if indexed and new:
            items = list(old)
            for entry in new:
                where = [i for i, mine in enumerate(items) if mine["index"] == entry["index"]]
                if where:
                    items[where[0]] = model_merge(items[where[0]], entry, key)
                else:
                    items.append(copy.deepcopy(entry))
            return items
        return old + copy.deepcopy(new)
    return copy.deepcopy(new)


_leaf = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b", ""])
_entry = st.fixed_dictionaries(
    {"index": st.integers(0, 3)},
    optional={"text": st.sampled_from(["x", "y"]), "n": st.integers(0, 2)},
)
_values = st.recursive(
    _leaf | st.lists(_entry, max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["text", "k", "details"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@settings(max_examples=1000)
@given(st.lists(_values.filter(lambda v: v is not None), min_size=1, max_size=5))
def test_merge_agrees_with_the_simple_model(values: list[Any]) -> None:
    """Merging a sequence of values gives what the plain model of the rules gives, and never
    changes the inputs."""
    before = copy.deepcopy(values)
    mine: Any = None
    expected: Any = None
    for value in values:
        mine = merge(mine, value, "details", TEXT_KEYS)
        expected = model_merge(expected, value, "details")
    assert copy_json(mine) == expected
    assert values == before


def model_depth(value: Any) -> int:
    """How deeply objects and lists nest in ``value`` (a scalar: 0), recursively."""
    if isinstance(value, dict):
        return 1 + max(map(model_depth, value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max(map(model_depth, value), default=0)
    return 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=12,
)


@settings(max_examples=1000)
@given(_json, st.integers(0, 6))
def test_nesting_exceeds_agrees_with_the_depth(value: Any, limit: int) -> None:
    """``nesting_exceeds`` says exactly whether the value nests deeper than the limit."""
    assert nesting_exceeds(value, limit) is (model_depth(value) > limit)


@settings(max_examples=1000)
@given(st.lists(_json, max_size=4))
def test_two_deep_agrees_with_the_depth(items: list[Any]) -> None:
    """``two_deep`` (the one-pass check of logprob arrays) is a list's depth being at most 2."""
    assert two_deep(items) is (model_depth(items) <= 2)
