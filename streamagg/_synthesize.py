"""``synthesize()``: the realistic chunk stream, as SSE bytes, that folds to a given response."""

from __future__ import annotations

import binascii
import itertools
import json
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any, TypeAlias

from ._anthropic_models import Message as AnthropicMessage
from ._completions_models import Completion
from ._convert import converter, from_dict
from ._gemini_models import GenerateContentResponse
from ._models import Audio, ChatCompletionResponse, Choice, FunctionCall, Logprobs, Message
from ._ollama_models import OllamaResponse
from ._recording import timing_line
from ._responses_models import Response
from ._synthesize_dialects import (
    anthropic_events,
    completion_chunks,
    gemini_chunks,
    ollama_lines,
    responses_events,
)

__all__ = ["synthesize", "synthesize_chunks"]

_TEXT_FIELDS = ("reasoning_content", "reasoning", "refusal", "content")


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _function_fragments(function: FunctionCall, size: int) -> list[dict[str, Any]]:
    """A function as streamed: name (and extensions) first, then the arguments in pieces."""
    pieces = _pieces(function.arguments, size) or [""]
    first = {"name": function.name, "arguments": pieces[0], **function.extensions}
    return [first, *({"arguments": p} for p in pieces[1:])]


def _audio_fragments(audio: Audio, size: int) -> list[dict[str, Any]]:
    """Audio as streamed: id and extensions first, then the transcript in pieces and the data
    as separately encoded base64 pieces (a piece of 3 * ``size`` bytes each)."""
    try:
        data = b64decode(audio.data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"audio data must be base64, not {audio.data[:20]!r}") from None
    step = 3 * size
    clips = [b64encode(data[i : i + step]).decode("ascii") for i in range(0, len(data), step)]
    transcript = _pieces(audio.transcript, size)
    first: dict[str, Any] = {"id": audio.id, **audio.extensions}
    if audio.expires_at is not None:
        first["expires_at"] = audio.expires_at
    fragments = [first]
    for text, clip in itertools.zip_longest(transcript, clips):
        fragment = {}
        if text is not None:
            fragment["transcript"] = text
        if clip is not None:
            fragment["data"] = clip
        fragments.append(fragment)
    if len(fragments) == 1:
        first.update(transcript="", data="")
    return fragments


def _choice_entries(choice: Choice, size: int) -> list[dict[str, Any]]:
    """The ``choices`` entries (one per chunk) that stream one choice, in a realistic order:
    the role, reasoning, refusal and content in pieces, tool calls, then the finish."""
    message: Message = choice.message
    first: dict[str, Any] = {"role": message.role, **message.extensions}
    deltas: list[dict[str, Any]] = [first]
    for key in _TEXT_FIELDS:
        text = getattr(message, key)
        if text is not None:
            first[key] = ""  # as OpenAI does: the field appears empty with the role
            deltas.extend({key: p} for p in _pieces(text, size))
    if message.audio is not None:
        deltas.extend({"audio": a} for a in _audio_fragments(message.audio, size))
    if message.function_call is not None:
        deltas.extend(
            {"function_call": f} for f in _function_fragments(message.function_call, size)
        )
    for index, call in enumerate(message.tool_calls or []):
        fragments = _function_fragments(call.function, size)
        head = {"index": index, "id": call.id, "type": call.type, **call.extensions}
        deltas.append({"tool_calls": [{**head, "function": fragments[0]}]})
        deltas.extend({"tool_calls": [{"index": index, "function": f}]} for f in fragments[1:])
    entries: list[dict[str, Any]] = [{"delta": d} for d in deltas]
    if choice.logprobs is not None:
        _spread_logprobs(entries, choice.logprobs)
    if choice.finish_reason is not None or choice.extensions:
        entries.append({"delta": {}, "finish_reason": choice.finish_reason, **choice.extensions})
    for entry in entries:
        entry["index"] = choice.index
        entry.setdefault("logprobs", None)
        entry.setdefault("finish_reason", None)
    return entries


def _spread_logprobs(entries: list[dict[str, Any]], logprobs: Logprobs) -> None:
    """Spread each token list over the entries, a few tokens each (the first entry always
    carries the list, even empty, and the extensions)."""
    first: dict[str, Any] = {**logprobs.extensions}
    entries[0]["logprobs"] = first
    for key in ("content", "refusal"):
        tokens = getattr(logprobs, key)
        if tokens is None:
            continue
        per = -(-len(tokens) // len(entries)) or 1
        first[key] = tokens[:per]
        for n, entry in enumerate(entries[1:], 1):
            part = tokens[n * per : (n + 1) * per]
            if part:
                entry.setdefault("logprobs", {})[key] = part


def synthesize_chunks(
    response: ChatCompletionResponse | Mapping[str, Any],
    *,
    chunk_size: int = 4,
    include_usage: bool = True,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` dicts of a realistic stream that folds to ``response``.

    Text and tool-call arguments are cut into ``chunk_size`` characters; choices interleave
    (``n > 1``); each choice ends with its finish chunk; a usage-only chunk (``choices: []``)
    comes last when ``include_usage`` and the response has usage.
    """
    if not isinstance(response, ChatCompletionResponse):
        response = from_dict(response)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    head: dict[str, Any] = {
        "id": response.id,
        "object": "chat.completion.chunk",
        "created": response.created,
        "model": response.model,
    }
    for key in ("system_fingerprint", "service_tier"):
        if getattr(response, key) is not None:
            head[key] = getattr(response, key)
    per_choice = [_choice_entries(c, chunk_size) for c in response.choices]
    chunks = [
        {**head, "choices": [entry]}
        for row in itertools.zip_longest(*per_choice)
        for entry in row
        if entry is not None
    ]
    if not chunks:
        chunks.append({**head, "choices": []})
    first, last = chunks[0], chunks[-1]
    first.update(response.extensions)
    if response.prompt_logprobs is not None:
        first["prompt_logprobs"] = response.prompt_logprobs
    if response.extra is not None:
        last["extra"] = response.extra
    if include_usage and response.usage is not None:
        chunks.append({**head, "choices": [], "usage": converter.unstructure(response.usage)})
    return chunks


#: Anything ``synthesize`` streams: a final object of any dialect (or a chat response's dict).
Synthesizable: TypeAlias = (
    ChatCompletionResponse
    | Response
    | AnthropicMessage
    | GenerateContentResponse
    | OllamaResponse
    | Completion
    | Mapping[str, Any]
)


def synthesize(
    response: Synthesizable,
    *,
    chunk_size: int = 4,
    include_usage: bool = True,
    interval: float | None = None,
) -> bytes:
    """A realistic stream (bytes) for a final object, in its API's own dialect and framing.

    A ``ChatCompletionResponse`` (or its dict) gives ``chat.completion.chunk`` events ending in
    ``data: [DONE]``; a Responses API ``Response`` the ``response.*`` events; an Anthropic
    ``Message`` ``message_start`` … ``message_stop``; a Gemini ``GenerateContentResponse`` its
    chunks (CRLF-framed, as Gemini sends them); an ``OllamaResponse`` JSON lines; a legacy
    ``Completion`` its chunks and ``[DONE]``. ``replay(synthesize(r)) == r`` with the dialect's
    ``replay``. With ``interval``, each event is preceded by a timing line (``: t=...``),
    ``interval`` seconds apart, so ``ReplayTransport(timing=True)`` paces it (not for Ollama's
    JSON lines, which have no comments: ``ValueError``).
    """
    if isinstance(response, OllamaResponse):
        if interval is not None:
            raise ValueError("JSON lines have no timing lines: use interval=None for Ollama")
        lines = ollama_lines(response, chunk_size)
        return b"".join(_compact(line) + b"\n" for line in lines)
    if isinstance(response, (Response, AnthropicMessage)):
        typed = (
            responses_events(response, chunk_size)
            if isinstance(response, Response)
            else anthropic_events(response, chunk_size)
        )
        events = [b"event: " + e["type"].encode() + b"\n" + _data(e) for e in typed]
    elif isinstance(response, GenerateContentResponse):
        events = [_data(c, b"\r\n\r\n") for c in gemini_chunks(response, chunk_size)]
    elif isinstance(response, Completion):
        events = [_data(c) for c in completion_chunks(response, chunk_size)]
        events.append(b"data: [DONE]\n\n")
    else:
        chunks = synthesize_chunks(response, chunk_size=chunk_size, include_usage=include_usage)
        events = [_data(c) for c in chunks]
        events.append(b"data: [DONE]\n\n")
    if interval is None:
        return b"".join(events)
    return b"".join(timing_line(n * interval) + e for n, e in enumerate(events, 1))


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _data(event: Any, end: bytes = b"\n\n") -> bytes:
    return b"data: " + _compact(event) + end
