"""What the dialect folds share to read their events' fields: an index, a piece of text, an
entry of a list keyed by index, a count against ``max_items``, an object whose strings arrive in
pieces, and the message of an error object. Each raises ``InvalidChunk`` (or ``OverLimit``)
naming the field, which ``FoldBase`` turns into the public errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import InvalidChunk, OverLimit
from .limits import Limits
from .merge import short_repr
from .pieces import Pieces

__all__ = [
    "NestingMeter",
    "Streamed",
    "check_count",
    "error_message",
    "index_of",
    "keyed_entry",
    "text_of",
]

E = TypeVar("E")

# What changes the nesting of JSON text: brackets, and the quotes and escapes of strings.
_STRUCTURE = re.compile(r'[\[\]{}"\\]')
_STRING = re.compile(r'["\\]')


def error_message(error: Any) -> str:
    """The readable message of an error object a server sent (``{"message": ...}``, possibly
    nested as ``{"error": {"message": ...}}``), or a short form of it."""
    if isinstance(error, dict):
        inner = error.get("error")
        message = error.get("message")
        if not isinstance(message, str) and isinstance(inner, dict):
            message = inner.get("message")
        if isinstance(message, str) and message:
            return message
    return short_repr(error)


class Streamed:
    """An object of the final JSON (an item, a part, a block) whose strings arrive in pieces:
    its ``data`` as it came, and the pieces of each streamed key, joined only when it is built
    (the cost of a delta never grows with the length of the text)."""

    __slots__ = ("data", "pieces")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.pieces: dict[str, Pieces] = {}

    def extend(self, key: str, text: str) -> None:
        """Append ``text`` to the string ``key`` (which starts as the value ``data`` has)."""
        pieces = self.pieces.get(key)
        if pieces is None:
            start = self.data.get(key)
            pieces = self.pieces[key] = Pieces((start,) if start.__class__ is str else ())
        pieces.add(text)

    def build(self) -> dict[str, Any]:
        """A new dict of the object: ``data`` with the streamed strings joined."""
        data = dict(self.data)
        for key, pieces in self.pieces.items():
            data[key] = "".join(pieces)
        return data


def index_of(event: Mapping[str, Any], key: str, missing: int | None = None) -> int:
    """An event's ``key`` (``index``, ``output_index``...): a non-negative int; ``missing``
    (when given) if the event has none."""
    value = event.get(key)
    if value is None and missing is not None:
        return missing
    if value.__class__ is not int or value < 0:
        raise InvalidChunk(key, "a non-negative integer", value)
    return value


def text_of(value: Any, key: str) -> str:
    """A streamed piece of text, which must be a string (None counts as empty)."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    raise InvalidChunk(key, "a string", value)


def keyed_entry(
    entries: dict[int, E], data: Any, what: str, limits: Limits, make: Callable[[], E]
) -> tuple[int, E]:
    """The entry of a list keyed by ``index`` (choices, candidates) that ``data`` (one element
    of the list ``what``) is about: its index (missing means 0) and the entry, made if new."""
    if data.__class__ is not dict:
        raise InvalidChunk(f"{what}[]", "an object", data)
    index = data.get("index", 0)
    if index.__class__ is not int or index < 0:
        raise InvalidChunk(f"{what}[].index", "a non-negative integer", index)
    entry = entries.get(index)
    if entry is None:
        check_count(len(entries) + 1, limits, what)
        entry = entries[index] = make()
    return index, entry


def check_count(count: int, limits: Limits, what: str) -> None:
    """Raise ``OverLimit`` when a response would hold more than ``max_items`` ``what``."""
    if count > limits.max_items:
        raise OverLimit("max_items", what)


class NestingMeter:
    """The deepest nesting of JSON text fed in pieces (strings and their escapes understood),
    for text a fold keeps whole and parses only when it builds its object (Anthropic's tool
    input): ``deepest`` is the most objects and lists ever open at once. Linear in the text,
    with a regular expression finding the characters that matter."""

    __slots__ = ("_escape", "_string", "deepest", "depth")

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self._string = False  # inside a string
        self._escape = False  # a backslash ended the last piece: its character comes next

    def feed(self, text: str) -> None:
        """Measure the next piece of text."""
        pos = 0
        if self._escape:
            self._escape = False
            pos = 1
        size = len(text)
        while pos < size:
            found = (_STRING if self._string else _STRUCTURE).search(text, pos)
            if found is None:
                return
            char, pos = found.group(), found.end()
            if char == "\\":
                pos += 1  # the escaped character, whatever it is
                self._escape = pos > size
            elif char == '"':
                self._string = not self._string
            elif char in "[{":
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)
            else:
                self.depth -= 1
