"""The sans-IO fold: ``chat.completion.chunk`` dicts in, deltas and one response out.

No I/O happens here. Chunks are folded as plain dicts into small mutable state objects; text is
kept as lists of pieces and joined only when a response is built (``snapshot()``/``result()``), so
the cost of one chunk does not grow with the length of the response.

The fold rules, and why (every naive rule is broken by some real provider):

* ``id``: first non-empty string. Azure's first chunk has ``id: ""``; some servers send a new id on
  every chunk. ``created``: first non-zero. ``model``: first non-empty.
* ``system_fingerprint``, ``service_tier``, ``prompt_logprobs``: last non-empty value.
* ``usage``: last non-null object. OpenAI sends chunks after the usage chunk with ``usage: null``;
  Perplexity repeats cumulative usage on every chunk (so: replace, never sum). Without any
  top-level usage, ``x_groq.usage`` and then a usage found inside a choice are used.
* ``extra``: last value that is not null, ``""`` or ``"{}"`` (servers send ``"{}"`` every chunk).
* other top-level keys: last non-null wins (dicts are updated key by key); ``obfuscation`` is
  random padding and is dropped.
* choices are keyed by ``index`` (missing means 0) and may arrive in any order.
* ``role``: first non-empty (several providers repeat it in every delta: never concatenate).
* ``content``, ``refusal``, ``reasoning_content``, ``reasoning``: None until a string arrives.
* tool calls: see ``Aggregator._tool_call``.
* ``finish_reason``: last non-empty value.
* any other key: ``_merge``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import IncompleteStreamError, MalformedChunkError, UpstreamError
from ._models import (
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
)

__all__ = ["DEFAULT_TEXT_KEYS", "Aggregator", "fold"]

#: Keys whose string values are concatenated when unknown structures are merged. Everything else
#: is "last non-null wins", so re-sent ids, formats or whole arguments never double.
DEFAULT_TEXT_KEYS = frozenset(
    {"text", "content", "refusal", "reasoning", "reasoning_content", "thinking", "summary"}
)

_DONE = "[DONE]"
# The decoder behind json.loads, called directly: json.loads re-checks its arguments on every
# call, which costs about 15% of a small chunk's decoding.
_decode_json = json.JSONDecoder().decode
_USAGE_INT_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_USAGE_DETAIL_KEYS = ("prompt_tokens_details", "completion_tokens_details")
_USAGE_FIELDS = frozenset(_USAGE_INT_KEYS + _USAGE_DETAIL_KEYS)
# The keys nearly every chunk (and choice) carries; any other key takes the slower loop.
_COMMON_TOP = frozenset(
    {"id", "object", "created", "model", "system_fingerprint", "usage", "choices"}
)
_COMMON_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
# Keys that only make sense while streaming; they never reach a response.
_STREAMING_ONLY = frozenset({"index", "obfuscation"})
# Text fields besides ``content`` (whose plain strings take an inline fast path).
_OTHER_TEXT_FIELDS = frozenset({"reasoning_content", "reasoning", "refusal"})
_TOOL_KEYS = frozenset({"index", "id", "type", "function"})
_FUNCTION_KEYS = frozenset({"name", "arguments"})


class _Text:
    """Pieces of a concatenated string inside merged extension data, joined on export."""

    __slots__ = ("parts",)

    def __init__(self, first: str, second: str) -> None:
        self.parts = [first, second]


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A private copy of JSON data: containers are copied (merging mutates the ones this module
    keeps, and a response must not share them), text pieces are joined."""
    cls = value.__class__
    if cls in _ATOMS:
        return value
    if cls is dict or isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if cls is list:
        return [_copy(v) for v in value]
    if cls is _Text:
        return "".join(value.parts)
    return value


def _is_indexed(items: list[Any]) -> bool:
    return all(isinstance(e, dict) and e.get("index").__class__ is int for e in items)


def _merge(old: Any, new: Any, key: str, text_keys: frozenset[str]) -> Any:
    """Merge ``new`` into ``old`` (which this module owns) and return the result.

    Lists of dicts that all carry an integer ``index`` merge entry by entry (OpenRouter's
    ``reasoning_details``), other lists extend, dicts merge recursively, strings under a text-like
    key concatenate, and any other value replaces the old one. Callers never pass a null ``new``.
    """
    if old is None:
        return _copy(new)
    if new.__class__ is str:
        if key in text_keys:
            if old.__class__ is _Text:
                old.parts.append(new)
                return old
            if old.__class__ is str:
                return _Text(old, new)
        return new
    if isinstance(new, Mapping) and old.__class__ is dict:
        for k, v in new.items():
            if v is not None:
                old[k] = _merge(old.get(k), v, k, text_keys)
        return old
    if isinstance(new, list) and old.__class__ is list:
        if _is_indexed(new) and _is_indexed(old):
            for entry in new:
                for mine in old:
                    if mine["index"] == entry["index"]:
                        _merge(mine, entry, key, text_keys)
                        break
                else:
                    old.append(_copy(entry))
        else:
            old.extend(_copy(new))
        return old
    return _copy(new)


def _extend(items: list[Any] | None, more: list[Any]) -> list[Any]:
    if items is None:
        return list(more)
    items.extend(more)
    return items


def _joined(parts: list[str] | None) -> str | None:
    return None if parts is None else "".join(parts)


class _ToolState:
    """A tool call (or the legacy ``function_call``, whose ``key`` is None) being folded."""

    __slots__ = ("arguments", "choice", "extra", "function_extra", "id", "key", "name", "type")

    def __init__(self, choice: int, key: int | None) -> None:
        self.choice = choice
        self.key = key
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments: list[str] = []
        self.extra: dict[str, Any] = {}
        self.function_extra: dict[str, Any] = {}

    def function(self) -> FunctionCall:
        return FunctionCall(
            name=self.name,
            arguments="".join(self.arguments),
            extensions=_copy(self.function_extra) if self.function_extra else {},
        )

    def build(self) -> ToolCall:
        return ToolCall(
            id=self.id,
            type=self.type or "function",
            function=self.function(),
            extensions=_copy(self.extra) if self.extra else {},
        )


class _ChoiceState:
    __slots__ = (
        "content",
        "delta_extra",
        "extra",
        "finish_reason",
        "function_call",
        "index",
        "last_tool",
        "lp_content",
        "lp_extra",
        "lp_refusal",
        "parts",
        "reasoning",
        "reasoning_content",
        "refusal",
        "role",
        "tool_ids",
        "tools",
        "usage",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = ""
        self.content: list[str] | None = None
        self.refusal: list[str] | None = None
        self.reasoning_content: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.tools: dict[int, _ToolState] = {}
        self.tool_ids: dict[str, _ToolState] = {}
        self.last_tool: _ToolState | None = None
        self.function_call: _ToolState | None = None
        self.lp_content: list[Any] | None = None
        self.lp_refusal: list[Any] | None = None
        self.lp_extra: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.parts: list[Any] = []
        self.delta_extra: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.usage: Mapping[str, Any] | None = None

    def build(self, keep_usage: bool) -> Choice:
        extensions = _copy(self.delta_extra) if self.delta_extra else {}
        if self.parts:
            extensions["content_parts"] = _copy(self.parts)
        fc = self.function_call
        message = Message(
            role=self.role or "assistant",
            content=_joined(self.content),
            refusal=_joined(self.refusal),
            tool_calls=[self.tools[k].build() for k in sorted(self.tools)] or None,
            function_call=None if fc is None else fc.function(),
            reasoning_content=_joined(self.reasoning_content),
            reasoning=_joined(self.reasoning),
            extensions=extensions,
        )
        logprobs = None
        if self.lp_content is not None or self.lp_refusal is not None or self.lp_extra:
            logprobs = Logprobs(
                content=None if self.lp_content is None else list(self.lp_content),
                refusal=None if self.lp_refusal is None else list(self.lp_refusal),
                extensions=_copy(self.lp_extra) if self.lp_extra else {},
            )
        choice_extra = _copy(self.extra) if self.extra else {}
        if keep_usage and self.usage is not None:
            choice_extra["usage"] = _copy(self.usage)
        return Choice(
            index=self.index,
            message=message,
            finish_reason=self.finish_reason,
            logprobs=logprobs,
            extensions=choice_extra,
        )


def _usage(data: Mapping[str, Any]) -> Usage:
    get = data.get
    return Usage(
        prompt_tokens=get("prompt_tokens"),
        completion_tokens=get("completion_tokens"),
        total_tokens=get("total_tokens"),
        prompt_tokens_details=_copy(get("prompt_tokens_details")),
        completion_tokens_details=_copy(get("completion_tokens_details")),
        extensions={k: _copy(v) for k, v in data.items() if k not in _USAGE_FIELDS},
    )


class Aggregator:
    """Fold ``chat.completion.chunk`` objects into one ``ChatCompletionResponse``.

    Sans-IO: give it chunks with ``feed()`` (dicts) or SSE events with ``feed_event()``, read
    ``snapshot()`` at any time and ``result()`` at the end. ``text_keys`` names the keys whose
    strings concatenate inside provider extensions (see ``DEFAULT_TEXT_KEYS``).
    """

    def __init__(self, *, text_keys: Iterable[str] = DEFAULT_TEXT_KEYS) -> None:
        self._text_keys = frozenset(text_keys)
        self._id = ""
        self._created: int = 0
        self._model: str | None = None
        self._system_fingerprint: str | None = None
        self._service_tier: str | None = None
        self._prompt_logprobs: Any = None
        self._usage: Mapping[str, Any] | None = None
        self._extra: str | None = None
        self._other: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceState] = {}
        self._done = False
        self._error: Any = None
        self._errored = False

    # -- public API -----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once ``[DONE]`` has been fed: the stream has ended normally."""
        return self._done

    @property
    def complete(self) -> bool:
        """True when ``result()`` would succeed: ``[DONE]`` arrived, or every choice finished."""
        if self._errored:
            return False
        if self._done:
            return True
        choices = self._choices
        return bool(choices) and all(c.finish_reason for c in choices.values())

    def feed(self, chunk: Mapping[str, Any]) -> list[Delta]:
        """Fold one chunk and return what it added, as typed deltas.

        Raises ``UpstreamError`` after folding a chunk that carries a top-level ``error``, and
        ``MalformedChunkError`` when the chunk is not an object or a field has an impossible type.
        """
        out: list[Delta] = []
        self._fold(chunk, out)
        return out

    def feed_event(self, event: Any) -> list[Delta]:
        """Fold one SSE event (anything with ``event`` and ``data`` attributes).

        ``data: [DONE]`` ends the stream; events with empty data (keep-alives) and events after
        ``[DONE]`` are skipped; an event named ``error`` raises ``UpstreamError``.
        """
        out: list[Delta] = []
        self._feed_data(event.event, event.data, out)
        return out

    def feed_done(self) -> None:
        """Mark the end of the stream, as ``data: [DONE]`` does (for example after folding a
        whole non-streaming body). Later chunks and events are ignored by ``feed_event``."""
        self._done = True

    def snapshot(self) -> ChatCompletionResponse:
        """The response folded so far (a new object each call)."""
        choices = self._choices
        usage_data = self._usage
        keep_choice_usage = True
        if usage_data is None:
            groq = self._other.get("x_groq")
            if isinstance(groq, dict) and isinstance(groq.get("usage"), dict):
                usage_data = groq["usage"]
        if usage_data is None:
            for index in sorted(choices):
                if choices[index].usage is not None:
                    usage_data = choices[index].usage
                    keep_choice_usage = False
                    break
        return ChatCompletionResponse(
            id=self._id,
            created=self._created,
            model=self._model,
            system_fingerprint=self._system_fingerprint,
            service_tier=self._service_tier,
            choices=[choices[i].build(keep_choice_usage) for i in sorted(choices)],
            usage=None if usage_data is None else _usage(usage_data),
            prompt_logprobs=_copy(self._prompt_logprobs),
            extra=self._extra,
            extensions=_copy(self._other),
        )

    def result(self) -> ChatCompletionResponse:
        """The final response.

        Raises ``IncompleteStreamError`` (with ``.partial``) unless ``[DONE]`` arrived or every
        choice has a finish reason, and ``UpstreamError`` if the stream carried an error.
        """
        if self._errored:
            raise self._upstream_error()
        if not self.complete:
            unfinished = sorted(i for i, c in self._choices.items() if not c.finish_reason)
            detail = (
                f"choices {unfinished} have no finish_reason"
                if unfinished
                else "no choice was received"
            )
            raise IncompleteStreamError(
                f"the stream ended before [DONE] and {detail}", partial=self.snapshot()
            )
        return self.snapshot()

    # -- events ---------------------------------------------------------------------------

    def _feed_data(self, event: str, data: str, out: list[Delta] | None) -> bool:
        """Fold the data of one event; True once the stream has ended."""
        if self._done:
            return True
        if event != "message":
            if event == "error":
                self._raise_event_error(data)
            if event:
                return False  # not a chunk (for example a named ``ping`` event)
        if not data:
            return False  # a keep-alive
        try:
            chunk = _decode_json(data)
        except ValueError:
            if data.strip() == _DONE:
                self._done = True
                return True
            raise MalformedChunkError(
                f"event data is not JSON: {data[:80]!r}", raw=data, partial=self.snapshot()
            ) from None
        self._fold(chunk, out)
        return False

    def _raise_event_error(self, data: str) -> None:
        try:
            payload: Any = _decode_json(data)
        except ValueError:
            payload = data
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            # Fold what the payload carried besides the error, then stop.
            rest = {k: v for k, v in payload.items() if k != "error"}
            if rest:
                self._fold(rest, out=None)
        else:
            error = payload
        self._error = error
        self._errored = True
        raise self._upstream_error()

    def _upstream_error(self) -> UpstreamError:
        error = self._error
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = str(error)
        return UpstreamError(
            f"the server sent an error: {message}", error=error, partial=self.snapshot()
        )

    def _malformed(self, what: str, raw: Any) -> MalformedChunkError:
        return MalformedChunkError(what, raw=raw, partial=self.snapshot())

    # -- the fold (the hot path) ----------------------------------------------------------
    #
    # Keys every chunk carries are read with direct lookups; the loop over all keys
    # (``_fold_rare``) runs only for a chunk that has a key outside that common set.

    def _fold(self, chunk: Any, out: list[Delta] | None) -> None:
        if chunk.__class__ is not dict:
            chunk = self._as_mapping(chunk)
        try:
            self._fold_chunk(chunk, out)
        except (AttributeError, TypeError, KeyError) as exc:
            # A container where a value belongs, or the reverse: report it, keep the partial.
            raise self._malformed(f"malformed chunk: {exc}", chunk) from None
        if self._errored:
            raise self._upstream_error()

    def _as_mapping(self, chunk: Any) -> Mapping[str, Any]:
        if isinstance(chunk, Mapping):
            return chunk
        if hasattr(chunk, "model_dump"):
            # A pydantic chunk, such as the openai SDK's ChatCompletionChunk.
            dumped: Mapping[str, Any] = chunk.model_dump(exclude_unset=True)
            return dumped
        raise self._malformed(f"a chunk must be a JSON object, not {type(chunk).__name__}", chunk)

    def _fold_chunk(self, chunk: Mapping[str, Any], out: list[Delta] | None) -> None:
        get = chunk.get
        if not self._id:
            value = get("id")
            if value:
                if value.__class__ is not str:
                    raise self._malformed("id must be a string", chunk)
                self._id = value
        if not self._created:
            value = get("created")
            if value:
                if value.__class__ is not int:
                    raise self._malformed("created must be an integer", chunk)
                self._created = value
        if self._model is None:
            value = get("model")
            if value:
                if value.__class__ is not str:
                    raise self._malformed("model must be a string", chunk)
                self._model = value
        value = get("system_fingerprint")
        if value:
            if value.__class__ is not str:
                raise self._malformed("system_fingerprint must be a string", chunk)
            self._system_fingerprint = value
        value = get("usage")
        if value is not None:
            self._fold_usage(value, chunk, out)
        choices = get("choices")
        if choices:
            if choices.__class__ is not list:
                raise self._malformed("choices must be a list", chunk)
            for choice in choices:
                self._fold_choice(choice, out)
        if not _COMMON_TOP.issuperset(chunk):
            self._fold_rare(chunk)

    def _fold_rare(self, chunk: Mapping[str, Any]) -> None:
        for key, value in chunk.items():
            if value is None or key in _COMMON_TOP or key == "obfuscation":
                continue  # obfuscation: random padding that only hides the length of chunks
            if key == "service_tier":
                if value:
                    if value.__class__ is not str:
                        raise self._malformed("service_tier must be a string", chunk)
                    self._service_tier = value
            elif key == "prompt_logprobs":
                if value:
                    if value.__class__ is not list:
                        raise self._malformed("prompt_logprobs must be a list", chunk)
                    self._prompt_logprobs = value
            elif key == "extra":
                if value and value != "{}":
                    self._extra = value if value.__class__ is str else json.dumps(value)
            elif key == "error":
                # Everything else in this chunk is folded first (OpenRouter sends usage with it).
                self._error = value
                self._errored = True
            else:
                other = self._other
                old = other.get(key)
                if old.__class__ is dict and isinstance(value, Mapping):
                    old.update({k: _copy(v) for k, v in value.items() if v is not None})
                else:
                    other[key] = _copy(value)

    def _fold_usage(self, value: Any, chunk: Any, out: list[Delta] | None) -> None:
        if not isinstance(value, Mapping):
            raise self._malformed("usage must be an object", chunk)
        for name in _USAGE_INT_KEYS:
            n = value.get(name)
            if n is not None and n.__class__ is not int:
                raise self._malformed(f"usage.{name} must be an integer", chunk)
        for name in _USAGE_DETAIL_KEYS:
            d = value.get(name)
            if d is not None and not isinstance(d, Mapping):
                raise self._malformed(f"usage.{name} must be an object", chunk)
        self._usage = value
        if out is not None:
            out.append(UsageDelta(_usage(value)))

    def _fold_choice(self, choice: Any, out: list[Delta] | None) -> None:
        get = choice.get
        index = get("index")
        if index is None:
            index = 0
        state = self._choices.get(index)
        if state is None:
            if index.__class__ is not int:
                raise self._malformed("a choice index must be an integer", choice)
            state = self._choices[index] = _ChoiceState(index)
        value = get("delta")
        if value:
            self._fold_delta(state, value, out)
        value = get("finish_reason")
        if value:
            if value.__class__ is not str:
                raise self._malformed("finish_reason must be a string", choice)
            state.finish_reason = value
            if out is not None:
                out.append(FinishDelta(index, value))
        value = get("logprobs")
        if value:
            self._fold_logprobs(state, value)
        if not _COMMON_CHOICE.issuperset(choice):
            for key, value in choice.items():
                if value is None or key in _COMMON_CHOICE:
                    continue
                if key == "message":
                    # What a non-streaming body (or a server that ignored ``stream: true``)
                    # sends: it folds like one big delta.
                    self._fold_delta(state, value, out)
                elif key == "usage":
                    state.usage = value
                else:
                    extra = state.extra
                    extra[key] = _merge(extra.get(key), value, key, self._text_keys)

    def _fold_delta(
        self, state: _ChoiceState, delta: Mapping[str, Any], out: list[Delta] | None
    ) -> None:
        for key, value in delta.items():
            if value is None:
                continue
            if key == "content":
                if value.__class__ is str:
                    parts = state.content
                    if parts is None:
                        state.content = [value]
                    else:
                        parts.append(value)
                    if out is not None and value:
                        out.append(ContentDelta(state.index, value))
                elif value.__class__ is list:
                    self._fold_parts(state, value, out)
                else:
                    raise self._malformed("content must be a string or a list of parts", delta)
            elif key == "role":
                if value and not state.role:
                    if value.__class__ is not str:
                        raise self._malformed("role must be a string", delta)
                    state.role = value
            elif key == "tool_calls":
                if value.__class__ is not list:
                    raise self._malformed("tool_calls must be a list", delta)
                for entry in value:
                    self._tool_call(state, entry, out)
            elif key in _OTHER_TEXT_FIELDS:
                self._add_text(state, key, value, delta, out)
            elif key == "function_call":
                call = state.function_call
                if call is None:
                    call = state.function_call = _ToolState(state.index, None)
                self._fold_function(call, value, out)
            elif key in _STREAMING_ONLY:
                pass
            else:
                extra = state.delta_extra
                extra[key] = _merge(extra.get(key), value, key, self._text_keys)

    def _add_text(
        self, state: _ChoiceState, key: str, text: Any, where: Any, out: list[Delta] | None
    ) -> None:
        """Extend the text field ``key`` (None until a string arrives) and report the delta.

        ``content`` takes this path only from content parts; a plain content string is handled
        inline in ``_fold_delta``, the hottest path of all."""
        if text.__class__ is not str:
            raise self._malformed(f"{key} must be a string", where)
        parts = getattr(state, key)
        if parts is None:
            setattr(state, key, [text])
        else:
            parts.append(text)
        if out is not None and text:
            index = state.index
            if key == "content":
                out.append(ContentDelta(index, text))
            elif key == "refusal":
                out.append(RefusalDelta(index, text))
            else:
                out.append(ReasoningDelta(index, text, key))

    def _fold_parts(self, state: _ChoiceState, parts: list[Any], out: list[Delta] | None) -> None:
        """Content sent as typed parts (Mistral): ``text`` parts extend content, ``thinking``
        parts extend ``reasoning``; other parts are kept in ``extensions["content_parts"]``."""
        for part in parts:
            kind = part.get("type")
            if kind == "text" and part.get("text").__class__ is str:
                self._add_text(state, "content", part["text"], part, out)
            elif kind == "thinking":
                thinking: Any = part.get("thinking")
                pieces = [thinking] if thinking.__class__ is str else thinking
                for piece in pieces or ():
                    thought = piece.get("text") if isinstance(piece, dict) else piece
                    self._add_text(state, "reasoning", thought, part, out)
            else:
                state.parts.append(_copy(part))

    def _tool_call(self, state: _ChoiceState, entry: Any, out: list[Delta] | None) -> None:
        """Fold one tool-call fragment.

        With an integer ``index`` (the OpenAI way; indices may be sparse, a chunk may carry
        several fragments, even two for one index) the fragment belongs to that call. Without
        one (Mistral sends whole calls with no ``index``): a known id picks its call; a new
        non-empty id or function name starts a new call; anything else continues the most
        recently started call.
        """
        get = entry.get
        key = get("index")
        call_id = get("id")
        function = get("function")
        kind = get("type")
        # Any key besides these four (or one of them null) sends the entry through the loop.
        slow = len(entry) > (
            (key is not None) + (call_id is not None) + (function is not None) + (kind is not None)
        )
        tools = state.tools
        if key.__class__ is int:
            call = tools.get(key)
        else:
            call = state.tool_ids.get(call_id) if call_id else None
            if call is None and not call_id and not (function and function.get("name")):
                call = state.last_tool
            if call is None:
                key = max(tools) + 1 if tools else 0
        if call is None:
            call = tools[key] = _ToolState(state.index, key)
            state.last_tool = call
            if out is not None:
                name = function.get("name") if function else None
                out.append(ToolCallStart(state.index, key, call_id or None, name or None))
        if call_id and not call.id:
            if call_id.__class__ is not str:
                raise self._malformed("a tool call id must be a string", entry)
            call.id = call_id
            state.tool_ids[call_id] = call
        if kind and not call.type:
            if kind.__class__ is not str:
                raise self._malformed("a tool call type must be a string", entry)
            call.type = kind
        if function:
            self._fold_function(call, function, out)
        if slow:
            extra = call.extra
            for k, v in entry.items():
                if v is not None and k not in _TOOL_KEYS:
                    extra[k] = _merge(extra.get(k), v, k, self._text_keys)

    def _fold_function(
        self, call: _ToolState, function: Mapping[str, Any], out: list[Delta] | None
    ) -> None:
        get = function.get
        arguments = get("arguments")
        if arguments is not None:
            if arguments.__class__ is not str:
                # Some servers send arguments as an object: keep it as JSON text.
                arguments = json.dumps(arguments)
            if arguments:
                call.arguments.append(arguments)
                if out is not None and call.key is not None:
                    out.append(ToolCallArgumentsDelta(call.choice, call.key, arguments))
        name = get("name")
        if name and not call.name:
            if name.__class__ is not str:
                raise self._malformed("a function name must be a string", function)
            call.name = name
        if len(function) > (arguments is not None) + (name is not None):
            extra = call.function_extra
            for k, v in function.items():
                if v is not None and k not in _FUNCTION_KEYS:
                    extra[k] = _merge(extra.get(k), v, k, self._text_keys)

    def _fold_logprobs(self, state: _ChoiceState, logprobs: Mapping[str, Any]) -> None:
        for k, v in logprobs.items():
            if v is None:
                continue
            if k in {"content", "refusal"}:
                if v.__class__ is not list:
                    raise self._malformed(f"logprobs.{k} must be a list", logprobs)
                if k == "content":
                    state.lp_content = _extend(state.lp_content, v)
                else:
                    state.lp_refusal = _extend(state.lp_refusal, v)
            else:
                state.lp_extra[k] = _merge(state.lp_extra.get(k), v, k, self._text_keys)


def fold(chunks: Iterable[Any]) -> ChatCompletionResponse:
    """Fold chunk dicts (or pydantic chunks with ``model_dump()``) into the final response.

    Without a ``[DONE]`` marker the chunks are complete when every choice has a finish reason;
    otherwise ``IncompleteStreamError`` is raised with the partial response.
    """
    aggregator = Aggregator()
    for chunk in chunks:
        aggregator._fold(chunk, None)
    return aggregator.result()
