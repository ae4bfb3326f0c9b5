"""Newline-delimited JSON framing (Ollama's native streams): bytes in, one line at a time out.

The twin of ``SSEDecoder`` for NDJSON, with the same guarantees: bytes may be split anywhere
(inside a line, a multi-byte character or a CRLF); lines end in LF or CRLF; blank lines are
skipped; one leading BOM is dropped; a line longer than ``max_line`` characters raises
``LimitExceededError`` as soon as it is that long (after returning the lines before it, which
the reader folds first: ``failure`` holds it), so a line that never ends cannot grow memory
without bound. ``close()`` returns the last line if the input ended without its newline.
"""

from __future__ import annotations

import codecs

from .errors import LimitExceededError
from .limits import DEFAULT_LIMITS

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Bytes in (``feed``), complete lines out; ``close()`` at the end of input."""

    __slots__ = ("_decoder", "_first", "_max", "_pending", "_size", "failure")

    def __init__(self, max_line: int = DEFAULT_LIMITS.max_event_size) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: list[str] = []  # the start of a line not yet ended
        self._size = 0
        self._max = max_line
        self._first = True
        #: The limit a line went past: raised by the next call, after the lines before it.
        self.failure: LimitExceededError[None] | None = None

    def feed(self, data: bytes) -> list[str]:
        """The lines these bytes complete (without their line end; blank lines skipped)."""
        if self.failure is not None:
            raise self.failure
        text = self._decoder.decode(data)
        if not text:
            return []
        if self._first:
            self._first = False
            if text[0] == "\ufeff":
                text = text[1:]
        limit = self._max
        if "\n" not in text:
            self._pending.append(text)
            self._size += len(text)
            if self._size > limit:
                raise self._fail()
            return []
        lines = text.split("\n")
        if self._pending:
            lines[0] = "".join(self._pending) + lines[0]
        tail = lines.pop()
        self._pending = [tail] if tail else []
        self._size = len(tail)
        # Only the first line (with what was pending) or a read longer than the limit can hold
        # a line past it.
        if len(lines[0]) > limit or len(text) > limit:
            for n, line in enumerate(lines):
                if len(line) > limit:
                    self._fail()
                    lines = lines[:n]
                    break
        if self._size > limit:
            self._fail()
        return [line.removesuffix("\r") for line in lines if line and not line.isspace()]

    def close(self) -> str | None:
        """The end of input: the last line, if it did not end with a newline."""
        rest = "".join(self._pending) + self._decoder.decode(b"", True)
        self._pending = []
        self._size = 0
        rest = rest.removesuffix("\r")
        return rest if rest and not rest.isspace() else None

    def _fail(self) -> LimitExceededError[None]:
        self.failure = LimitExceededError(
            f"a line of the NDJSON stream is longer than max_event_size={self._max}",
            limit="max_event_size",
            value=self._max,
            partial=None,
        )
        return self.failure
