"""The state of a chat-completion fold, and the rules that change it.

Every rule lives next to the state it changes (the way h11 gives each body reader its own state):
``ResponseState`` folds the top-level keys of a chunk, ``ChoiceState`` one choice and its delta,
``ToolState`` one tool call, ``LogprobsState`` a choice's logprobs. Each has a ``build()`` that
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
* any other key: ``streamagg._json.merge``.

Performance conventions (the fold runs once per chunk; a stream has thousands of chunks; the
figures are ``python benchmarks/run.py``'s, the targets in its doc):

* The hot path is per read, not per event: ``SSEDecoder.feed_data`` hands a read's events over
  at once, plain data events as bare strings, and ``Aggregator.receive_events`` folds them in
  one loop, calling ``receive()`` only for anything unusual.
* The cheapest parse is none: a chunk that repeats a recent chunk's text but for its appended
  string (and padding, and logprob tokens) is folded from its shape (``_shapes``) without being
  decoded. Everything else is decoded by ``_codec.loads`` (orjson when installed).
* Text is kept as ``Pieces`` and joined only in ``build()``: the cost of a chunk never grows
  with the length of the response, and pieces are joined into blocks as they come, so memory
  stays near the text's own size.
* Types are checked with ``value.__class__ is str`` rather than ``isinstance``: JSON decoding only
  ever produces the exact built-in types, and the identity test is the cheapest check there is.
  Anything else (a ``Mapping`` from an SDK, say) takes the slower ``isinstance`` branch.
* Keys nearly every chunk carries are read with direct ``get`` calls; a loop over all keys runs
  only when a chunk (or choice, tool call, function) has a key outside that common set, which a
  length comparison or ``issuperset`` detects without looping in Python.
* Dispatch is flat ``if``/``elif`` on the key, most frequent first; no per-key handler tables
  (a call through a dict of bound methods costs more than the comparisons it saves).
* Deltas are only built when the caller asked for them (``out`` is not None).
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any

from ._json import copy_json, merge, nesting_exceeds
from ._limits import Limits
from ._models import (
    STREAMING_ONLY_KEYS,
    USAGE_COUNT_FIELDS,
    USAGE_OBJECT_FIELDS,
    Audio,
    ChatCompletionResponse,
    Choice,
    ContentDelta,
    Delta,
    FinishDelta,
    FunctionCall,
    Logprobs,
    Message,
    ReasoningDelta,
    RefusalDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
    UsageDelta,
    known_fields,
)
from ._partial import PartialJSON
from ._pieces import JOIN_AT, Pieces

__all__ = [
    "DEFAULT_PADDING_KEYS",
    "ChoiceState",
    "InvalidChunk",
    "OverLimit",
    "ResponseState",
    "Rules",
    "as_list",
    "build_usage",
]

#: Random padding providers add to chunks to hide their length (OpenAI's ``obfuscation``,
#: Mistral's ``p``): never folded.
DEFAULT_PADDING_KEYS = frozenset({"obfuscation", "p"})
# The keys nearly every chunk (and choice) carries; any other key takes the slower loop. The
# chunk's padding keys (``Rules.common_top``) count as common too: OpenAI pads every chunk.
_COMMON_TOP = frozenset(
    {
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "service_tier",
        "usage",
        "choices",
    }
)
_COMMON_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
# The message fields that carry streamed text (or fragments of it).
_TEXT_AND_TOOLS = frozenset(
    {
        "content",
        "refusal",
        "reasoning_content",
        "reasoning",
        "tool_calls",
        "function_call",
        "audio",
    }
)
_SCALARS = frozenset({str, int, float, bool, type(None)})
# The top-level keys whose first non-empty value is kept: (key, type, the type in an error).
_HEADING = (("id", str, "a string"), ("created", int, "an integer"), ("model", str, "a string"))
# An id that is not one: Mistral sends the string "null" on continuation fragments.
_NO_IDS = frozenset({"", "null"})
# Text fields besides ``content`` (whose plain strings take an inline fast path), with the name
# an error gives them.
_OTHER_TEXT_FIELDS = {k: f"delta.{k}" for k in ("reasoning_content", "reasoning", "refusal")}
_TOOL_KEYS = known_fields(ToolCall) | STREAMING_ONLY_KEYS
_FUNCTION_KEYS = known_fields(FunctionCall)
_USAGE_FIELDS = frozenset(USAGE_COUNT_FIELDS + USAGE_OBJECT_FIELDS)


class OverLimit(Exception):  # noqa: N818 - internal; surfaces as LimitExceededError
    """A stream went past one of its limits; ``limit`` names the ``Limits`` field."""

    def __init__(self, limit: str, what: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.what = what


class InvalidChunk(Exception):  # noqa: N818 - internal; surfaces as MalformedChunkError
    """A field of a chunk has an impossible type. ``str(exc)`` names the field."""

    def __init__(self, field: str, expected: str, value: Any) -> None:
        super().__init__(f"{field} must be {expected}, not {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if value.__class__ in (dict, list, str, int, float, bool):
        return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
            value.__class__, "a number"
        )
    return type(value).__name__


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
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
        self.common_top = _COMMON_TOP | padding_keys  # top-level keys the hot path handles
        self.max_choices = limits.max_choices
        self.max_tool_calls = limits.max_tool_calls
        self.max_depth = limits.max_depth

    def kept(self, value: Any) -> Any:
        """``value``, which the fold is about to keep, if it nests no deeper than
        ``max_depth`` (else ``OverLimit``): a response must convert without exhausting Python's
        recursion. Only data the fold keeps as it is can be deep; the fields it reads are flat,
        so a chunk is never measured as a whole."""
        if value.__class__ not in _SCALARS and nesting_exceeds(value, self.max_depth):
            raise OverLimit("max_depth", "levels of JSON nesting")
        return value

    def merge(self, old: Any, new: Any, key: str) -> Any:
        """``merge`` with this fold's text keys, of data checked by ``kept``."""
        return merge(old, self.kept(new), key, self.text_keys)


def _is_empty_part(part: Mapping[str, Any]) -> bool:
    """A content part that carries nothing but its type (``{"type": "reference",
    "reference_ids": []}``, sent at the start of every chunk by some providers)."""
    return all(v in (None, "", [], {}) for k, v in part.items() if k != "type")


def _joined(parts: Pieces | None) -> str | None:
    return None if parts is None else "".join(parts)


def check_usage(value: Any, field: str) -> Mapping[str, Any]:
    """A usage object, its counts integers and its details objects, or ``InvalidChunk``."""
    usage = _mapping(value, field)
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
        extensions={k: copy_json(v) for k, v in data.items() if k not in _USAGE_FIELDS},
    )


class PartialText:
    """Text arriving in pieces, parsed as JSON only when its value is asked for, and then only
    the pieces that came since the last time (so reading it after every piece stays linear).
    When the pieces were compacted since (``Pieces.joins``), the text not yet fed is found by
    its length instead, once per compaction."""

    __slots__ = ("chars", "fed", "joins", "parser")

    def __init__(self) -> None:
        self.parser: PartialJSON | None = None
        self.fed = 0  # pieces fed
        self.chars = 0  # characters fed
        self.joins = 0  # the pieces' compactions when they were fed

    def value(self, pieces: Pieces) -> Any:
        parser = self.parser
        if parser is None:
            parser = self.parser = PartialJSON()
        if pieces.joins == self.joins:
            new = "".join(pieces[self.fed :])
        else:
            new = "".join(pieces)[self.chars :]
            self.joins = pieces.joins
        if new:
            parser.feed(new)
        self.fed = len(pieces)
        self.chars += len(new)
        return parser.value


class ToolState:
    """A tool call (or the legacy ``function_call``, whose ``key`` is None) being folded.

    ``ChoiceState.tool_call`` decides which call a fragment belongs to and sets the call's
    identity (id, type) as it does; the function and any other key are folded here."""

    __slots__ = (
        "arguments",
        "choice",
        "extra",
        "function_extra",
        "id",
        "key",
        "name",
        "order",
        "partial",
        "type",
    )

    def __init__(self, choice: int, key: int | None, order: tuple[int, int] = (0, 0)) -> None:
        self.choice = choice
        self.key = key  # the number deltas give it (unique in its choice)
        self.order = order  # where it goes in the message: (stream index, arrival at that index)
        self.partial = PartialText()  # the arguments parsed so far, when asked for
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments = Pieces()
        self.extra: dict[str, Any] = {}
        self.function_extra: dict[str, Any] = {}

    def fold_extra(self, entry: Mapping[str, Any], rules: Rules) -> None:
        """The keys of a fragment besides ``index``/``id``/``type``/``function``."""
        extra = self.extra
        for k, v in entry.items():
            if v is not None and k not in _TOOL_KEYS:
                extra[k] = rules.merge(extra.get(k), v, k)

    def fold_function(
        self,
        function: Any,
        field: str,
        rules: Rules,
        out: list[Delta] | None,
    ) -> None:
        """A fragment of the function: ``arguments`` pieces append, ``name`` first non-empty."""
        if function.__class__ is not dict:
            function = _mapping(function, field)
        get = function.get
        arguments = get("arguments")
        if arguments is not None:
            if arguments.__class__ is not str:
                # Some servers send arguments as an object: keep it as JSON text.
                arguments = json.dumps(rules.kept(arguments))
            self.add_arguments(arguments, out)
        name = get("name")
        if name and not self.name:
            if name.__class__ is not str:
                raise InvalidChunk(f"{field}.name", "a string", name)
            self.name = name
        if len(function) > (arguments is not None) + (name is not None):
            extra = self.function_extra
            for k, v in function.items():
                if v is not None and k not in _FUNCTION_KEYS:
                    extra[k] = rules.merge(extra.get(k), v, k)

    def add_arguments(self, arguments: str, out: list[Delta] | None) -> None:
        """A piece of the arguments (an empty one is no piece)."""
        if arguments:
            parts = self.arguments
            parts.append(arguments)  # Pieces.add, inline: once a fragment
            if len(parts) > JOIN_AT:
                parts.compact()
            if out is not None and self.key is not None:
                out.append(ToolCallArgumentsDelta(self.choice, self.key, arguments))

    def function(self) -> FunctionCall:
        return FunctionCall(
            name=self.name,
            arguments="".join(self.arguments),
            extensions=copy_json(self.function_extra) if self.function_extra else {},
        )

    def build(self, partial: bool = False) -> ToolCall:
        return ToolCall(
            id=self.id,
            type=self.type or "function",
            function=self.function(),
            extensions=copy_json(self.extra) if self.extra else {},
            partial_arguments=self.partial.value(self.arguments) if partial else None,
        )


def _tokens(value: Any, key: str) -> list[Any]:
    """A chunk's logprob tokens, which must be objects: a response holding anything else would
    not convert. Tokens are not measured for depth (that would cost as much as folding them):
    the converter never recurses into them."""
    tokens = value if value.__class__ is list else as_list(value, f"choices[].logprobs.{key}")
    for token in tokens:
        if token.__class__ is not dict and not isinstance(token, Mapping):
            raise InvalidChunk(f"choices[].logprobs.{key}[]", "an object", token)
    return tokens


class LogprobsState:
    """A choice's logprobs: token lists extend, other keys merge."""

    __slots__ = ("content", "extra", "refusal")

    def __init__(self) -> None:
        self.content: list[Any] | None = None
        self.refusal: list[Any] | None = None
        self.extra: dict[str, Any] = {}

    def fold(self, logprobs: Any, rules: Rules) -> None:
        if logprobs.__class__ is not dict:
            logprobs = _mapping(logprobs, "choices[].logprobs")
        for k, v in logprobs.items():
            if v is None:
                continue
            if k == "content" or k == "refusal":  # noqa: PLR1714 - the hot comparison first
                # A token list, once made, is only extended: shapes extend it directly.
                tokens, kept = _tokens(v, k), getattr(self, k)
                if kept is None:
                    setattr(self, k, list(tokens))
                else:
                    kept.extend(tokens)
            else:
                self.extra[k] = rules.merge(self.extra.get(k), v, k)

    def build(self) -> Logprobs | None:
        if self.content is None and self.refusal is None and not self.extra:
            return None  # only nulls were sent
        return Logprobs(
            content=None if self.content is None else list(self.content),
            refusal=None if self.refusal is None else list(self.refusal),
            extensions=copy_json(self.extra) if self.extra else {},
        )


class AudioState:
    """A message's audio output: ``id`` first non-empty, ``transcript`` pieces concatenate,
    ``data`` pieces (each base64 on its own) are decoded and joined as bytes, then encoded once,
    ``expires_at`` last non-null; other keys merge."""

    __slots__ = ("data", "expires_at", "extra", "id", "transcript")

    def __init__(self) -> None:
        self.id = ""
        self.transcript = Pieces()
        self.data: list[bytes] = []
        self.expires_at: int | None = None
        self.extra: dict[str, Any] = {}

    def fold(self, audio: Any, rules: Rules) -> None:
        audio = _mapping(audio, "delta.audio")
        for k, v in audio.items():
            if v is None:
                continue
            if k == "id":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.id", "a string", v)
                if not self.id:
                    self.id = v
            elif k == "transcript":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.transcript", "a string", v)
                self.transcript.add(v)
            elif k == "data":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.data", "a string", v)
                try:
                    self.data.append(b64decode(v, validate=True))
                except (binascii.Error, ValueError):
                    raise InvalidChunk("delta.audio.data", "base64 text", v) from None
            elif k == "expires_at":
                if v.__class__ is not int:
                    raise InvalidChunk("delta.audio.expires_at", "an integer", v)
                self.expires_at = v
            else:
                self.extra[k] = rules.merge(self.extra.get(k), v, k)

    def build(self) -> Audio:
        return Audio(
            id=self.id,
            data=b64encode(b"".join(self.data)).decode("ascii"),
            transcript="".join(self.transcript),
            expires_at=self.expires_at,
            extensions=copy_json(self.extra) if self.extra else {},
        )


class ChoiceState:
    """One choice being folded: its message, tool calls, logprobs and finish reason."""

    __slots__ = (
        "audio",
        "by_index",
        "content",
        "content_partial",
        "delta_extra",
        "extra",
        "finish_reason",
        "function_call",
        "had_delta",
        "index",
        "last_tool",
        "logprobs",
        "next_key",
        "parts",
        "reasoning",
        "reasoning_content",
        "refusal",
        "role",
        "rules",
        "thinking_parts",
        "tool_ids",
        "tools",
        "usage",
    )

    def __init__(self, index: int, rules: Rules) -> None:
        self.index = index
        self.rules = rules
        self.next_key = 0  # one more than the largest tool key in use
        self.role = ""
        # The text fields: None until a string arrives.
        self.content: Pieces | None = None
        self.refusal: Pieces | None = None
        self.reasoning_content: Pieces | None = None
        self.reasoning: Pieces | None = None
        self.tools: dict[int, ToolState] = {}  # by key
        self.by_index: dict[int, ToolState] = {}  # the call a stream index continues
        self.tool_ids: dict[str, ToolState] = {}
        self.last_tool: ToolState | None = None
        self.function_call: ToolState | None = None
        self.audio: AudioState | None = None
        self.logprobs: LogprobsState | None = None
        self.finish_reason: str | None = None
        self.parts: list[Any] = []
        self.thinking_parts: list[Any] = []
        self.delta_extra: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.usage: Mapping[str, Any] | None = None
        self.had_delta = False
        self.content_partial = PartialText()

    def fold(self, choice: Mapping[str, Any], out: list[Delta] | None) -> None:
        """One entry of a chunk's ``choices`` (already known to be an object)."""
        get = choice.get
        value = get("delta")
        if value:
            if value.__class__ is not dict:
                value = _mapping(value, "choices[].delta")
            self.had_delta = True
            text = value.get("content")
            if text.__class__ is str and len(value) == 1:
                self.add_content(text, out)  # the hottest path: a delta of one piece of content
            else:
                self.fold_delta(value, out)
        value = get("finish_reason")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("choices[].finish_reason", "a string", value)
            self.finish_reason = value
            if out is not None:
                out.append(FinishDelta(self.index, value))
        value = get("logprobs")
        if value:
            logprobs = self.logprobs
            if logprobs is None:
                logprobs = self.logprobs = LogprobsState()
            logprobs.fold(value, self.rules)
        if not _COMMON_CHOICE.issuperset(choice):
            self._fold_rare(choice, out)

    def _fold_rare(self, choice: Mapping[str, Any], out: list[Delta] | None) -> None:
        for key, value in choice.items():
            if value is None or key in _COMMON_CHOICE:
                continue
            if key == "message":
                message = _mapping(value, "choices[].message")
                self.fold_message(message, bool(choice.get("delta")), out)
            elif key == "usage":
                self.usage = self.rules.kept(check_usage(value, "choices[].usage"))
            else:
                self.extra[key] = self.rules.merge(self.extra.get(key), value, key)

    def fold_message(
        self, message: Mapping[str, Any], beside_delta: bool, out: list[Delta] | None
    ) -> None:
        """A whole ``message`` on a choice.

        It never repeats what deltas carried: beside a ``delta`` (some providers send both, with
        the same pieces) its text and tool calls are ignored; on a choice that already had
        deltas (a closing ``chat.completion`` frame) it fills only what is still empty; on a
        choice that never had one (a server that ignored ``stream: true``, a non-streaming body)
        it folds like one big delta. Its other keys are kept where the deltas did not set them.
        """
        if not self.had_delta and not beside_delta:
            self.fold_delta(message, out)
            return
        fill = {}
        for key, value in message.items():
            if value is None:
                continue
            if key in _TEXT_AND_TOOLS:
                if beside_delta or not self._is_empty(key):
                    continue
            elif key == "role":
                if self.role:
                    continue
            elif key in self.delta_extra or key in self.rules.skipped:
                continue
            fill[key] = value
        if fill:
            self.fold_delta(fill, out)

    def _is_empty(self, key: str) -> bool:
        if key == "tool_calls":
            return not self.tools
        value = getattr(self, key)
        return value is None or (isinstance(value, Pieces) and not "".join(value))

    def fold_delta(self, delta: Mapping[str, Any], out: list[Delta] | None) -> None:
        """A choice's ``delta`` (or whole ``message``)."""
        for key, value in delta.items():
            if value is None:
                continue
            if key == "content":
                if value.__class__ is str:
                    self.add_content(value, out)
                elif value.__class__ is list or isinstance(value, Mapping):
                    self.fold_parts(as_list(value, "delta.content"), out)
                else:
                    raise InvalidChunk("delta.content", "a string or a list of parts", value)
            elif key == "role":
                if value and not self.role:
                    if value.__class__ is not str:
                        raise InvalidChunk("delta.role", "a string", value)
                    self.role = value
            elif key == "tool_calls":
                calls = value if value.__class__ is list else as_list(value, "delta.tool_calls")
                for entry in calls:
                    self.tool_call(entry, out)
            elif key in _OTHER_TEXT_FIELDS:
                self.add_text(key, value, _OTHER_TEXT_FIELDS[key], out)
            elif key == "function_call":
                call = self.function_call
                if call is None:
                    call = self.function_call = ToolState(self.index, None)
                call.fold_function(value, "delta.function_call", self.rules, out)
            elif key == "audio":
                if self.audio is None:
                    self.audio = AudioState()
                self.audio.fold(value, self.rules)
            elif key not in self.rules.skipped:
                self.delta_extra[key] = self.rules.merge(self.delta_extra.get(key), value, key)

    def add_content(self, text: str, out: list[Delta] | None) -> None:
        """A piece of the content (a string)."""
        parts = self.content
        if parts is None:
            self.content = Pieces((text,))
        else:
            parts.append(text)
            if len(parts) > JOIN_AT:
                parts.compact()
        if out is not None and text:
            out.append(ContentDelta(self.index, text))

    def add_text(self, key: str, text: Any, field: str, out: list[Delta] | None) -> None:
        """Extend the text field ``key`` (``refusal``, ``reasoning_content`` or ``reasoning``;
        None until a string arrives) and report the delta. Content strings take
        ``add_content``."""
        if text.__class__ is not str:
            raise InvalidChunk(field, "a string", text)
        parts = getattr(self, key)
        if parts is None:
            setattr(self, key, Pieces((text,)))
        else:
            parts.append(text)  # Pieces.add, inline: once a chunk of reasoning
            if len(parts) > JOIN_AT:
                parts.compact()
        if out is not None and text:
            if key == "refusal":
                out.append(RefusalDelta(self.index, text))
            else:
                out.append(ReasoningDelta(self.index, text, key))

    def fold_parts(self, parts: list[Any], out: list[Delta] | None) -> None:
        """Content sent as typed parts (Mistral): ``text`` parts extend content, the ``text``
        items of ``thinking`` parts extend ``reasoning`` (other items, such as references, are
        kept in ``extensions["thinking_parts"]``); parts that carry nothing are skipped; other
        parts are kept in ``extensions["content_parts"]``."""
        for entry in parts:
            part = _mapping(entry, "delta.content[]")
            kind = part.get("type")
            if kind == "text" and part.get("text").__class__ is str:
                self.add_content(part["text"], out)
            elif kind == "thinking":
                thinking: Any = part.get("thinking")
                if thinking is None:
                    continue
                items = [thinking] if thinking.__class__ is str else thinking
                for item in as_list(items, "delta.content[].thinking"):
                    self._thinking_item(item, out)
            elif not _is_empty_part(part):
                self.parts.append(copy_json(self.rules.kept(part)))

    def _thinking_item(self, item: Any, out: list[Delta] | None) -> None:
        field = "delta.content[].thinking[].text"
        if not isinstance(item, Mapping):
            self.add_text("reasoning", item, field, out)  # a plain string (or a bad item)
        elif item.get("type", "text") == "text":
            self.add_text("reasoning", item.get("text"), field, out)
        elif not _is_empty_part(item):
            self.thinking_parts.append(copy_json(self.rules.kept(item)))

    def tool_call(self, entry: Any, out: list[Delta] | None) -> None:
        """Fold one tool-call fragment.

        With an integer ``index`` (the OpenAI way; indices may be sparse, a chunk may carry
        several fragments, even two for one index) the fragment continues the call at that
        index, unless it starts a new one: a non-empty id that differs from the call's, with a
        non-empty function name (Ollama's OpenAI endpoint and some vLLM/SGLang tool parsers send
        every parallel call at index 0). The id ``"null"`` (Mistral, on continuations) is no id.
        Without an index (Mistral sends whole calls with no ``index``): a known id picks its
        call; a new non-empty id or function name starts a new call; anything else continues
        the most recently started call.
        """
        if entry.__class__ is not dict:
            entry = _mapping(entry, "delta.tool_calls[]")
        get = entry.get
        index = get("index")
        call_id = get("id")
        function = get("function")
        kind = get("type")
        if call_id:
            if call_id.__class__ is not str:
                raise InvalidChunk("delta.tool_calls[].id", "a string", call_id)
            if call_id in _NO_IDS:
                call_id = None
        if index.__class__ is int:
            call = self.by_index.get(index)
            if (
                call is not None
                and call_id
                and call.id
                and call_id != call.id
                and _has_name(function)
            ):
                call = None  # a new call at a used index
        else:
            index = None
            call = self.tool_ids.get(call_id) if call_id else None
            if call is None and not call_id and not _has_name(function):
                call = self.last_tool
        if call is None:
            call = self._start_call(index, call_id, function, out)
        if call_id and not call.id:
            call.id = call_id
            self.tool_ids[call_id] = call
        if kind and not call.type:
            if kind.__class__ is not str:
                raise InvalidChunk("delta.tool_calls[].type", "a string", kind)
            call.type = kind
        # Any key besides these four (or one of them null) sends the entry through the loop.
        if len(entry) > (
            (index is not None)
            + (get("id") is not None)
            + (function is not None)
            + (kind is not None)
        ):
            call.fold_extra(entry, self.rules)
        if function:
            call.fold_function(function, "delta.tool_calls[].function", self.rules, out)

    def _start_call(
        self, index: int | None, call_id: str | None, function: Any, out: list[Delta] | None
    ) -> ToolState:
        """A new tool call: numbered by its stream index (a new number if that is taken, or
        when there is no index), ordered by index and then arrival."""
        tools = self.tools
        if len(tools) >= self.rules.max_tool_calls:
            raise OverLimit("max_tool_calls", "tool calls in a choice")
        key = index if index is not None and index not in tools else self.next_key
        order = (key if index is None else index, len(tools))
        call = tools[key] = ToolState(self.index, key, order)
        self.next_key = max(self.next_key, key + 1)
        if index is not None:
            self.by_index[index] = call
        self.last_tool = call
        if out is not None:
            name = function.get("name") if isinstance(function, Mapping) else None
            out.append(ToolCallStart(self.index, key, call_id or None, name or None))
        return call

    def partial_json(self, tool: int | None) -> Any:
        """The value parsed so far of a tool call's arguments (by its number), or of the
        content (None); None for a tool call that does not exist."""
        if tool is None:
            return self.content_partial.value(self.content or Pieces())
        call = self.tools.get(tool)
        return None if call is None else call.partial.value(call.arguments)

    def build(self, keep_usage: bool, partial: bool = False) -> Choice:
        extensions = copy_json(self.delta_extra) if self.delta_extra else {}
        if self.parts:
            extensions["content_parts"] = copy_json(self.parts)
        if self.thinking_parts:
            extensions["thinking_parts"] = copy_json(self.thinking_parts)
        fc = self.function_call
        tools = sorted(self.tools.values(), key=_by_order)
        message = Message(
            role=self.role or "assistant",
            content=_joined(self.content),
            refusal=_joined(self.refusal),
            tool_calls=[t.build(partial) for t in tools] or None,
            function_call=None if fc is None else fc.function(),
            reasoning_content=_joined(self.reasoning_content),
            reasoning=_joined(self.reasoning),
            audio=None if self.audio is None else self.audio.build(),
            extensions=extensions,
        )
        choice_extra = copy_json(self.extra) if self.extra else {}
        if keep_usage and self.usage is not None:
            choice_extra["usage"] = copy_json(self.usage)
        return Choice(
            index=self.index,
            message=message,
            finish_reason=self.finish_reason,
            logprobs=None if self.logprobs is None else self.logprobs.build(),
            extensions=choice_extra,
        )


def _by_order(tool: ToolState) -> tuple[int, int]:
    return tool.order


def _provider_usage(extension: Any) -> Mapping[str, Any] | None:
    """The ``usage`` inside a provider's extension object (Groq's ``x_groq``), if it is a valid
    usage object; otherwise it stays in the extensions only."""
    usage = extension.get("usage") if isinstance(extension, dict) else None
    if usage is None:
        return None
    try:
        return check_usage(usage, "x_groq.usage")
    except InvalidChunk:
        return None


def _has_name(function: Any) -> bool:
    return isinstance(function, Mapping) and bool(function.get("name"))


class ResponseState:
    """The whole response being folded: the top-level keys and the choices by index."""

    __slots__ = (
        "choices",
        "created",
        "error",
        "errored",
        "extra",
        "heading",
        "id",
        "model",
        "other",
        "prompt_logprobs",
        "rules",
        "service_tier",
        "system_fingerprint",
        "usage",
    )

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.id = ""
        self.created: int = 0
        self.model: str | None = None
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None
        self.prompt_logprobs: Any = None
        self.usage: Mapping[str, Any] | None = None
        self.extra: str | None = None
        self.other: dict[str, Any] = {}
        self.choices: dict[int, ChoiceState] = {}
        self.error: Any = None
        self.errored = False
        self.heading = True  # id, created or model is still to come

    def fold(self, chunk: Mapping[str, Any], out: list[Delta] | None) -> None:
        """One ``chat.completion.chunk`` (already known to be an object)."""
        get = chunk.get
        if self.heading:
            self._fold_heading(get)
        value = get("system_fingerprint")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("system_fingerprint", "a string", value)
            self.system_fingerprint = value
        value = get("service_tier")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("service_tier", "a string", value)
            self.service_tier = value
        value = get("usage")
        if value is not None:
            self.usage = self.rules.kept(check_usage(value, "usage"))
            if out is not None:
                out.append(UsageDelta(build_usage(value)))
        choices = get("choices")
        if choices:
            if choices.__class__ is not list:
                choices = as_list(choices, "choices")
            states = self.choices
            for entry in choices:
                choice = entry if entry.__class__ is dict else _mapping(entry, "choices[]")
                index = choice.get("index")
                state = states.get(index) if index.__class__ is int else None
                if state is None:
                    state = self._new_choice(index)
                state.fold(choice, out)
        if not self.rules.common_top.issuperset(chunk):
            self._fold_rare(chunk)

    def _fold_heading(self, get: Any) -> None:
        """``id``, ``created`` and ``model``: each the first non-empty value (read until all
        three have one)."""
        for key, kind, expected in _HEADING:
            if not getattr(self, key):
                value = get(key)
                if value:
                    if value.__class__ is not kind:
                        raise InvalidChunk(key, expected, value)
                    setattr(self, key, value)
        self.heading = not (self.id and self.created and self.model)

    def _new_choice(self, index: Any) -> ChoiceState:
        if index is None:
            index = 0
        elif index.__class__ is not int:
            raise InvalidChunk("choices[].index", "an integer", index)
        state = self.choices.get(index)
        if state is None:
            if len(self.choices) >= self.rules.max_choices:
                raise OverLimit("max_choices", "choices")
            state = self.choices[index] = ChoiceState(index, self.rules)
        return state

    def _fold_rare(self, chunk: Mapping[str, Any]) -> None:
        for key, value in chunk.items():
            if value is None or key in self.rules.common_top:
                continue
            if key == "prompt_logprobs":
                if value:
                    if value.__class__ is not list:
                        raise InvalidChunk("prompt_logprobs", "a list", value)
                    self.prompt_logprobs = self.rules.kept(value)
            elif key == "extra":
                if value and value != "{}":
                    self.extra = value if value.__class__ is str else json.dumps(value)
            elif key == "error":
                # Everything else in this chunk is folded first (OpenRouter sends usage with it).
                self.error = value
                self.errored = True
            else:
                other = self.other
                old = other.get(key)
                kept = self.rules.kept(value)
                if old.__class__ is dict and isinstance(kept, Mapping):
                    old.update({k: copy_json(v) for k, v in kept.items() if v is not None})
                else:
                    other[key] = copy_json(kept)

    def unfinished(self) -> list[int]:
        """The indices of the choices without a finish reason."""
        return sorted(i for i, c in self.choices.items() if not c.finish_reason)

    def build(self, partial: bool = False) -> ChatCompletionResponse:
        """The response; with ``partial``, its tool calls carry their arguments parsed so far."""
        choices = self.choices
        usage_data = self.usage
        keep_choice_usage = True
        if usage_data is None:
            usage_data = _provider_usage(self.other.get("x_groq"))
        if usage_data is None:
            for index in sorted(choices):
                if choices[index].usage is not None:
                    usage_data = choices[index].usage
                    keep_choice_usage = False
                    break
        return ChatCompletionResponse(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=self.system_fingerprint,
            service_tier=self.service_tier,
            choices=[choices[i].build(keep_choice_usage, partial) for i in sorted(choices)],
            usage=None if usage_data is None else build_usage(usage_data),
            prompt_logprobs=copy_json(self.prompt_logprobs),
            extra=self.extra,
            extensions=copy_json(self.other),
        )
