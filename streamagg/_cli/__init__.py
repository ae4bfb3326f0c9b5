"""The ``streamagg`` command: a thin adapter from files, sockets and arguments to the library.

Every failure prints one line on stderr and exits non-zero: 2 for bad usage (argparse's errors
too, and a port out of range), 1 for a stream or server error (a missing file, bad JSON, a
malformed stream, an HTTP error) and for anything unexpected (``STREAMAGG_TRACEBACK=1`` shows
its traceback instead).

Input is read in pieces, never whole (a recording may be long, and ``/dev/zero`` is a file): a
replay holds what ``Limits`` allows (a line or event up to ``max_event_size``), ``--stats`` and
``--realtime`` included; a recording goes to its file, and to stdout, as it arrives; the request
body ``record --data @FILE`` reads is at most ``MAX_REQUEST_BODY`` bytes.

The parser and ``main`` are here; each command is a function of ``args`` in its own module:
``_replay`` (replay), ``_record`` (record, synthesize), ``_serve`` (serve); ``_common`` has
what they share.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__
from .._app.stack import STACKS
from .._registry import DIALECTS
from ._common import UsageError
from ._record import MAX_REQUEST_BODY, record, synthesize
from ._replay import replay
from ._serve import serve

__all__ = ["MAX_REQUEST_BODY", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0: a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port is 0 to {_MAX_PORT}, not {port}")
    return port


def _positive(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    """A finite number of seconds, not negative."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number, at least 0, not {text}")
    return value


_MAX_PORT = 65535


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="streamagg",
        description=(
            "Fold, serve, record and synthesize LLM streams: OpenAI-compatible chat "
            "completions, the Responses API, Anthropic Messages, Gemini, Ollama and legacy "
            "completions (the dialect is detected from the stream)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"streamagg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    dialects = sorted(DIALECTS)

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
    p.add_argument("dir", help="a folder of recordings (.sse, .ndjson, .jsonl; subfolders too)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (8000; 0 picks a free one)")
    p.add_argument("--no-timing", action="store_true", help="send at once, not at recorded times")
    p.add_argument("--quiet", action="store_true", help="no access line per request on stderr")
    p.add_argument(
        "--fault",
        metavar="SPEC",
        help="faults for every stream, e.g. cut-after-event=5 or stall=2,stall-after-event=3 "
        "(a request's X-Streamagg-Fault header overrides it)",
    )

    p = commands.add_parser("record", help="record a live stream to a file, with timing")
    p.add_argument(
        "url",
        help="the endpoint's URL (.../v1/chat/completions, .../v1/messages, .../v1/responses, "
        ".../api/chat, .../models/M:streamGenerateContent...), or a base URL (then --dialect's "
        "endpoint is appended; chat completions' by default)",
    )
    p.add_argument(
        "--data",
        required=True,
        help="the request JSON, or @FILE to read it (@- for stdin; at most 64 MiB)",
    )
    p.add_argument(
        "-o", "--output", required=True, help="the recording to write (.sse), or - for stdout"
    )
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    p.add_argument("-H", "--header", action="append", default=[], help="'Name: value' header")
    p.add_argument("--api-key", help="sent in the API's auth header (default: $OPENAI_API_KEY)")
    p.add_argument("--timeout", type=float, default=600.0, help="read timeout in seconds")
    p.add_argument("--dialect", choices=dialects, help="the API a base URL is of")
    p.add_argument(
        "--stack", choices=STACKS, help="the HTTP stack to record with (default: httpx2 if there)"
    )

    p = commands.add_parser(
        "synthesize", help="write the stream that folds to a final object (a JSON answer)"
    )
    p.add_argument(
        "file",
        help="the final object as JSON (a non-streaming answer, or what replay prints; a "
        "recording works too), or - for stdin",
    )
    p.add_argument("-o", "--output", default="-", help="the stream to write (- for stdout)")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    p.add_argument("--dialect", choices=dialects, help="read FILE as this API's object")
    p.add_argument(
        "--chunk-size", type=_positive, default=4, help="characters of text per event (4)"
    )
    p.add_argument("--no-usage", action="store_true", help="no usage chunk at the end")
    p.add_argument(
        "--interval",
        type=_seconds,
        help="a timing line before each event, this many seconds apart (for --stats, serve)",
    )
    return parser


_COMMANDS = {"replay": replay, "serve": serve, "record": record, "synthesize": synthesize}


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
    except UsageError as exc:
        print(f"streamagg: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``streamagg replay x.sse | head``): it had what it wanted, as
        # with any filter; stop quietly, successfully.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        # Every error is one line; STREAMAGG_TRACEBACK=1 shows where an unexpected one was.
        if os.environ.get("STREAMAGG_TRACEBACK"):
            raise
        print(f"streamagg: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
