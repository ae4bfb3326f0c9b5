"""The typed deltas of the anthropic dialect's stream."""

from __future__ import annotations

from attrs import frozen

from .._core.report import OutputText, fast_init
from ._models import MessageUsage

__all__ = [
    "BlockStart",
    "BlockStop",
    "InputJSONDelta",
    "MessageDelta",
    "StopDelta",
    "TextDelta",
    "ThinkingDelta",
]


# Deltas: ``index`` is the content block's index.


@fast_init
@frozen
class BlockStart:
    """A content block started (``content_block_start``)."""

    index: int
    type: str | None


@fast_init
@frozen
class TextDelta(OutputText):
    """Text appended to a ``text`` block."""

    index: int
    text: str


@fast_init
@frozen
class ThinkingDelta(OutputText):
    """Text appended to a ``thinking`` block."""

    index: int
    text: str


@fast_init
@frozen
class InputJSONDelta(OutputText):
    """A piece of the JSON text of a tool-use block's ``input``."""

    index: int
    text: str


@fast_init
@frozen
class BlockStop:
    """A content block is complete (``content_block_stop``)."""

    index: int


@fast_init
@frozen
class StopDelta:
    """``message_delta`` set the stop reason, and the usage so far."""

    stop_reason: str | None
    usage: MessageUsage | None


MessageDelta = BlockStart | TextDelta | ThinkingDelta | InputJSONDelta | BlockStop | StopDelta
