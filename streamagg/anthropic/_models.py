"""The final object of Anthropic's Messages API (``POST /v1/messages``).

``Message`` mirrors the message a non-streaming call returns. Content blocks of every type share
one model, ``ContentBlock``: the fields streamed in pieces or read by apps are typed (``text``,
``thinking``, ``signature``, ``input``...), every other key (``citations``' siblings,
``tool_use_id``, a server tool result's ``content``, ``caller``...) is kept in ``extensions``, so
a new block type folds without a new class. Lenient on structure like every dialect model (see
``_convert``): a value of an unexpected type is kept in ``extensions`` as it came.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from .._core.convert import ModelRules, all_optional
from .._core.report import FoldReport

__all__ = [
    "MODELS",
    "ContentBlock",
    "Message",
    "MessageUsage",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class ContentBlock:
    """One content block: ``text`` (with ``citations``), ``thinking`` (with ``signature``),
    ``redacted_thinking`` (``data``), ``tool_use`` / ``server_tool_use`` / ``mcp_tool_use``
    (``id``, ``name``, ``input``), a server tool's result, or any other type."""

    type: str | None = None
    text: str | None = None
    citations: list[Any] | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    extensions: dict[str, Any] = field(factory=_extensions)
    #: The raw JSON text streamed for ``input`` when it did not parse (a stream cut by
    #: ``max_tokens`` mid-JSON): ``input`` then holds what parsed of it. Not part of the API's
    #: object, never compared.
    partial_input: str | None = field(default=None, eq=False, repr=False)


@define
class MessageUsage:
    """Token usage as the server reported it (cumulative counts: never summed)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Message:
    """The complete message: what ``POST /v1/messages`` returns without streaming.

    ``report`` says how the fold went (see ``FoldReport``); it is not part of the API's object.
    """

    id: str | None = None
    type: str | None = "message"
    role: str | None = "assistant"
    model: str | None = None
    content: list[ContentBlock] = field(factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: MessageUsage | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)

    @property
    def text(self) -> str:
        """The text of every ``text`` block, joined."""
        return "".join(b.text for b in self.content if b.type == "text" and b.text)


#: How the models convert (``streamagg._core.convert``), parts before what contains them. Blocks
#: of many types leave out what theirs lacks.
MODELS = (
    ModelRules(model=ContentBlock, omit_none=all_optional(ContentBlock)),
    ModelRules(
        model=MessageUsage,
        omit_none=("cache_creation_input_tokens", "cache_read_input_tokens"),
    ),
    ModelRules(model=Message),
)
