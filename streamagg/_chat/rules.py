"""Chat completions' rules: the table of keys the fold and its fast path read, and the rules' text.

The key sets below are the one source both the fold (``state``, ``choice``, ``tools``, ``parts``)
and the fast path (``shapes``) derive from. Every rule lives next to the state it changes (the
way h11 gives each body reader its own state): ``ResponseState`` folds the top-level keys of a
chunk, ``ChoiceState`` one choice and its delta, ``ToolCalls`` a choice's tool calls and
``ToolState`` one of them, ``LogprobsState`` a choice's logprobs. Each has a ``build()`` that
makes the response model. Bad input raises ``InvalidChunk`` naming the field; the ``Aggregator``
turns it into ``MalformedChunkError`` with the partial response. Nothing else is caught: any
other exception is a bug of ours and is never reported as the user's bad input.

The rules, and why (every naive rule is broken by some real provider):

* ``id``: first non-empty string. Azure's first chunk has ``id: ""``; some servers send a new id
  on every chunk. ``created``: first non-zero. ``model``: first non-empty.
* ``system_fingerprint``, ``service_tier``, ``prompt_logprobs``: last non-empty value.
* ``usage``: last non-null object. OpenAI sends chunks after the usage chunk with ``usage: null``;
  Perplexity repeats cumulative usage on every chunk (so: replace, never sum). Without any
  top-level usage, ``x_groq.usage`` and then a usage found inside a choice are used.
* ``extra``: last value that is not null, ``""`` or ``"{}"`` (servers send ``"{}"`` every chunk).
* other top-level keys: last non-null wins (objects are updated key by key). Padding keys
  (``obfuscation`` from OpenAI, ``p`` from Mistral: random text that hides chunk lengths) are
  dropped, at the top level and in deltas.
* choices are keyed by ``index`` (missing means 0) and may arrive in any order.
* A single object where the protocol says "a list of objects" (``choices``, ``tool_calls``,
  content parts, logprob tokens) is a list of one: Hugging Face TGI sends ``tool_calls`` so.
* ``role``: first non-empty (several providers repeat it in every delta: never concatenate).
* ``content``, ``refusal``, ``reasoning_content``, ``reasoning``: None until a string arrives,
  then concatenated. Content parts (Mistral): ``text`` extends content; the ``text`` items of
  ``thinking`` parts extend ``reasoning`` and its other items (references) are kept in
  ``message.extensions["thinking_parts"]``; parts carrying nothing but their type are skipped
  (some providers start every chunk with an empty ``reference`` part); other parts are kept in
  ``message.extensions["content_parts"]``.
* ``message`` on a choice: see ``ChoiceState.fold_message`` (it never repeats what deltas
  carried).
* tool calls: see ``ChoiceState.tool_call``.
* ``audio``: see ``AudioState`` (base64 pieces are joined as bytes, not as text).
* ``finish_reason``: last non-empty value.
* logprobs: ``content`` and ``refusal`` token lists extend.
* any other key: ``streamagg._core.merge.merge``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import InvalidChunk, OverLimit
from .._core.limits import Limits
from .._core.merge import copy_json, merge, nesting_exceeds
from .._core.pieces import Pieces
from .._core.report import known_fields
from .models import (
    STREAMING_ONLY_KEYS,
    USAGE_COUNT_FIELDS,
    USAGE_OBJECT_FIELDS,
    FunctionCall,
    ToolCall,
    Usage,
)

__all__ = [
    "COMMON_CHOICE",
    "COMMON_TOP",
    "DEFAULT_PADDING_KEYS",
    "FUNCTION_KEYS",
    "HEADING",
    "LAST_NON_EMPTY",
    "NO_IDS",
    "OTHER_TEXT_FIELDS",
    "SCALARS",
    "TEXT_AND_TOOLS",
    "TEXT_FIELDS",
    "TOKEN_LISTS",
    "TOOL_KEYS",
    "USAGE_FIELDS",
    "Rules",
    "as_list",
    "build_usage",
    "check_usage",
    "is_empty_part",
    "joined",
    "mapping",
]


#: Random padding providers add to chunks to hide their length (OpenAI's ``obfuscation``,
#: Mistral's ``p``): never folded.
DEFAULT_PADDING_KEYS = frozenset({"obfuscation", "p"})
SCALARS = frozenset({str, int, float, bool, type(None)})
#: The top-level keys whose rule is "first non-empty": (key, type, the type in an error).
HEADING = (("id", str, "a string"), ("created", int, "an integer"), ("model", str, "a string"))
#: The top-level strings whose rule is "last non-empty".
LAST_NON_EMPTY = ("system_fingerprint", "service_tier")
#: The delta's text fields, ``content`` first; and the logprobs' token lists.
TEXT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")
TOKEN_LISTS = ("content", "refusal")
# An id that is not one: Mistral sends the string "null" on continuation fragments.
NO_IDS = frozenset({"", "null"})
# Text fields besides ``content`` (whose plain strings take an inline fast path), with the name
# an error gives them.
OTHER_TEXT_FIELDS = {k: f"delta.{k}" for k in TEXT_FIELDS[1:]}
# The keys nearly every chunk (and choice) carries; any other key takes the slower loop. The
# chunk's padding keys (``Rules.common_top``) count as common too: OpenAI pads every chunk.
COMMON_TOP = frozenset(
    {key for key, _, _ in HEADING} | {*LAST_NON_EMPTY, "object", "usage", "choices"}
)
COMMON_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
# The message fields that carry streamed text (or fragments of it).
TEXT_AND_TOOLS = frozenset({*TEXT_FIELDS, "tool_calls", "function_call", "audio"})
TOOL_KEYS = known_fields(ToolCall) | STREAMING_ONLY_KEYS
FUNCTION_KEYS = known_fields(FunctionCall)
USAGE_FIELDS = frozenset(USAGE_COUNT_FIELDS + USAGE_OBJECT_FIELDS)


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else ``InvalidChunk`` naming ``field``."""
    if value.__class__ is dict or isinstance(value, Mapping):
        return value
    raise InvalidChunk(field, "an object", value)


def as_list(value: Any, field: str) -> list[Any]:
    """A list, or a single object where the protocol says "a list of objects" (Hugging Face TGI
    sends ``tool_calls`` as one object): read as a list of one."""
    if value.__class__ is list:
        return value
    if isinstance(value, Mapping):
        return [value]
    raise InvalidChunk(field, "a list", value)


class Rules:
    """The fold options, as the state objects use them."""

    __slots__ = (
        "common_top",
        "max_choices",
        "max_depth",
        "max_tool_calls",
        "padding_keys",
        "skipped",
        "text_keys",
    )

    def __init__(
        self, text_keys: frozenset[str], padding_keys: frozenset[str], limits: Limits
    ) -> None:
        self.text_keys = text_keys
        self.padding_keys = padding_keys
        self.skipped = STREAMING_ONLY_KEYS | padding_keys  # delta keys never folded
        self.common_top = COMMON_TOP | padding_keys  # top-level keys the hot path handles
        self.max_choices = limits.max_choices
        self.max_tool_calls = limits.max_tool_calls
        self.max_depth = limits.max_depth

    def kept(self, value: Any) -> Any:
        """``value``, which the fold is about to keep, if it nests no deeper than
        ``max_depth`` (else ``OverLimit``): a response must convert without exhausting Python's
        recursion. Only data the fold keeps as it is can be deep; the fields it reads are flat,
        so a chunk is never measured as a whole."""
        if value.__class__ not in SCALARS and nesting_exceeds(value, self.max_depth):
            raise OverLimit("max_depth", "levels of JSON nesting")
        return value

    def merge(self, old: Any, new: Any, key: str) -> Any:
        """``merge`` with this fold's text keys, of data checked by ``kept``."""
        return merge(old, self.kept(new), key, self.text_keys)


def is_empty_part(part: Mapping[str, Any]) -> bool:
    """A content part that carries nothing but its type (``{"type": "reference",
    "reference_ids": []}``, sent at the start of every chunk by some providers)."""
    return all(v in (None, "", [], {}) for k, v in part.items() if k != "type")


def joined(parts: Pieces | None) -> str | None:
    return None if parts is None else "".join(parts)


def check_usage(value: Any, field: str) -> Mapping[str, Any]:
    """A usage object, its counts integers and its details objects, or ``InvalidChunk``."""
    usage = mapping(value, field)
    for name in USAGE_COUNT_FIELDS:
        n = usage.get(name)
        if n is not None and n.__class__ is not int:
            raise InvalidChunk(f"{field}.{name}", "an integer", n)
    for name in USAGE_OBJECT_FIELDS:
        d = usage.get(name)
        if d is not None and not isinstance(d, Mapping):
            raise InvalidChunk(f"{field}.{name}", "an object", d)
    return usage


def build_usage(data: Mapping[str, Any]) -> Usage:
    """The ``Usage`` model of a checked usage object (unknown keys in its extensions)."""
    get = data.get
    return Usage(
        prompt_tokens=get("prompt_tokens"),
        completion_tokens=get("completion_tokens"),
        total_tokens=get("total_tokens"),
        prompt_tokens_details=copy_json(get("prompt_tokens_details")),
        completion_tokens_details=copy_json(get("completion_tokens_details")),
        extensions={k: copy_json(v) for k, v in data.items() if k not in USAGE_FIELDS},
    )
