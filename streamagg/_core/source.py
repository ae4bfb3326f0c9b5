"""Where a replay reads from: bytes, a path to a recording, an open binary file or byte pieces.

The one module of the core that opens a file (given a path); the folds themselves never do.
``replay_into`` is the thin adapter every dialect's ``replay`` is: pieces into a ``StreamReader``.

A recording may hold an answer that is not a 2xx stream (the test kit's recording format:
``: http-status: 429`` and ``: http-header:`` lines, a blank line, the body as sent);
``recorded_answers`` turns it into the ``HTTPStatusError`` the live call raised.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Protocol, TypeVar, Union, runtime_checkable

from .errors import HTTPStatusError
from .fold import Fold
from .limits import Limits
from .reader import StreamReader

__all__ = [
    "RECORDED_STATUS",
    "Readable",
    "Source",
    "iter_source",
    "recorded_answers",
    "replay_into",
]

R = TypeVar("R")


@runtime_checkable
class Readable(Protocol):
    """An open binary file (``read(size) -> bytes``)."""

    def read(self, size: int, /) -> bytes: ...


#: What ``replay`` reads: the stream's bytes, a path to a recorded file, or byte pieces (an open
#: binary file counts: it is read in pieces).
Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", Readable, Iterable[bytes]]

_READ_SIZE = 64 * 1024
#: How a recorded answer that is not a 2xx stream begins (the status follows, then a line end).
RECORDED_STATUS = b": http-status: "
_RECORDED_HEADER = b": http-header: "
#: The most bytes of status and header lines a recorded answer holds before its body.
_MAX_HEAD = 64 * 1024


def _read_file(path: str | os.PathLike[str]) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while piece := f.read(_READ_SIZE):
            yield piece


def _read_stream(stream: Readable) -> Iterator[bytes]:
    # read1 (buffered files, stdin) returns what has arrived without waiting for a whole
    # buffer: a slow pipe is folded as it comes.
    read = getattr(stream, "read1", stream.read)
    while piece := read(_READ_SIZE):
        yield piece


def _slices(data: bytes | bytearray | memoryview) -> Iterator[bytes]:
    # Bytes in hand are folded in read-sized pieces too: a whole 10 MB stream decoded and split
    # at once runs out of the processor's caches, and costs a third more per chunk.
    view = memoryview(data)
    for start in range(0, len(view), _READ_SIZE):
        yield bytes(view[start : start + _READ_SIZE])


def iter_source(source: Source) -> Iterable[bytes]:
    """The pieces of bytes of a source; a file is read incrementally, never whole."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return (bytes(source),) if len(source) <= _READ_SIZE else _slices(source)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(source)
    if isinstance(source, Readable):
        return _read_stream(source)  # an open binary file, such as sys.stdin.buffer
    return source


def recorded_answers(pieces: Iterable[bytes], fold: Fold[R], limits: Limits) -> Iterable[bytes]:
    """The pieces of a source, unchanged (its first bytes are read now); but a recording of an
    answer that is not a 2xx stream raises its ``HTTPStatusError`` (status and message from
    the recorded body, of which ``max_error_body`` bytes are read; ``partial`` is the fold's
    empty object)."""
    if (
        pieces.__class__ is tuple  # bytes in hand (``iter_source``), nearly always a stream
        and len(pieces) == 1
        and not pieces[0].startswith(RECORDED_STATUS)
    ):
        return pieces
    pieces = iter(pieces)
    head = b""
    for piece in pieces:
        head += piece
        if len(head) >= len(RECORDED_STATUS):
            break
    if not head.startswith(RECORDED_STATUS):
        return chain((head,), pieces)  # nearly always: a stream, sent on as it came
    held = bytearray(head)
    limit = _MAX_HEAD + limits.max_error_body
    for piece in pieces:
        held += piece
        if len(held) > limit:
            break
    head_lines, blank, body = bytes(held).partition(b"\n\n")
    status, *headers = head_lines.split(b"\n")
    status = status[len(RECORDED_STATUS) :].strip()
    if not (
        blank and status.isdigit() and all(h.startswith(_RECORDED_HEADER) for h in headers)
    ):  # not the format: a stream that begins with a comment
        return chain((bytes(held),), pieces)
    raise HTTPStatusError.from_body(
        int(status), body[: limits.max_error_body], partial=fold.snapshot()
    )


def replay_into(fold: Fold[R], source: Source) -> R:
    """Read a source into a fold (any dialect's) through ``StreamReader``: its final object, or
    the ``HTTPStatusError`` of a recorded answer that is not a stream."""
    reader = StreamReader(fold)
    for piece in recorded_answers(iter_source(source), fold, reader.limits):
        if reader.receive_data(piece):
            break
    return reader.receive_eof()
