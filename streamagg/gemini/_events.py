"""The typed deltas of the gemini dialect's stream."""

from __future__ import annotations

from attrs import frozen

from .._core.report import OutputText, fast_init

__all__ = [
    "FinishDelta",
    "GeminiDelta",
    "PartStart",
    "TextDelta",
    "ThoughtDelta",
]


# Deltas: ``candidate`` is the candidate's index, ``part`` the part's number in its content.


@fast_init
@frozen
class PartStart:
    """A new part started (a text part, or a whole function call, code, data...)."""

    candidate: int
    part: int
    kind: str


@fast_init
@frozen
class TextDelta(OutputText):
    """Text appended to a text part that is not a thought."""

    candidate: int
    part: int
    text: str


@fast_init
@frozen
class ThoughtDelta(OutputText):
    """Text appended to a thought part (a thought summary)."""

    candidate: int
    part: int
    text: str


@fast_init
@frozen
class FinishDelta:
    """A candidate received its finish reason."""

    candidate: int
    reason: str


GeminiDelta = PartStart | TextDelta | ThoughtDelta | FinishDelta
