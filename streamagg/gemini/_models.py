"""The final object of Gemini's ``generateContent`` (``GenerateContentResponse``).

Field names are Python's (``usage_metadata``); ``to_dict`` gives the API's camelCase keys
(``usageMetadata``, ``finishReason``, ``thoughtSignature``): the converter renames every field
of these models from snake_case to camelCase. Lenient on structure like every dialect model.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from .._core.convert import ModelRules, all_optional
from .._core.report import FoldReport

__all__ = [
    "MODELS",
    "Candidate",
    "Content",
    "GenerateContentResponse",
    "Part",
    "UsageMetadata",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class Part:
    """One part of a candidate's content: text (``thought`` True for thought summaries, with
    its ``thought_signature``), a ``function_call``, code, inline data or any other kind."""

    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    function_call: dict[str, Any] | None = None
    function_response: dict[str, Any] | None = None
    executable_code: dict[str, Any] | None = None
    code_execution_result: dict[str, Any] | None = None
    inline_data: dict[str, Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Content:
    """A candidate's content: its ``role`` (``model``) and its parts."""

    role: str | None = None
    parts: list[Part] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Candidate:
    """One candidate of the response (several with ``candidateCount``), sorted by ``index``."""

    content: Content | None = None
    finish_reason: str | None = None
    index: int | None = None
    safety_ratings: list[Any] | None = None
    citation_metadata: dict[str, Any] | None = None
    grounding_metadata: dict[str, Any] | None = None
    finish_message: str | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class UsageMetadata:
    """Token counts as the server reported them (cumulative: replaced, never summed)."""

    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    total_token_count: int | None = None
    thoughts_token_count: int | None = None
    cached_content_token_count: int | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class GenerateContentResponse:
    """The complete response: what ``generateContent`` returns without streaming. A blocked
    prompt has no candidates and a ``prompt_feedback`` with its ``blockReason``.

    ``report`` says how the fold went (see ``FoldReport``); it is not part of the API's object.
    """

    candidates: list[Candidate] | None = None
    prompt_feedback: dict[str, Any] | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    create_time: str | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)

    @property
    def text(self) -> str:
        """The text of the first candidate's parts that are not thoughts, joined."""
        if not self.candidates or self.candidates[0].content is None:
            return ""
        parts = self.candidates[0].content.parts or ()
        return "".join(p.text for p in parts if p.text and not p.thought)


#: How the models convert (``streamagg._core.convert``), parts before what contains them: every
#: key is camelCase and left out when None.
MODELS = tuple(
    ModelRules(model=cls, omit_none=all_optional(cls), camel_case=True)
    for cls in (Part, Content, Candidate, UsageMetadata, GenerateContentResponse)
)
