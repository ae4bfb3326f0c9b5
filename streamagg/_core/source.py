"""Where a replay reads from: bytes, a path to a recording, an open binary file or byte pieces.

The one module of the core that opens a file (given a path); the folds themselves never do.
``replay_into`` is the thin adapter every dialect's ``replay`` is: pieces into a ``StreamReader``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar, Union, runtime_checkable

from .fold import Fold
from .reader import StreamReader

__all__ = ["Readable", "Source", "iter_source", "replay_into"]

R = TypeVar("R")


@runtime_checkable
class Readable(Protocol):
    """An open binary file (``read(size) -> bytes``)."""

    def read(self, size: int, /) -> bytes: ...


#: What ``replay`` reads: the stream's bytes, a path to a recorded file, or byte pieces (an open
#: binary file counts: it is read in pieces).
Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", Readable, Iterable[bytes]]

_READ_SIZE = 64 * 1024


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


def replay_into(fold: Fold[R], source: Source) -> R:
    """Read a source into a fold (any dialect's) through ``StreamReader``: its final object."""
    reader = StreamReader(fold)
    for piece in iter_source(source):
        if reader.receive_data(piece):
            break
    return reader.receive_eof()
