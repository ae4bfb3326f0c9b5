"""The final object of Anthropic's Messages API (``POST /v1/messages``), and its deltas.

``Message`` mirrors the message a non-streaming call returns. Content blocks of every type share
one model, ``ContentBlock``: the fields streamed in pieces or read by apps are typed (``text``,
``thinking``, ``signature``, ``input``...), every other key (``citations``' siblings,
``tool_use_id``, a server tool result's ``content``, ``caller``...) is kept in ``extensions``, so
a new block type folds without a new class. Lenient on structure like every dialect model (see
``_convert``): a value of an unexpected type is kept in ``extensions`` as it came.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field, frozen

from ._models import FoldReport, OutputText, fast_init

__all__ = [
    "BlockStart",
    "BlockStop",
    "ContentBlock",
    "InputJSONDelta",
    "Message",
    "MessageDelta",
    "MessageUsage",
    "StopDelta",
    "TextDelta",
    "ThinkingDelta",
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
