"""Replay a recorded stream: the thin adapter from bytes or a file to the fold."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Union

from ._fold import Aggregator
from ._models import ChatCompletionResponse, Delta
from ._sse import SSEDecoder

__all__ = ["EventFold", "Source", "iter_source", "replay"]

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


class EventFold:
    """Event-stream bytes into an ``Aggregator``: the one loop that ``replay()``, ``stream()``
    and the CLI share. Sans-IO: it is given bytes and says when ``[DONE]`` has ended the stream.
    """

    __slots__ = ("_decoder", "aggregator")

    def __init__(self, aggregator: Aggregator) -> None:
        self.aggregator = aggregator
        self._decoder = SSEDecoder()

    def feed(self, data: bytes, out: list[Delta] | None) -> bool:
        """Fold the events these bytes complete (their deltas into ``out``); True at ``[DONE]``.
        Raises the fold's ``StreamError``s."""
        feed = self.aggregator._feed_data
        # A plain loop: any() over a generator measured about 5% slower per chunk.
        for event in self._decoder.feed_raw(data):  # noqa: SIM110
            if feed(event[0], event[1], out):
                return True
        return False

    def close(self) -> None:
        """End of input: an unfinished event is discarded."""
        self._decoder.close()


def replay(source: Source) -> ChatCompletionResponse:
    """Fold a recorded stream into the response it carries.

    ``source`` is the stream's bytes, a path (``str`` or ``os.PathLike``) to a recorded ``.sse``
    file, or an iterable of byte pieces. Raises the ``StreamError`` subclasses described in
    ``Aggregator``; each carries ``.partial``.
    """
    events = EventFold(Aggregator())
    for piece in iter_source(source):
        if events.feed(piece, None):
            break
    else:
        events.close()
    return events.aggregator.result()
