"""Replay a recorded stream: the thin adapter from bytes or a file to the fold."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Union

from ._fold import Aggregator
from ._models import ChatCompletionResponse
from ._sse import SSEDecoder

__all__ = ["Source", "iter_source", "replay"]

#: What ``replay`` reads: the stream's bytes, a path to a recorded file, or byte pieces.
Source = Union[bytes, str, "os.PathLike[str]", Iterable[bytes]]

_READ_SIZE = 64 * 1024


def _read_file(path: str | os.PathLike[str]) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while piece := f.read(_READ_SIZE):
            yield piece


def iter_source(source: Source) -> Iterable[bytes]:
    """The pieces of bytes of a source; a file is read incrementally, never whole."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return (bytes(source),)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(source)
    return source


def replay(source: Source) -> ChatCompletionResponse:
    """Fold a recorded stream into the response it carries.

    ``source`` is the stream's bytes, a path (``str`` or ``os.PathLike``) to a recorded ``.sse``
    file, or an iterable of byte pieces. Raises the ``StreamError`` subclasses described in
    ``Aggregator``; each carries ``.partial``.
    """
    aggregator = Aggregator()
    decoder = SSEDecoder()
    feed = aggregator._feed_data
    for piece in iter_source(source):
        for event in decoder.feed_raw(piece):
            if feed(event[0], event[1], None):
                return aggregator.result()
    decoder.close()
    return aggregator.result()
