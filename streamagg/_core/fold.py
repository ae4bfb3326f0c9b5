"""The fold: what a dialect implements (``Fold``), and the one base every dialect's fold extends.

``Fold`` is the protocol the adapters drive (through ``StreamReader``): ``receive`` for one
event's data, ``receive_events`` for the events of one read, ``receive_body`` for a whole JSON
body, ``snapshot``/``result`` for the object so far and the final one, ``done`` and ``chunks``.

``FoldBase`` owns everything that does not depend on the dialect: the lifecycle (``Phase``, one
explicit state, below), lenient mode and its report, keep-alives sent as data, JSON nested past
what the decoder can read, SDK objects (pydantic ``model_dump``) in place of dicts, the
``UpstreamError`` for an error the server sent, ``receive_body``, ``result`` and the build step.
A dialect's ``Aggregator`` says what an event does and how its object is made; the chat
completions ``Aggregator`` adds its fast path (``receive_events``), nothing else.

``EventFold`` is the ``FoldBase`` of the dialects whose events are JSON objects (the Responses
API and Anthropic Messages name their ``type``; Gemini chunks, Ollama lines and legacy completion
chunks do not): a subclass says what an event does (``_event``), how a whole non-streaming body
folds (``_body``), how the object is built (``_make``) and when it is complete. An event's type
is its JSON ``type`` and, when that is missing, the SSE event name; an event named ``error`` is
an error whatever its data says.

The lifecycle, every transition in this table (h11 keeps its state machine in one place too)::

    STREAMING --the dialect's terminal event (message_stop, done: true, ...)--> FINISHED
    STREAMING --[DONE], feed_done(), the end of a whole body--> CLOSED
    STREAMING --an error the server sent--> ERRORED (raises UpstreamError)
    STREAMING --an error that announces a terminal event to come (Responses)--> FAILING
    FAILING   --the terminal event, [DONE] or feed_done()--> ERRORED (raises UpstreamError)

FINISHED, CLOSED and ERRORED are ends: no more input is folded. Whether an end is *complete*
is the dialect's rule (``complete``): by default FINISHED is; chat completions and legacy
completions are complete at ``[DONE]`` after a chunk, or when every choice has finished.

Performance conventions (the fold runs once per event; a stream has thousands), written once
here and followed by every fold's hot path; cold code (rare events, the app, the test kit)
reads as plain Python:

* The hot path is per read, not per event: ``SSEDecoder.feed_data`` hands a read's events over
  at once, plain data events as bare strings, and ``receive_events`` folds them in one loop,
  calling ``receive()`` only for anything unusual.
* The cheapest parse is none: a chat chunk that repeats a recent chunk's text but for its
  appended string is folded from its shape (``streamagg._chat.shapes``) without being decoded.
  Everything else is decoded by ``codec.loads`` (orjson when installed).
* Text is kept as ``Pieces`` and joined only when the object is built: the cost of an event
  never grows with the length of the response, and memory stays near the text's own size.
* Types are checked with ``value.__class__ is str`` rather than ``isinstance``: JSON decoding only
  ever produces the exact built-in types, and the identity test is the cheapest check there is.
  Anything else (a ``Mapping`` from an SDK, say) takes the slower ``isinstance`` branch.
* Keys nearly every event carries are read with direct ``get`` calls; a loop over all keys runs
  only when an event has a key outside that common set, which a length comparison or
  ``issuperset`` detects without looping in Python.
* Dispatch is flat ``if``/``elif`` on the key or type, most frequent first; no per-key handler
  tables (a call through a dict of bound methods costs more than the comparisons it saves).
* Deltas are only built when the caller asked for them (``out`` is not None).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from . import codec
from .errors import (
    IncompleteStreamError,
    InvalidChunk,
    LimitExceededError,
    MalformedChunkError,
    OverLimit,
    UpstreamError,
)
from .fields import error_message
from .limits import DEFAULT_LIMITS, Limits
from .merge import nesting_exceeds, short_repr
from .report import FoldReport, Skipped
from .sse import Item

__all__ = [
    "CLOSED",
    "DONE",
    "ERRORED",
    "FAILING",
    "FINISHED",
    "STREAMING",
    "EventFold",
    "Fold",
    "FoldBase",
    "Phase",
    "decode_json",
]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
D = TypeVar("D")

DONE = "[DONE]"
#: The standard library's decoder with its exact errors, for bodies and for every fallback; the
#: folds' own hot path decodes with ``codec.loads`` (orjson when installed).
decode_json = codec.decode_exact


class Fold(Protocol[R_co]):
    """What a stream dialect's fold offers the adapters. A fold may also have
    ``receive_events(events, out) -> ended``, which folds the events of one read at once
    (``SSEDecoder.feed_data``'s items: a bare string is an unnamed event's data), as every fold
    of streamagg has (``FoldBase``): the reader then uses it, the hot path; otherwise it calls
    ``receive`` for each event."""

    @property
    def done(self) -> bool:
        """True once the stream has ended (no more input is folded)."""
        ...

    @property
    def chunks(self) -> int:
        """How many data events (chunks) have been folded: what the stall watchdog watches."""
        ...

    def receive(self, event: str, data: str, out: list[Any] | None) -> bool:
        """Fold one SSE event's type and data, appending typed deltas to ``out`` when it is not
        None; True once the stream has ended. Raises the dialect's ``StreamError``s."""
        ...

    def receive_body(self, body: str) -> None:
        """Fold a whole (non-streaming) JSON body."""
        ...

    def snapshot(self) -> R_co:
        """The object folded so far."""
        ...

    def result(self) -> R_co:
        """The final object, or the ``StreamError`` saying why there is none."""
        ...


class Phase(enum.Enum):
    """Where a fold is in its stream (the transitions: the module's table)."""

    STREAMING = "streaming"
    FAILING = "failing"  # an error arrived; the terminal event that follows it is still read
    FINISHED = "finished"  # the dialect's terminal event arrived
    CLOSED = "closed"  # the input ended ([DONE], feed_done(), a whole body)
    ERRORED = "errored"  # the stream carried an error: ``result()`` raises ``UpstreamError``


# The phases as module names, which the folds compare with: reading ``Phase.STREAMING`` goes
# through the enum class's machinery on Python 3.11 (eight times the cost of a module name),
# and every stream reads a phase a dozen times.
STREAMING, FAILING, FINISHED, CLOSED, ERRORED = Phase


class FoldBase(Generic[R, D]):
    """The lifecycle, lenient mode, the report, the errors and the build step every fold shares
    (see the module's doc). A subclass defines ``_make`` (the object so far), ``_body`` (a
    decoded non-streaming body), ``_incomplete`` (why a stream is not complete) and how its
    events fold; ``complete`` when its rule is not "the terminal event arrived"."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> None:
        # (Positional: a fold is made per stream, and a short stream feels each call's cost.)
        self.limits = limits
        self.strict = strict
        #: How many keep-alives arrived as event data (``data: : keepalive``).
        self.keepalives = 0
        self._other_events = 0
        self._skipped: list[Skipped] = []
        self._chunks = 0  # events folded (a stream that ended without any is not complete)
        self._phase = STREAMING
        #: True once the stream has ended (its terminal event, ``[DONE]`` or an error): any
        #: more input is ignored. Read-only; a plain attribute, not a property, because every
        #: event reads it (``_enter`` keeps it in step with the phase).
        self.done = False
        self._error: Any = None  # what the server sent, in FAILING and ERRORED
        self._loads: Callable[[str], Any] = codec.loads  # the decoder in force when made

    # -- what a dialect defines --------------------------------------------------------------

    def _make(self, partial: bool) -> R:
        """The object folded so far (a new one each call)."""
        raise NotImplementedError  # pragma: no cover

    def _body(self, body: Any) -> None:
        """Fold a decoded non-streaming body."""
        raise NotImplementedError  # pragma: no cover

    def _incomplete(self) -> str:
        """Why the stream is not complete, for ``IncompleteStreamError``."""
        raise NotImplementedError  # pragma: no cover

    @property
    def complete(self) -> bool:
        """True once the stream is whole: by default, once its terminal event arrived."""
        return self._phase is FINISHED

    # -- the lifecycle -----------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """Where the fold is in its stream."""
        return self._phase

    @property
    def chunks(self) -> int:
        """How many events (chunks) have been folded; keep-alives, comments and pings are not."""
        return self._chunks

    def _enter(self, phase: Phase) -> None:
        """The one place the phase changes (the transitions: the module's table)."""
        self._phase = phase
        self.done = phase is not STREAMING and phase is not FAILING

    def feed_done(self) -> None:
        """Mark the end of the input, as ``data: [DONE]`` does: read no more."""
        if self._phase is STREAMING:
            self._enter(CLOSED)
        elif self._phase is FAILING:
            self._enter(ERRORED)

    def _terminate(self) -> None:
        """The dialect's terminal event arrived (after an error: the stream failed)."""
        if self._phase is STREAMING:
            self._enter(FINISHED)
        elif self._phase is FAILING:
            self._enter(ERRORED)

    def _note_error(self, error: Any) -> None:
        """An error arrived that announces a terminal event to come: read on to it."""
        if self._phase is STREAMING:
            self._error = error
            self._enter(FAILING)

    def _raise_error(self, error: Any) -> None:
        """An error the server sent ends the stream here."""
        self._error = error
        self._enter(ERRORED)
        raise self._upstream(error)

    # -- input -------------------------------------------------------------------------------

    def feed(self, item: Mapping[str, Any] | Any) -> list[D]:
        """Fold one parsed chunk or event (a dict, or an SDK's object with ``model_dump()``)
        and return what it added, as typed deltas."""
        out: list[D] = []
        self.receive_item(item, out)
        return out

    def receive_item(self, item: Mapping[str, Any] | Any, out: list[D] | None) -> bool:
        """Fold one parsed chunk or event, appending its deltas to ``out`` (when not None);
        True once the stream has ended."""
        raise NotImplementedError  # pragma: no cover

    def feed_event(self, event: Any) -> list[D]:
        """Fold one SSE event (anything with ``event`` and ``data`` attributes, such as
        httpx-sse's ``ServerSentEvent``); see ``receive()``."""
        out: list[D] = []
        self.receive(event.event, event.data, out)
        return out

    def receive(self, event: str, data: str, out: list[D] | None) -> bool:
        """Fold the data of one SSE event; True once the stream has ended."""
        raise NotImplementedError  # pragma: no cover

    def receive_body(self, body: str) -> None:
        """Fold a whole non-streaming body (the final object, or an error object): it is
        complete once folded. Ignored after the end of the stream."""
        if self.done:
            return
        try:
            decoded = decode_json(body)
        except ValueError:
            self._bad_input(f"the body is not JSON: {body[:80]!r}", body)
        except RecursionError:
            raise self._too_deep() from None
        else:
            self._body(decoded)
        self.feed_done()

    # -- output ------------------------------------------------------------------------------

    def snapshot(self) -> R:
        """The object folded so far (a new object each call); its ``report`` says whether it
        is complete and what was skipped."""
        return self._build(partial=True)

    def result(self) -> R:
        """The final object. Raises ``UpstreamError`` if the stream carried an error, and
        (unless lenient) ``IncompleteStreamError`` when it is not complete; each carries
        ``.partial``."""
        if self._phase is ERRORED or self._phase is FAILING:
            raise self._upstream(self._error)
        if not self.complete and self.strict:
            raise IncompleteStreamError(
                f"the stream ended {self._incomplete()}", partial=self.snapshot()
            )
        return self._build(partial=False)

    def _build(self, partial: bool) -> R:
        obj = self._make(partial)
        obj.report = FoldReport(  # type: ignore[attr-defined]  # every final model has one
            complete=self.complete,
            skipped=list(self._skipped),
            keepalives=self.keepalives,
            other_events=self._other_events,
        )
        return obj

    # -- bad input ---------------------------------------------------------------------------

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
            self.feed_done()
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

    def _kept(self, value: Any, what: str) -> Any:
        """``value`` (the field ``what``), checked against ``max_depth`` before it is kept as it
        is (a scalar, the usual case, costs one comparison)."""
        kind = value.__class__
        if (kind is dict or kind is list) and nesting_exceeds(value, self.limits.max_depth):
            raise self._too_deep(f"the field {what}")
        return value


class EventFold(FoldBase[R, D]):
    """The fold of a dialect whose events are JSON objects (see the module's doc).

    Sans-IO, with the API of the chat ``Aggregator``: ``feed(event)`` for a parsed event (a
    dict, or an SDK's event object with ``model_dump()``), ``feed_event(sse)`` for an SSE
    event, ``receive``/``receive_body`` for ``StreamReader``, ``snapshot()`` at any time and
    ``result()`` at the end. The options are the fold options of ``Aggregator`` that apply
    (``limits``, ``strict``).

    A dialect whose events all name their type (``named = True``: the Responses API, Anthropic
    Messages) refuses an event without a string ``type`` (or SSE event name) as bad input.
    """

    #: Whether every event of the dialect names its type.
    named = False

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> None:
        FoldBase.__init__(self, limits, strict)
        # Read on every event: an instance attribute is the cheapest lookup (Python 3.11 does
        # not specialise reading a class attribute through an instance).
        self._named = self.named

    def _event(self, kind: str, event: dict[str, Any], out: list[D] | None) -> None:
        """Fold one event of type ``kind``; raise ``InvalidChunk`` naming a bad field."""
        raise NotImplementedError  # pragma: no cover

    def _object(self, body: dict[str, Any]) -> None:
        """Fold one object of a whole non-streaming body: the final object, or an error object
        (then ``_raise_error``)."""
        raise NotImplementedError  # pragma: no cover

    def receive_item(self, item: Mapping[str, Any] | Any, out: list[D] | None) -> bool:
        if self.done:
            return True
        if item.__class__ is not dict:
            item = self._as_mapping(item)
            if item is None:
                return False
        self._dispatch(item.get("type"), dict(item), out)
        return self.done

    #: The name of ``receive_item`` in the dialects' own words.
    receive_event = receive_item

    def receive(self, event: str, data: str, out: list[D] | None) -> bool:
        """Fold the data of one SSE event; True once the stream has ended. The event's type is
        the ``type`` of its JSON data, or else its SSE name; an event named ``error`` raises
        ``UpstreamError`` (or, for dialects that send the final object after it, ends the
        stream at that object). Empty data (a keep-alive) is skipped."""
        if self.done:
            return True
        if not data:
            return False
        try:
            decoded = self._decode(data)
        except ValueError:
            if event == "error":  # an error event is an error, whatever its data
                self._chunks += 1
                self._error_event({"error": data})
                return self.done
            return self._not_json(data)
        except RecursionError:
            raise self._too_deep() from None
        if decoded.__class__ is not dict:
            self._bad_input(f"event data must be a JSON object: {data[:80]!r}", data)
            return False
        kind = decoded.get("type")
        if event == "error" or kind.__class__ is not str:
            kind = event if event != "message" else kind
        self._dispatch(kind, decoded, out)
        return self.done

    def receive_events(self, events: list[Item], out: list[D] | None) -> bool:
        """Fold the SSE events of one read; True once the stream has ended. An event whose
        data decodes to an object takes this loop (the hot path, the rules of ``receive()``
        inlined); anything else goes through ``receive()``."""
        if self.done:
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
                    self._dispatch(kind, decoded, out)
                    if self.done:
                        return True
                    continue
            if self.receive(event, data, out):
                return True
        return False

    def _body(self, body: Any) -> None:
        # An array of objects is a whole stream sent as one JSON document (Gemini without
        # ``alt=sse``): each element folds in turn.
        for obj in body if isinstance(body, list) else [body]:
            if isinstance(obj, dict):
                if nesting_exceeds(obj, self.limits.max_depth):
                    raise self._too_deep()
                self._chunks += 1
                try:
                    self._object(obj)
                except InvalidChunk as exc:
                    self._bad_input(f"the body: {exc}", obj)
                except OverLimit as exc:
                    raise self._over_limit(exc) from None
            elif obj is not None:
                self._bad_input(f"the body must hold JSON objects: {short_repr(body)}", body)

    def _dispatch(self, kind: Any, event: dict[str, Any], out: list[D] | None) -> None:
        self._chunks += 1
        if kind.__class__ is not str and self._named:
            self._bad_input(str(InvalidChunk("type", "a string", kind)), event)
            return
        if kind == "error":
            self._error_event(event)
            return
        try:
            self._event(kind, event, out)
        except InvalidChunk as exc:
            self._bad_input(f"{kind}: {exc}" if kind.__class__ is str else str(exc), event)
        except OverLimit as exc:
            raise self._over_limit(exc) from None
        if self.done and self._phase is ERRORED:
            raise self._upstream(self._error)

    def _error_event(self, event: dict[str, Any]) -> None:
        """An ``error`` event: by default the stream ends here with ``UpstreamError``."""
        self._raise_error(event.get("error", {k: v for k, v in event.items() if k != "type"}))

    def _other(self) -> None:
        """An event of no consequence for the object (a ping, progress)."""
        self._other_events += 1
