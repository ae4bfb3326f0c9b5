"""A recording opened for a replay, and the response body that sends it.

``open_recording`` opens a recording (a path or its bytes) and reads its start: enough to tell
what it is (``sniff_content_type``) and whether it is a recorded error answer. The rest is read
as the body is sent, a piece at a time, so that a replay holds one piece and at most one event
(``MAX_HELD``) of a recording of any size, never the whole file.

``Body`` sends the steps of a plan (``_faults.iter_plan``: waits, bytes, a dropped connection)
as the body is read, with the exceptions of the request's HTTP stack; ``body()`` makes one of
the stack's byte streams (``_stacks.byte_stream``).
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from ._faults import CUT, Step
from ._format import HTTPAnswer, http_answer, sniff_content_type, starts_http_answer
from ._stacks import byte_stream

__all__ = ["Body", "Opened", "body", "open_recording"]

# Bytes read from a recording at a time.
_PIECE = 64 * 1024


class Opened:
    """A recording open for reading: ``kind`` is its content type (``content_type``),
    ``answer`` the recorded error answer it holds (or None). Its bytes, from the start, come
    once: in pieces (``pieces()``, closing the file at their end) or whole (``read()``)."""

    def __init__(
        self, file: IO[bytes], head: bytes, kind: str, answer: HTTPAnswer | None = None
    ) -> None:
        self._file = file
        self._head = head
        self.kind = kind
        self.answer = answer

    def pieces(self) -> Iterator[bytes]:
        """The recording's bytes in pieces of at most 64 KiB, read as they are taken."""
        try:
            if self._head:
                yield self._head
            self._head = b""
            while piece := self._file.read(_PIECE):
                yield piece
        finally:
            self.close()

    def read(self) -> bytes:
        """The recording's bytes, whole (for an answer made of all of it: a fold, a JSON body)."""
        return b"".join(self.pieces())

    def close(self) -> None:
        self._file.close()


def open_recording(recording: str | os.PathLike[str] | bytes) -> Opened:
    """Open a recording and read its start (``OSError`` when it cannot be read)."""
    # Not a ``with``: the file stays open for the body that sends it (``Opened`` closes it).
    file: IO[bytes] = (
        io.BytesIO(recording) if isinstance(recording, bytes) else Path(recording).open("rb")  # noqa: SIM115 - closed by ``Opened``, see above
    )
    try:
        head = file.read(_PIECE)
        if starts_http_answer(head):  # an error answer: small, read whole
            head += file.read()
            answer = http_answer(head)
            if answer is not None:
                return Opened(file, head, "application/json", answer)
        kind = sniff_content_type(head, complete=False)
        while kind is None:
            more = file.read(_PIECE)
            head += more
            kind = sniff_content_type(head, complete=not more)
    except BaseException:
        file.close()
        raise
    return Opened(file, head, kind)


class Body:
    """A replayed body: a plan's steps (made a step at a time as the body is read) sent with
    their waits. A ``CUT`` step raises the stack's ``RemoteProtocolError`` (a dropped
    connection); a wait longer than the request's read timeout raises its ``ReadTimeout`` at
    the timeout, as a real connection would. The recording (``opened``) is closed when the
    body ends or is closed."""

    def __init__(
        self,
        steps: Iterator[Step],
        *,
        read_timeout: float | None,
        module: ModuleType,
        opened: Opened | None = None,
    ) -> None:
        self._steps = steps
        self._read_timeout = read_timeout
        self._module = module
        self._opened = opened

    def _too_long(self, wait: float) -> bool:
        return self._read_timeout is not None and wait > self._read_timeout

    def _timeout(self) -> Exception:
        error: Exception = self._module.ReadTimeout(
            "no data within the read timeout (a replayed wait or stall)"
        )
        return error

    def _cut(self) -> Exception:
        error: Exception = self._module.RemoteProtocolError(
            "peer closed connection without sending complete message body (an injected fault)"
        )
        return error

    def __iter__(self) -> Iterator[bytes]:
        try:
            for wait, data in self._steps:
                if self._too_long(wait):
                    time.sleep(self._read_timeout or 0)
                    raise self._timeout()
                if wait:
                    time.sleep(wait)
                if data is CUT:
                    raise self._cut()
                if data:
                    yield data
        finally:
            self.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for wait, data in self._steps:
                if self._too_long(wait):
                    await asyncio.sleep(self._read_timeout or 0)
                    raise self._timeout()
                if wait:
                    await asyncio.sleep(wait)
                if data is CUT:
                    raise self._cut()
                if data:
                    yield data
        finally:
            self.close()

    def close(self) -> None:
        close = getattr(self._steps, "close", None)  # a generator: its reads end
        if close is not None:
            close()
        if self._opened is not None:
            self._opened.close()

    async def aclose(self) -> None:
        self.close()


def body(
    module: ModuleType,
    steps: Iterator[Step],
    read_timeout: float | None,
    opened: Opened | None = None,
) -> Any:
    """A ``Body`` that is a byte stream of the stack ``module``."""
    made = byte_stream(module, Body)
    return made(steps, read_timeout=read_timeout, module=module, opened=opened)
