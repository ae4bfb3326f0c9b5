"""The final object of the legacy OpenAI ``/v1/completions`` (``text_completion``)."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from .._core.convert import ModelRules
from .._core.report import FoldReport

__all__ = [
    "MODELS",
    "Completion",
    "CompletionChoice",
    "CompletionLogprobs",
    "CompletionUsage",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class CompletionLogprobs:
    """The parallel logprob arrays of a choice (each extended chunk by chunk)."""

    tokens: list[Any] | None = None
    token_logprobs: list[Any] | None = None
    top_logprobs: list[Any] | None = None
    text_offset: list[Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class CompletionChoice:
    """One choice, sorted by ``index``."""

    index: int | None = None
    text: str | None = None
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class CompletionUsage:
    """Token usage as the server reported it."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Completion:
    """The complete ``text_completion``: what a non-streaming call returns.

    ``report`` says how the fold went (see ``FoldReport``); it is not part of the API's object.
    """

    id: str | None = None
    object: str | None = "text_completion"
    created: int | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    choices: list[CompletionChoice] = field(factory=list)
    usage: CompletionUsage | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)

    @property
    def text(self) -> str:
        """The text of choice 0 (the first by index)."""
        return (self.choices[0].text or "") if self.choices else ""


#: How the models convert (``streamagg._core.convert``), parts before what contains them.
MODELS = (
    ModelRules(model=CompletionLogprobs),
    ModelRules(model=CompletionChoice),
    ModelRules(model=CompletionUsage),
    ModelRules(model=Completion, omit_none=("system_fingerprint", "usage")),
)
