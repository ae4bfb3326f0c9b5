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

from .errors import LimitExceededError
from .limits import DEFAULT_LIMITS

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

__all__ = ["Item", "RawEvent", "SSEDecoder", "parse_sse"]

#: (event type, data, last event id, reconnection time): what dispatch produces.
RawEvent = tuple[str, str, str, "int | None"]
#: What ``feed_data`` returns an event as: a ``RawEvent``, or (the hot path) the data alone of
#: an unnamed event (its id and reconnection time left out: folds do not read them).
Item = str | RawEvent

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
        self._bare = False  # events of unnamed events as their data alone (feed_data)
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
        self._bare = False
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
        self._bare = False
        events = self._text(self._decoder.decode(b"", True) + "\n\n")
        self.close()
        return events  # type: ignore[return-value]

    def feed_raw(self, data: bytes) -> list[RawEvent]:
        """Like ``feed`` but returns plain tuples, and leaves a failure in ``failure`` (raised
        by the next call) after returning the events before it."""
        if self.failure is not None:
            raise self.failure
        self._bare = False
        return self._text(self._decoder.decode(data))  # type: ignore[return-value]

    def feed_data(self, data: bytes) -> list[Item]:
        """Like ``feed_raw``, but the data of an unnamed event may come as the string alone
        (see ``Item``): what folds read, the hot path of every stream."""
        if self.failure is not None:
            raise self.failure
        self._bare = True
        return self._text(self._decoder.decode(data))

    def _text(self, text: str) -> list[Item]:
        """The events ``text`` completes; with ``_bare`` (``feed_data``), the data of an
        unnamed event comes as the string alone (``Item``)."""
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
        if "\n\n" not in text or len(text) > self._max:
            return self._split(text)
        if not self._pending and not self._data and not self._event:
            return self._blocks(text)
        # An event is in progress: read it line by line up to its blank line (the first blank
        # line of this text; or its first character, when the last read ended a line), and
        # the rest from the start of the next event.
        cut = 1 if not self._pending and text[0] == "\n" else text.index("\n\n") + 2
        events = self._split(text[:cut])
        if self.failure is not None:
            return events
        rest = text[cut:]
        if "\n\n" in rest:
            return [*events, *self._blocks(rest)]
        return [*events, *self._split(rest)] if rest else events

    def _blocks(self, text: str) -> list[Item]:
        """Text that starts at an event's first line and holds a blank line: the hot path.
        Called only when no line or event is in progress and the text is no longer than
        ``max_event_size`` (so that no line or event in it can be longer).

        When every event up to the last blank line is one ``data: `` line (nearly every read
        of every stream), their data is the text between the first ``data: `` and the last
        blank line, split at each blank line followed by ``data: ``: one call into C for the
        whole read. That holds exactly when the text starts with ``data: `` and no piece of
        the split holds a newline (``in`` is a memchr). Otherwise each block between blank
        lines is looked at: an event of one ``data: `` line, or of an ``event: `` line and one
        ``data: `` line (the named-event dialects), is dispatched as it is, and any other block
        is read line by line, by the spec's algorithm itself."""
        end = text.rfind("\n\n")
        if text.startswith("data: "):
            datas = self._plain(text, end)
            if datas is not None:
                events: list[Item] = datas  # type: ignore[assignment]
                if not self._bare:
                    last_id, retry = self._last_id, self._retry
                    events = [("message", data, last_id, retry) for data in datas]
                if end + 2 == len(text):
                    return events
                return [*events, *self._split(text[end + 2 :])]
        blocks = text.split("\n\n")
        tail = blocks.pop()  # what follows the last blank line: lines read as usual
        events = []
        last_id, retry = self._last_id, self._retry
        for block in blocks:
            if block.startswith("data: "):
                if "\n" not in block:
                    data = block[6:]
                    events.append(data if self._bare else ("message", data, last_id, retry))
                    continue
            elif block.startswith("event: "):
                end = block.find("\n")
                if block.startswith("data: ", end + 1) and block.find("\n", end + 1) < 0:
                    kind = block[7:end] or "message"
                    events.append((kind, block[end + 7 :], last_id, retry))
                    continue
            events.extend(self._lines([*block.split("\n"), ""]))
            if self.failure is not None:
                return events
            last_id, retry = self._last_id, self._retry
        if tail:
            events.extend(self._split(tail))
        return events

    @staticmethod
    def _plain(text: str, end: int) -> list[str] | None:
        """The data of every event of ``text`` up to ``end`` (its last blank line) when each is
        one ``data: `` line, else None."""
        datas = text[6:end].split("\n\ndata: ")
        for data in datas:  # a plain loop: any() over a generator costs more per event
            if "\n" in data:
                return None
        return datas

    def _split(self, text: str) -> list[Item]:
        """Text read line by line, the start of an unfinished line kept for the next read."""
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

    def _lines(self, lines: list[str]) -> list[Item]:
        events: list[Item] = []
        data = self._data
        # The size of the event's data, in a local while the lines are read (the hot loop).
        size, limit = self._data_size, self._max
        for line in lines:
            if not line:
                # Dispatch. "If the data buffer is an empty string, set the data buffer and the
                # event type buffer to the empty string and return": no event without data.
                if data:
                    value = data[0] if len(data) == 1 else "\n".join(data)
                    if self._bare and not self._event:
                        events.append(value)
                    else:
                        kind = self._event or "message"
                        events.append((kind, value, self._last_id, self._retry))
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
