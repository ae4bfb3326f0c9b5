"""``streamagg replay``: fold a recording and print the response, its text as it arrives (at
the recorded pace with ``--realtime``) or its timings (``--stats``), reading it in pieces."""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .._app.timing import Clock, Timings, completion_tokens
from .._core.convert import to_dict
from .._core.errors import StreamError
from .._core.limits import DEFAULT_LIMITS
from .._core.reader import StreamReader
from .._core.report import is_output_text
from .._core.source import Source, iter_source
from .._registry import DIALECTS
from .._registry.detect import Detector, output_text, replay_any
from ..testing._format import TimedPieces, paced
from ._common import UsageError, print_json

__all__ = ["replay"]


def replay(args: argparse.Namespace) -> int:
    """Run ``streamagg replay``."""
    if args.realtime and not args.text:
        raise UsageError("--realtime goes with --text (it paces the text as it was recorded)")
    if args.stats and args.text:
        raise UsageError(
            "--stats prints the recording's timings as JSON and --text its text: give one"
        )
    if args.partial and args.text:
        raise UsageError(
            "--partial prints the response JSON: with --text, the text that arrived is already "
            "printed (and stdout holds text only)"
        )
    source: Source = sys.stdin.buffer if args.file == "-" else args.file
    try:
        if args.stats:
            print_json(_defined(_recorded_timings(source).to_otel()))
        elif args.text and args.realtime:
            _replay_text(source)
        elif args.text:
            _print_text(source)
        else:
            # The input is read in pieces, not whole: recordings can be long.
            print_json(to_dict(replay_any(source)[1]))
    except BrokenPipeError:
        raise  # our reader went away, not our input: main() handles it
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except StreamError as exc:
        print(f"streamagg: {args.file}: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.partial:
            print_json(to_dict(exc.partial))
        return 1
    return 0


class _TextPrinter:
    """Prints the output text of deltas as they come; a final newline only after some text
    (an answer of tool calls alone prints nothing)."""

    def __init__(self) -> None:
        self.printed = False

    def __call__(self, deltas: list[Any]) -> None:
        for delta in deltas:
            text = output_text(delta)
            if text:
                print(text, end="", flush=True)
                self.printed = True

    def end(self) -> None:
        if self.printed:
            print()


def _print_text(source: Source) -> None:
    """Print the output text (chat completions: the content of choice 0) as the input arrives,
    whatever its dialect; stdin is read as it comes (a slow pipe prints as it goes)."""
    printer = _TextPrinter()
    try:
        replay_any(source, on_deltas=printer)
    finally:
        printer.end()


def _timed_pieces(source: Source, timed: TimedPieces) -> Iterator[tuple[float | None, bytes]]:
    """A recording's ``(time or None, bytes)`` pieces, read in pieces (``TimedPieces``)."""
    for data in iter_source(source):
        yield from timed.feed(data)
    yield from timed.close()


def _timed_reader(
    source: Source,
) -> tuple[StreamReader[Any], Iterable[tuple[float | None, bytes]], TimedPieces]:
    """The reader of a recording's dialect, its timed pieces (all of them: those read to
    detect the dialect first) and what was learnt of its timing lines.

    The dialect is decided within the first ``max_event_size`` bytes (a stream of comments that
    never names one is chat completions, the default): what is held meanwhile is bounded."""
    timed = TimedPieces()
    pieces = _timed_pieces(source, timed)
    detector = Detector()
    held: list[tuple[float | None, bytes]] = []
    size = 0
    dialect = None
    for piece in pieces:
        held.append(piece)
        size += len(piece[1])
        dialect = detector.feed(piece[1])
        if dialect is not None or size > DEFAULT_LIMITS.max_event_size:
            break
    if dialect is None:
        dialect = detector.close()
    return StreamReader(DIALECTS[dialect].new_fold()), itertools.chain(held, pieces), timed


def _replay_text(source: Source) -> None:
    """Print the output text at the recording's recorded pace (its timing lines)."""
    reader, pieces, _ = _timed_reader(source)
    printer = _TextPrinter()
    try:
        for wait, piece in paced(pieces, timing=True):
            if wait:
                time.sleep(wait)
            deltas: list[Any] = []
            done = reader.receive_data(piece, deltas)
            printer(deltas)
            if done:
                break
        reader.receive_eof()
    finally:
        printer.end()


def _recorded_timings(source: Source) -> Timings:
    """The timings of a recording, from its timing lines (seconds since the request). A time
    earlier than the one before is read as the one before (said on stderr)."""
    reader, pieces, timed = _timed_reader(source)
    fold = reader.fold
    clock = Clock()
    clock.started(0.0)
    now = 0.0
    for at, piece in pieces:
        now = now if at is None else at
        deltas: list[Any] = []
        done = reader.receive_data(piece, deltas)
        clock.arrived(now, fold.chunks, any(map(is_output_text, deltas)))
        if done:
            break
    if not timed.timed:
        raise UsageError("the recording has no timing lines (streamagg record writes them)")
    if timed.backwards:
        print(
            f"streamagg: note: {timed.backwards} timing line(s) went back in time; each was read "
            "as the time before it",
            file=sys.stderr,
        )
    clock.ended(now)
    tokens = completion_tokens(reader.receive_eof())
    if tokens is not None and tokens > sys.float_info.max:
        tokens = None  # a count no float holds (a hostile usage): no rate, rather than a crash
    return clock.timings(now, tokens)


def _defined(stats: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity or NaN: a value that is not a finite number is undefined (null)."""
    return {
        name: None if isinstance(value, float) and not math.isfinite(value) else value
        for name, value in stats.items()
    }
