"""Per-item cost from 1,000 to 100,000 items on the paths that were once quadratic.

Run: ``python benchmarks/bench_scaling.py`` (``--quick`` stops at 10,000 items).

* ``tool calls without index``: every chunk carries one whole tool call with no ``index``
  (Mistral's shape), each a new call;
* ``indexed extension list``: every chunk adds an entry with a new ``index`` to a provider list
  (OpenRouter's ``reasoning_details``) and then extends it;
* ``whitespace, 1-byte reads``: leading whitespace delivered one byte per read before the body;
* ``partial JSON, read per delta`` (items are bytes): tool-call arguments (a long string value and
  many keys) fed in 20-byte deltas to ``PartialJSON``, its ``value`` read after every delta.

A linear path shows the same microseconds per item at every size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import streamagg


def tools_without_index(n: int) -> Callable[[], object]:
    chunks = [
        {"choices": [{"delta": {"tool_calls": [{"id": f"c{i}", "function": {"name": "f"}}]}}]}
        for i in range(n)
    ]
    chunks.append({"choices": [{"finish_reason": "tool_calls"}]})
    limits = streamagg.Limits(max_tool_calls=n + 1)
    return lambda: streamagg.fold(chunks, limits=limits)


def indexed_extension(n: int) -> Callable[[], object]:
    chunks = []
    for i in range(n):
        entry = {"index": i, "type": "reasoning.text", "text": "a"}
        chunks.append({"choices": [{"delta": {"reasoning_details": [entry]}}]})
        more = {"index": i, "text": "b"}
        chunks.append({"choices": [{"delta": {"reasoning_details": [more]}}]})
    chunks.append({"choices": [{"finish_reason": "stop"}]})
    return lambda: streamagg.fold(chunks)


def whitespace_reads(n: int) -> Callable[[], object]:
    body = json.dumps({"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]})
    pieces = [b" "] * n + [body.encode()]
    return lambda: streamagg.replay(pieces)


def partial_json(n: int) -> Callable[[], object]:
    half = n // 2
    text = json.dumps({"code": "x" * half, **{f"k{i}": i for i in range(half // 12)}})[:n]
    deltas = [text[i : i + 20] for i in range(0, len(text), 20)]

    def run() -> object:
        parser = streamagg.PartialJSON()
        for delta in deltas:
            parser.feed(delta)
            _ = parser.value
        return parser.value

    return run


CASES = {
    "tool calls without index": tools_without_index,
    "indexed extension list": indexed_extension,
    "whitespace, 1-byte reads": whitespace_reads,
    "partial JSON, read per delta": partial_json,
}


def per_item(make: Callable[[int], Callable[[], object]], n: int) -> float:
    run = make(n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10,000 items")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(f"python {sys.version.split()[0]}, best of 3, microseconds per item")
    print(f"{'path':<28}" + "".join(f"{n:>12,}" for n in sizes) + f"{'growth':>9}")
    for name, make in CASES.items():
        costs = [per_item(make, n) for n in sizes]
        growth = costs[-1] / costs[0]
        print(f"{name:<28}" + "".join(f"{c:>12.2f}" for c in costs) + f"{growth:>8.2f}x")
    if not args.quick:
        kb, mb = per_item(partial_json, 1_000), per_item(partial_json, 1_000_000)
        print(f"{'partial JSON, 1 KB to 1 MB':<28}{kb:>12.3f}{mb:>12.3f}{mb / kb:>20.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
