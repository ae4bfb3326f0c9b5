"""The typed deltas of a chat-completion stream: one small frozen class per kind of news a chunk
can carry, so that callers can ``match`` on them while a stream is being read."""

from __future__ import annotations

from attrs import frozen

from .._core.report import OutputText, fast_init
from .models import Usage

__all__ = [
    "ContentDelta",
    "Delta",
    "FinishDelta",
    "ReasoningDelta",
    "RefusalDelta",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "UsageDelta",
]


# Deltas. ``choice`` is the choice index; ``tool`` is the tool call's number in its choice: its
# stream ``index``, or a new number when a call starts at an index an earlier call already used
# (parallel calls that all arrive at index 0).


@fast_init
@frozen
class ContentDelta(OutputText):
    """Text appended to ``message.content`` of a choice."""

    choice: int
    text: str


@fast_init
@frozen
class RefusalDelta(OutputText):
    """Text appended to ``message.refusal`` of a choice."""

    choice: int
    text: str


@fast_init
@frozen
class ReasoningDelta(OutputText):
    """Reasoning text; ``key`` is the field it extends: ``reasoning_content`` or ``reasoning``."""

    choice: int
    text: str
    key: str


@fast_init
@frozen
class ToolCallStart:
    """A new tool call; ``id`` and ``name`` as known when it started (they may come later)."""

    choice: int
    tool: int
    id: str | None
    name: str | None


@fast_init
@frozen
class ToolCallArgumentsDelta(OutputText):
    """A fragment of a tool call's JSON arguments."""

    choice: int
    tool: int
    text: str


@fast_init
@frozen
class FinishDelta:
    """A choice received its finish reason."""

    choice: int
    reason: str


@fast_init
@frozen
class UsageDelta:
    """A usage block arrived (it replaces any earlier one: usage is cumulative)."""

    usage: Usage


Delta = (
    ContentDelta
    | RefusalDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallArgumentsDelta
    | FinishDelta
    | UsageDelta
)
