"""Which dialect a recorded stream speaks, from its first events; and a replay of any dialect.

The rule (general, never by provider), asked of the registry's dialects in order: the first
event (or line) that names its dialect decides, by its SSE event name or JSON ``type`` (each
dialect's ``claims_name``: ``response.*`` is the Responses API, ``message_start``... Anthropic),
else by the keys of its JSON (``claims_chunk``: ``choices``, ``candidates``, ``done``...). Events
that say nothing (``error``, keep-alives, comments) are passed over. A stream that never decides
(empty, or only errors) is the default dialect's, chat completions.

A whole JSON body (a recorded non-streaming answer) decides by ``claims_body`` (``object:
"response"``, ``type: "message"``), then as a chunk; a body of JSON lines whose first line is a
chunk of a dialect framed as lines (Ollama) is that dialect's.

``Detector`` reads bytes incrementally (linear however they are split) and keeps them until it
decides, so that they can then be given to the chosen fold's reader. What means nothing is not
kept: blank lines before the first byte that is not whitespace (the reader drops them too), and
an event stream's leading blank and comment lines (keep-alives sent while a model thinks), so a
stream of comments is held in a few bytes however long it runs. It keeps at most
``max_event_size`` bytes (the most a whole JSON body may be): input that names no dialect by
then (random bytes, a file that is no recording) is refused with ``LimitExceededError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._core.errors import LimitExceededError
from .._core.fold import decode_json
from .._core.limits import DEFAULT_LIMITS, Limits
from .._core.reader import StreamReader, body_is_json
from .._core.source import Source, iter_source, recorded_answers
from .._core.sse import SSEDecoder
from . import DEFAULT, DIALECTS

__all__ = ["Detector", "detect_dialect", "output_text", "replay_any"]


def _of_name(name: Any) -> str | None:
    """The dialect an SSE event name or JSON ``type`` names, if any."""
    if name.__class__ is not str:
        return None
    return next((d.name for d in DIALECTS.values() if d.claims_name(name)), None)


def _of_chunk(chunk: dict[str, Any]) -> str | None:
    """The dialect a streamed chunk (or line) names, if any."""
    dialect = _of_name(chunk.get("type"))
    if dialect is not None:
        return dialect
    return next((d.name for d in DIALECTS.values() if d.claims_chunk(chunk)), None)


def _of_line(line: Any) -> str | None:
    """The dialect of a body's first line when it is a chunk of a dialect framed as JSON
    lines (Ollama's), if any."""
    name = _of_chunk(line) if line.__class__ is dict else None
    return name if name is not None and DIALECTS[name].framing == "ndjson" else None


def _of_event(name: str, data: str) -> str | None:
    dialect = _of_name(name)
    if dialect is not None:
        return dialect
    try:
        chunk = decode_json(data)
    except (ValueError, RecursionError):
        return None
    return _of_chunk(chunk) if chunk.__class__ is dict else None


def _of_body(body: str) -> str:
    """The dialect of a whole JSON body: an object, an array of chunks (Gemini without
    ``alt=sse``), or JSON lines (Ollama)."""
    try:
        data = decode_json(body)
    except (ValueError, RecursionError):
        first = body.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
        try:
            data = decode_json(first)
        except (ValueError, RecursionError):
            return DEFAULT.name
        return _of_line(data) or DEFAULT.name
    if data.__class__ is list and data and data[0].__class__ is dict:
        data = data[0]
    if data.__class__ is not dict:
        return DEFAULT.name
    claimed = next((d.name for d in DIALECTS.values() if d.claims_body(data)), None)
    return claimed or _of_chunk(data) or DEFAULT.name


_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_JSON_STARTS = frozenset(b"{[")
_COLON = ord(":")
_EOL = re.compile(rb"[\r\n]")
# Blank lines and whole comment lines (WHATWG 9.2.6: a line that starts with a colon is ignored),
# matched possessively: linear, and without backtracking state however many lines there are.
_PRELUDE = re.compile(rb"(?:[\r\n]|:[^\r\n]*+[\r\n])*+")
# What stands for a dropped prelude: a comment line, so that the reader still sees an event
# stream (a first line starting with ``{`` would otherwise make it read a JSON body).
_MARK = b":\n"


class Detector:
    """Bytes in (split anywhere), the dialect out once an event names it (see the module).

    ``pieces`` holds what the chosen fold's reader must be given before the rest of the input:
    the bytes read (``read`` counts them), without those that mean nothing (``skipped``)."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.dialect: str | None = None
        self.limits = limits
        self.pieces: list[bytes] = []  # what was read before the dialect was known
        self._held = 0  # their size
        self.read = 0  # the size of everything read
        self._json: bool | None = None
        self._head = bytearray()  # while undecided: a BOM, and the line under way (whitespace)
        self._fresh = True  # no byte of an event stream has been looked at yet
        self._prelude = True  # only blank and comment lines so far (an event stream)
        self._comment = False  # in the prelude, inside a comment line
        self._decoder = SSEDecoder(limits.max_event_size)
        self._line: list[bytes] | None = []  # a JSON body's first line, until it ends

    @property
    def skipped(self) -> int:
        """Bytes read and not held, as they mean nothing (``pieces`` stand for them)."""
        return self.read - self._held

    def feed(self, data: bytes) -> str | None:
        """Read ``data``; the dialect once it is known (None: not yet)."""
        if self.dialect is not None:
            return self.dialect
        self._count(len(data))
        if self._json is None:
            data = self._sniff(data)
            if not data:
                return None
        if self._json:
            self._hold(data)
            return self._first_line(data)
        if self._prelude:
            data = self._after_prelude(data)
            if not data:
                return None
        self._hold(data)
        for event in self._decoder.feed_raw(data):
            dialect = _of_event(event[0], event[1])
            if dialect is not None:
                self.dialect = dialect
                return dialect
        return None

    def _count(self, size: int) -> None:
        # What is dropped never reaches a reader: the whole input is counted here.
        self.read += size
        limit = self.limits.max_total_bytes
        if limit is not None and self.read > limit:
            raise LimitExceededError(
                f"the stream is longer than max_total_bytes={limit}",
                limit="max_total_bytes",
                value=limit,
                partial=DEFAULT.new_fold(self.limits).snapshot(),
            )

    def _hold(self, data: bytes) -> None:
        self.pieces.append(data)
        self._held += len(data)
        if self._held > self.limits.max_event_size:
            self._give_up()

    def _give_up(self) -> None:
        limit = self.limits.max_event_size
        raise LimitExceededError(
            f"the first {limit} bytes name no dialect (max_event_size={limit}): "
            "not a recording of a stream, or of no API streamagg knows",
            limit="max_event_size",
            value=limit,
            partial=DEFAULT.new_fold(self.limits).snapshot(),
        )

    def _sniff(self, data: bytes) -> bytes:
        """While only a BOM and whitespace have been read, as the reader does: whole blank
        lines are dropped (they mean nothing before a JSON body or in an event stream), the BOM
        and the line under way are held (bounded like any line). Once a byte decides between
        JSON and an event stream: every byte held and read."""
        head = self._head
        if not head:
            verdict = body_is_json(data)  # the usual case: the first read decides
            if verdict is not None:
                self._json = verdict
                return data
            head += data
        elif len(head) < len(_BOM):  # the start of a BOM
            head += data
            verdict = body_is_json(bytes(head))
        else:  # a BOM or whitespace: only the new bytes are looked at (linear)
            head += data
            rest = data.lstrip(_WHITESPACE)
            verdict = rest[0] in _JSON_STARTS if rest else None
        if verdict is not None:
            self._json = verdict
            self._head = bytearray()
            return bytes(head)
        last_end = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last_end >= 0:
            start = len(_BOM) if head.startswith(_BOM) else 0
            del head[start : len(head) - len(data) + last_end + 1]
        if len(head) > self.limits.max_event_size:
            self._give_up()
        return b""

    def _after_prelude(self, data: bytes) -> bytes:
        """An event stream's leading blank and comment lines are dropped (they dispatch
        nothing); once another line begins, the bytes from it on, after ``_MARK`` when
        anything was dropped (None of them before: ``data`` as it is, BOM included)."""
        fresh, self._fresh = self._fresh, False
        start = len(_BOM) if fresh and data.startswith(_BOM) else 0
        if self._comment:  # a comment line that began in an earlier read
            eol = _EOL.search(data, start)
            if eol is None:
                return b""
            start = eol.start()
            self._comment = False
        end = _PRELUDE.match(data, start).end()  # type: ignore[union-attr]  # (matches "")
        if end == len(data):
            return b""
        if data[end] == _COLON:  # a comment line that goes on in the next read
            self._comment = True
            return b""
        self._prelude = False
        if fresh and end == start:
            return data
        return _MARK + data[end:]

    def _first_line(self, data: bytes) -> str | None:
        """A JSON body: its first line decides when it is a whole chunk (NDJSON); otherwise
        the body is judged whole, at the end."""
        if self._line is None:
            return None
        end = data.find(b"\n")
        if end < 0:
            self._line.append(data)
            return None
        line = b"".join([*self._line, data[:end]]).decode("utf-8-sig", "replace")
        self._line = None
        try:
            chunk = decode_json(line)
        except (ValueError, RecursionError):
            return None  # a pretty-printed body
        self.dialect = _of_line(chunk)
        return self.dialect

    def close(self) -> str:
        """The end of input: the dialect (a chat completion if nothing named one)."""
        if self.dialect is None:
            if self._json:
                self.dialect = _of_body(b"".join(self.pieces).decode("utf-8-sig", "replace"))
            else:
                events = self._decoder.close_raw() if self._decoder.failure is None else []
                found = (_of_event(e[0], e[1]) for e in events)
                self.dialect = next((d for d in found if d is not None), DEFAULT.name)
        return self.dialect


def detect_dialect(data: bytes) -> str:
    """The dialect of a recording (its first events are enough): ``"chat"``, ``"responses"``,
    ``"anthropic"``, ``"gemini"``, ``"ollama"`` or ``"completions"``, the name of the module
    (``streamagg.responses``...) whose ``replay`` reads it; ``"chat"`` is ``streamagg.replay``."""
    detector = Detector()
    return detector.feed(data) or detector.close()


def output_text(delta: object) -> str | None:
    """The output text a delta of any dialect adds (of the first choice or candidate)."""
    for dialect in DIALECTS.values():
        text = dialect.output_text(delta)
        if text is not None:
            return text
    return None


def replay_any(
    source: Source | Iterable[bytes],
    *,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
    on_deltas: Callable[[list[Any]], None] | None = None,
) -> tuple[str, Any]:
    """Fold a recording of any dialect: ``(dialect, final object)``. ``on_deltas``, when given,
    is called with the deltas of each piece as it is read (to show them while reading)."""
    detector = Detector(limits)
    empty = DEFAULT.new_fold(limits, strict)  # the partial of a recorded error answer
    pieces = iter(recorded_answers(iter_source(source), empty, limits))
    dialect: str | None = None
    for piece in pieces:
        dialect = detector.feed(piece)
        if dialect is not None:
            break
    if dialect is None:
        dialect = detector.close()
    reader = StreamReader(DIALECTS[dialect].new_fold(limits, strict))
    for piece in _chain(detector.pieces, _counted(pieces, detector.read, reader)):
        out: list[Any] | None = None if on_deltas is None else []
        done = reader.receive_data(piece, out)
        if out:
            on_deltas(out)  # type: ignore[misc]
        if done:
            break
    return dialect, reader.receive_eof()


def _counted(rest: Iterator[bytes], read: int, reader: StreamReader[Any]) -> Iterator[bytes]:
    """The rest of the input, counted against ``max_total_bytes`` from the ``read`` bytes
    detection read: the reader is not given those it dropped, and would count them short."""
    total = reader.limits.max_total_bytes
    for piece in rest:
        read += len(piece)
        if total is not None and read > total:
            raise LimitExceededError(
                f"the stream is longer than max_total_bytes={total}",
                limit="max_total_bytes",
                value=total,
                partial=reader.fold.snapshot(),
            )
        yield piece


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterable[bytes]:
    yield from first
    yield from rest
