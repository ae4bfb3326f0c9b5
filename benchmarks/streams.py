"""The benchmark's streams: chat-completion event streams generated deterministically, shaped
like OpenAI's own (the same keys, in the same order, compact JSON, one ``data:`` line an event,
a usage chunk before ``[DONE]``).

Each generator returns the stream's bytes. The content is a fixed cycle of words, so two runs
(and two machines) measure the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["GENERATED", "SCALING", "chunk_count", "stream"]

_WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "seven",
    "wizards",
    "quietly",
    "judge",
    "boxing",
    "matches",
    "and",
    "every",
    "sphinx",
    "of",
    "black",
    "quartz",
    "hears",
    "my",
    "vow",
)
_HEAD = {
    "id": "chatcmpl-BENCHaFk3tq9ZQ2mXo8H6vR1",
    "object": "chat.completion.chunk",
    "created": 1735689600,
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "system_fingerprint": "fp_f9f4fb6dbf",
}


def _word(i: int) -> str:
    return " " + _WORDS[i % len(_WORDS)]


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {**_HEAD, "choices": choices, **extra}


def _choice(index: int, delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None, **extra}


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return _chunk(
        [],
        usage={
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    )


def _finish(index: int, reason: str) -> dict[str, Any]:
    return _chunk([{"index": index, "delta": {}, "logprobs": None, "finish_reason": reason}])


def text(n: int) -> Iterator[dict[str, Any]]:
    """A text answer of ``n`` content chunks."""
    yield _chunk([_choice(0, {"role": "assistant", "content": "", "refusal": None})])
    for i in range(n):
        yield _chunk([_choice(0, {"content": _word(i)})])
    yield _finish(0, "stop")
    yield _usage(40, n)


def tool_calls(n: int, calls: int = 8) -> Iterator[dict[str, Any]]:
    """``calls`` parallel tool calls of ``n // calls`` argument fragments each (one call after
    the other, as OpenAI sends them); the arguments of each call are one long JSON object."""
    yield _chunk([_choice(0, {"role": "assistant", "content": None, "refusal": None})])
    per_call = max(2, n // calls)
    for c in range(calls):
        start = {
            "index": c,
            "id": f"call_{c:02d}BENCHq8Xz3LmN0pQ",
            "type": "function",
            "function": {"name": f"lookup_{c}", "arguments": ""},
        }
        yield _chunk([_choice(0, {"tool_calls": [start]})])
        pieces = ['{"query', '":"'] + [_word(i).strip() + " " for i in range(per_call - 3)]
        pieces.append('"}')
        for piece in pieces:
            fragment = {"index": c, "function": {"arguments": piece}}
            yield _chunk([_choice(0, {"tool_calls": [fragment]})])
    yield _finish(0, "tool_calls")
    yield _usage(120, n)


def choices(n: int, count: int = 4) -> Iterator[dict[str, Any]]:
    """``n`` content chunks spread over ``count`` choices (``n=4``): one choice a chunk, in
    turn, as OpenAI sends them. The last choice stops for ``length``."""
    for c in range(count):
        yield _chunk([_choice(c, {"role": "assistant", "content": "", "refusal": None})])
    for i in range(n):
        yield _chunk([_choice(i % count, {"content": _word(i // count + i % count)})])
    for c in range(count):
        yield _finish(c, "length" if c == count - 1 else "stop")
    yield _usage(40, n)


def logprobs(n: int) -> Iterator[dict[str, Any]]:
    """``n`` content chunks, each with its token's logprob and two top logprobs."""
    yield _chunk([_choice(0, {"role": "assistant", "content": "", "refusal": None})])
    for i in range(n):
        word = _word(i)
        alt = _word(i + 3)
        token = {
            "token": word,
            "logprob": -0.0001 * (i % 97),
            "bytes": list(word.encode()),
            "top_logprobs": [
                {"token": word, "logprob": -0.0001 * (i % 97), "bytes": list(word.encode())},
                {"token": alt, "logprob": -9.5 - (i % 13), "bytes": list(alt.encode())},
            ],
        }
        delta = {"content": word}
        yield _chunk([_choice(0, delta, logprobs={"content": [token], "refusal": None})])
    yield _finish(0, "stop")
    yield _usage(40, n)


def reasoning(n: int) -> Iterator[dict[str, Any]]:
    """A reasoning model (DeepSeek's ``reasoning_content``): ``n // 2`` reasoning chunks, then
    ``n // 2`` content chunks."""
    yield _chunk([_choice(0, {"role": "assistant", "content": None, "reasoning_content": ""})])
    half = n // 2
    for i in range(half):
        yield _chunk([_choice(0, {"content": None, "reasoning_content": _word(i)})])
    for i in range(n - half):
        yield _chunk([_choice(0, {"content": _word(i), "reasoning_content": None})])
    yield _finish(0, "stop")
    yield _usage(40, n)


def stream(chunks: Iterator[dict[str, Any]]) -> bytes:
    """The event stream of these chunks, ending in ``[DONE]``."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    parts = [f"data: {dumps(chunk)}\n\n" for chunk in chunks]
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def chunk_count(raw: bytes) -> int:
    """How many chunks (data events other than ``[DONE]``) a generated stream has."""
    return raw.count(b"\n\ndata: {") + raw.startswith(b"data: {")


#: The benchmark's streams: name -> bytes maker.
GENERATED: dict[str, Callable[[], bytes]] = {
    "text 2k": lambda: stream(text(2_000)),
    "tool calls 8x250": lambda: stream(tool_calls(2_000)),
    "n=4 x 500": lambda: stream(choices(2_000)),
    "logprobs 1k": lambda: stream(logprobs(1_000)),
    "reasoning 2k": lambda: stream(reasoning(2_000)),
    "text 50k": lambda: stream(text(50_000)),
}

#: The kinds of stream whose cost is measured against length (the linearity target).
SCALING: dict[str, Callable[[int], bytes]] = {
    "text": lambda n: stream(text(n)),
    "logprobs": lambda n: stream(logprobs(n)),
    "tool arguments": lambda n: stream(tool_calls(n, calls=1)),
}
