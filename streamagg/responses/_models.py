"""The final object of the OpenAI Responses API (``POST /v1/responses``).

``Response`` mirrors the ``response`` object a non-streaming call returns. Output items of every
type share one model, ``OutputItem``: the fields the fold reads or writes are typed (``content``
and ``summary`` parts, ``arguments``, ``input``...), every other key of every item type
(``action``, ``results``, ``encrypted_content``...) is kept in ``extensions``, so a new item type
folds without a new class. The same holds for content parts (``ContentPart``: ``output_text``,
``refusal``, ``reasoning_text``, ``summary_text`` and any other).

These models are lenient on structure (see ``_convert``): a key whose value does not have its
field's type (a server that sends ``"id": 7``) is kept in ``extensions`` as it came, so
``to_dict`` gives it back unchanged and nothing is lost.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from .._core.convert import ModelRules, all_optional
from .._core.report import FoldReport

__all__ = [
    "MODELS",
    "ContentPart",
    "OutputItem",
    "Response",
    "ResponseUsage",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class ContentPart:
    """A part of an output item: ``output_text`` and ``refusal`` in a message, ``reasoning_text``
    and ``summary_text`` in a reasoning item, or any other part type."""

    type: str | None = None
    text: str | None = None
    refusal: str | None = None
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class OutputItem:
    """One item of ``output``: a ``message``, ``reasoning``, ``function_call``,
    ``custom_tool_call``, a server tool call (``web_search_call``, ``mcp_call``...) or any other
    type. ``content`` holds a message's parts (or a reasoning item's text), ``summary`` a
    reasoning item's summary parts; ``arguments`` (function and MCP calls), ``input`` (custom
    tools) and ``code`` (code interpreter) are the strings streamed in pieces."""

    type: str | None = None
    id: str | None = None
    status: str | None = None
    role: str | None = None
    content: list[ContentPart] | None = None
    summary: list[ContentPart] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    input: str | None = None
    code: str | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class ResponseUsage:
    """Token usage of a response, as the server reported it."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Response:
    """The complete ``response`` object: what ``POST /v1/responses`` returns without streaming.

    ``status`` is ``completed``, ``incomplete`` (a valid final object: ``incomplete_details``
    says why), ``failed`` (only inside an ``UpstreamError``'s ``.partial``) or, in a snapshot,
    ``in_progress``. ``report`` says how the fold went (see ``FoldReport``); it is not part of
    the API's object.
    """

    id: str | None = None
    object: str | None = "response"
    created_at: int | float | None = None
    status: str | None = None
    model: str | None = None
    output: list[OutputItem] = field(factory=list)
    usage: ResponseUsage | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of every message item, joined (as the
        openai SDK's ``Response.output_text``)."""
        return "".join(
            part.text
            for item in self.output
            if item.type == "message"
            for part in item.content or ()
            if part.type == "output_text" and part.text
        )


#: How the models convert (``streamagg._core.convert``), parts before what contains them. Keys the
#: API always sends (null or not) are written; parts of many types leave out what theirs lacks.
MODELS = (
    ModelRules(
        model=ContentPart, omit_none=("type", "text", "refusal", "annotations", "logprobs")
    ),
    ModelRules(model=OutputItem, omit_none=all_optional(OutputItem)),
    ModelRules(model=ResponseUsage, omit_none=("input_tokens_details", "output_tokens_details")),
    ModelRules(model=Response),
)
