"""Instructions per event of ``replay``, counted by callgrind.

``python benchmarks/instructions.py [--events N] [--only TEXT] [--json FILE] [--compare FILE]``.
Seconds on a shared machine move by 10-50% from run to run; instruction counts do not (the same
binary, input and environment give the same count, whatever else the machine does). This is the
yardstick for changes that must not slow the fold: a refactoring's counts stay within a few per
cent of the commit before it.

Each stream is replayed in a child process under ``valgrind --tool=callgrind``, once with the
setup alone (imports, reading every stream, one warm-up replay of each) and once with the setup
plus enough replays of that stream to fold ``--events`` events (at least one replay); the
difference, divided by the replays and the stream's events, is the count per event. Many events
make the difference large against what varies between two processes (a few million
instructions), so that a short recording is measured as exactly as a long stream.

The streams: the generated chat streams of ``streams.py`` (each kind at 2,000 events) and every
recording under ``tests/streams/``, each folded by its dialect's ``replay``. ``--json FILE``
writes the counts; ``--compare FILE`` prints each stream's change against counts written before
and exits 1 when one grew by more than ``--tolerance`` (default 3%).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECORDINGS = ROOT / "tests" / "streams"
GENERATED = ("text", "tool_calls", "choices", "logprobs", "reasoning")
GENERATED_EVENTS = 2_000
_COLLECTED = re.compile(rb"Collected : (\d+)")


def _streams() -> dict[str, tuple[str, bytes]]:
    """Every stream measured, by name: ``(dialect, raw bytes)``."""
    sys.path.insert(0, str(HERE))
    import streams

    found: dict[str, tuple[str, bytes]] = {}
    for kind in GENERATED:
        make: Callable[[int], Any] = getattr(streams, kind)
        found[f"generated/{kind}"] = ("chat", streams.stream(make(GENERATED_EVENTS)))
    for path in sorted(RECORDINGS.rglob("*")):
        if path.suffix in {".sse", ".ndjson"}:
            dialect = path.parent.name if path.parent != RECORDINGS else "chat"
            found[str(path.relative_to(RECORDINGS))] = (dialect, path.read_bytes())
    return found


def _replay(dialect: str) -> Callable[[bytes], Any]:
    import streamagg

    if dialect == "chat":
        return streamagg.replay
    module = __import__(f"streamagg.{dialect}", fromlist=["replay"])
    replay: Callable[[bytes], Any] = module.replay
    return replay


def _fold_quietly(replay: Callable[[bytes], Any], raw: bytes) -> None:
    try:
        replay(raw)
    except Exception:
        return


def child(name: str, reps: int) -> None:
    """The measured process: the setup, then ``reps`` replays of ``name``."""
    found = _streams()
    folds = {key: _replay(dialect) for key, (dialect, _) in found.items()}
    for key, (_, raw) in found.items():
        _fold_quietly(folds[key], raw)
    replay, raw = folds[name], found[name][1]
    for _ in range(reps):
        _fold_quietly(replay, raw)


def events_of(dialect: str, raw: bytes) -> int:
    """The stream's events: its blank-line-ended SSE events, or its JSON lines."""
    if dialect == "ollama":
        return sum(1 for line in raw.splitlines() if line.strip())
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return sum(1 for block in text.split(b"\n\n") if b"data:" in block)


def count(name: str, reps: int) -> int:
    """Instructions callgrind collected in a child that replays ``name`` ``reps`` times."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        name,
        "--reps",
        str(reps),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, check=True, env=env)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {name}: {done.stderr[-500:]!r}")
    return int(found.group(1))


def measure(events: int, only: str | None) -> dict[str, float]:
    """Instructions per event of each stream."""
    found = _streams()
    names = [n for n in found if only is None or only in n]
    sizes = {name: events_of(*found[name]) for name in names}
    reps = {name: max(1, -(-events // sizes[name])) for name in names}
    with ThreadPoolExecutor(max_workers=2) as pool:
        setup = pool.submit(count, names[0], 0)
        totals = dict(zip(names, pool.map(lambda n: count(n, reps[n]), names), strict=True))
    base = setup.result()
    return {name: (totals[name] - base) / reps[name] / sizes[name] for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=6000, help="events folded per stream")
    parser.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--only", help="only the streams whose name holds this text")
    parser.add_argument("--json", type=Path, help="write the counts to this file")
    parser.add_argument("--compare", type=Path, help="counts written before, to compare with")
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.reps)
        return
    counts = measure(args.events, args.only)
    before = json.loads(args.compare.read_text()) if args.compare else {}
    worse = []
    print(f"{'stream':<78} {'instr/event':>12} {'change':>8}")
    for name, value in counts.items():
        change = ""
        if name in before:
            ratio = value / before[name] - 1
            change = f"{ratio:+.1%}"
            if ratio > args.tolerance:
                worse.append(name)
        print(f"{name:<78} {value:>12,.0f} {change:>8}")
    if args.json:
        args.json.write_text(json.dumps(counts, indent=1) + "\n")
    if worse:
        print(f"more than {args.tolerance:.0%} more instructions: {', '.join(worse)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
