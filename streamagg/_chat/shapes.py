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
import sys
from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .._core import codec as _codec
from .._core.codec import decode_exact, scan_string, scan_value
from .parts import ToolState
from .rules import (
    COMMON_CHOICE,
    COMMON_TOP,
    LAST_NON_EMPTY,
    NO_IDS,
    OTHER_TEXT_FIELDS,
    TEXT_FIELDS,
    TOKEN_LISTS,
    TOOL_KEYS,
)

if TYPE_CHECKING:
    from .choice import ChoiceState
    from .events import Delta
    from .state import ResponseState

__all__ = ["MAX_SHAPES", "Shape", "learn"]

#: The shapes a fold keeps (one per choice of an ``n > 1`` stream, and a few phases).
MAX_SHAPES = 8

Path = tuple[Any, ...]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# What a chunk of a shape may hold, from the fold's own table (``rules``): the top-level keys
# the fold handles without its slow loop (whose rule is "first non-empty" or "last non-empty";
# ``usage`` must be null), a choice's usual keys, the text fields and the token lists, and a
# tool-call fragment's keys.
_HEAD_KEYS = COMMON_TOP - {"choices"}
_CHOICE_KEYS = COMMON_CHOICE
_TEXT_KEYS = frozenset(TEXT_FIELDS)
_TOKEN_KEYS = frozenset(TOKEN_LISTS)
_FRAGMENT_KEYS = TOOL_KEYS


class Hole:
    """A hole of a shape: where its value is (``path``), whether it is a string (else a list of
    logprob tokens, any JSON between its fixed neighbours), and what folding it does: a call in
    the shape's ``apply`` (``does``; None for padding), in which ``{v}`` is the value and
    ``{n}`` the hole's number, and the objects it names (``names``: a name ``x`` stands in the
    call as ``x{n}``). The function called is one of them, ``add``: a bound method of the state
    the hole appends to, so that the generated text names no method."""

    __slots__ = ("does", "names", "path", "string")

    def __init__(self, path: Path, string: bool, does: str | None = None, **names: Any) -> None:
        self.path = path
        self.string = string
        self.does = does
        self.names = names


class Shape:
    """A chunk's text cut around its holes (see the module doc), and ``apply(data, out)``, the
    function that folds a chunk of this shape: True when ``data`` matched and was folded.

    ``apply`` is generated for the shape (``_source``), as attrs and cattrs generate their
    ``__init__`` and hooks: one straight function with no loop or call per hole, for it runs
    once a chunk. It is made by a function ``make`` that takes the shape's values (its pieces
    of text, their sizes, the objects it folds into); the text of ``make`` names them and
    holds none, so that it is compiled once per kind of shape (``_maker``). For a chunk with
    content and logprob tokens, decoded by orjson, it reads::

        def make(add0, add1, head, head_size, last0, last1, loads, part0, ...):
            def apply(data, out):
                if not data.startswith(head) or not data.endswith(tail):
                    return False
                try:
                    v0, end = scan_string(data, head_size)
                    if not data.startswith(part0, end):
                        return False
                    pos = end + size0
                    end = len(data) - tail_size
                    v1 = loads(data[pos:end])
                except (ValueError, StopIteration, RecursionError):
                    return False
                if v1.__class__ is not list:
                    return False
                for token in v1:
                    if token.__class__ is not dict:
                        return False
                if state.system_fingerprint is not last0:
                    state.system_fingerprint = last0
                if state.service_tier is not last1:
                    state.service_tier = last1
                add0(v0, out)
                add1(v1)
                return True
            return apply

    ``add0`` is the choice's ``add_content``, ``add1`` the ``extend`` of its token list; ``head``
    and ``tail`` are the text before the first hole and after the last, ``part0``...
    the fixed pieces between holes; each piece before a string hole ends with its
    opening quote. A string hole holds one string literal (read by the standard library's C
    string scanner, the one ``json`` itself uses); a token hole one JSON list of objects, read
    by the standard library's scanner, which finds its own end, or with orjson up to the next
    fixed piece (to the tail, for the last hole): a prefix of a JSON value is never a whole
    one, so a wrong guess fails to decode.

    The fields whose rule is "last non-empty" (``rules.LAST_NON_EMPTY``) are set again on a
    match when another chunk changed them since (an identity test each): to the values the
    learned chunk had (``last0``...), when not empty."""

    __slots__ = ("apply", "source")

    def __init__(
        self,
        parts: list[str],
        holes: list[Hole],
        loads: Callable[[str], Any],
        state: ResponseState,
        chunk: dict[str, Any],
    ) -> None:
        names: dict[str, Any] = {
            "head": parts[0],
            "head_size": len(parts[0]),
            "tail": parts[-1],
            "tail_size": len(parts[-1]),
            "scan_string": scan_string,
            "scan_value": scan_value,
            "loads": loads,
            "state": state,
        }
        for n, key in enumerate(LAST_NON_EMPTY):
            if chunk.get(key):
                names[f"last{n}"] = chunk[key]
        for n, part in enumerate(parts[1:-1]):  # the fixed pieces between holes
            names[f"part{n}"] = part
            names[f"size{n}"] = len(part)
        for n, hole in enumerate(holes):
            names.update({f"{name}{n}": value for name, value in hole.names.items()})
        # Interned: the shapes of every stream of a kind share one copy of the text.
        self.source = sys.intern(_source(holes, loads is not _codec.stdlib_loads, names))
        self.apply: Callable[[str, list[Delta] | None], bool] = _maker(self.source)(**names)


@lru_cache(maxsize=64)
def _maker(source: str) -> Callable[..., Callable[[str, list[Delta] | None], bool]]:
    """The function ``make`` of a shape's source, which makes its ``apply`` (a closure over the
    shape's values). Compiled once per kind of shape, for every stream of the process: the
    source names the values and numbers, it holds none of them."""
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # our own text, made by ``_source`` from names alone
    return namespace["make"]  # type: ignore[no-any-return]


def _source(holes: list[Hole], orjson: bool, names: dict[str, Any]) -> str:
    """The text of ``make(**names)``, which returns a shape's ``apply`` (see ``Shape``)."""
    code = [
        f"def make({', '.join(sorted(names))}):",
        "    def apply(data, out):",
        "        if not data.startswith(head) or not data.endswith(tail):",
        "            return False",
        "        try:",
        *_reads(holes, orjson),
        "        except (ValueError, StopIteration, RecursionError):",
        "            return False",
    ]
    for n, hole in enumerate(holes):
        if not hole.string:
            code += [
                f"        if v{n}.__class__ is not list:",
                "            return False",
                f"        for token in v{n}:",
                "            if token.__class__ is not dict:",
                "                return False",
            ]
    for n, field in enumerate(LAST_NON_EMPTY):
        if f"last{n}" in names:
            code += [
                f"        if state.{field} is not last{n}:",
                f"            state.{field} = last{n}",
            ]
    for n, hole in enumerate(holes):
        if hole.does is not None:
            code.append("        " + hole.does.format(v=f"v{n}", n=n))
    code += ["        return True", "    return apply"]
    return "\n".join(code) + "\n"


def _reads(holes: list[Hole], orjson: bool) -> list[str]:
    """The lines of ``apply`` that read the holes' values (``v0``...), in its ``try`` block."""
    code = []
    pos = "head_size"
    last = len(holes) - 1
    for n, hole in enumerate(holes):
        if hole.string:
            code.append(f"            v{n}, end = scan_string(data, {pos})")
        elif not orjson:
            code.append(f"            v{n}, end = scan_value(data, {pos})")
        else:
            if n == last:
                code.append("            end = len(data) - tail_size")
            else:
                code += [
                    f"            end = data.find(part{n}, {pos})",
                    "            if end < 0:",
                    "                return False",
                ]
            code.append(f"            v{n} = loads(data[{pos}:end])")
        if n < last:
            code += [
                f"            if not data.startswith(part{n}, end):",
                "                return False",
                f"            pos = end + size{n}",
            ]
            pos = "pos"
        elif hole.string or not orjson:
            code += [
                "            if end != len(data) - tail_size:",
                "                return False",
            ]
    return code


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
                holes.append(Hole((key,), True))
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
            found = _text_hole(path, owner, key)
        elif key == "tool_calls":
            index = _fragment_index(value)
            if index is None or index not in owner.calls.by_index:
                return None
            path += (0, "function", "arguments")
            # The call is looked up each time: a later call may take the index over, and the
            # fragments follow it.
            does = "add{n}(calls{n}[index{n}], {v}, out)"
            add = ToolState.add_arguments
            found = Hole(path, True, does, add=add, calls=owner.calls.by_index, index=index)
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
            path = ("choices", 0, "logprobs", key)
            holes.append(Hole(path, False, "add{n}({v})", add=kept.extend))
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
    if (call_id and call_id not in NO_IDS) or kind or function.__class__ is not dict:
        return None
    if set(function) - {"name", "arguments"} or function.get("name"):
        return None
    index = fragment.get("index")
    if index.__class__ is not int or function.get("arguments").__class__ is not str:
        return None
    return index


def _text_hole(path: Path, owner: ChoiceState, key: str) -> Hole:
    if key == "content":
        return Hole(path, True, "add{n}({v}, out)", add=owner.add_content)
    does = "add{n}(key{n}, {v}, field{n}, out)"
    return Hole(path, True, does, add=owner.add_text, key=key, field=OTHER_TEXT_FIELDS[key])


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
