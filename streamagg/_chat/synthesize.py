"""A realistic chat-completion stream for a response: the ``chat.completion.chunk`` objects a
server sends for it (text and tool-call arguments in pieces, choices interleaved, finish reasons,
a usage chunk last), which fold back to the response."""

from __future__ import annotations

import binascii
import itertools
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any

from .._core.convert import converter
from .._core.framing import cut, sse_event
from .api import from_dict
from .models import Audio, ChatCompletionResponse, Choice, FunctionCall, Logprobs, Message

__all__ = ["synthesize", "synthesize_chunks"]

_TEXT_FIELDS = ("reasoning_content", "reasoning", "refusal", "content")


def _function_fragments(function: FunctionCall, size: int) -> list[dict[str, Any]]:
    """A function as streamed: name (and extensions) first, then the arguments in pieces."""
    pieces = cut(function.arguments, size) or [""]
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
    transcript = cut(audio.transcript, size)
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
            deltas.extend({key: p} for p in cut(text, size))
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


def synthesize(obj: ChatCompletionResponse, chunk_size: int, include_usage: bool) -> list[bytes]:
    """The stream of ``obj``: a ``data:`` event per chunk (``data: [DONE]`` follows)."""
    chunks = synthesize_chunks(obj, chunk_size=chunk_size, include_usage=include_usage)
    return [sse_event(c) for c in chunks]
