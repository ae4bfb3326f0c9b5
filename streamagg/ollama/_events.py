"""The typed deltas of the ollama dialect's stream."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from .._core.report import OutputText, fast_init

__all__ = [
    "OllamaDelta",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallDelta",
]


@fast_init
@frozen
class TextDelta(OutputText):
    """Text appended to the answer (``message.content`` or ``response``)."""

    text: str


@fast_init
@frozen
class ThinkingDelta(OutputText):
    """Text appended to the thinking."""

    text: str


@fast_init
@frozen
class ToolCallDelta:
    """A whole tool call (Ollama sends each complete, in one line)."""

    index: int
    call: Any


OllamaDelta = TextDelta | ThinkingDelta | ToolCallDelta
