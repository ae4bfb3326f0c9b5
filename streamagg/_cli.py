"""The ``streamagg`` command: a thin adapter from files and arguments to the library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from ._convert import to_dict
from ._errors import StreamError
from ._replay import replay

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamagg",
        description="Fold OpenAI-compatible chat-completion streams into complete responses.",
    )
    parser.add_argument("--version", action="version", version=f"streamagg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    replay_cmd = commands.add_parser(
        "replay", help="fold a recorded .sse file and print the response as JSON"
    )
    replay_cmd.add_argument("file", help="a recorded event stream (.sse), or - for stdin")
    replay_cmd.add_argument(
        "--partial",
        action="store_true",
        help="on a stream error, still print what was folded (and exit 1)",
    )
    return parser


def _replay(file: str, partial: bool) -> int:
    source = sys.stdin.buffer if file == "-" else file
    try:
        response = replay(source)
    except OSError as exc:
        print(f"streamagg: cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except StreamError as exc:
        print(f"streamagg: {file}: {type(exc).__name__}: {exc}", file=sys.stderr)
        if partial:
            print(json.dumps(to_dict(exc.partial), indent=2, ensure_ascii=False))
        return 1
    print(json.dumps(to_dict(response), indent=2, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    # ``replay`` is the only command so far; argparse rejects anything else.
    return _replay(args.file, args.partial)
