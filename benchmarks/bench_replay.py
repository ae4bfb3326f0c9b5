"""Microseconds per chunk: ``streamagg.replay`` against the ``json.loads`` floor, and the
overhead of ``streamagg.stream`` over ``replay``.

Run: ``python benchmarks/bench_replay.py`` (``--quick`` for fewer repeats).

For each recorded stream the floor is ``json.loads`` of every chunk's data, pre-extracted: the
least any pure-Python fold must spend. ``replay`` does everything from raw bytes: UTF-8 decoding,
SSE parsing, ``json.loads`` and the fold, then builds the response. The target is ``replay`` at
most 2x the floor. ``replay`` itself decodes with ``json.JSONDecoder().decode``, the decoder
behind ``json.loads`` without its per-call argument checks; the ``decode`` column shows that
stricter floor too, and the ratio against it. ``long-text-20k`` is 20,000 text chunks, to show
that the cost of a chunk does not grow with the length of the response. Rows named
``responses: …``, ``anthropic: …``, ``gemini: …``, ``ollama: …`` and ``completions: …`` are the
other dialects (recordings, and 20,000-delta
synthesized streams), folded by their own ``replay``: the target for them is the same ratio to
the floor.

The second table times ``stream()`` (an ``httpx.Client`` over a ``MockTransport`` that sends the
recording in 512-byte reads), iterating every typed delta and taking ``.response``, against
``replay()`` of the same bytes: the difference is what the HTTP layer and the deltas cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses
from streamagg.testing import synthesize

STREAMS = Path(__file__).resolve().parent.parent / "tests" / "streams"
CASES = {
    "text": "openai-python__plain-content.sse",
    "tool calls": "openai-python__parallel-tool-calls.sse",
    "n=3": "openai-python__n3-choices.sse",
    "logprobs": "openai-python__refusal-logprobs.sse",
    "reasoning (deepseek)": "vercel-ai__deepseek-reasoner-text.sse",
    "responses: reasoning": "responses/pydantic-ai__reasoning-summary-4-parts-then-text.sse",
    "responses: lmstudio": "responses/vercel-ai__lmstudio-function-call.sse",
    "anthropic: web search": "anthropic/llm-anthropic__opus41-web-search-citations.sse",
    "gemini: thoughts": (
        "gemini/pydantic-ai__gemini25-thought-summaries-then-text-with-signature.sse"
    ),
    "ollama: chat": "ollama/dotnet-extensions__llama31-chat-done-reason-length.ndjson",
    "completions: logprobs": (
        "completions/langstream__azure-gpt35-instruct-logprobs-length-then-empty-chunk.sse"
    ),
}
# Each dialect's replay and stream(), by the first word of a case's name.
REPLAY: dict[str, Callable[[bytes], object]] = {
    "responses": responses.replay,
    "anthropic": anthropic.replay,
    "gemini": gemini.replay,
    "ollama": ollama.replay,
    "completions": completions.replay,
}
STREAM: dict[str, Callable[..., Any]] = {
    "responses": responses.stream,
    "anthropic": anthropic.stream,
    "gemini": gemini.stream,
    "ollama": ollama.stream,
    "completions": completions.stream,
}


def dialect_of(name: str) -> str:
    first = name.split(":", maxsplit=1)[0]
    return first if first in REPLAY else "chat"


def long_dialect_stream(dialect: str, chunks: int) -> bytes:
    """A stream of another dialect with ``chunks`` text deltas (synthesized)."""
    text = "".join(f" word{i % 97}" for i in range(chunks))
    size = len(text) // chunks + 1
    if dialect == "responses":
        part = {"type": "output_text", "text": text, "annotations": []}
        item = {"type": "message", "id": "msg", "status": "completed", "role": "assistant"}
        output = [{**item, "content": [part]}]
        obj: Any = responses.from_dict(
            {"id": "resp", "object": "response", "status": "completed", "output": output}
        )
    elif dialect == "anthropic":
        block = {"type": "text", "text": text}
        obj = anthropic.from_dict({"id": "msg", "type": "message", "content": [block]})
    elif dialect == "gemini":
        content = {"role": "model", "parts": [{"text": text}]}
        obj = gemini.from_dict({"candidates": [{"content": content, "finishReason": "STOP"}]})
    elif dialect == "ollama":
        message = {"role": "assistant", "content": text}
        obj = ollama.from_dict({"model": "m", "message": message, "done": True})
    else:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
        head = {"id": "cmpl-bench", "object": "text_completion", "created": 1, "model": "m"}
        obj = completions.from_dict({**head, "choices": [choice]})
    return synthesize(obj, chunk_size=size)


def long_text_stream(chunks: int) -> bytes:
    """A realistic OpenAI-shaped text stream with ``chunks`` content chunks."""
    head = (
        '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1727346168,'
        '"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,'
    )
    lines = [
        f'data: {head}"delta":{{"role":"assistant","content":""}},"logprobs":null,'
        '"finish_reason":null}]}\n\n'
    ]
    lines.extend(
        f'data: {head}"delta":{{"content":" word{i % 97}"}},"logprobs":null,'
        '"finish_reason":null}]}\n\n'
        for i in range(chunks)
    )
    lines.append(f'data: {head}"delta":{{}},"logprobs":null,"finish_reason":"stop"}}]}}\n\n')
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def payloads(raw: bytes) -> list[str]:
    """The JSON payloads of a stream: its events' data, or its JSON lines (Ollama)."""
    if raw.lstrip()[:1] == b"{":
        return [line for line in raw.decode().split("\n") if line.strip()]
    return [e.data for e in streamagg.parse_sse(raw) if e.data and e.data != "[DONE]"]


def best_of(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Best wall time of one call, in seconds (the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def measure(raw: bytes, repeat: int, dialect: str) -> tuple[int, float, float, float]:
    """(chunks, json.loads us/chunk, JSONDecoder.decode us/chunk, replay us/chunk)."""
    datas = payloads(raw)
    loads = json.loads
    decode = json.JSONDecoder().decode
    number = max(1, 20_000 // len(datas))

    def floor() -> None:
        for d in datas:
            loads(d)

    def decode_floor() -> None:
        for d in datas:
            decode(d)

    replay = REPLAY.get(dialect, streamagg.replay)

    def run() -> None:
        replay(raw)

    t_floor = best_of(floor, repeat, number)
    t_decode = best_of(decode_floor, repeat, number)
    t_replay = best_of(run, repeat, number)
    n = len(datas)
    return n, t_floor / n * 1e6, t_decode / n * 1e6, t_replay / n * 1e6


class _Reads(httpx.SyncByteStream):
    def __init__(self, body: bytes, size: int = 512) -> None:
        self.body, self.size = body, size

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.body), self.size):
            yield self.body[i : i + self.size]


def measure_stream(raw: bytes, repeat: int, dialect: str) -> tuple[int, float, float]:
    """(chunks, replay us/chunk, stream us/chunk)."""
    replay = REPLAY.get(dialect, streamagg.replay)
    open_stream = STREAM.get(dialect, streamagg.stream)
    n = len(payloads(raw))
    headers = {"content-type": "text/event-stream"}
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers=headers, stream=_Reads(raw))
    )
    number = max(1, 20_000 // n)
    with httpx.Client(transport=transport) as client:

        def run_stream() -> None:
            with open_stream(client, "POST", "http://bench/v1/") as s:
                for _ in s:
                    pass
                s.response  # noqa: B018 - the folded response is part of the work

        t_stream = best_of(run_stream, repeat, number)
    t_replay = best_of(lambda: replay(raw), repeat, number)
    return n, t_replay / n * 1e6, t_stream / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    cases = {name: (STREAMS / file).read_bytes() for name, file in CASES.items()}
    cases["long-text-20k"] = long_text_stream(20_000)
    for dialect in REPLAY:
        cases[f"{dialect}: text-20k"] = long_dialect_stream(dialect, 20_000)
    print(f"python {sys.version.split()[0]}, best of {repeat}")
    print(
        f"{'stream':<24}{'chunks':>7}{'json.loads':>12}{'decode':>9}{'replay':>9}"
        f"{'ratio':>8}{'vs decode':>11}"
    )
    print(f"{'':<24}{'':>7}{'us/chunk':>12}{'us/chunk':>9}{'us/chunk':>9}")
    ratios = []
    for name, raw in cases.items():
        n, floor, dec, rep = measure(raw, repeat, dialect_of(name))
        ratios.append(rep / floor)
        print(
            f"{name:<24}{n:>7}{floor:>12.2f}{dec:>9.2f}{rep:>9.2f}"
            f"{rep / floor:>7.2f}x{rep / dec:>10.2f}x"
        )
    print(f"worst ratio to json.loads {max(ratios):.2f}x (target: at most 2.00x)")
    print()
    print(f"{'stream':<24}{'chunks':>7}{'replay':>10}{'stream()':>10}{'overhead':>10}")
    print(f"{'':<24}{'':>7}{'us/chunk':>10}{'us/chunk':>10}{'us/chunk':>10}")
    for name, raw in cases.items():
        n, rep, stm = measure_stream(raw, repeat, dialect_of(name))
        print(f"{name:<24}{n:>7}{rep:>10.2f}{stm:>10.2f}{stm - rep:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
