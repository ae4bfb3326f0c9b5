"""Merging the JSON data nobody has a rule for (provider extensions), for every fold.

The fold owns what it merges: ``merge`` copies what it takes in, mutates only its own
containers, and keeps two private kinds of value while a stream is folded, both turned into plain
JSON by ``copy_json`` when a response is built:

* ``TextPieces``: a string under a text-like key that keeps growing (joined once, at export,
  so that appending costs the same at the millionth piece as at the first);
* ``IndexedList``: a list of objects that all carry an integer ``index`` (OpenRouter's
  ``reasoning_details``), with a map from index to entry so that merging an entry is a lookup,
  not a search.

The merge rules: null never replaces anything; strings under a text-like key concatenate, other
scalars are replaced by the last value; objects merge key by key; lists of indexed objects merge
entry by entry; other lists extend.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "TWO_DEEP",
    "IndexedList",
    "TextPieces",
    "copy_json",
    "merge",
    "merge_into",
    "nesting_exceeds",
    "short_repr",
    "two_deep",
]

_REPR = reprlib.Repr()
_REPR.maxlevel = 4
_REPR.maxstring = _REPR.maxother = 200


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and lists nest deeper than ``limit`` in ``value``. Iterative, one level
    at a time: data nested thousands of levels deep is measured without recursion, and each
    container is looked at once."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        deeper: list[Any] = []
        for item in level:
            cls = item.__class__
            if cls is dict:
                children: Any = item.values()
            elif cls is list or cls is tuple:
                children = item
            elif isinstance(item, Mapping):
                children = item.values()
            else:
                continue
            if depth > limit:
                return True
            deeper.extend([child for child in children if child.__class__ not in _ATOMS])
        level = deeper
    return False


#: How deep ``two_deep`` lets a list nest.
TWO_DEEP = 2


def two_deep(items: list[Any]) -> bool:
    """Whether a list holds only scalars and objects or lists of scalars (it nests two deep at
    the most): the shape of logprob arrays, told in one pass where ``nesting_exceeds`` would
    build its level lists."""
    for item in items:
        kind = item.__class__
        if kind in _ATOMS:
            continue
        if kind is dict:
            values = item.values()
        elif kind is list:
            values = item
        else:
            return False
        for value in values:
            if value.__class__ not in _ATOMS:
                return False
    return True


def short_repr(value: Any) -> str:
    """A bounded repr of JSON data for messages: nesting, long strings and long lists are cut,
    so that hostile data (thousands of levels deep) cannot break or flood an error message."""
    text = value if isinstance(value, str) else _REPR.repr(value)
    return text if len(text) <= _REPR.maxstring else text[: _REPR.maxstring] + "..."


_ATOMS = frozenset({str, int, float, bool, type(None)})


class TextPieces:
    """A concatenated string being built, joined on export."""

    __slots__ = ("parts",)

    def __init__(self, first: str, second: str) -> None:
        self.parts = [first, second]


class IndexedList:
    """A list of objects keyed by their integer ``index``, in the order they first arrived."""

    __slots__ = ("by_index", "items")

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.by_index: dict[int, dict[str, Any]] = {}
        for item in items:
            self.by_index.setdefault(item["index"], item)  # the first one with an index gets
            # what later entries with that index bring


def copy_json(value: Any) -> Any:
    """A private copy of JSON data: containers are copied (merging mutates the ones a fold
    keeps, and a response must not share them); ``TextPieces`` and ``IndexedList`` become plain
    JSON."""
    cls = value.__class__
    if cls in _ATOMS:
        return value
    if cls is dict or isinstance(value, Mapping):
        return {k: copy_json(v) for k, v in value.items()}
    if cls is list:
        return [copy_json(v) for v in value]
    if cls is TextPieces:
        return "".join(value.parts)
    if cls is IndexedList:
        return [copy_json(v) for v in value.items]
    return value


def _is_indexed(items: list[Any]) -> bool:
    return bool(items) and all(
        e.__class__ is dict and e.get("index").__class__ is int for e in items
    )


def _own(value: Any) -> Any:
    """``value`` as a fold keeps it: copied, with indexed lists kept as ``IndexedList``."""
    if value.__class__ is list and _is_indexed(value):
        return IndexedList([_own(e) for e in value])
    if isinstance(value, Mapping):
        return {k: _own(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_own(v) for v in value]
    return value


def merge(old: Any, new: Any, key: str, text_keys: frozenset[str]) -> Any:
    """Merge ``new`` (not None) into ``old`` (owned by the fold, or None) under ``key``; return
    the merged value, which the caller stores."""
    if old is None:
        return _own(new)
    if new.__class__ is str:
        if key in text_keys:
            if old.__class__ is TextPieces:
                old.parts.append(new)
                return old
            if old.__class__ is str:
                return TextPieces(old, new)
        return new
    if old.__class__ is dict and isinstance(new, Mapping):
        merge_into(old, new, text_keys)
        return old
    if new.__class__ is list:
        cls = old.__class__
        if not new and (cls is list or cls is IndexedList):
            return old  # nothing to add (and an indexed list stays indexed)
        if cls is list and not old and _is_indexed(new):
            old, cls = IndexedList(old), IndexedList
        if cls is IndexedList:
            if _is_indexed(new):
                by_index = old.by_index
                for entry in new:
                    mine = by_index.get(entry["index"])
                    if mine is None:
                        mine = by_index[entry["index"]] = _own(entry)
                        old.items.append(mine)
                    else:
                        merge_into(mine, entry, text_keys)
                return old
            old = old.items  # no longer all indexed: from now on, lists extend
            cls = list
        if cls is list:
            old.extend(_own(v) for v in new)
            return old
    return _own(new)


def merge_into(target: dict[str, Any], new: Mapping[str, Any], text_keys: frozenset[str]) -> None:
    """Merge every non-null key of ``new`` into ``target`` (owned by the fold)."""
    for k, v in new.items():
        if v is not None:
            target[k] = merge(target.get(k), v, k, text_keys)
