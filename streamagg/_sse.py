"""Bytes to server-sent events, following the WHATWG event-stream rules exactly.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream

Events are httpx-sse's ``ServerSentEvent``, imported when the first event object is made: the
fold's own path uses plain tuples, so the core never loads httpx. We do not reuse httpx-sse's
line decoder because 0.4.3 deviates from the spec in ways real streams hit: it honours the
response charset instead of always decoding UTF-8, keeps a leading BOM, dispatches an empty event
for a block with only ``id:``/``event:``/``retry:`` lines, accepts any ``int()`` text as ``retry``
and forgets the reconnection time after each event. This decoder corrects all of them, and works
on bytes so that a multi-byte character or a CRLF split across two reads is handled.

Sans-IO: ``SSEDecoder.feed(bytes)`` returns the events completed by those bytes; ``close()`` ends
the stream (an unfinished event is discarded, as the spec says).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ._errors import LimitExceededError
from ._limits import DEFAULT_LIMITS

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

__all__ = ["SSEDecoder", "parse_sse"]

#: (event type, data, last event id, reconnection time): what dispatch produces.
RawEvent = tuple[str, str, str, "int | None"]

_ASCII_DIGITS = frozenset("0123456789")
_RETRY_DIGITS = 18
_MAX_RETRY = 10**_RETRY_DIGITS - 1


class SSEDecoder:
    """Incremental event-stream parser: bytes in, events out.

    ``max_event_size`` bounds the characters of one line and of one event's data. Past it the
    decoder stops: ``failure`` holds a ``LimitExceededError`` (with ``partial=None``: the decoder
    folds nothing), ``feed`` raises it as soon as the bytes that exceed it arrive, and
    ``feed_raw`` returns the events completed before it (so that a caller that stops at
    ``[DONE]`` never sees a failure after it) and raises it on the next call.
    """

    def __init__(self, max_event_size: int = DEFAULT_LIMITS.max_event_size) -> None:
        self._max = max_event_size
        self.failure: LimitExceededError[None] | None = None
        self._pending_size = 0  # characters in _pending
        self._data_size = 0  # characters in _data
        # "Streams must be decoded using the UTF-8 decode algorithm": always UTF-8, errors
        # replaced, whatever charset the response claims.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._first = True  # a leading U+FEFF is still to be looked for
        self._after_cr = False  # the last text ended in CR: an LF next is the same line end
        self._pending: list[str] = []  # the start of a line not yet terminated
        self._event = ""
        self._data: list[str] = []
        # Stream state, not event state: both outlive the event they were set in.
        self._last_id = ""
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID string in force (to send as ``Last-Event-ID`` on reconnection)."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds set by the stream, if any."""
        return self._retry

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Parse more bytes; return the events they complete."""
        event = _event_class()
        events = [event(*raw) for raw in self.feed_raw(data)]
        if self.failure is not None:
            raise self.failure
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of input. Returns no events: an event without its blank line is discarded.
        Raises the decoder's ``failure``, if any."""
        if self.failure is not None:
            raise self.failure
        self._text(self._decoder.decode(b"", True))
        self._pending = []
        self._data = []
        self._pending_size = self._data_size = 0
        self._event = ""
        return []

    def close_raw(self) -> list[RawEvent]:
        """End of input, for readers that want the event the end cut off: the last event as
        it would have been dispatched had its blank line arrived (none if its data is empty).
        Raises the decoder's ``failure``, if any."""
        if self.failure is not None:
            raise self.failure
        events = self._text(self._decoder.decode(b"", True) + "\n\n")
        self.close()
        return events

    def feed_raw(self, data: bytes) -> list[RawEvent]:
        """Like ``feed`` but returns plain tuples (the fast path used by replay), and leaves a
        failure in ``failure`` (raised by the next call) after returning the events before it."""
        if self.failure is not None:
            raise self.failure
        return self._text(self._decoder.decode(data))

    def _text(self, text: str) -> list[RawEvent]:
        if not text:
            return []
        if self._first:
            self._first = False
            if text[0] == "\ufeff":
                text = text[1:]  # "One leading U+FEFF BYTE ORDER MARK character must be ignored"
        if self._after_cr:
            self._after_cr = False
            if text[:1] == "\n":
                text = text[1:]  # the LF of a CRLF whose CR ended the previous read
        if "\r" in text:
            # Lines end in CRLF, a lone LF or a lone CR. A CR at the very end already ends its
            # line; remember it so that an LF at the start of the next read is not a blank line.
            self._after_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        pending = self._pending
        if len(lines) == 1:
            pending.append(text)
            self._pending_size += len(text)
            if self._pending_size > self._max:
                self._fail("a line")
            return []
        if pending:
            pending.append(lines[0])
            lines[0] = "".join(pending)
        tail = lines.pop()
        self._pending = [tail] if tail else []
        self._pending_size = len(tail)
        if len(text) > self._max:  # only a read longer than the limit can hold such a line
            for n, line in enumerate(lines):
                if len(line) > self._max:
                    events = self._lines(lines[:n])
                    self._fail("a line")
                    return events
        return self._lines(lines)

    def _fail(self, what: str) -> None:
        self.failure = LimitExceededError(
            f"{what} of the event stream is longer than max_event_size={self._max}",
            limit="max_event_size",
            value=self._max,
            partial=None,
        )

    def _lines(self, lines: list[str]) -> list[RawEvent]:
        events: list[RawEvent] = []
        data = self._data
        # The size of the event's data, in a local while the lines are read (the hot loop).
        size, limit = self._data_size, self._max
        for line in lines:
            if not line:
                # Dispatch. "If the data buffer is an empty string, set the data buffer and the
                # event type buffer to the empty string and return": no event without data.
                if data:
                    events.append(
                        (
                            self._event or "message",
                            data[0] if len(data) == 1 else "\n".join(data),
                            self._last_id,
                            self._retry,
                        )
                    )
                    data = self._data = []
                    size = 0
                self._event = ""
            elif line.startswith("data: "):
                if data:
                    # A second data line: only now can the event outgrow one line, which the
                    # line limit already bounds (so a one-line event costs no counting).
                    size += len(line) if size else len(line) + len(data[0]) + 6
                    if size > limit:
                        self._fail("an event")
                        break
                data.append(line[6:])  # the usual form, one leading space stripped
            elif line[0] == ":":
                pass  # a comment
            elif line.startswith("event: "):
                self._event = line[7:]  # the usual form (named-event dialects send one each)
            else:
                self._data_size = size
                self._field(line, data)
                size = self._data_size
                if self.failure is not None:
                    break
        self._data_size = size
        return events

    def _field(self, line: str, data: list[str]) -> None:
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)  # also "data" with no colon: an empty data line
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                self._fail("an event")
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value and _ASCII_DIGITS.issuperset(value):
            # Any number of digits is valid; past 18 (more milliseconds than any clock needs,
            # and int() refuses over 4,300 digits) the value is clamped.
            self._retry = int(value) if len(value) <= _RETRY_DIGITS else _MAX_RETRY
        # any other field is ignored


def _event_class() -> type[ServerSentEvent]:
    from httpx_sse import ServerSentEvent  # noqa: PLC0415 - see the module doc

    return ServerSentEvent


def _pieces(source: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return (bytes(source),)
    return source


def parse_sse(
    source: bytes | bytearray | memoryview | Iterable[bytes],
) -> Iterator[ServerSentEvent]:
    """Parse an event stream given whole or as an iterable of byte pieces split anywhere."""
    event = _event_class()
    decoder = SSEDecoder()
    for piece in _pieces(source):
        for raw in decoder.feed_raw(piece):
            yield event(*raw)
    decoder.close()
