"""The reader: the one path from bytes to a fold.

Every adapter (``replay``, the app wrappers, the CLI, ``serve``) moves bytes into a
``StreamReader`` and nothing else, the way h11's ``Connection.receive_data`` is the only door.
The reader decides, from the bytes alone, what the body is:

* an event stream (``text/event-stream``, or the same labelled ``application/json`` by a proxy):
  parsed by ``SSEDecoder`` and handed to the fold event by event;
* a whole JSON body (a server that ignored ``stream: true``, or a recorded non-streaming answer):
  collected and handed to the fold once, at the end.

The rule, one for every entry point: skip one leading UTF-8 BOM and any whitespace; a body whose
first byte is then ``{`` or ``[`` is JSON, anything else is an event stream (an event-stream line
never starts with either: it would be a field of that name, which the spec ignores). The content
type a server sends is not consulted: proxies relabel streams, and the bytes do not lie.

A fold whose dialect is newline-delimited JSON (Ollama) says so with ``framing = "ndjson"``: the
reader then hands it one line at a time (``NDJSONDecoder``), each as the data of an event.

A dialect's fold implements ``Fold`` (``streamagg._core.fold``); its errors are ``StreamError``
subclasses carrying the dialect's own object as ``.partial``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

from .errors import ContentTypeError, LimitExceededError
from .fold import DONE, Fold, decode_json
from .limits import DEFAULT_LIMITS, Limits
from .ndjson import NDJSONDecoder
from .sse import Item, SSEDecoder

__all__ = ["StreamReader", "body_is_json"]

R = TypeVar("R")

_BOM = b"\xef\xbb\xbf"
#: How many of the input's first bytes are kept (as read, and once a BOM and whitespace are
#: dropped), to say what an input that is no stream is.
_KEPT = 256
_START = 80
_SHOWN = 40
#: How the lines of an event stream begin (a field name, or a comment).
_SSE_LINE = re.compile(rb"(?:data|event|id|retry)(?::|\r|\n|$)|:")
_WHITESPACE = b" \t\r\n"
_JSON_STARTS = frozenset(b"{[")


def _is_whole(data: str) -> bool:
    if data.strip() == DONE:
        return True
    try:
        decode_json(data)
    except (ValueError, RecursionError):
        return False
    return True


def _receive_each(fold: Fold[Any], events: list[Item], out: list[Any] | None) -> bool:
    """Fold a read's events one by one, for a fold without ``receive_events``."""
    for event in events:
        if event.__class__ is str:
            if fold.receive("message", event, out):
                return True
        elif fold.receive(event[0], event[1], out):
            return True
    return False


def _looks_like(start: bytes) -> tuple[str, str]:
    """What input that begins with ``start`` is, when it is not an event stream or JSON: a
    description and a media type, or ``("", "")``."""
    if not start or start[0] in _JSON_STARTS or _SSE_LINE.match(start):
        return "", ""
    if b"\0" in start or not _is_text(start):
        return "binary data", "application/octet-stream"
    if start[:1] == b"<":
        return "HTML or XML", "text/html"
    return "plain text", "text/plain"


def _is_text(start: bytes) -> bool:
    """Whether ``start`` is UTF-8 (its last character may be cut)."""
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(start) - 3 and exc.reason == "unexpected end of data"
    return True


def body_is_json(head: bytes) -> bool | None:
    """Whether a body starting with ``head`` is JSON (True) or an event stream (False); None
    while ``head`` is only a BOM (or part of one) and whitespace."""
    start = len(_BOM) if head.startswith(_BOM) else 0
    if start == 0 and len(head) < len(_BOM) and _BOM.startswith(head):
        return None
    rest = head[start:].lstrip(_WHITESPACE)
    if not rest:
        return None
    return rest[0] in _JSON_STARTS


class StreamReader(Generic[R]):
    """Bytes in, a fold's deltas and final object out: the door every adapter uses.

    ``receive_data(bytes, out)`` as the bytes arrive (in pieces split anywhere); it returns True
    once the fold says the stream has ended, after which nothing more is read or folded.
    ``receive_eof()`` at the end of input returns ``fold.result()``: the final object, or the
    fold's ``StreamError`` with the partial object.

    ``limits`` (by default the fold's own ``limits``) bounds one line or event
    (``max_event_size``, which a whole JSON body counts as) and the whole stream
    (``max_total_bytes``): past them, ``LimitExceededError`` with the partial object.
    """

    __slots__ = (
        "_body",
        "_body_size",
        "_decoder",
        "_dropped",
        "_events",
        "_head",
        "_json",
        "_lines",
        "_scanned",
        "_start",
        "_total",
        "fold",
        "limits",
    )

    def __init__(self, fold: Fold[R], limits: Limits | None = None) -> None:
        self.fold = fold
        if limits is None:
            limits = getattr(fold, "limits", DEFAULT_LIMITS)
        self.limits: Limits = limits  # the limits in force
        self._decoder = SSEDecoder(limits.max_event_size)
        # The fold's way to take a read's events at once, or one event at a time.
        self._events: Callable[[list[Item], list[Any] | None], bool] = getattr(
            fold, "receive_events", None
        ) or partial(_receive_each, fold)
        self._total = 0  # bytes read, counted only when max_total_bytes is set
        self._body_size = 0
        self._json: bool | None = None  # undecided until the first byte that is not whitespace
        self._head = bytearray()  # the bytes read while undecided
        self._scanned = 0  # how much of _head is known to be BOM or whitespace
        self._dropped = False  # whether blank lines were dropped (a BOM after them is none)
        self._body: list[bytes] = []  # a JSON body, in pieces
        self._start = b""  # the input's first bytes as read, to say what it is if no stream
        # A fold whose dialect is newline-delimited JSON (``framing = "ndjson"``) reads lines.
        self._lines: NDJSONDecoder | None = None
        if getattr(fold, "framing", "sse") == "ndjson":
            self._lines = NDJSONDecoder(limits.max_event_size)

    @property
    def done(self) -> bool:
        """True once the stream has ended: read no more."""
        return self.fold.done

    def receive_data(self, data: bytes, out: list[Any] | None = None) -> bool:
        """Fold what these bytes complete, appending deltas to ``out`` (when not None); True
        once the stream has ended. Raises the fold's ``StreamError``s."""
        fold = self.fold
        if fold.done:
            return True
        if self.limits.max_total_bytes is not None:
            self._count(len(data))
        if len(self._start) < _KEPT:  # the same bytes however the input is cut
            self._start += data[: _KEPT - len(self._start)]
        if self._lines is not None:
            return self._receive_lines(data, out)
        if self._json is None:
            data = self._sniff(data)
            if not data:
                return False
        if self._json:
            self._body.append(data)
            self._body_size += len(data)
            if self._body_size > self.limits.max_event_size:
                self._exceeded("the JSON body", "max_event_size")
            return False
        decoder = self._decoder
        if self._events(decoder.feed_data(data), out):
            return True
        if decoder.failure is not None:  # a limit, past the events folded above
            raise self._with_partial(decoder.failure)
        return False

    def _receive_lines(self, data: bytes, out: list[Any] | None) -> bool:
        receive = self.fold.receive
        decoder: NDJSONDecoder = self._lines  # type: ignore[assignment]
        try:
            lines = decoder.feed(data)
        except LimitExceededError as exc:
            raise self._with_partial(exc) from None
        if any(receive("message", line, out) for line in lines):
            return True
        if decoder.failure is not None:  # a limit, past the lines folded above
            raise self._with_partial(decoder.failure)
        return False

    def _count(self, size: int) -> None:
        self._total += size
        if self._total > (self.limits.max_total_bytes or 0):
            self._exceeded("the stream", "max_total_bytes")

    def _exceeded(self, what: str, limit: str) -> None:
        value = getattr(self.limits, limit)
        raise LimitExceededError(
            f"{what} is longer than {limit}={value}",
            limit=limit,
            value=value,
            partial=self.fold.snapshot(),
        )

    def _with_partial(self, exc: LimitExceededError[Any]) -> LimitExceededError[R]:
        return LimitExceededError(
            str(exc), limit=exc.limit, value=exc.value, partial=self.fold.snapshot()
        )

    def receive_eof(self) -> R:
        """End of input: the fold's final object, or its error. An unfinished event is
        discarded unless its data is whole; a JSON body is folded now."""
        fold = self.fold
        if not fold.done and self._lines is not None:
            line = self._lines.close()  # the last line, folded only when it is whole JSON
            if line is not None and _is_whole(line):
                fold.receive("message", line, None)
        elif not fold.done:
            if self._json:
                fold.receive_body(b"".join(self._body).decode("utf-8-sig", "replace"))
                self._body = []
            if self._decoder.failure is not None:
                raise self._with_partial(self._decoder.failure)
            for event in self._decoder.close_raw():
                # An event the end of input cut off (before its blank line) is discarded, as
                # the spec says, unless its data is whole: JSON that parses, or [DONE]. Many
                # recordings lose the final blank line (editors and YAML cassettes strip
                # trailing newlines); a connection cut mid-event leaves JSON that does not parse.
                if _is_whole(event[1]) and fold.receive(event[0], event[1], None):
                    break
        if fold.chunks == 0 and not fold.done:
            # (A stream that ended, at ``[DONE]`` or its terminal event, is an event stream,
            # whatever came before; and what came after its end is not read.)
            self._check_start()
        return fold.result()

    def _check_start(self) -> None:
        """Input of which nothing folded, that is no event stream at all (HTML, binary data,
        plain text), is a ``ContentTypeError`` saying what it looks like, in one line."""
        start = self._start.removeprefix(_BOM).lstrip(_WHITESPACE)[:_START]
        if self._json:
            what, media = "JSON of another shape", "application/json"
        else:
            what, media = _looks_like(start)
        if what:
            shown = repr(start[:_SHOWN]) + ("..." if len(start) > _SHOWN else "")
            raise ContentTypeError(
                f"the input is not an event stream: it looks like {what}: {shown}",
                content_type=media,
                partial=self.fold.snapshot(),
            )

    def _sniff(self, data: bytes) -> bytes:
        """Take ``data`` while undecided; once decided, return every byte read so far."""
        head = self._head
        if not head and not self._dropped:
            # The usual case: the first read decides, and nothing is copied.
            verdict = body_is_json(data)
            if verdict is not None:
                self._json = verdict
                return data
        head += data
        if self._scanned == 0 and not self._dropped:  # a BOM only counts at the very start
            if len(head) < len(_BOM) and _BOM.startswith(head):
                return b""
            if head.startswith(_BOM):
                self._scanned = len(_BOM)
        # Only the bytes not scanned before are looked at: linear in the input, however small
        # the pieces.
        rest = head[self._scanned :].lstrip(_WHITESPACE)
        if not rest:
            # Nothing but whitespace so far: whole lines of it are blank lines, which mean
            # nothing in an event stream (and nothing before a JSON body), so they are dropped
            # and only the line under way is held, bounded like any line.
            start = len(_BOM) if head.startswith(_BOM) else 0
            last_end = max(head.rfind(b"\n"), head.rfind(b"\r"))
            if last_end >= start:
                del head[start : last_end + 1]
                self._dropped = True
            if len(head) > self.limits.max_event_size:
                self._exceeded("a line", "max_event_size")
            self._scanned = len(head)
            return b""
        self._json = rest[0] in _JSON_STARTS
        self._head = bytearray()
        return bytes(head)
