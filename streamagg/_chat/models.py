"""The final object of a chat completion: the models of the OpenAI non-streaming
``chat.completion`` object.

Every model has an ``extensions`` dict that keeps the keys it does not know (provider
extensions such as ``citations``, ``x_groq``, ``content_filter_results`` or usage ``cost``), so
that folding never drops data. The deltas a stream yields are in ``events``.
"""

from __future__ import annotations

import typing
from typing import Any

from attrs import define, field
from cattrs.gen import override

from .._core.convert import ModelRules
from .._core.report import FoldReport, known_fields
from .._core.report import extensions as _extensions

__all__ = [
    "MODELS",
    "STREAMING_ONLY_KEYS",
    "USAGE_COUNT_FIELDS",
    "USAGE_OBJECT_FIELDS",
    "Audio",
    "ChatCompletionResponse",
    "Choice",
    "FunctionCall",
    "Logprobs",
    "Message",
    "ToolCall",
    "Usage",
]


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

# -- facts derived from the models: the one source of truth for the fold and the converter --

#: Keys that only make sense while streaming and never belong in a response: a tool call's
#: (or a delta's) position in the stream.
STREAMING_ONLY_KEYS = frozenset({"index"})


_USAGE_TYPES = typing.get_type_hints(Usage)
#: Usage fields that hold a token count, and those that hold an object of details.
USAGE_COUNT_FIELDS = tuple(n for n in sorted(known_fields(Usage)) if _USAGE_TYPES[n] == int | None)
USAGE_OBJECT_FIELDS = tuple(n for n in sorted(known_fields(Usage)) if n not in USAGE_COUNT_FIELDS)


def _tokens_out(tokens: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Logprob tokens as JSON: the token objects themselves, in a new list. Tokens are the one
    kind of kept data the fold does not measure for depth (measuring every token would cost as
    much as folding it), so they are never walked here; nor copied: a copy of each would cost a
    tenth of folding a chunk with logprobs, for output that is mostly serialised at once. The
    output shares them with the response (``to_dict`` says so)."""
    return None if tokens is None else list(tokens)


#: How the models convert (``streamagg._core.convert``), parts before what contains them:
#: strictly (a value of the wrong type raises), the optional fields the OpenAI shape leaves out
#: when absent omitted when None.
MODELS = (
    ModelRules(model=FunctionCall, lenient=False),
    ModelRules(model=ToolCall, lenient=False, streaming_only=STREAMING_ONLY_KEYS),
    ModelRules(model=Audio, lenient=False),
    ModelRules(
        model=Message,
        lenient=False,
        omit_none=("tool_calls", "function_call", "reasoning_content", "reasoning", "audio"),
    ),
    ModelRules(
        model=Logprobs,
        lenient=False,
        overrides={
            "content": override(unstruct_hook=_tokens_out),
            "refusal": override(unstruct_hook=_tokens_out),
        },
    ),
    ModelRules(model=Choice, lenient=False),
    ModelRules(
        model=Usage,
        lenient=False,
        omit_none=("prompt_tokens_details", "completion_tokens_details"),
    ),
    ModelRules(
        model=ChatCompletionResponse, lenient=False, omit_none=("prompt_logprobs", "extra")
    ),
)
