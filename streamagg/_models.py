"""The typed results of a fold: the response models and the deltas.

Response models mirror the OpenAI non-streaming ``chat.completion`` object. Every model has
an ``extensions`` dict that keeps the keys it does not know (provider extensions such as
``citations``, ``x_groq``, ``content_filter_results`` or usage ``cost``), so that folding never
drops data.

Deltas are small frozen classes, one per kind of news a chunk can carry, so that callers can
``match`` on them while a stream is being read.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
from attrs import define, field, frozen

__all__ = [
    "STREAMING_ONLY_KEYS",
    "USAGE_COUNT_FIELDS",
    "USAGE_OBJECT_FIELDS",
    "Audio",
    "ChatCompletionResponse",
    "Choice",
    "ContentDelta",
    "Delta",
    "FinishDelta",
    "FoldReport",
    "FunctionCall",
    "Logprobs",
    "Message",
    "OutputText",
    "ReasoningDelta",
    "RefusalDelta",
    "Skipped",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "Usage",
    "UsageDelta",
    "is_output_text",
    "known_fields",
]


def _extensions() -> dict[str, Any]:
    return {}


@define
class FunctionCall:
    """The function of a tool call, or the legacy ``function_call`` of a message."""

    name: str = ""
    arguments: str = ""
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class ToolCall:
    """One complete tool call (without the streaming-only ``index``)."""

    id: str = ""
    type: str = "function"
    function: FunctionCall = field(factory=FunctionCall)
    extensions: dict[str, Any] = field(factory=_extensions)
    #: In a snapshot taken while the stream runs: the arguments parsed so far (see
    #: ``PartialJSON``). Not part of the API's object, never compared.
    partial_arguments: Any = field(default=None, eq=False, repr=False)


@define
class Audio:
    """The audio output of a message (OpenAI's ``modalities: ["audio"]``): ``data`` is base64
    of the whole clip, ``transcript`` its text."""

    id: str = ""
    data: str = ""
    transcript: str = ""
    expires_at: int | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Message:
    """The assistant message of one choice.

    Reasoning text keeps the key it arrived under: ``reasoning_content`` (DeepSeek, vLLM) or
    ``reasoning`` (OpenRouter, Groq, Ollama; also the ``thinking`` parts of Mistral).
    """

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    audio: Audio | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Logprobs:
    """Token log-probabilities of one choice; each token is kept as the dict the server sent."""

    content: list[dict[str, Any]] | None = None
    refusal: list[dict[str, Any]] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Choice:
    """One choice of the response (``n > 1`` gives several, sorted by ``index``)."""

    index: int = 0
    message: Message = field(factory=Message)
    finish_reason: str | None = None
    logprobs: Logprobs | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Usage:
    """Token usage as the server reported it: never summed, never recomputed."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None
    extensions: dict[str, Any] = field(factory=_extensions)


@define
class Skipped:
    """Input a lenient fold skipped: why, and (the start of) what it was."""

    reason: str
    data: str


@define
class FoldReport:
    """How a fold went, beside the response (never part of its JSON, never compared).

    ``complete`` is False for the partial response a lenient fold returns for a stream that
    ended early; ``skipped`` lists what a lenient fold skipped (data that is not JSON, chunks or
    fields of impossible types: a chunk is folded up to its first bad field); ``keepalives``
    counts keep-alives sent as data; ``other_events`` named events that carry no chunk.
    """

    complete: bool = True
    skipped: list[Skipped] = field(factory=list)
    keepalives: int = 0
    other_events: int = 0


@define
class ChatCompletionResponse:
    """The complete response: what a non-streaming call would have returned.

    ``extra`` is the string some RAG servers send (often a JSON text such as
    ``{"sources": [...]}``); ``extensions`` holds every other top-level key the server sent.
    ``report`` says how the fold went (see ``FoldReport``); it is not part of the API's object.
    """

    id: str = ""
    created: int = 0
    model: str | None = None
    object: str = "chat.completion"
    system_fingerprint: str | None = None
    service_tier: str | None = None
    choices: list[Choice] = field(factory=list)
    usage: Usage | None = None
    prompt_logprobs: list[Any] | None = None
    extra: str | None = None
    extensions: dict[str, Any] = field(factory=_extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)


# -- facts derived from the models: the one source of truth for the fold and the converter --

#: Keys that only make sense while streaming and never belong in a response: a tool call's
#: (or a delta's) position in the stream.
STREAMING_ONLY_KEYS = frozenset({"index"})


def known_fields(cls: type) -> frozenset[str]:
    """The keys a model has fields for (every other key goes to its ``extensions``)."""
    return frozenset(a.name for a in attrs.fields(cls) if a.name not in _NOT_API_FIELDS)


# Fields of the models that are not keys of the API's object.
_NOT_API_FIELDS = frozenset({"extensions", "report", "partial_arguments", "partial_input"})


_USAGE_TYPES = typing.get_type_hints(Usage)
#: Usage fields that hold a token count, and those that hold an object of details.
USAGE_COUNT_FIELDS = tuple(n for n in sorted(known_fields(Usage)) if _USAGE_TYPES[n] == int | None)
USAGE_OBJECT_FIELDS = tuple(n for n in sorted(known_fields(Usage)) if n not in USAGE_COUNT_FIELDS)


_T = typing.TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen attrs class of required fields an ``__init__`` that sets its slots through
    their descriptors. attrs' own goes through ``object.__setattr__`` for each field (a frozen
    class refuses its own ``__setattr__``), which costs twice as much; deltas are made once per
    chunk that ``stream()`` yields, so it shows. Applied over ``@frozen`` (which mypy reads for
    the signature); refuses a class whose fields have defaults, validators or converters."""
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # any attrs class
    if any(f.default is not attrs.NOTHING or f.validator or f.converter for f in fields):
        raise TypeError(f"fast_init takes required plain fields only: {cls.__name__}")
    names = [f.name for f in fields]
    scope = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names)
    exec(f"def __init__(self, {', '.join(names)}):{body or ' pass'}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls


class OutputText:
    """Base of the deltas that carry output text (of any dialect): content, reasoning, refusal,
    tool-call arguments. Each has a ``text``."""

    __slots__ = ()
    text: str


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


def is_output_text(delta: object) -> bool:
    """Whether a delta carries output text: content, reasoning, refusal or tool-call arguments
    (the first such delta marks the time to first token; a role alone does not)."""
    return isinstance(delta, OutputText) and bool(delta.text)


Delta = (
    ContentDelta
    | RefusalDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallArgumentsDelta
    | FinishDelta
    | UsageDelta
)
