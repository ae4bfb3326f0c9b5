"""What the commands share: the usage error (exit status 2), printing JSON, and the rule for
an output file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["UsageError", "check_output", "exists", "is_dir", "print_json"]


class UsageError(Exception):
    """Bad arguments: exit status 2."""


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def check_output(output: Path, force: bool) -> None:
    """Refuse an output file that cannot be written, or that exists without ``--force`` (a
    recording never replaces a file silently: ``RecordingTransport``'s rule)."""
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent} is not a folder (create it first)")
    if is_dir(output):
        raise UsageError(f"{output} is a folder: give the recording's file name")
    if not force and exists(output):
        raise UsageError(f"{output} exists: remove it, or give --force to replace it")


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name the file system refuses (too long...): writing will say so
        return False


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name the file system refuses: writing will say so
        return False
