"""A coverage-guided fuzz harness (atheris) over the fault-spec parser (``Faults.parse``) and
the plans its specs make (``iter_plan``).

Not part of the test suite. Run it with::

    pip install atheris
    python tests/fuzz/fuzz_faults.py -max_total_time=600 -timeout=10 -rss_limit_mb=1024 \\
        [-jobs=N] [CORPUS_DIR ...]

Without a corpus directory it seeds one (in a temporary folder) from the specs the docs show.
The first byte of each input picks the recording (an SSE stream with its recorded times, or
Ollama's JSON lines) and whether the recorded timing is honoured; the rest is a spec, decoded
as ``serve`` decodes its ``X-Streamagg-Fault`` header (UTF-8, else latin-1). The harness
asserts the parser's promise: any string gives a ``Faults`` or a ``ValueError``, nothing
else. Of a spec that parses, at most ``MAX_STEPS`` steps of its plan are taken (a plan may be
millions of steps long, an hour of keep-alives: it is made one step at a time), and each is
checked: a finite wait within the bounds, bytes or a last ``CUT``, the recording's bytes in
order and never more of them, pieces no longer than ``rechunk``. A slow input (``-timeout``)
or a plan that holds memory (``-rss_limit_mb``) is a finding too. A crash is printed with the
input that caused it (libFuzzer writes it to ``crash-*``); each finding becomes a regression
test in ``tests/test_serve_hostile.py``.
"""

from __future__ import annotations

import itertools
import math
import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports():
    from streamagg.testing._faults import (
        _KEEPALIVE,
        CUT,
        MAX_STALL,
        MAX_WAIT,
        Faults,
        iter_plan,
    )
    from streamagg.testing._format import replay_segments, timed_segments

STREAMS = Path(__file__).resolve().parent.parent / "streams"
#: Steps taken of each plan at most.
MAX_STEPS = 20_000
#: The recordings a plan sends: an SSE stream with a timing line before each event (0.05 s
#: apart), and Ollama's JSON lines.
SSE = b"".join(
    b": t=%.3f\n" % (0.05 * n) + data
    for n, (_, data) in enumerate(
        timed_segments((STREAMS / "openai-python__plain-content.sse").read_bytes())
    )
)
NDJSON = STREAMS / "ollama" / "dotnet-extensions__llama31-chat-done-reason-length.ndjson"
RECORDINGS = [
    (replay_segments(SSE), False),
    (replay_segments(NDJSON.read_bytes()), True),
]
SEEDS = [
    "cut-after-event=5",
    "cut-after-byte=100",
    "error-after-event=3,error-as=chunk",
    "stall=2,stall-after-event=1,keepalive=0.5",
    "stall=3600,keepalive=0.001",
    "rechunk=1",
    "rechunk=random,seed=7",
    "speed=0.001,keepalive=0.001",
    "speed=4",
    "rechunk-random=yes,stall_after_event=99",
]


def text(spec: bytes) -> str:
    """A header value as ``serve`` reads it: UTF-8, else latin-1."""
    try:
        return spec.decode("utf-8")
    except UnicodeDecodeError:
        return spec.decode("latin-1")


def check_plan(faults: Faults, options: int) -> None:
    """The first ``MAX_STEPS`` steps of a plan are well formed."""
    segments, ndjson = RECORDINGS[options % len(RECORDINGS)]
    recording = b"".join(data for _, data in segments)
    timing = bool(options & 2)
    steps = iter_plan(segments, faults, timing=timing, delay=0.01, ndjson=ndjson)
    limit = 64 if faults.rechunk_random else faults.rechunk  # random pieces: up to 64 bytes
    sent = 0
    for wait, piece in itertools.islice(steps, MAX_STEPS):
        assert math.isfinite(wait), f"a wait of {wait}"
        assert 0 <= wait <= MAX_WAIT + MAX_STALL, f"a wait of {wait}"
        if piece is CUT:
            assert next(steps, None) is None, "a step after the cut"
            return
        assert isinstance(piece, bytes), f"a step of {piece!r}"
        if piece == _KEEPALIVE and wait == faults.keepalive:
            continue
        if recording.startswith(piece, sent):
            sent += len(piece)
            assert limit is None or len(piece) <= limit, "a piece too long"
            assert faults.cut_after_byte is None or sent <= faults.cut_after_byte, "past cut"
            continue
        assert b"injected fault" in piece, f"bytes that are not the recording's: {piece!r}"
        assert next(steps, None) is None, "a step after the error"
        return


def test_one_input(data: bytes) -> None:
    if not data:
        return
    try:
        faults = Faults.parse(text(data[1:]))
    except ValueError:
        return
    assert isinstance(faults, Faults)
    check_plan(faults, data[0])


def seed_corpus() -> str:
    folder = tempfile.mkdtemp(prefix="streamagg-fuzz-faults-")
    for n, spec in enumerate(SEEDS):
        for options in range(4):
            (Path(folder) / f"{n}-{options}").write_bytes(bytes([options]) + spec.encode())
    return folder


def main() -> None:
    args = sys.argv[:]
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(seed_corpus())
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
