"""Repeated shapes: a chat chunk whose JSON text repeats a recent chunk's text exactly, except
for the one string the fold appends and the random padding, is folded without being parsed.

Most chunks of a stream are the previous chunk again with another piece of text: the same id,
model, fingerprint, index and nulls around ``"content":"..."`` (or ``"reasoning_content"``,
``"refusal"``, a tool call's ``"arguments"``). Parsing all of it again is most of a chunk's
cost. A ``Shape`` is a chunk's text cut around its *holes*: the string literal the fold appends
and the string literals of the padding keys (OpenAI's ``obfuscation``, which differs in every
chunk). A new chunk matches the shape when it is the shape's fixed pieces in order with exactly
one string literal in each hole (read by the standard library's C string scanner, the one
``json`` itself uses); the shape then appends the new string, as folding the chunk would.

Why this is exact, whatever the input. A JSON text is a sequence of tokens read left to right,
and a string literal is one token wherever it stands. The matching chunk has the learned
chunk's tokens with other strings in the holes, so it decodes to the learned chunk's object with
other strings at the holes' places: the same keys, numbers, nulls and other strings, whatever
whitespace, escapes or repeated keys the text has. Where the holes lie in the learned text is
checked, not trusted (``_locate``): the text with a distinct probe string in each hole must
decode to the learned object with the probes at the holes' paths, and to nothing else. And
a chunk is learned (``learn``) only when folding its other fields again changes nothing: its
top-level fields are ones whose rule is "first non-empty" or "last non-empty" (folding the same
value again is a no-op), its one choice is one the fold already has, with no finish reason, no
logprobs and no usage, and its delta holds, besides nulls and a role (first non-empty), either
one text field or one tool-call fragment that has nothing but an index and arguments (a
continuation: it finds its call by index, as it did before). Nothing is assumed of a provider.

What it costs. The fold tries the shapes before parsing (two compares and a string scan when the
chunk matches; a compare that fails on the first differing character when it does not), and
learns a shape from a parsed chunk that has none. When chunks do not repeat (every chunk with a
new id, or logprobs), learning backs off exponentially, so that a stream pays for it a few
dozen times at most.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from ._codec import decode_exact, scan_string

if TYPE_CHECKING:
    from ._models import Delta
    from ._state import ChoiceState, ResponseState

__all__ = ["MAX_SHAPES", "Shape", "learn"]

#: The shapes a fold keeps (one per choice of an ``n > 1`` stream, and a few phases).
MAX_SHAPES = 8

Path = tuple[Any, ...]
Apply = Callable[[str, "list[Delta] | None"], None]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_HEAD_KEYS = frozenset(
    {"id", "object", "created", "model", "system_fingerprint", "service_tier", "usage"}
)
_CHOICE_KEYS = frozenset({"index", "delta", "logprobs", "finish_reason"})
_TEXT_KEYS = frozenset({"content", "reasoning_content", "reasoning", "refusal"})
_FRAGMENT_KEYS = frozenset({"index", "id", "type", "function"})
_NO_IDS = frozenset({"", "null"})


class Shape:
    """A chunk's text cut around its holes (see the module doc): ``parts`` are the fixed
    pieces, each but the last ending with a hole's opening quote; ``text`` is the number of the
    hole whose string is appended, by ``apply``."""

    __slots__ = ("apply", "head", "middle", "tail", "tail_size", "text")

    def __init__(self, parts: list[str], text: int, apply: Apply) -> None:
        self.head = parts[0]
        self.middle = tuple(parts[1:-1])
        self.tail = parts[-1]
        self.tail_size = len(self.tail)
        self.text = text
        self.apply = apply

    def fold(self, data: str, out: list[Delta] | None) -> bool:
        """Fold ``data`` if it matches: True when it did."""
        if not data.startswith(self.head) or not data.endswith(self.tail):
            return False
        try:
            value, end = scan_string(data, len(self.head))
            if self.middle:
                values = [value]
                for part in self.middle:
                    if not data.startswith(part, end):
                        return False
                    value, end = scan_string(data, end + len(part))
                    values.append(value)
                value = values[self.text]
        except ValueError:  # not a string literal: the text is not this shape
            return False
        if end != len(data) - self.tail_size:
            return False
        self.apply(value, out)
        return True


def learn(data: str, chunk: dict[str, Any], state: ResponseState) -> Shape | None:
    """The shape of a chunk the fold has just folded from ``data``, or None when it has none
    (see the module doc for when a chunk has one)."""
    holes = _padding_holes(chunk, state.rules.padding_keys)
    choice = _the_choice(chunk) if holes is not None else None
    if holes is None or choice is None:
        return None
    index = choice.get("index")
    if index is None:
        index = 0  # as the fold reads it
    owner = state.choices.get(index) if index.__class__ is int else None
    delta = choice.get("delta")
    found = _appended(delta, owner) if owner is not None and delta.__class__ is dict else None
    if found is None:
        return None
    path, apply = found
    holes.append(("choices", 0, "delta", *path))
    spans = _locate(data, holes, chunk)
    if spans is None:
        return None
    parts, last = [], 0
    for start, end in sorted(spans):
        parts.append(data[last : start + 1])  # up to and with the opening quote
        last = end
    parts.append(data[last:])
    return Shape(parts, sorted(spans).index(spans[-1]), apply)


def _padding_holes(chunk: dict[str, Any], padding: frozenset[str]) -> list[Path] | None:
    """The paths of a chunk's padding strings; None when it has a top-level key other than
    the ones the fold keeps the first or last of, or a usage."""
    holes: list[Path] = []
    for key, value in chunk.items():
        if key in padding:
            if value.__class__ is str:
                holes.append((key,))
            elif value is not None:
                return None
        elif key not in _HEAD_KEYS and key != "choices":
            return None
    return holes if chunk.get("usage") is None else None


def _the_choice(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """A chunk's one choice, when it has one and it has no finish reason and no logprobs."""
    choices = chunk.get("choices")
    if choices.__class__ is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if choice.__class__ is not dict or not _CHOICE_KEYS.issuperset(choice):
        return None
    if choice.get("finish_reason") is not None or choice.get("logprobs") is not None:
        return None
    return choice


def _appended(delta: dict[str, Any], owner: ChoiceState) -> tuple[Path, Apply] | None:
    """The path (in the delta) of the one string a delta appends, and how to append it; None
    when the delta does anything else."""
    found: tuple[Path, Apply] | None = None
    for key, value in delta.items():
        if value is None or key == "role":
            continue  # nulls are skipped; role is the first non-empty one
        if found is not None:
            return None
        if key in _TEXT_KEYS and value.__class__ is str:
            found = ((key,), _text_appender(owner, key))
        elif key == "tool_calls":
            index = _fragment_index(value)
            if index is None or index not in owner.by_index:
                return None
            found = ((key, 0, "function", "arguments"), _arguments_appender(owner, index))
        else:
            return None
    return found


def _fragment_index(calls: Any) -> int | None:
    """The index of a list holding one tool-call fragment that carries nothing but its index
    and a piece of arguments (no id, type or name); None for anything else."""
    if calls.__class__ is not list or len(calls) != 1:
        return None
    fragment = calls[0]
    if fragment.__class__ is not dict or not _FRAGMENT_KEYS.issuperset(fragment):
        return None
    call_id, kind, function = fragment.get("id"), fragment.get("type"), fragment.get("function")
    if (call_id and call_id not in _NO_IDS) or kind or function.__class__ is not dict:
        return None
    if set(function) - {"name", "arguments"} or function.get("name"):
        return None
    index = fragment.get("index")
    if index.__class__ is not int or function.get("arguments").__class__ is not str:
        return None
    return index


def _text_appender(owner: ChoiceState, key: str) -> Apply:
    if key == "content":
        return owner.add_content
    field = f"delta.{key}"

    def append(text: str, out: list[Delta] | None) -> None:
        owner.add_text(key, text, field, out)

    return append


def _arguments_appender(owner: ChoiceState, index: int) -> Apply:
    calls = owner.by_index

    def append(text: str, out: list[Delta] | None) -> None:
        # Looked up each time: a later call may take the index over, and fragments follow it.
        calls[index].add_arguments(text, out)

    return append


def _locate(data: str, holes: list[Path], chunk: dict[str, Any]) -> list[tuple[int, int]] | None:
    """Where the holes' string literals lie in ``data``, the text ``chunk`` was decoded from:
    for each hole, the positions of its opening quote and just past its closing one. Each is
    looked for as the value of the last ``"key":`` of its key, then proven: the text with a
    probe in every hole must decode to ``chunk`` with the probes at the holes' paths. None
    when a hole is not found or the proof fails."""
    spans = [_literal_after(data, f'"{path[-1]}":') for path in holes]
    if None in spans:
        return None
    found: list[tuple[int, int]] = spans  # type: ignore[assignment]
    order = sorted(range(len(holes)), key=found.__getitem__)
    if any(found[a][1] > found[b][0] for a, b in pairwise(order)):
        return None  # two holes overlap: not where they were looked for
    # Two probes: a chunk whose strings were both probes could fool one, not both.
    for probe in ("A", "B"):
        text, expected, last = [], chunk, 0
        for n in order:
            start, end = found[n]
            text += [data[last : start + 1], _PROBE % (probe, n), '"']
            expected = _replaced(expected, holes[n], _PROBE_VALUE % (probe, n))
            last = end
        text.append(data[last:])
        try:
            if decode_exact("".join(text)) != expected:
                return None
        except (ValueError, RecursionError):
            return None
    return found


def _literal_after(data: str, key: str) -> tuple[int, int] | None:
    """The span of the string literal after the last ``key`` in ``data``, if one is there."""
    at = data.rfind(key)
    start = _WHITESPACE.match(data, at + len(key)).end()  # type: ignore[union-attr]
    if at < 0 or data[start : start + 1] != '"':
        return None
    try:
        return start, scan_string(data, start + 1)[1]
    except ValueError:
        return None


# A probe: a string no chunk holds by chance (it starts with a NUL), as JSON text and as value.
_PROBE = "\\u0000streamagg probe %s%d"
_PROBE_VALUE = "\x00streamagg probe %s%d"


def _replaced(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path`` (only the containers on the path copied)."""
    if not path:
        return new
    copy = list(value) if value.__class__ is list else dict(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy
