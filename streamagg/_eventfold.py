"""What every dialect's fold shares: decoding event data, bad input, limits, errors, the report.

``FoldBase`` holds the rules that do not depend on the dialect (used by the chat-completions
``Aggregator`` too): lenient mode and its report, keep-alives sent as data, JSON nested past
what the decoder can read, SDK objects (pydantic ``model_dump``) in place of dicts, and the
``UpstreamError`` for an error the server sent.

``EventFold`` is the base of the other dialects, whose events are JSON objects (the Responses
API and Anthropic Messages name their ``type``; Gemini chunks, Ollama lines and legacy
completion chunks do not): a subclass says what an event does (``_event``), how a whole
non-streaming body folds (``_body``), how the object is built (``_make``) and when it is
complete. An event's type is its JSON ``type`` and, when that is missing, the SSE event name; an
event named ``error`` is an error whatever its data says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from . import _codec
from ._errors import IncompleteStreamError, LimitExceededError, MalformedChunkError, UpstreamError
from ._json import nesting_exceeds, short_repr
from ._limits import DEFAULT_LIMITS, Limits
from ._models import FoldReport, Skipped
from ._pieces import Pieces
from ._sse import Item
from ._state import InvalidChunk, OverLimit

__all__ = [
    "DONE",
    "EventFold",
    "FoldBase",
    "Streamed",
    "check_count",
    "decode_json",
    "error_message",
    "index_of",
    "keyed_entry",
    "text_of",
]

R = TypeVar("R")
D = TypeVar("D")
E = TypeVar("E")

DONE = "[DONE]"
#: The standard library's decoder with its exact errors, for bodies and for every fallback; the
#: folds' own hot path decodes with ``_codec.loads`` (orjson when installed).
decode_json = _codec.decode_exact


def error_message(error: Any) -> str:
    """The readable message of an error object a server sent (``{"message": ...}``, possibly
    nested as ``{"error": {"message": ...}}``), or a short form of it."""
    if isinstance(error, dict):
        inner = error.get("error")
        message = error.get("message")
        if not isinstance(message, str) and isinstance(inner, dict):
            message = inner.get("message")
        if isinstance(message, str) and message:
            return message
    return short_repr(error)


class FoldBase(Generic[R]):
    """Lenient mode, the report and the errors every fold shares (see the module's doc)."""

    limits: Limits
    strict: bool
    keepalives: int
    _skipped: list[Skipped]
    _loads: Callable[[str], Any]  # the decoder in force when the fold was made

    def snapshot(self) -> R:  # pragma: no cover - every fold defines it
        raise NotImplementedError

    def result(self) -> R:  # pragma: no cover - every fold defines it
        raise NotImplementedError

    def _end_of_stream(self) -> None:  # pragma: no cover - every fold defines it
        raise NotImplementedError

    def _decode(self, data: str) -> Any:
        """Event data decoded with the fold's decoder; what it refuses is decoded again by the
        standard library, whose verdict (a value or ``ValueError``) stands."""
        try:
            return self._loads(data)
        except ValueError:
            return decode_json(data)

    def _bad_input(self, reason: str, raw: Any) -> None:
        """Raise ``MalformedChunkError``, or (lenient) note what was skipped."""
        if self.strict:
            raise MalformedChunkError(reason, raw=raw, partial=self.snapshot())
        self._skipped.append(Skipped(reason, short_repr(raw)))

    def _not_json(self, data: str) -> bool:
        """Event data that is not JSON: ``[DONE]`` (True: the end), a keep-alive, or bad."""
        stripped = data.strip()
        if stripped == DONE:
            self._end_of_stream()
            return True
        if stripped[:1] == ":":
            self.keepalives += 1  # a comment sent as data: no JSON starts with ":"
            return False
        self._bad_input(f"event data is not JSON: {data[:80]!r}", data)
        return False

    def _too_deep(self, what: str = "a chunk") -> LimitExceededError[R]:
        value = self.limits.max_depth
        return LimitExceededError(
            f"{what} nests JSON deeper than max_depth={value}",
            limit="max_depth",
            value=value,
            partial=self.snapshot(),
        )

    def _over_limit(self, exc: OverLimit) -> LimitExceededError[R]:
        value = getattr(self.limits, exc.limit)
        return LimitExceededError(
            f"the stream has more {exc.what} than {exc.limit}={value}",
            limit=exc.limit,
            value=value,
            partial=self.snapshot(),
        )

    def _as_mapping(self, chunk: Any) -> Mapping[str, Any] | None:
        """The chunk as a mapping; None (lenient) for one that is not an object."""
        if isinstance(chunk, Mapping):
            return chunk
        if hasattr(chunk, "model_dump"):
            # A pydantic object, such as an SDK's chunk or event. Some providers' extra fields
            # do not match the SDK's types: dump them as they are, silently.
            try:
                dumped: Mapping[str, Any] = chunk.model_dump(exclude_unset=True, warnings=False)
            except TypeError:  # a model_dump without the ``warnings`` argument
                dumped = chunk.model_dump(exclude_unset=True)
            return dumped
        self._bad_input(f"a chunk must be a JSON object, not {type(chunk).__name__}", chunk)
        return None

    def _upstream(self, error: Any) -> UpstreamError[R]:
        return UpstreamError(
            f"the server sent an error: {error_message(error)}",
            error=error,
            partial=self.snapshot(),
        )


class EventFold(FoldBase[R], Generic[R, D]):
    """The fold of a dialect whose events are JSON objects (see the module's doc).

    Sans-IO, with the API of ``Aggregator``: ``feed(event)`` for a parsed event (a dict, or an
    SDK's event object with ``model_dump()``), ``feed_event(sse)`` for an SSE event,
    ``receive``/``receive_body`` for ``StreamReader``, ``snapshot()`` at any time and
    ``result()`` at the end. The options are the fold options of ``Aggregator`` that apply
    (``limits``, ``strict``).
    """

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> None:
        self.limits = limits
        self.strict = strict
        #: How many keep-alives arrived as event data (``data: : keepalive``).
        self.keepalives = 0
        self._other_events = 0
        self._skipped: list[Skipped] = []
        self._chunks = 0  # events folded
        self._ended = False  # the terminal event, [DONE] or an error: no more input is folded
        self._error: Any = None
        self._errored = False
        self._loads = _codec.loads

    # -- what a dialect defines --------------------------------------------------------------

    def _event(self, kind: str, event: dict[str, Any], out: list[D] | None) -> None:
        """Fold one event of type ``kind``; raise ``InvalidChunk`` naming a bad field."""
        raise NotImplementedError  # pragma: no cover

    def _body(self, body: dict[str, Any]) -> None:
        """Fold a whole non-streaming body: the final object, or an error object (then
        ``_raise_error``)."""
        raise NotImplementedError  # pragma: no cover

    def _make(self, partial: bool) -> R:
        """The object folded so far (a new one each call)."""
        raise NotImplementedError  # pragma: no cover

    @property
    def complete(self) -> bool:
        """True once the stream carried its terminal event."""
        raise NotImplementedError  # pragma: no cover

    def _incomplete(self) -> str:
        """Why the stream is not complete, for ``IncompleteStreamError``."""
        raise NotImplementedError  # pragma: no cover

    # -- the seam ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the stream has ended (its terminal event, ``[DONE]`` or an error)."""
        return self._ended

    @property
    def chunks(self) -> int:
        """How many events have been folded (keep-alives and comments are not events)."""
        return self._chunks

    def feed(self, event: Mapping[str, Any] | Any) -> list[D]:
        """Fold one parsed event (a dict, or an SDK's event object) and return its deltas."""
        out: list[D] = []
        self.receive_event(event, out)
        return out

    def receive_event(self, event: Mapping[str, Any] | Any, out: list[D] | None) -> bool:
        """Fold one parsed event, appending its deltas to ``out`` (when not None); True once
        the stream has ended."""
        if self._ended:
            return True
        if event.__class__ is not dict:
            event = self._as_mapping(event)
            if event is None:
                return False
        self._fold(event.get("type"), dict(event), out)
        return self._ended

    def feed_event(self, event: Any) -> list[D]:
        """Fold one SSE event (anything with ``event`` and ``data`` attributes, such as
        httpx-sse's ``ServerSentEvent``); see ``receive()``."""
        out: list[D] = []
        self.receive(event.event, event.data, out)
        return out

    def feed_done(self) -> None:
        """Mark the end of the input (what ``[DONE]`` does): read no more."""
        self._end_of_stream()

    def _end_of_stream(self) -> None:
        self._ended = True

    def receive(self, event: str, data: str, out: list[D] | None) -> bool:
        """Fold the data of one SSE event; True once the stream has ended. The event's type is
        the ``type`` of its JSON data, or else its SSE name; an event named ``error`` raises
        ``UpstreamError`` (or, for dialects that send the final object after it, ends the
        stream at that object). Empty data (a keep-alive) is skipped."""
        if self._ended:
            return True
        if not data:
            return False
        try:
            decoded = self._decode(data)
        except ValueError:
            if event == "error":  # an error event is an error, whatever its data
                self._chunks += 1
                self._error_event({"error": data})
                return self._ended
            return self._not_json(data)
        except RecursionError:
            raise self._too_deep() from None
        if decoded.__class__ is not dict:
            self._bad_input(f"event data must be a JSON object: {data[:80]!r}", data)
            return False
        kind = decoded.get("type")
        if event == "error" or kind.__class__ is not str:
            kind = event if event != "message" else kind
        self._fold(kind, decoded, out)
        return self._ended

    def receive_events(self, events: list[Item], out: list[D] | None) -> bool:
        """Fold the SSE events of one read; True once the stream has ended. An event whose
        data decodes to an object takes this loop (the hot path, the rules of ``receive()``
        inlined); anything else goes through ``receive()``."""
        if self._ended:
            return True
        loads = self._loads
        for item in events:
            if item.__class__ is str:
                event, data = "message", item
            else:
                event, data = item[0], item[1]
            if data and event != "error":
                try:
                    decoded = loads(data)
                except (ValueError, RecursionError):
                    decoded = None  # receive() says why (or decodes what orjson refused)
                if decoded.__class__ is dict:
                    kind = decoded.get("type")
                    if kind.__class__ is not str and event != "message":
                        kind = event
                    self._fold(kind, decoded, out)
                    if self._ended:
                        return True
                    continue
            if self.receive(event, data, out):
                return True
        return False

    def receive_body(self, body: str) -> None:
        """Fold a whole non-streaming body (the final object, or an error object; or an array
        of them, a stream sent as one document): it is complete once folded."""
        if self._ended:
            return
        try:
            decoded = decode_json(body)
        except ValueError:
            self._bad_input(f"the body is not JSON: {body[:80]!r}", body)
            decoded = None
        except RecursionError:
            raise self._too_deep() from None
        self._ended = True
        # An array of objects is a whole stream sent as one JSON document (Gemini without
        # ``alt=sse``): each element folds in turn.
        objects = decoded if isinstance(decoded, list) else [decoded]
        for obj in objects:
            if isinstance(obj, dict):
                if nesting_exceeds(obj, self.limits.max_depth):
                    raise self._too_deep()
                self._chunks += 1
                self._body(obj)
            elif obj is not None:
                self._bad_input(f"the body must hold JSON objects: {body[:80]!r}", body)

    def snapshot(self) -> R:
        """The object folded so far (a new object each call); its ``report`` says whether it
        is complete and what was skipped."""
        return self._build(partial=True)

    def result(self) -> R:
        """The final object. Raises ``UpstreamError`` if the stream carried an error, and
        (unless lenient) ``IncompleteStreamError`` before the terminal event; each carries
        ``.partial``."""
        if self._errored:
            raise self._upstream(self._error)
        if not self.complete and self.strict:
            raise IncompleteStreamError(
                f"the stream ended {self._incomplete()}", partial=self.snapshot()
            )
        return self._build(partial=False)

    # -- internals ---------------------------------------------------------------------------

    def _build(self, partial: bool) -> R:
        obj = self._make(partial)
        obj.report = FoldReport(  # type: ignore[attr-defined]
            complete=self.complete and not self._errored,
            skipped=list(self._skipped),
            keepalives=self.keepalives,
            other_events=self._other_events,
        )
        return obj

    def _fold(self, kind: Any, event: dict[str, Any], out: list[D] | None) -> None:
        self._chunks += 1
        if kind == "error":
            self._error_event(event)
            return
        try:
            self._event(kind, event, out)
        except InvalidChunk as exc:
            self._bad_input(f"{kind}: {exc}" if kind.__class__ is str else str(exc), event)
        except OverLimit as exc:
            raise self._over_limit(exc) from None
        if self._ended and self._errored:
            raise self._upstream(self._error)

    def _error_event(self, event: dict[str, Any]) -> None:
        """An ``error`` event: by default the stream ends here with ``UpstreamError``."""
        self._raise_error(event.get("error", {k: v for k, v in event.items() if k != "type"}))

    def _raise_error(self, error: Any) -> None:
        self._error = error
        self._errored = self._ended = True
        raise self._upstream(error)

    def _other(self) -> None:
        """An event of no consequence for the object (a ping, progress)."""
        self._other_events += 1

    def _kept(self, value: Any, what: str) -> Any:
        """``value`` (the field ``what``), checked against ``max_depth`` before it is kept as it
        is (a scalar, the usual case, costs one comparison)."""
        kind = value.__class__
        if (kind is dict or kind is list) and nesting_exceeds(value, self.limits.max_depth):
            raise self._too_deep(f"the field {what}")
        return value


class Streamed:
    """An object of the final JSON (an item, a part, a block) whose strings arrive in pieces:
    its ``data`` as it came, and the pieces of each streamed key, joined only when it is built
    (the cost of a delta never grows with the length of the text)."""

    __slots__ = ("data", "pieces")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.pieces: dict[str, Pieces] = {}

    def extend(self, key: str, text: str) -> None:
        """Append ``text`` to the string ``key`` (which starts as the value ``data`` has)."""
        pieces = self.pieces.get(key)
        if pieces is None:
            start = self.data.get(key)
            pieces = self.pieces[key] = Pieces((start,) if start.__class__ is str else ())
        pieces.add(text)

    def build(self) -> dict[str, Any]:
        """A new dict of the object: ``data`` with the streamed strings joined."""
        data = dict(self.data)
        for key, pieces in self.pieces.items():
            data[key] = "".join(pieces)
        return data


def index_of(event: Mapping[str, Any], key: str, missing: int | None = None) -> int:
    """An event's ``key`` (``index``, ``output_index``...): a non-negative int; ``missing``
    (when given) if the event has none."""
    value = event.get(key)
    if value is None and missing is not None:
        return missing
    if value.__class__ is not int or value < 0:
        raise InvalidChunk(key, "a non-negative integer", value)
    return value


def text_of(value: Any, key: str) -> str:
    """A streamed piece of text, which must be a string (None counts as empty)."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    raise InvalidChunk(key, "a string", value)


def keyed_entry(
    entries: dict[int, E], data: Any, what: str, limits: Limits, make: Callable[[], E]
) -> tuple[int, E]:
    """The entry of a list keyed by ``index`` (choices, candidates) that ``data`` (one element
    of the list ``what``) is about: its index (missing means 0) and the entry, made if new."""
    if data.__class__ is not dict:
        raise InvalidChunk(f"{what}[]", "an object", data)
    index = data.get("index", 0)
    if index.__class__ is not int or index < 0:
        raise InvalidChunk(f"{what}[].index", "a non-negative integer", index)
    entry = entries.get(index)
    if entry is None:
        check_count(len(entries) + 1, limits, what)
        entry = entries[index] = make()
    return index, entry


def check_count(count: int, limits: Limits, what: str) -> None:
    """Raise ``OverLimit`` when a response would hold more than ``max_items`` ``what``."""
    if count > limits.max_items:
        raise OverLimit("max_items", what)
