"""The typed deltas of the responses dialect's stream."""

from __future__ import annotations

from attrs import frozen

from .._core.report import OutputText, fast_init
from ._models import ResponseUsage

__all__ = [
    "ArgumentsDelta",
    "ItemDone",
    "ItemStart",
    "ReasoningDelta",
    "RefusalDelta",
    "ResponseDelta",
    "ResponseFinished",
    "TextDelta",
]


# Deltas: ``item`` is the ``output_index`` of the item a delta belongs to; ``part`` the
# ``content_index`` (or ``summary_index``) of its part.


@fast_init
@frozen
class ItemStart:
    """An output item started (``response.output_item.added``)."""

    item: int
    type: str | None
    id: str | None


@fast_init
@frozen
class TextDelta(OutputText):
    """Text appended to an ``output_text`` part of a message item."""

    item: int
    part: int
    text: str


@fast_init
@frozen
class RefusalDelta(OutputText):
    """Text appended to a ``refusal`` part of a message item."""

    item: int
    part: int
    text: str


@fast_init
@frozen
class ReasoningDelta(OutputText):
    """Reasoning text: of a summary part (``summary`` True) or of the reasoning itself."""

    item: int
    part: int
    text: str
    summary: bool


@fast_init
@frozen
class ArgumentsDelta(OutputText):
    """A piece of a tool call's string field ``key``: ``arguments`` (function and MCP calls),
    ``input`` (custom tools) or ``code`` (code interpreter)."""

    item: int
    key: str
    text: str


@fast_init
@frozen
class ItemDone:
    """An output item is complete (``response.output_item.done``): ``status`` as it says."""

    item: int
    type: str | None
    status: str | None


@fast_init
@frozen
class ResponseFinished:
    """The terminal event arrived: ``status`` is ``completed``, ``incomplete`` or ``failed``."""

    status: str | None
    usage: ResponseUsage | None


ResponseDelta = (
    ItemStart
    | TextDelta
    | RefusalDelta
    | ReasoningDelta
    | ArgumentsDelta
    | ItemDone
    | ResponseFinished
)
