"""A response body of httpx sent in pieces, for the tests of the app layer written against
httpx's ``MockTransport`` (``stacks.py`` has one for each stack). Apart from ``helpers`` so that
a run without httpx installed still loads ``conftest``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body for ``httpx.MockTransport`` (sync and async) sent in ``size``-byte
    pieces; after ``fail_after`` bytes it raises ``fault`` (a dropped connection, a timeout)."""

    def __init__(
        self,
        body: bytes,
        size: int = 3,
        *,
        fail_after: int | None = None,
        fault: Exception | None = None,
    ) -> None:
        self.body = body
        self.size = size
        self.fail_after = fail_after
        self.fault = fault
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        end = len(self.body) if self.fail_after is None else self.fail_after
        for i in range(0, end, self.size):
            yield self.body[i : min(i + self.size, end)]
        if self.fault is not None:
            raise self.fault

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True
