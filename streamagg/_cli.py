"""The ``streamagg`` command: a thin adapter from files, sockets and arguments to the library.

Every failure the user can cause (a missing file, bad JSON, a malformed stream, an HTTP error)
prints one line on stderr and exits non-zero: 1 for a stream or server error, 2 for bad usage.

Input is read in pieces, never whole (a recording may be long, and ``/dev/zero`` is a file): a
replay holds what ``Limits`` allows (a line or event up to ``max_event_size``), ``--stats`` and
``--realtime`` included; a recording goes to its file, and to stdout, as it arrives; the request
body ``record --data @FILE`` reads is at most ``MAX_REQUEST_BODY`` bytes.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from . import __version__
from ._app.chat import chat
from ._app.http import HTTPStatusError
from ._app.timing import Clock, Timings, completion_tokens
from ._core.convert import to_dict
from ._core.errors import StreamError
from ._core.limits import DEFAULT_LIMITS
from ._core.reader import StreamReader
from ._core.report import is_output_text
from ._core.source import Source, iter_source
from ._registry import DIALECTS
from ._registry.detect import Detector, output_text, replay_any
from .testing import _server
from .testing._faults import Faults
from .testing._format import TimedPieces, paced
from .testing._recording import RecordingTransport

__all__ = ["MAX_REQUEST_BODY", "main"]

#: The largest request body ``record --data @FILE`` reads: 64 MiB, more than any API accepts
#: (a larger file is refused before it is read whole).
MAX_REQUEST_BODY = 64 * 1024 * 1024


class _UsageError(Exception):
    """Bad arguments: exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamagg",
        description=(
            "Fold, serve and record LLM streams: OpenAI-compatible chat completions, the "
            "Responses API, Anthropic Messages, Gemini, Ollama and legacy completions (the "
            "dialect is detected from the stream)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"streamagg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("replay", help="fold a recorded stream and print the response JSON")
    p.add_argument("file", help="a recorded event stream (.sse), or - for stdin")
    p.add_argument("--text", action="store_true", help="print the content as it is read")
    p.add_argument("--realtime", action="store_true", help="with --text: at the recorded timing")
    p.add_argument(
        "--partial", action="store_true", help="on a stream error, still print what was folded"
    )
    p.add_argument(
        "--stats",
        action="store_true",
        help="print the recording's timings (OpenTelemetry-style names) instead of the response",
    )

    p = commands.add_parser(
        "serve", help="answer each API's endpoint with the recordings in DIR (see README)"
    )
    p.add_argument("dir", help="a folder of recordings (.sse, .ndjson, .jsonl)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (8000; 0 picks a free one)")
    p.add_argument("--no-timing", action="store_true", help="send at once, not at recorded times")
    p.add_argument("--quiet", action="store_true", help="no access line per request on stderr")
    p.add_argument(
        "--fault",
        metavar="SPEC",
        help="faults for every stream, e.g. cut-after-event=5 or stall=2,stall-after-event=3 "
        "(a request's X-Streamagg-Fault header overrides it)",
    )

    p = commands.add_parser("record", help="record a live stream to a file, with timing")
    p.add_argument("url", help="the API base URL or its /chat/completions URL")
    p.add_argument(
        "--data",
        required=True,
        help="the request JSON, or @FILE to read it (@- for stdin; at most 64 MiB)",
    )
    p.add_argument(
        "-o", "--output", required=True, help="the recording to write (.sse), or - for stdout"
    )
    p.add_argument("-H", "--header", action="append", default=[], help="'Name: value' header")
    p.add_argument("--api-key", help="sent as a Bearer token (default: $OPENAI_API_KEY)")
    p.add_argument("--timeout", type=float, default=600.0, help="read timeout in seconds")
    return parser


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _read_request(file: str) -> bytes:
    """The request body in ``file`` (``-``: stdin), up to ``MAX_REQUEST_BODY`` bytes."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_REQUEST_BODY + 1)
        else:
            with open(file, "rb") as f:
                data = f.read(MAX_REQUEST_BODY + 1)
    except OSError as exc:
        raise _UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_REQUEST_BODY:
        raise _UsageError(f"{file} is larger than {MAX_REQUEST_BODY} bytes: not a request body")
    return data


def _replay(args: argparse.Namespace) -> int:
    if args.realtime and not args.text:
        raise _UsageError("--realtime goes with --text (it paces the text as it was recorded)")
    if args.partial and args.text:
        raise _UsageError(
            "--partial prints the response JSON: with --text, the text that arrived is already "
            "printed (and stdout holds text only)"
        )
    source: Source = sys.stdin.buffer if args.file == "-" else args.file
    try:
        if args.stats:
            _print_json(_defined(_recorded_timings(source).to_otel()))
        elif args.text and args.realtime:
            _replay_text(source)
        elif args.text:
            _print_text(source)
        else:
            # The input is read in pieces, not whole: recordings can be long.
            _print_json(to_dict(replay_any(source)[1]))
    except BrokenPipeError:
        raise  # our reader went away, not our input: main() handles it
    except OSError as exc:
        raise _UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except StreamError as exc:
        print(f"streamagg: {args.file}: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.partial:
            _print_json(to_dict(exc.partial))
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
        raise _UsageError("the recording has no timing lines (streamagg record writes them)")
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


def _serve(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise _UsageError(f"{args.dir} is not a folder")
    try:
        faults = None if args.fault is None else Faults.parse(args.fault)
    except ValueError as exc:
        raise _UsageError(f"--fault: {exc}") from None
    names = sorted(p.stem for p in folder.iterdir() if p.suffix in _server.RECORDING_SUFFIXES)
    if not names:
        raise _UsageError(f"{args.dir} holds no recordings (.sse, .ndjson, .jsonl)")
    try:
        import uvicorn  # noqa: F401, PLC0415 - the optional extra: check early, fail clearly
    except ImportError:
        raise _UsageError(
            "serve needs uvicorn: pip install 'streamagg[serve]' "
            "(from a clone of the repository: pip install '.[serve]')"
        ) from None
    try:
        sock = _server.bind(args.host, args.port)
    except OSError as exc:
        raise _UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"streamagg: serving {len(names)} recordings from {folder} "
        f"at http://{shown}:{port}/v1 (timing {'off' if args.no_timing else 'on'})",
        flush=True,
    )
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("streamagg: %(message)s"))
        _server.access_log.addHandler(handler)
        _server.access_log.setLevel(logging.INFO)
    _server.serve(_server.ReplayApp(folder, timing=not args.no_timing, faults=faults), sock)
    return 0


def _record(args: argparse.Namespace) -> int:
    text = args.data
    if text.startswith("@"):
        text = _read_request(text[1:]).decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"--data is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise _UsageError("--data must be a JSON object")
    headers = {}
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise _UsageError(f"a header must read 'Name: value', not {header!r}")
        headers[name.strip()] = value.strip()
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY") or None
    to_stdout = args.output == "-"
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch, "recording.sse") if to_stdout else Path(args.output)
        if not output.parent.is_dir():
            raise _UsageError(f"{output.parent} is not a folder (create it first)")
        if _is_dir(output):
            raise _UsageError(f"{output} is a folder: give the recording's file name")
        status = _record_to(args, payload, headers, api_key, output)
        if to_stdout and output.exists():
            with output.open("rb") as recording:
                shutil.copyfileobj(recording, sys.stdout.buffer)
            sys.stdout.flush()
    return status


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name the file system refuses (too long...): writing will say so
        return False


def _record_to(
    args: argparse.Namespace,
    payload: dict[str, Any],
    headers: dict[str, str],
    api_key: str | None,
    output: Path,
) -> int:
    """Record the call into ``output``; report on stderr (and on stdout unless the recording
    goes there)."""
    shown = "stdout" if args.output == "-" else str(output)
    report = sys.stderr if args.output == "-" else sys.stdout
    transport = RecordingTransport(output)
    timeout = httpx.Timeout(30.0, read=args.timeout)
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout) as client,
            chat(client, args.url, payload, api_key=api_key, headers=headers) as stream,
        ):
            response = stream.finish()
    except StreamError as exc:
        if not transport.recorded and isinstance(exc.__cause__, httpx.HTTPError):
            print(f"streamagg: cannot reach {args.url}: {exc.__cause__}", file=sys.stderr)
            return 1
        saved = ""
        if transport.recorded:
            what = "the answer" if isinstance(exc, HTTPStatusError) else "what arrived"
            saved = f" ({what} is recorded in {shown})"
        print(f"streamagg: {type(exc).__name__}: {exc}{saved}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"streamagg: cannot write {shown}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finish = ", ".join(str(c.finish_reason) for c in response.choices) or "no choices"
    size = output.stat().st_size
    print(f"streamagg: recorded {shown} ({size} bytes; finish: {finish})", file=report)
    return 0


_COMMANDS = {"replay": _replay, "serve": _serve, "record": _record}


def _escape_what_cannot_be_written() -> None:
    """Text the terminal's encoding cannot hold (a lone surrogate such as ``\\ud800`` is valid
    JSON) is written as a backslash escape, which in a JSON string means the same character,
    instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    _escape_what_cannot_be_written()
    try:
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"streamagg: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``streamagg replay x.sse | head``): it had what it wanted, as
        # with any filter; stop quietly, successfully.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
