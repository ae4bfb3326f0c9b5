"""The final object of Ollama's native ``/api/chat`` and ``/api/generate``.

One model serves both endpoints: a chat answer has a ``message`` (with ``content``, ``thinking``
and ``tool_calls``), a generate answer a top-level ``response`` (and ``thinking``, ``context``);
``to_dict`` gives each its own shape. Timing and count fields are kept as sent.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from .._core.convert import ModelRules, all_optional
from .._core.report import FoldReport

__all__ = [
    "MODELS",
    "OllamaMessage",
    "OllamaResponse",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class OllamaMessage:
    """The assistant message of a chat answer."""

    role: str | None = None
    content: str | None = None
    thinking: str | None = None
    tool_calls: list[Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class OllamaResponse:
    """The complete answer: what a ``"stream": false`` call returns (the ``done: true`` line with
    the whole text).

    ``report`` says how the fold went (see ``FoldReport``); it is not part of the API's object.
    """

    model: str | None = None
    created_at: str | None = None
    message: OllamaMessage | None = None
    response: str | None = None
    thinking: str | None = None
    done: bool | None = None
    done_reason: str | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    context: list[Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)

    @property
    def text(self) -> str:
        """The answer's text: the message content (chat) or the response (generate)."""
        if self.message is not None:
            return self.message.content or ""
        return self.response or ""


#: How the models convert (``streamagg._core.convert``): every key is left out when None.
MODELS = tuple(
    ModelRules(model=cls, omit_none=all_optional(cls)) for cls in (OllamaMessage, OllamaResponse)
)
