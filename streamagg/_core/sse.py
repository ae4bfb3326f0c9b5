"""Bytes to server-sent events, following the WHATWG event-stream rules exactly.

Spec: HTML Living Standard, 9.2 "Server-sent events": 9.2.5 "Parsing an event stream" (the
grammar) and 9.2.6 "Interpreting an event stream" (the algorithm implemented here; quotations in
comments are from it). https://html.spec.whatwg.org/multipage/server-sent-events.html

Events are httpx-sse's ``ServerSentEvent``, imported when the first event object is made: the
fold's own path uses plain tuples, so the core never loads httpx. We do not reuse httpx-sse's
line decoder because 0.4.3 deviates from the spec in ways real streams hit: it honours the
response charset instead of always decoding UTF-8, keeps a leading BOM, dispatches an empty event
for a block with only ``id:``/``event:``/``retry:`` lines, accepts any ``int()`` text as ``retry``
and forgets the reconnection time after each event.

Sans-IO: ``SSEDecoder.feed(bytes)`` returns the events completed by those bytes; ``close()`` ends
the stream (an unfinished event is discarded, as the spec says).

Goals:

* Exactly the spec's events, however the bytes are split into reads (a character, a CRLF, a
  line or an event may be cut anywhere).
* Little Python work per event for what LLM APIs send, events of one ``data:`` line, some
  named by an ``event:`` line before it: every stream's hot path.
* Memory bounded by ``max_event_size``, checked without a cost per line in the hot path.

Plan, for each read:

1. Text (``_text``). One incremental UTF-8 decoder turns the bytes into text, keeping a
   character cut by the read's end for the next. A leading U+FEFF is dropped, and every line
   end (CRLF, CR, LF) becomes LF: from here on a line ends in LF and an event ends at the first
   ``"\\n\\n"``. A CR at the end of a read is remembered: an LF that opens the next read is the
   rest of that CRLF, not a blank line.
2. Events (``_parse``), by one of two paths that give the same events:

   * The general path (``_read_lines``, ``_interpret``, ``_field``) is 9.2.6 transcribed: one
     line at a time, with the data and event type buffers, the last event ID, the reconnection
     time and the limit. It reads everything the fast path does not: a line or an event begun
     in an earlier read (most reads open with one), comments, ``id:``/``retry:``, multi-line
     data, anything unusual, and a read longer than the limit.
   * The fast path (``_read_events``) takes text that starts at an event's first line, holds
     a blank line and is within the limit. It cuts the text at blank lines with ``str.split``
     and dispatches each event of one ``data: `` line, or of an ``event: `` line and a
     ``data: `` line, as it is, which is what 9.2.6 gives for those lines; any other event is
     handed to the general path. When every event is one ``data: `` line (nearly every read),
     one ``split`` gives all their data. What follows the last blank line (an event the read
     cut) goes to the general path. No line or event in such text can exceed the limit, so
     the fast path counts nothing.

3. Items. Both paths produce ``Item``: an unnamed event as its data alone (what ``feed_data``
   returns: folds need nothing else, and no tuple is made for it), a named one as a
   ``RawEvent``. ``feed_raw`` widens the bare strings into ``RawEvent``; for that the general
   path notes where ``id:`` or ``retry:`` changed the stream's state (``_changes``).
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
        # 9.2.6: "Streams must be decoded using the UTF-8 decode algorithm": always UTF-8,
        # errors replaced, whatever charset the response claims.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._first = True  # a leading U+FEFF is still to be looked for
        self._after_cr = False  # the last text ended in CR: an LF next is the same line end
        # The event in progress (9.2.6's buffers, and the start of a line not yet ended).
        self._pending: list[str] = []  # the start of a line not yet terminated
        self._pending_size = 0  # characters in _pending
        self._event = ""  # the event type buffer
        self._data: list[str] = []  # the data buffer, a line an item
        self._data_size = 0  # characters counted in _data (from its second line: _interpret)
        # Stream state, not event state: both outlive the event they were set in.
        self._last_id = ""
        self._retry: int | None = None
        # Where this read changed them: the index of the first event the new values apply
        # to -> (last id, retry). Read by feed_raw only, cleared every read.
        self._changes: dict[int, tuple[str, int | None]] = {}

    @property
    def last_event_id(self) -> str:
        """The last event ID string in force (to send as ``Last-Event-ID`` on reconnection)."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds set by the stream, if any."""
        return self._retry

    # Public: the same parse, handed out in three forms.

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Parse more bytes; return the events they complete."""
        event = _event_class()
        events = [event(*raw) for raw in self.feed_raw(data)]
        if self.failure is not None:
            raise self.failure
        return events

    def feed_raw(self, data: bytes) -> list[RawEvent]:
        """Like ``feed`` but returns plain tuples, and leaves a failure in ``failure`` (raised
        by the next call) after returning the events before it."""
        self._raise_failure()
        last_id, retry = self._last_id, self._retry
        return self._widen(self._parse(self._text(self._decoder.decode(data))), last_id, retry)

    def feed_data(self, data: bytes) -> list[Item]:
        """Like ``feed_raw``, but the data of an unnamed event may come as the string alone
        (see ``Item``): what folds read, the hot path of every stream."""
        if self.failure is not None:  # (inline: a call per read is felt by short streams)
            raise self.failure
        return self._parse(self._text(self._decoder.decode(data)))

    def close(self) -> list[ServerSentEvent]:
        """End of input. Returns no events: an event without its blank line is discarded.
        Raises the decoder's ``failure``, if any."""
        self._raise_failure()
        self._parse(self._text(self._decoder.decode(b"", True)))
        # 9.2.6: "Once the end of the file is reached, any pending data must be discarded."
        self._pending = []
        self._data = []
        self._pending_size = self._data_size = 0
        self._event = ""
        return []

    def close_raw(self) -> list[RawEvent]:
        """End of input, for readers that want the event the end cut off: the last event as
        it would have been dispatched had its blank line arrived (none if its data is empty).
        Raises the decoder's ``failure``, if any."""
        self._raise_failure()
        tail = self._decoder.decode(b"", True)  # a character the end cut, as U+FFFD
        if not (tail or self._pending or self._data):
            # Nearly always: the input ended at an event's blank line (streams without a
            # terminal event, such as Gemini's, end here every time).
            self.close()
            return []
        last_id, retry = self._last_id, self._retry
        events = self._widen(self._parse(self._text(tail + "\n\n")), last_id, retry)
        self.close()
        return events

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _widen(self, items: list[Item], last_id: str, retry: int | None) -> list[RawEvent]:
        """Each item as a ``RawEvent``: a bare string is an unnamed event ("message"), with
        the last event ID and reconnection time in force when it was dispatched (``last_id``
        and ``retry`` at the start of the read, then as ``_changes`` says)."""
        changes = self._changes
        if not changes:  # nearly always: one last event ID and reconnection time for the read
            return [("message", i, last_id, retry) if isinstance(i, str) else i for i in items]
        events: list[RawEvent] = []
        for index, item in enumerate(items):
            if index in changes:
                last_id, retry = changes[index]
            events.append(("message", item, last_id, retry) if isinstance(item, str) else item)
        return events

    # Step 1 of the plan: the text.

    def _text(self, text: str) -> str:
        """Decoded text without the leading BOM, every line end as LF. 9.2.6: a line ends in
        a CRLF pair, a single LF not preceded by CR, or a single CR not followed by LF."""
        if not text:
            return text
        if self._first:
            self._first = False
            if text[0] == "\ufeff":
                text = text[1:]  # 9.2.6: the UTF-8 decode algorithm strips one leading BOM
        if self._after_cr:
            self._after_cr = False
            if text[:1] == "\n":
                text = text[1:]  # the LF of a CRLF whose CR ended the previous read
        if "\r" in text:
            # A CR at the very end already ends its line; remember it so that an LF at the
            # start of the next read is not a blank line.
            self._after_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    # Step 2 of the plan: the events.

    def _parse(self, text: str) -> list[Item]:
        """The events ``text`` completes: the choice of path."""
        self._changes.clear()
        out: list[Item] = []
        if "\n\n" not in text or len(text) > self._max:
            # No event ends here (the text continues a line or an event), or the text is
            # longer than the limit, which only the general path checks.
            self._read_lines(text, out)
            return out
        if self._pending or self._data or self._event:
            # An event begun in an earlier read: the general path reads it to its blank line,
            # which is the first of the text (or its first character, when the last read
            # ended a line); the rest starts at an event's first line.
            end = 1 if not self._pending and text[0] == "\n" else text.index("\n\n") + 2
            self._read_lines(text[:end], out)
            if self.failure is not None:
                return out
            text = text[end:]
        self._read_events(text, out)
        return out

    def _read_events(self, text: str, out: list[Item]) -> None:
        """The fast path: ``text`` starts at an event's first line (nothing is in progress) and
        is no longer than the limit (so no line or event in it can be longer)."""
        last = text.rfind("\n\n")  # what follows the last blank line, the general path reads
        if last < 0:  # (the rest of a text whose first event was in progress) no event ends
            self._read_lines(text, out)
            return
        if text.startswith("data: "):
            # When every event is one "data: " line, their data is the text between the first
            # "data: " and the last blank line, split at each blank line followed by "data: ".
            # That holds exactly when no piece holds an LF ("in" is a memchr).
            datas = text[6:last].split("\n\ndata: ")
            for data in datas:  # a plain loop: any() over a generator costs more per event
                if "\n" in data:
                    break
            else:
                out += datas
                if last + 2 < len(text):  # nearly always, the text ends at the blank line
                    self._read_lines(text[last + 2 :], out)
                return
        # Block by block (a block: the lines before a blank line): one "data: " line, or an
        # "event: " line and one "data: " line (the named-event dialects), is dispatched as it
        # is; any other block is read line by line, its blank line included.
        blocks = text.split("\n\n")
        rest = blocks.pop()
        last_id, retry = self._last_id, self._retry
        for block in blocks:
            if block.startswith("data: "):
                if "\n" not in block:
                    out.append(block[6:])
                    continue
            elif block.startswith("event: "):
                end = block.find("\n")  # of the event line
                if block.startswith("data: ", end + 1) and block.find("\n", end + 1) < 0:
                    # (An empty name is "message", dispatched as a tuple all the same.)
                    out.append((block[7:end] or "message", block[end + 7 :], last_id, retry))
                    continue
            self._interpret([*block.split("\n"), ""], out)
            if self.failure is not None:
                return
            last_id, retry = self._last_id, self._retry
        self._read_lines(rest, out)

    def _read_lines(self, text: str, out: list[Item]) -> None:
        """The general path: ``text`` line by line, continuing the line the last read left
        unfinished and keeping the start of an unfinished one for the next."""
        if not text:
            return
        lines = text.split("\n")
        pending = self._pending
        if len(lines) == 1:
            pending.append(text)
            self._pending_size += len(text)
            if self._pending_size > self._max:
                self._fail("a line")
            return
        if pending:
            pending.append(lines[0])
            lines[0] = "".join(pending)
        tail = lines.pop()
        self._pending = [tail] if tail else []
        self._pending_size = len(tail)
        if len(text) > self._max:  # only a read longer than the limit can hold such a line
            for n, line in enumerate(lines):
                if len(line) > self._max:
                    self._interpret(lines[:n], out)
                    self._fail("a line")
                    return
        self._interpret(lines, out)

    def _interpret(self, lines: list[str], out: list[Item]) -> None:
        """9.2.6, for whole lines: "Lines must be processed, in the order they are received"."""
        data = self._data
        # The size of the event's data, in a local while the lines are read (the hot loop).
        size, limit = self._data_size, self._max
        for line in lines:
            if not line:
                # "If the line is empty (a blank line): dispatch the event." Its steps: "If
                # the data buffer is an empty string, set the data buffer and the event type
                # buffer to the empty string and return"; remove the data's last LF (here,
                # join the lines); the type is "message" unless the event type buffer is set.
                if data:
                    value = data[0] if len(data) == 1 else "\n".join(data)
                    if self._event:
                        out.append((self._event, value, self._last_id, self._retry))
                    else:
                        out.append(value)
                    data = self._data = []
                    size = 0
                self._event = ""
            elif line.startswith("data: "):
                # The usual form ("data", a colon, one space removed), ahead of the general rule.
                if data:
                    # A second data line: only now can the event outgrow one line, which the
                    # line limit already bounds (so a one-line event costs no counting).
                    size += len(line) if size else len(line) + len(data[0]) + 6
                    if size > limit:
                        self._fail("an event")
                        break
                data.append(line[6:])
            elif line[0] == ":":
                pass  # "If the line starts with a U+003A COLON character (:): ignore the line."
            elif line.startswith("event: "):
                self._event = line[7:]  # the usual form (named-event dialects send one each)
            else:
                self._data_size = size
                self._field(line, data, len(out))
                size = self._data_size
                if self.failure is not None:
                    break
        self._data_size = size

    def _field(self, line: str, data: list[str], index: int) -> None:
        """9.2.6's "process the field" for any line that is not empty and not a comment;
        ``index`` is where the next event will be in this read's events."""
        # Field name before the first colon, value after it less one leading space; a line
        # without a colon is a field name with an empty value.
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            # "Append the field value to the data buffer, then append a single U+000A LINE
            # FEED (LF) character to the data buffer": the LFs are the joins of ``data``.
            data.append(value)
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                self._fail("an event")
        elif name == "event":
            self._event = value  # "Set the event type buffer to field value."
        elif name == "id":
            # "If the field value does not contain U+0000 NULL, then set the last event ID
            # buffer to the field value. Otherwise, ignore the field."
            if "\0" not in value:
                self._last_id = value
                self._changes[index] = (self._last_id, self._retry)
        elif name == "retry" and value and _ASCII_DIGITS.issuperset(value):
            # "If the field value consists of only ASCII digits", the reconnection time.
            # Any number of digits is valid; past 18 (more milliseconds than any clock needs,
            # and int() refuses over 4,300 digits) the value is clamped.
            self._retry = int(value) if len(value) <= _RETRY_DIGITS else _MAX_RETRY
            self._changes[index] = (self._last_id, self._retry)
        # "Otherwise: the field is ignored."

    def _fail(self, what: str) -> None:
        self.failure = LimitExceededError(
            f"{what} of the event stream is longer than max_event_size={self._max}",
            limit="max_event_size",
            value=self._max,
            partial=None,
        )


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
