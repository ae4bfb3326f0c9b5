"""What every fold reports beside its object, and the facts of the attrs models every dialect
shares.

``FoldReport`` (with the ``Skipped`` inputs of a lenient fold) rides on every final object as
``.report``, never part of its JSON or of equality. ``OutputText`` is the base of the deltas
that carry output text, in every dialect. ``known_fields`` and ``fast_init`` are the two facts
of the models that the folds and the converter read.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
from attrs import define, field

__all__ = [
    "FoldReport",
    "OutputText",
    "Skipped",
    "extensions",
    "fast_init",
    "is_output_text",
    "known_fields",
]


def extensions() -> dict[str, Any]:
    """A new ``extensions`` dict (the attrs factory of every model's field)."""
    return {}


@define
class Skipped:
    """Input a lenient fold skipped: why, and (the start of) what it was."""

    reason: str
    data: str


@define
class FoldReport:
    """How a fold went, beside the response (never part of its JSON, never compared).

    ``complete`` is False for the partial response a lenient fold returns for a stream that
    ended early; ``skipped`` lists what a lenient fold skipped (data that is not JSON, chunks or
    fields of impossible types: a chunk is folded up to its first bad field); ``keepalives``
    counts keep-alives sent as data; ``other_events`` named events that carry no chunk.
    """

    complete: bool = True
    skipped: list[Skipped] = field(factory=list)
    keepalives: int = 0
    other_events: int = 0


def known_fields(cls: type) -> frozenset[str]:
    """The keys a model has fields for (every other key goes to its ``extensions``)."""
    return frozenset(a.name for a in attrs.fields(cls) if a.name not in _NOT_API_FIELDS)


# Fields of the models that are not keys of the API's object.
_NOT_API_FIELDS = frozenset({"extensions", "report", "partial_arguments", "partial_input"})


_T = typing.TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen attrs class of required fields an ``__init__`` that sets its slots through
    their descriptors. attrs' own goes through ``object.__setattr__`` for each field (a frozen
    class refuses its own ``__setattr__``), which costs twice as much; deltas are made once per
    chunk that ``stream()`` yields, so it shows. Applied over ``@frozen`` (which mypy reads for
    the signature); refuses a class whose fields have defaults, validators or converters."""
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # any attrs class
    if any(f.default is not attrs.NOTHING or f.validator or f.converter for f in fields):
        raise TypeError(f"fast_init takes required plain fields only: {cls.__name__}")
    names = [f.name for f in fields]
    scope = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names)
    exec(f"def __init__(self, {', '.join(names)}):{body or ' pass'}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls


class OutputText:
    """Base of the deltas that carry output text (of any dialect): content, reasoning, refusal,
    tool-call arguments. Each has a ``text``."""

    __slots__ = ()
    text: str


def is_output_text(delta: object) -> bool:
    """Whether a delta carries output text: content, reasoning, refusal or tool-call arguments
    (the first such delta marks the time to first token; a role alone does not)."""
    return isinstance(delta, OutputText) and bool(delta.text)
