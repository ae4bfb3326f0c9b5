"""The typed deltas of the completions dialect's stream."""

from __future__ import annotations

from attrs import frozen

from .._core.report import OutputText, fast_init

__all__ = [
    "CompletionDelta",
    "CompletionFinish",
    "CompletionText",
]


@fast_init
@frozen
class CompletionText(OutputText):
    """Text appended to a choice."""

    choice: int
    text: str


@fast_init
@frozen
class CompletionFinish:
    """A choice received its finish reason."""

    choice: int
    reason: str


CompletionDelta = CompletionText | CompletionFinish
