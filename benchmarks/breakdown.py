"""Where a chat stream's time goes, stage by stage: ``python benchmarks/breakdown.py [KIND [N]]``.

KIND is one of the generated streams of ``streams.py`` (``text``, ``tool_calls``, ``choices``,
``logprobs``, ``reasoning``; default ``logprobs``), N its chunks (default 1,000).
Each stage is measured as ``run.py`` measures (the best of interleaved runs), in us per chunk
and as a multiple of the orjson floor (of the json floor without orjson):

* ``floor``: the parse alone, each payload decoded and thrown away;
* ``sse``: cutting the stream's 64 KiB reads into events, nothing else;
* ``fold``: the chat fold of the events already cut, then ``to_dict`` of its response;
* ``replay``: ``to_dict(replay(raw))``, the two together (what ``run.py`` reports);
* ``no gc``: the same with the garbage collector off, which tells what collecting the objects
  the response keeps costs (CPython's full collections walk all of them: compare a long
  stream with a short one);
* ``deltas``: the same, with every typed delta made and iterated (no httpx);
* ``stream()``: ``stream()`` over an in-process transport (``run.py``'s column).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
import streams

import streamagg
from streamagg._core import codec as _codec
from streamagg._core.sse import Item, SSEDecoder

KINDS = {
    "text": streams.text,
    "tool_calls": streams.tool_calls,
    "choices": streams.choices,
    "logprobs": streams.logprobs,
    "reasoning": streams.reasoning,
}


def stages(stream: run.Stream, fast: bool) -> dict[str, Any]:
    """The stages' runs, in the order they are printed."""
    raw = stream.raw

    def sse() -> None:
        decoder = SSEDecoder()
        for i in range(0, len(raw), run.READ_SIZE):
            decoder.feed_data(raw[i : i + run.READ_SIZE])

    events: list[Item] = [e for e in SSEDecoder().feed_data(raw) if isinstance(e, str)]

    def fold() -> Any:
        aggregator = streamagg.Aggregator()
        aggregator.receive_events(events, None)
        return streamagg.to_dict(aggregator.result())

    loads: Callable[[str], Any] = json.loads
    if fast:
        import orjson

        loads = orjson.loads
    return {
        "floor": run.floor_run(loads, stream.payloads),
        "sse": sse,
        "fold": fold,
        "replay": run.replay_run(stream, fast),
        "no gc": without_gc(run.replay_run(stream, fast)),
        "deltas": run.deltas_run(stream),
        "stream()": run.stream_run(stream),
    }


def without_gc(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run with the garbage collector off."""

    def collector_off() -> Any:
        gc.disable()
        try:
            return fn()
        finally:
            gc.enable()

    return collector_off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", nargs="?", default="logprobs", choices=KINDS)
    parser.add_argument("chunks", nargs="?", type=int, default=1000)
    args = parser.parse_args(argv)
    kind, size = args.kind, args.chunks
    stream = run.Stream(f"{kind} {size}", streams.stream(KINDS[kind](size)), "chat", True)
    fast = _codec.orjson_available
    _codec.use_orjson(fast)
    gc.collect()
    gc.freeze()
    best = run.best_interleaved(stages(stream, fast), 21)
    floor = best["floor"]
    decoder = "orjson" if fast else "json"
    print(f"{stream.name}: {stream.chunks} chunks, {decoder}; us per chunk, x the {decoder} floor")
    for name, seconds in best.items():
        print(f"  {name:<10}{seconds / stream.chunks * 1e6:8.2f}{seconds / floor:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
