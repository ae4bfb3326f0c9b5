"""Repeated shapes: a chat chunk whose JSON text repeats a recent chunk's text exactly, except
for the one string the fold appends, its logprob tokens and the random padding, is folded
without being parsed.

Most chunks of a stream are the previous chunk again with another piece of text: the same id,
model, fingerprint, index and nulls around ``"content":"..."`` (or ``"reasoning_content"``,
``"refusal"``, a tool call's ``"arguments"``). Parsing all of it again is most of a chunk's
cost. A ``Shape`` is a chunk's text cut around its *holes*: the string literal the fold appends,
the string literals of the padding keys (OpenAI's ``obfuscation``, which differs in every
chunk) and the logprob token lists. A new chunk matches the shape when it is the shape's fixed
pieces in order with exactly one string literal in each string hole (read by the standard
library's C string scanner, the one ``json`` itself uses) and one JSON list of objects in each
token hole (read by the fold's decoder); the shape then appends the new string and tokens, as
folding the chunk would.

Why this is exact, whatever the input. A JSON text is a sequence of tokens read left to right,
and a string literal, like any whole JSON value, stands where any value may. The matching chunk
has the learned chunk's tokens with other values in the holes, so it decodes to the learned
chunk's object with other values at the holes' places: the same keys, numbers, nulls and other
strings, whatever whitespace, escapes or repeated keys the text has. Where the holes lie in the
learned text is checked, not trusted (``_locate``): the text with a distinct probe string in
each hole must decode to the learned object with the probes at the holes' paths, for two sets
of probes. And a chunk is learned (``learn``) only when folding its other fields again changes
nothing: its top-level fields are ones whose rule is "first non-empty" or "last non-empty"
(folding the same value again is a no-op for the first; the shape sets the last again when
another chunk changed it), its one choice is one the fold already has, with no
finish reason and no usage, its logprobs hold nothing but token lists, and its delta holds,
besides nulls and a role (first non-empty), either one text field or one tool-call fragment
that has nothing but an index and arguments (a continuation: it finds its call by index, as it
did before). Nothing is assumed of a provider.

What it costs. The fold tries the shapes before parsing (two compares and a string scan when the
chunk matches; a compare that fails on the first differing character when it does not), and
learns a shape from a parsed chunk that has none, from the fourth chunk on; the newest shape is
tried first, as a stream moves on (the next tool call, from reasoning to content), and the
shapes of the choices of an ``n > 1`` stream, learned in turn, then match in turn (for ``n``
choices, ``(n + 1) / 2`` tries a chunk on average). When chunks do not
repeat (every chunk with a new id), learning backs off exponentially, so that a stream pays for
it a few dozen times at most.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from . import _codec
from ._codec import decode_exact, scan_string, scan_value

if TYPE_CHECKING:
    from ._models import Delta
    from ._state import ChoiceState, ResponseState

__all__ = ["MAX_SHAPES", "Shape", "learn"]

#: The shapes a fold keeps (one per choice of an ``n > 1`` stream, and a few phases).
MAX_SHAPES = 8

Path = tuple[Any, ...]
Apply = Callable[[Any, "list[Delta] | None"], None]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_HEAD_KEYS = frozenset(
    {"id", "object", "created", "model", "system_fingerprint", "service_tier", "usage"}
)
_CHOICE_KEYS = frozenset({"index", "delta", "logprobs", "finish_reason"})
_TEXT_KEYS = frozenset({"content", "reasoning_content", "reasoning", "refusal"})
_TOKEN_KEYS = frozenset({"content", "refusal"})
_FRAGMENT_KEYS = frozenset({"index", "id", "type", "function"})
_NO_IDS = frozenset({"", "null"})


class Hole:
    """A hole of a shape: where its value is (``path``), whether it is a string (else a list of
    logprob tokens, any JSON between its fixed neighbours), and what folding it does: ``apply``
    a string (None for padding), or extend ``tokens``, the token list it adds to."""

    __slots__ = ("apply", "path", "string", "tokens")

    def __init__(
        self, path: Path, string: bool, apply: Apply | None, tokens: list[Any] | None = None
    ) -> None:
        self.path = path
        self.string = string
        self.apply = apply
        self.tokens = tokens


class Shape:
    """A chunk's text cut around its holes (see the module doc): ``head``, then for each hole
    whether it is a string (else tokens) and the fixed piece after it, the last one the
    ``tail`` (``steps``); each piece before a string hole ends with its opening quote. What a
    match does: ``appliers``, the holes' numbers and appenders (padding holes have none), and
    ``extenders``, the numbers of token holes and the token lists they extend. ``loads`` is the
    fold's decoder, for token lists (None for the standard library's).

    The fields whose rule is "last non-empty" (``system_fingerprint``, ``service_tier``) are
    set again on a match when another chunk changed them since: ``state`` with the values the
    learned chunk had (``fingerprint``, ``tier``; None for an empty one)."""

    __slots__ = (
        "appliers",
        "apply",
        "extenders",
        "fingerprint",
        "head",
        "head_size",
        "loads",
        "state",
        "steps",
        "tail",
        "tail_size",
        "tier",
    )

    def __init__(
        self,
        parts: list[str],
        holes: list[Hole],
        loads: Callable[[str], Any],
        state: ResponseState,
        chunk: dict[str, Any],
    ) -> None:
        self.state = state
        self.fingerprint = chunk.get("system_fingerprint") or None
        self.tier = chunk.get("service_tier") or None
        self.head = parts[0]
        self.head_size = len(self.head)
        last = len(holes) - 1
        self.steps = tuple(
            (hole.string, part, n == last)
            for n, (hole, part) in enumerate(zip(holes, parts[1:], strict=True))
        )
        self.tail = parts[-1]
        self.tail_size = len(self.tail)
        self.appliers = tuple((n, hole.apply) for n, hole in enumerate(holes) if hole.apply)
        self.extenders = tuple(
            (n, hole.tokens.extend) for n, hole in enumerate(holes) if hole.tokens is not None
        )
        # The common case, one string hole: its appender, for the short path.
        single = len(holes) == 1 and holes[0].string
        self.apply = holes[0].apply if single else None
        self.loads = None if loads is _codec.stdlib_loads else loads

    def fold(self, data: str, out: list[Delta] | None) -> bool:
        """Fold ``data`` if it matches: True when it did."""
        if not data.startswith(self.head) or not data.endswith(self.tail):
            return False
        apply = self.apply
        if apply is not None:  # one string hole, ending where the tail starts
            try:
                value, end = scan_string(data, self.head_size)
            except ValueError:  # not a string literal: the text is not this shape
                return False
            if end != len(data) - self.tail_size:
                return False
            values = None
        else:
            values = self._values(data)
            if values is None:
                return False
        # The "last non-empty" fields: an identity test each, when no other chunk changed them.
        state = self.state
        if self.fingerprint is not None and state.system_fingerprint is not self.fingerprint:
            state.system_fingerprint = self.fingerprint
        if self.tier is not None and state.service_tier is not self.tier:
            state.service_tier = self.tier
        if values is None:
            apply(value, out)  # type: ignore[misc]  # set on this path
            return True
        for n, hole_apply in self.appliers:
            hole_apply(values[n], out)
        for n, extend in self.extenders:
            extend(values[n])
        return True

    def _values(self, data: str) -> list[Any] | None:
        """The values in the holes of ``data``, or None when it does not match. A token list
        is read by the standard library's scanner, which finds its own end, or with orjson up
        to the next fixed piece (to the tail, for the last hole): a prefix of a JSON value is
        never a whole one, so a wrong guess fails to decode. Its tokens must be objects, as
        the fold requires."""
        loads = self.loads
        pos, values = self.head_size, []
        try:
            for string, part, last in self.steps:
                if string:
                    value, end = scan_string(data, pos)
                else:
                    if loads is None:
                        value, end = scan_value(data, pos)
                    else:
                        end = len(data) - self.tail_size if last else data.find(part, pos)
                        if end < 0:
                            return None
                        value = loads(data[pos:end])
                    if value.__class__ is not list:
                        return None
                    for token in value:  # a plain loop: any() over a generator costs more
                        if token.__class__ is not dict:
                            return None
                if not data.startswith(part, end):
                    return None
                values.append(value)
                pos = end + len(part)
        except (ValueError, StopIteration):
            return None
        return values if pos == len(data) else None


def learn(
    data: str, chunk: dict[str, Any], state: ResponseState, loads: Callable[[str], Any]
) -> Shape | None:
    """The shape of a chunk the fold has just folded from ``data`` (decoding with ``loads``),
    or None when it has none (see the module doc for when a chunk has one)."""
    holes = _padding_holes(chunk, state.rules.padding_keys)
    choice = _the_choice(chunk) if holes is not None else None
    if holes is None or choice is None:
        return None
    index = choice.get("index")
    if index is None:
        index = 0  # as the fold reads it
    owner = state.choices.get(index) if index.__class__ is int else None
    delta = choice.get("delta")
    if owner is None or delta.__class__ is not dict:
        return None
    found = _appended(delta, owner)
    tokens = _token_holes(choice.get("logprobs"), owner) if found is not None else None
    if found is None or tokens is None:
        return None
    holes += [found, *tokens]
    spans = _locate(data, holes, chunk)
    if spans is None:
        return None
    order = sorted(range(len(holes)), key=spans.__getitem__)
    parts, last = [], 0
    for n in order:
        start, end = spans[n]
        parts.append(data[last : start + holes[n].string])  # with a string's opening quote
        last = end
    parts.append(data[last:])
    return Shape(parts, [holes[n] for n in order], loads, state, chunk)


def _padding_holes(chunk: dict[str, Any], padding: frozenset[str]) -> list[Hole] | None:
    """The holes of a chunk's padding strings; None when it has a top-level key other than
    the ones the fold keeps the first or last of, or a usage."""
    holes: list[Hole] = []
    for key, value in chunk.items():
        if key in padding:
            if value.__class__ is str:
                holes.append(Hole((key,), True, None))
            elif value is not None:
                return None
        elif key not in _HEAD_KEYS and key != "choices":
            return None
    return holes if chunk.get("usage") is None else None


def _the_choice(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """A chunk's one choice, when it has one and it has no finish reason."""
    choices = chunk.get("choices")
    if choices.__class__ is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if choice.__class__ is not dict or not _CHOICE_KEYS.issuperset(choice):
        return None
    return choice if choice.get("finish_reason") is None else None


def _appended(delta: dict[str, Any], owner: ChoiceState) -> Hole | None:
    """The hole of the one string a delta appends; None when the delta does anything else."""
    found: Hole | None = None
    for key, value in delta.items():
        if value is None or key == "role":
            continue  # nulls are skipped; role is the first non-empty one
        if found is not None:
            return None
        path: Path = ("choices", 0, "delta", key)
        if key in _TEXT_KEYS and value.__class__ is str:
            found = Hole(path, True, _text_appender(owner, key))
        elif key == "tool_calls":
            index = _fragment_index(value)
            if index is None or index not in owner.by_index:
                return None
            path += (0, "function", "arguments")
            found = Hole(path, True, _arguments_appender(owner, index))
        else:
            return None
    return found


def _token_holes(logprobs: Any, owner: ChoiceState) -> list[Hole] | None:
    """The holes of a choice's logprob token lists (none for null logprobs); None when its
    logprobs hold anything else. Folding the chunk has made the lists the holes extend: a
    token list is never replaced once made."""
    if logprobs is None:
        return []
    if logprobs.__class__ is not dict or not _TOKEN_KEYS.issuperset(logprobs):
        return None
    holes = []
    for key, tokens in logprobs.items():
        kept = None if owner.logprobs is None else getattr(owner.logprobs, key)
        if tokens.__class__ is list and kept is not None:
            holes.append(Hole(("choices", 0, "logprobs", key), False, None, kept))
        elif tokens is not None:
            return None
    return holes


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


def _locate(data: str, holes: list[Hole], chunk: dict[str, Any]) -> list[tuple[int, int]] | None:
    """Where the holes' values lie in ``data``, the text ``chunk`` was decoded from: for each
    hole, the positions of its first character (a string's opening quote) and just past its
    last. Each is looked for along its path, as the value of the last ``"key":`` of each key
    within the value found for the key before; then proven: the text with a probe in every
    hole must decode to ``chunk`` with the probes at the holes' paths. None when a hole is not
    found or the proof fails."""
    spans = [_span(data, hole.path, hole.string) for hole in holes]
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
            text += [data[last:start], '"', _PROBE % (probe, n), '"']
            expected = _replaced(expected, holes[n].path, _PROBE_VALUE % (probe, n))
            last = end
        text.append(data[last:])
        try:
            if decode_exact("".join(text)) != expected:
                return None
        except (ValueError, RecursionError):
            return None
    return found


def _span(data: str, path: Path, string: bool) -> tuple[int, int] | None:
    """The span of the value at ``path`` (a string literal when ``string``), looking for each
    key as the last ``"key":`` within the value of the key before (a list index is skipped:
    the list holds one element)."""
    lo, hi = 0, len(data)
    keys = [key for key in path if key.__class__ is str]
    try:
        for n, key in enumerate(keys):
            pattern = f'"{key}":'
            at = data.rfind(pattern, lo, hi)
            if at < 0:
                return None
            start = _WHITESPACE.match(data, at + len(pattern)).end()  # type: ignore[union-attr]
            if n < len(keys) - 1:
                lo, hi = start, scan_value(data, start)[1]
            elif not string:
                return start, scan_value(data, start)[1]
            elif data[start : start + 1] == '"':
                return start, scan_string(data, start + 1)[1]
    except (ValueError, StopIteration):
        pass
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
