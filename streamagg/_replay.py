"""Replay a recorded stream: the thin adapter from bytes or a file to the fold."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar, Union, runtime_checkable

from ._fold import DEFAULT_PADDING_KEYS, DEFAULT_TEXT_KEYS, Aggregator
from ._ingest import Fold, StreamReader
from ._limits import DEFAULT_LIMITS, Limits
from ._models import ChatCompletionResponse

__all__ = ["Readable", "Source", "iter_source", "replay", "replay_into"]

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


def replay(
    source: Source,
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """Fold a recorded stream into the response it carries.

    ``source`` is the stream's bytes, a path (``str`` or ``os.PathLike``) to a recording, an open
    binary file, or an iterable of byte pieces. An event stream and a whole JSON completion (a
    recorded non-streaming answer) are both accepted, with or without a BOM. Raises the
    ``StreamError`` subclasses described in ``Aggregator``; each carries ``.partial``.
    The keywords are the fold options of ``Aggregator``.
    """
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    return replay_into(aggregator, source)


def replay_into(fold: Fold[R], source: Source) -> R:
    """Read a source into a fold (any dialect's) through ``StreamReader``: its final object."""
    reader = StreamReader(fold)
    for piece in iter_source(source):
        if reader.receive_data(piece):
            break
    return reader.receive_eof()
