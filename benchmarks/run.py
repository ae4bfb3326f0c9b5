"""streamagg against the JSON parse floor and against the accumulators users reach for instead.

Run ``python benchmarks/run.py`` (``pip install -e . --group bench`` first, for orjson, the
peers and matplotlib; a few minutes). It prints one table of microseconds per chunk, end to end
from a stream's raw bytes to ``to_dict`` of its final object (each peer to its own final
object), then the targets below, each met or missed. ``--check`` exits 1 when one is missed;
``--smoke`` is the quick run CI makes (one tiny stream, to prove the benchmark itself works);
``--markdown FILE`` writes the table for the README; ``--plot FILE`` draws it (matplotlib).

The streams: the generated ones of ``streams.py`` and every recording in ``tests/streams``
(each dialect folded by its own ``replay``; the peers fold chat completions only). The columns:

* ``json``, ``orjson``: a loop of ``json.loads`` / ``orjson.loads`` over the stream's payloads,
  already cut out of the stream: the floor, what parsing alone costs;
* ``streamagg``: ``to_dict(replay(raw))`` with the standard library's JSON; ``+orjson`` the same
  with orjson (``streamagg[fast]``); ``stream()``: the app wrapper over an ``httpx.Client``
  with an in-process transport that hands the body over in 64 KiB reads, every typed delta
  iterated, then ``to_dict(s.response)``;
* ``openai``, ``litellm``, ``langchain``: the peers (``peers.py`` says how each is fed). A peer
  that raises shows ``raises``; a result that differs from streamagg's is marked ``*``. A
  peer's ratio is to streamagg's time measured between the peer's own runs (a peer run can
  take seconds, and the machine's speed drifts meanwhile).

Every measure is the best of several runs, the runs of one stream interleaved (one run of each
column in turn), so that a noisy machine slows them alike; the benchmark's own objects are
frozen out of the garbage collector's way (``gc.freeze``), as an app's would be small beside
them. Ratios are what to read.

Targets (from the performance issue), checked on the generated streams:

* ``streamagg`` at most 1.25x the ``json`` floor; ``+orjson`` at most 2.0x the ``orjson`` floor;
* ``+orjson`` at least 40x faster than openai, 25x than litellm, 8x than langchain, on every
  stream of at least 50 chunks (recordings too) where the peer gives a result: a speed per
  chunk. In a stream of a handful of chunks, what is measured is the fixed cost of a call
  (making the fold, building and converting the final object: some 40-90 us here), and the
  table shows it;
* per-chunk cost at 50,000 chunks within 1.2x of the cost at 2,000 (text, logprobs, one long
  tool call's arguments; the lengths of a kind measured interleaved);
* replaying a 50,000-chunk recording from a file: peak traced memory at most 3x the size of the
  final ``to_dict()`` JSON;
* ``stream()`` at most 15% over ``replay()`` of the same bytes, on 20,000 chunks; beside it, the
  same fold with every typed delta made and iterated but no httpx (``deltas_run``), which
  tells the deltas' cost from the app wrapper's.

``python benchmarks/breakdown.py [KIND [N]]`` splits one generated stream's time into stages
(the event-stream cutting, the fold, the deltas, the wrapper).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import signal
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers as peer_kit
import streams

import streamagg
from streamagg import StreamError, anthropic, completions, gemini, ollama, responses
from streamagg._core import codec as _codec

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "streams"
DIALECTS: dict[str, Any] = {
    "responses": responses,
    "anthropic": anthropic,
    "gemini": gemini,
    "ollama": ollama,
    "completions": completions,
}
FLOOR_TARGET = 1.25
ORJSON_TARGET = 2.0
PEER_TARGETS = {"openai": 40.0, "litellm": 25.0, "langchain": 8.0}
PEER_MIN_CHUNKS = 50  # the peer targets are per-chunk speeds: streams this long at least
LINEAR_TARGET = 1.2
MEMORY_TARGET = 3.0
STREAM_TARGET = 1.15
PEER_TIMEOUT = 120  # seconds for one peer run; past it the peer shows "timeout"
SLOW_RUN = 10  # seconds: a peer run this slow is not repeated
SCALING_SIZES = (2_000, 10_000, 50_000)
READ_SIZE = 64 * 1024
K = TypeVar("K")


class Stream:
    """One benchmark stream: its bytes, its dialect ("chat" or another), its payloads."""

    def __init__(self, name: str, raw: bytes, dialect: str, generated: bool) -> None:
        self.name = name
        self.raw = raw
        self.dialect = dialect
        self.generated = generated
        self.payloads = payloads(raw)

    @property
    def chunks(self) -> int:
        return len(self.payloads)


def payloads(raw: bytes) -> list[str]:
    """The JSON payloads of a stream: its events' data, or its JSON lines (Ollama); what is
    not JSON (``[DONE]``, keep-alives, a cut-off event) is not a payload."""
    if raw.lstrip()[:1] in (b"{", b"["):
        found = raw.decode().split("\n")
    else:
        found = [e.data for e in streamagg.parse_sse(raw)]
    return [data for data in found if _is_json(data)]


def _is_json(data: str) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def replay_of(dialect: str) -> Callable[[bytes], Any]:
    return DIALECTS[dialect].replay if dialect in DIALECTS else streamagg.replay  # type: ignore[no-any-return]


def fold(stream: Stream) -> Any:
    """``to_dict`` of the stream's final object (of the partial one when it ends in error)."""
    try:
        return streamagg.to_dict(replay_of(stream.dialect)(stream.raw))
    except StreamError as exc:
        return streamagg.to_dict(exc.partial) if exc.partial is not None else None


class _Reads(httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.body), READ_SIZE):
            yield self.body[i : i + READ_SIZE]


def stream_run(stream: Stream) -> Callable[[], Any]:
    """``stream()`` of the dialect over an in-process transport: deltas, then the object."""
    open_stream = DIALECTS[stream.dialect].stream if stream.dialect in DIALECTS else None
    content_type = "application/x-ndjson" if stream.dialect == "ollama" else "text/event-stream"
    headers = {"content-type": content_type}
    client = httpx.Client(
        transport=httpx.MockTransport(
            lambda _: httpx.Response(200, headers=headers, stream=_Reads(stream.raw))
        )
    )

    def run() -> Any:
        opener = open_stream or streamagg.stream
        try:
            with opener(client, "POST", "http://bench/v1/") as s:
                for _ in s:
                    pass
                return streamagg.to_dict(s.response)
        except StreamError:
            return None

    return run


def deltas_run(stream: Stream) -> Callable[[], Any]:
    """The chat fold of the stream's bytes in ``stream()``'s reads, every typed delta made and
    iterated, then ``to_dict`` of the response: what ``stream()`` does, without httpx and the
    app wrapper (a reference for the ``stream()`` target: the deltas' own cost)."""

    def run() -> Any:
        reader = streamagg.StreamReader(streamagg.Aggregator())
        out: list[Any] = []
        raw = stream.raw
        for i in range(0, len(raw), READ_SIZE):
            reader.receive_data(raw[i : i + READ_SIZE], out)
            for _ in out:
                pass
            out.clear()
        return streamagg.to_dict(reader.receive_eof())

    return run


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_interleaved(columns: Mapping[K, Callable[[], Any]], rounds: int) -> dict[K, float]:
    """The best time of each column, the columns run in turn ``rounds`` times; each run
    repeats the call until it takes 20 ms (so that small streams are measured too)."""
    numbers = {}
    for name, fn in columns.items():
        one = max(timed(fn), 1e-7)
        numbers[name] = max(1, int(0.02 / one))
    best = dict.fromkeys(columns, float("inf"))
    for _ in range(rounds):
        for name, fn in columns.items():
            n = numbers[name]
            gc.collect()  # each run starts from the same collector state (outside the timing)
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


class PeerTimeoutError(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise PeerTimeoutError


def run_peer(
    peer: peer_kit.Peer, stream: Stream, rounds: int, want: Any, ours: Callable[[], Any] | None
) -> tuple[str | float, float | None]:
    """A peer's best us/chunk on a stream, or what stopped it (a result that differs from
    streamagg's is marked by a negative time); and streamagg's best (``ours``), measured
    between the peer's runs, so that the two are compared in the same stretch of a noisy
    machine's time."""
    warnings.simplefilter("ignore")  # pydantic's complaints about providers' odd fields
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.signal(signal.SIGALRM, _alarm)
    best = base = float("inf")
    same = True
    try:
        for _ in range(rounds):
            if use_alarm:
                signal.alarm(PEER_TIMEOUT)
            start = time.perf_counter()
            result = peer.run(stream.raw)
            best = min(best, time.perf_counter() - start)
            if use_alarm:
                signal.alarm(0)
            same = peer.view(result) == want
            if ours is not None:
                base = min(base, *(timed(ours) for _ in range(3)))
            if best > SLOW_RUN:  # one slow run is measure enough
                break
    except PeerTimeoutError:
        return "timeout", None
    except Exception as exc:  # a peer's failure is a result
        return f"raises {type(exc).__name__}", None
    finally:
        if use_alarm:
            signal.alarm(0)
    n = max(1, stream.chunks)
    per_chunk = best / n * 1e6
    return per_chunk if same else -per_chunk, None if ours is None else base / n * 1e6


def base_of(peer: str) -> str:
    """The row key of streamagg's time measured beside a peer's."""
    return f"{peer} base"


def all_streams(smoke: bool) -> list[Stream]:
    if smoke:
        raw = streams.stream(streams.text(50))
        path = RECORDINGS / "openai-python__plain-content.sse"
        return [
            Stream("text 50", raw, "chat", True),
            Stream(path.stem, path.read_bytes(), "chat", False),
        ]
    found = [Stream(name, make(), "chat", True) for name, make in streams.GENERATED.items()]
    found += [
        Stream(p.stem, p.read_bytes(), "chat", False) for p in sorted(RECORDINGS.glob("*.sse"))
    ]
    for dialect in DIALECTS:
        suffix = ".ndjson" if dialect == "ollama" else ".sse"
        paths = sorted((RECORDINGS / dialect).glob("*" + suffix))
        found += [Stream(f"{dialect}: {p.stem}", p.read_bytes(), dialect, False) for p in paths]
    return found


def replay_run(stream: Stream, orjson_on: bool) -> Callable[[], Any]:
    """``to_dict(replay(raw))`` of the stream, with orjson or the standard library's JSON."""
    replay = replay_of(stream.dialect)

    def run() -> Any:
        _codec.use_orjson(orjson_on)
        try:
            return streamagg.to_dict(replay(stream.raw))
        except StreamError:
            return None
        finally:
            _codec.use_orjson(True)

    return run


def floor_run(loads: Callable[[str], Any], datas: list[str]) -> Callable[[], None]:
    """A floor: ``loads`` over the payloads, the results thrown away."""

    def run() -> None:
        for d in datas:
            loads(d)

    return run


def measure(stream: Stream, rounds: int, fast: bool) -> dict[str, float]:
    """The us/chunk of the floors, streamagg both ways and stream()."""
    columns: dict[str, Callable[[], Any]] = {"json": floor_run(json.loads, stream.payloads)}
    if fast:
        import orjson

        columns["orjson"] = floor_run(orjson.loads, stream.payloads)
    columns["streamagg"] = replay_run(stream, False)
    if fast:
        columns["+orjson"] = replay_run(stream, True)
    columns["stream()"] = stream_run(stream)
    best = best_interleaved(columns, rounds)
    n = max(1, stream.chunks)
    return {name: t / n * 1e6 for name, t in best.items()}


def kept_floor(stream: Stream, rounds: int) -> tuple[float, float]:
    """(floor, kept) us/chunk: the orjson floor, and the same loop keeping what it parses, as
    any fold keeps what its result holds. The difference is what allocating and collecting
    the kept objects costs CPython: a reference for the streams whose result keeps many
    (logprobs), measured in the same run."""
    import orjson

    loads, datas = orjson.loads, stream.payloads

    def kept() -> list[Any]:
        return [loads(d) for d in datas]

    best = best_interleaved({"floor": floor_run(loads, datas), "kept": kept}, rounds)
    n = max(1, stream.chunks)
    return best["floor"] / n * 1e6, best["kept"] / n * 1e6


def cell(value: str | float | None, width: int = 10) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, str):
        return f"{value[:width]:>{width}}"
    mark = "*" if value < 0 else ""
    return f"{abs(value):>{width - 1}.2f}{mark or ' '}"


def scaling(fast: bool, rounds: int, peers: dict[str, peer_kit.Peer | str]) -> dict[str, Any]:
    """us/chunk against stream length: streamagg for each kind (its lengths measured in turn,
    interleaved, so that the ratio of two lengths is taken in the same stretch of time), each
    peer on text."""
    curves: dict[str, dict[int, float]] = {}
    for kind, make in streams.SCALING.items():
        sized = {n: Stream(f"{kind} {n}", make(n), "chat", True) for n in SCALING_SIZES}
        runs = {n: replay_run(s, fast) for n, s in sized.items()}
        best = best_interleaved(runs, rounds)
        curves[f"streamagg {kind}"] = {n: best[n] / sized[n].chunks * 1e6 for n in sized}
        if kind == "text":
            for n, s in sized.items():
                want = peer_kit.view_of_dict(fold(s))
                for name, peer in peers.items():
                    if isinstance(peer, str):
                        continue
                    result, _ = run_peer(peer, s, 1, want, None)
                    if isinstance(result, float):
                        curves.setdefault(f"{name} text", {})[n] = abs(result)
    return curves


def memory_ratio() -> tuple[int, int]:
    """(peak traced bytes, size of the final JSON) of replaying 50,000 chunks from a file."""
    raw = streams.GENERATED["text 50k"]()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "text-50k.sse")
        with open(path, "wb") as f:
            f.write(raw)
        del raw
        tracemalloc.start()
        try:
            result = streamagg.to_dict(streamagg.replay(path))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, len(json.dumps(result))


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0912, PLR0915 - one report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--smoke", action="store_true", help="one tiny stream: does it run?")
    parser.add_argument("--rounds", type=int, default=11, help="runs of each measure")
    parser.add_argument("--no-peers", action="store_true", help="leave the peers out")
    parser.add_argument("--markdown", type=Path, help="write the table as markdown here")
    parser.add_argument("--plot", type=Path, help="draw the results (needs matplotlib)")
    args = parser.parse_args(argv)
    rounds = 1 if args.smoke else args.rounds
    fast = _codec.orjson_available
    names = [] if args.no_peers else list(peer_kit.PEERS)
    peers = peer_kit.load_peers(names)

    found = all_streams(args.smoke)
    # The benchmark's own heap (the peers' modules, the streams) is put out of the garbage
    # collector's reach: a full collection walks every object of the process, and the peers'
    # imports alone made logprobs streams (which keep many objects) vary threefold between runs.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for stream in found:
        times: dict[str, Any] = measure(stream, rounds, fast)
        if stream.dialect == "chat":
            want = peer_kit.view_of_dict(fold(stream))
            ours_run = replay_run(stream, fast)
            for name, peer in peers.items():
                if isinstance(peer, str):
                    times[name] = peer
                else:
                    times[name], times[base_of(name)] = run_peer(
                        peer, stream, min(3, rounds), want, ours_run
                    )
        rows.append({"stream": stream, **times})
        print(f"  measured {stream.name} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    columns = ["json", "orjson", "streamagg", "+orjson", "stream()", *peers]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    today = datetime.date.today().isoformat()
    print(f"\nstreamagg {streamagg.__version__}, {machine}, {today}; us per chunk")
    print(f"{'stream':<44}{'chunks':>7}" + "".join(f"{c:>10}" for c in columns))
    for row in rows:
        stream = row["stream"]
        print(
            f"{stream.name[:43]:<44}{stream.chunks:>7}"
            + "".join(cell(row.get(c)) for c in columns)
        )
    ours = "+orjson" if fast else "streamagg"
    ratios = ratio_columns(fast, list(peers))
    print(f"\nratios: the floors' multiples, stream() over replay, the peers' over {ours}")
    print(f"{'stream':<44}{'chunks':>7}" + "".join(f"{name:>18}" for name in ratios))
    for row in rows:
        stream = row["stream"]
        cells = [ratio(row, top, bottom) for top, bottom in ratios.values()]
        print(
            f"{stream.name[:43]:<44}{stream.chunks:>7}" + "".join(f"{c[:17]:>18}" for c in cells)
        )

    generated = [r for r in rows if r["stream"].generated]
    results = [floor_target(generated, "streamagg", "json", FLOOR_TARGET)]
    if fast:
        named, met, detail = floor_target(generated, "+orjson", "orjson", ORJSON_TARGET)
        worst = max(generated, key=lambda r: r["+orjson"] / r["orjson"])["stream"]
        floor_time, kept_time = kept_floor(worst, rounds)
        detail += f"; orjson.loads keeping its results there: {kept_time / floor_time:.2f}x"
        results.append((named, met, detail))
    else:
        results.append((f"streamagg+orjson <= {ORJSON_TARGET}x", False, "orjson not installed"))
    for name, target in PEER_TARGETS.items():
        if name not in peers:
            continue
        if isinstance(peers[name], str):
            results.append((f"{target:.0f}x faster than {name}", False, str(peers[name])))
            continue
        speedups = [
            (abs(r[name]) / r[base_of(name)], r["stream"].name)
            for r in rows
            if isinstance(r.get(name), float) and r["stream"].chunks >= PEER_MIN_CHUNKS
        ]
        low, where = min(speedups) if speedups else (0.0, "no result")
        results.append(
            (f"{target:.0f}x faster than {name}", low >= target, f"least {low:.0f}x ({where})")
        )

    curves: dict[str, dict[int, float]] = {}
    if not args.smoke:
        curves = scaling(fast, rounds, peers)
        for kind in streams.SCALING:
            curve = curves[f"streamagg {kind}"]
            growth = curve[SCALING_SIZES[-1]] / curve[SCALING_SIZES[0]]
            detail = " ".join(f"{n // 1000}k {c:.2f}" for n, c in curve.items())
            detail += f" ({growth:.2f}x)"
            if fast and kind == "logprobs":
                ends = [
                    Stream(kind, streams.SCALING[kind](n), "chat", True) for n in SCALING_SIZES
                ]
                small, large = (kept_floor(s, max(2, rounds // 2))[1] for s in (ends[0], ends[-1]))
                detail += f"; orjson.loads keeping its results: {large / small:.2f}x"
            results.append(
                (
                    f"linear: {kind} at 50k <= {LINEAR_TARGET}x its cost at 2k",
                    growth <= LINEAR_TARGET,
                    detail,
                )
            )
        peak, size = memory_ratio()
        results.append(
            (
                f"memory: replay of 50k chunks <= {MEMORY_TARGET}x its JSON",
                peak <= MEMORY_TARGET * size,
                f"peak {peak / 1e6:.2f} MB, JSON {size / 1e6:.2f} MB ({peak / size:.2f}x)",
            )
        )
        s = Stream("text 20k", streams.stream(streams.text(20_000)), "chat", True)
        runs = {ours: replay_run(s, fast), "deltas": deltas_run(s), "stream()": stream_run(s)}
        t = {k: v / s.chunks * 1e6 for k, v in best_interleaved(runs, rounds).items()}
        over = t["stream()"] / t[ours]
        detail = f"{t['stream()']:.2f} vs {t[ours]:.2f} us/chunk ({over:.2f}x)"
        detail += (
            f"; the same deltas folded without httpx: {t['deltas']:.2f}"
            f" ({t['deltas'] / t[ours]:.2f}x replay(); the wrapper adds"
            f" {t['stream()'] / t['deltas']:.2f}x)"
        )
        results.append(
            (f"stream() <= {STREAM_TARGET}x replay() on 20k chunks", over <= STREAM_TARGET, detail)
        )

    print("\ntargets")
    for goal, met, detail in results:
        print(f"  {'met   ' if met else 'MISSED'} {goal}: {detail}")
    print(f"\n{time.perf_counter() - started:.0f} s")

    if args.markdown:
        write_markdown(args.markdown, rows, columns, results, f"{machine}, {today}")
    if args.plot:
        plot(args.plot, rows, columns, curves)
    missed = [t for t, met, _ in results if not met]
    return 1 if args.check and missed else 0


def ratio_columns(fast: bool, peers: list[str]) -> dict[str, tuple[str, str]]:
    """The ratio columns: name -> (numerator column, denominator column)."""
    ours = "+orjson" if fast else "streamagg"
    columns = {"streamagg/json": ("streamagg", "json")}
    if fast:
        columns["+orjson/orjson"] = ("+orjson", "orjson")
    columns[f"stream()/{ours}"] = ("stream()", ours)
    # Each peer over streamagg's time measured beside it (``run_peer``).
    columns.update({f"{peer}/{ours}": (peer, base_of(peer)) for peer in peers})
    return columns


def ratio(row: dict[str, Any], top: str, bottom: str) -> str:
    """``top`` over ``bottom`` in a row, or what the top column says instead (raises...)."""
    value, base = row.get(top), row.get(bottom)
    if not isinstance(value, float) or not isinstance(base, float):
        return "-" if not isinstance(value, str) else value
    return f"{abs(value) / base:.2f}x" + ("*" if value < 0 else "")


def markdown_cell(value: str | float | None) -> str:
    if value is None or isinstance(value, str):
        return value or "-"
    return f"{abs(value):.2f}{'*' if value < 0 else ''}"


def floor_target(
    rows: list[dict[str, Any]], ours: str, floor: str, limit: float
) -> tuple[str, bool, str]:
    """(target, met, detail) of the worst ratio of the column ``ours`` to a floor."""
    worst = max(rows, key=lambda r: r[ours] / r[floor])
    ratio = worst[ours] / worst[floor]
    detail = f"worst {ratio:.2f}x ({worst['stream'].name})"
    name = "streamagg" if ours == "streamagg" else "streamagg+orjson"
    return f"{name} <= {limit}x {floor}.loads", ratio <= limit, detail


def write_markdown(
    path: Path,
    rows: list[dict[str, Any]],
    columns: list[str],
    results: list[tuple[str, bool, str]],
    where: str,
) -> None:
    lines = [
        f"Measured on {where} (`python benchmarks/run.py`); microseconds per chunk, "
        "`*` a result that differs from streamagg's.",
        "",
        "| stream | chunks | " + " | ".join(columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    generated = [row for row in rows if row["stream"].generated]
    for row in generated:
        cells = [markdown_cell(row.get(c)) for c in columns]
        lines.append(
            f"| {row['stream'].name} | {row['stream'].chunks} | " + " | ".join(cells) + " |"
        )
    fast = any(isinstance(row.get("+orjson"), float) for row in generated)
    ratios = ratio_columns(fast, [c for c in columns if c in peer_kit.PEERS])
    lines += ["", "| stream | " + " | ".join(ratios) + " |", "|---|" + "---:|" * len(ratios)]
    for row in generated:
        cells = [ratio(row, top, bottom) for top, bottom in ratios.values()]
        lines.append(f"| {row['stream'].name} | " + " | ".join(cells) + " |")
    lines += ["", "| target | | measured |", "|---|---|---|"]
    lines += [f"| {t} | {'met' if met else '**missed**'} | {d} |" for t, met, d in results]
    path.write_text("\n".join(lines) + "\n")


def plot(
    path: Path,
    rows: list[dict[str, Any]],
    columns: list[str],
    curves: dict[str, dict[int, float]],
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    generated = [r for r in rows if r["stream"].generated]
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(14, 5.5))
    width = 0.8 / len(columns)
    for i, column in enumerate(columns):
        values = [r.get(column) for r in generated]
        heights = [abs(v) if isinstance(v, float) else 0 for v in values]
        x = [j + i * width for j in range(len(generated))]
        bars.bar(x, heights, width, label=column)
    bars.set_xticks([j + 0.4 - width / 2 for j in range(len(generated))])
    bars.set_xticklabels([r["stream"].name for r in generated], rotation=20, ha="right")
    bars.set_yscale("log")
    bars.set_ylabel("microseconds per chunk (log)")
    bars.set_title("per stream: the parse floors, streamagg, the peers")
    bars.legend(fontsize=8, ncol=2)
    for name, curve in curves.items():
        sizes = sorted(curve)
        lines.plot(sizes, [curve[n] for n in sizes], marker="o", label=name)
    lines.set_xscale("log")
    lines.set_yscale("log")
    lines.set_xlabel("chunks in the stream (log)")
    lines.set_ylabel("microseconds per chunk (log)")
    lines.set_title("cost against stream length")
    lines.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
