"""The sans-IO fold of a chat completion: chunks or SSE events in, deltas and one response out.

``Aggregator`` is a dispatcher: it decodes event data, hands chunks to ``ResponseState`` (the
rules live with the state they change, in ``state``) and turns error chunks into
``UpstreamError``; the lifecycle, bad input, limits and the report are ``FoldBase``'s. What is
its own is the fast path: ``receive_events`` folds a read's chunks in one loop, and folds a chunk
that repeats a learned shape (``shapes``) without decoding it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._core.errors import InvalidChunk, OverLimit
from .._core.fold import CLOSED, DONE, ERRORED, FoldBase, decode_json
from .._core.limits import DEFAULT_LIMITS, Limits
from .._core.merge import nesting_exceeds
from .._core.sse import Item
from .events import Delta
from .models import ChatCompletionResponse
from .rules import DEFAULT_PADDING_KEYS, Rules
from .shapes import MAX_SHAPES, Shape, learn
from .state import ResponseState

__all__ = ["DEFAULT_PADDING_KEYS", "DEFAULT_TEXT_KEYS", "Aggregator"]

#: Keys whose string values are concatenated when unknown structures are merged. Everything else
#: is "last non-null wins", so re-sent ids, formats or whole arguments never double.
DEFAULT_TEXT_KEYS = frozenset(
    {"text", "content", "refusal", "reasoning", "reasoning_content", "thinking", "summary"}
)
#: Never learn a shape: the countdown to the next attempt starts past any stream's length.
_NEVER = 1 << 62


class Aggregator(FoldBase[ChatCompletionResponse, Delta]):
    """Fold ``chat.completion.chunk`` objects into one ``ChatCompletionResponse``.

    Sans-IO: give it chunks with ``feed()`` (dicts, or pydantic chunks such as the openai SDK's)
    or SSE events with ``feed_event()``, read ``snapshot()`` at any time and ``result()`` at the
    end.

    The fold options, which every entry point takes: ``text_keys`` names the keys whose strings
    concatenate inside provider extensions (``DEFAULT_TEXT_KEYS``); ``padding_keys`` the random
    padding keys that are never folded (``DEFAULT_PADDING_KEYS``); ``limits`` the ``Limits`` of
    one stream; ``strict=False`` makes the fold lenient: event data that is not JSON and chunks
    with a field of an impossible type are skipped (a chunk is folded up to its first bad
    field) and listed in the response's ``report``, and ``result()`` of a stream that ended
    early returns the partial response with ``report.complete`` False instead of raising.
    Errors the server sent (``UpstreamError``) and exceeded limits raise in both modes.

    Event data that starts with ``:`` (a keep-alive comment that a proxy sent as data, such as
    ``data: : keepalive``) is skipped and counted in ``keepalives``.

    The stream ends at ``data: [DONE]``, at ``feed_done()``, or at an error (``UpstreamError``).
    After the end, input is ignored: every feed method returns no deltas and folds nothing.

    ``shapes=False`` turns the fast path off: every chunk is then decoded, none folded from a
    learned shape (``streamagg._chat.shapes``). The response is the same either way; the switch
    is there to prove it, and to measure what the fast path saves.

    Adapters that read bytes use ``StreamReader``, which drives ``receive()`` and
    ``receive_body()``: the two methods of the ``Fold`` protocol that carry input.
    """

    def __init__(
        self,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
        shapes: bool = True,
    ) -> None:
        FoldBase.__init__(self, limits, strict)
        self._state = ResponseState(Rules(frozenset(text_keys), frozenset(padding_keys), limits))
        self._shapes: list[Shape] = []  # the repeated shapes learned (``shapes``)
        self._learn_gap = 1  # full parses between two attempts to learn a shape
        # Full parses until the next attempt: none before the fourth chunk, so that a short
        # stream (or a stream's first chunk, whose shape rarely comes back) pays nothing.
        self._learn_in = 4 if shapes else _NEVER

    @property
    def complete(self) -> bool:
        """True when the stream is whole: ``[DONE]`` arrived after at least one chunk, or every
        choice has a finish reason; False after an error."""
        phase = self._phase
        if phase is ERRORED:
            return False
        if phase is CLOSED:
            return self._chunks > 0
        state = self._state
        return bool(state.choices) and not state.unfinished()

    @property
    def shapes(self) -> int:
        """How many repeated shapes the fast path holds now (at most 8)."""
        return len(self._shapes)

    def receive_item(self, item: Mapping[str, Any] | Any, out: list[Delta] | None) -> bool:
        """Fold one chunk, appending its deltas to ``out`` (when not None; None is the fastest
        way to fold). Returns True once the stream has ended. Raises ``UpstreamError`` after
        folding a chunk that carries a top-level ``error``, ``MalformedChunkError`` when the
        chunk is not an object or a field has an impossible type (unless lenient), and
        ``LimitExceededError``."""
        if self.done:
            return True
        self._dispatch(item, out)
        return self.done

    #: The name of ``receive_item`` in chat's own words.
    receive_chunk = receive_item

    def receive(self, event: str, data: str, out: list[Delta] | None) -> bool:
        """Fold the data of one SSE event, appending its deltas to ``out`` (when not None).

        Returns True once the stream has ended (read no more). ``data: [DONE]`` ends it, under
        any event name; an event named ``error`` raises ``UpstreamError``; other named events
        (``ping``) and events with empty data (keep-alives) are skipped.
        """
        if self.done:
            return True
        if event != "message" or data == DONE:  # the usual end, found before decoding fails
            if data.strip() == DONE:
                self.feed_done()
                return True
            if event == "error":
                self._event_error(data)
            if event:
                self._other_events += 1  # not a chunk (for example a named ``ping`` event)
                return False
        if not data:
            return False  # a keep-alive
        try:
            chunk = self._decode(data)
        except ValueError:
            return self._not_json(data)
        except RecursionError:
            raise self._too_deep() from None
        self._dispatch(chunk, out)
        return self.done

    def receive_events(self, events: list[Item], out: list[Delta] | None) -> bool:
        """Fold the SSE events of one read (``SSEDecoder.feed_data``); True once the stream
        has ended. A chunk (an unnamed event whose data decodes to an object) takes this loop,
        the hot path of every stream; anything else goes through ``receive()``."""
        if self.done:
            return True
        loads = self._loads
        dispatch = self._dispatch
        shapes = self._shapes
        for item in events:
            if item.__class__ is str:
                for shape in shapes:
                    if shape.apply(item, out):  # a chunk that repeats a shape: not parsed
                        self._chunks += 1
                        break
                else:
                    try:
                        chunk = loads(item)
                    except (ValueError, RecursionError):
                        chunk = None  # receive() says why (or decodes what orjson refused)
                    if chunk.__class__ is dict:
                        skipped = len(self._skipped)
                        dispatch(chunk, out)
                        self._learn_in -= 1
                        # Only a chunk folded whole (not skipped in part, when lenient) teaches.
                        if self._learn_in <= 0 and len(self._skipped) == skipped:
                            self._learn(item, chunk)
                        continue
                    if self.receive("message", item, out):
                        return True
            elif self.receive(item[0], item[1], out):
                return True
        return False

    def _learn(self, data: str, chunk: dict[str, Any]) -> None:
        """Learn the shape of a chunk just folded, if it has one; after a chunk without one,
        wait twice as many chunks as last time before the next attempt (up to 1,024)."""
        shape = learn(data, chunk, self._state, self._loads)
        if shape is None:
            self._learn_gap = min(self._learn_gap * 2, 1024)
        else:
            self._learn_gap = 1
            # Newest first: a stream moves on (the next tool call, reasoning then content), and
            # the shapes of ``n > 1`` choices, learned in turn, come in turn.
            self._shapes.insert(0, shape)
            del self._shapes[MAX_SHAPES:]
        self._learn_in = self._learn_gap

    def partial_json(self, choice: int = 0, tool: int | None = None) -> Any:
        """The value parsed so far of the JSON in a choice's content (``tool`` None: a JSON-mode
        answer) or in a tool call's arguments (``tool``: its number, as in the deltas), with
        the complete keys and values and the last string partial; None before any. Linear
        over a stream, however often it is read; never raises (invalid JSON stops it)."""
        state = self._state.choices.get(choice)
        return None if state is None else state.partial_json(tool)

    def _make(self, partial: bool) -> ChatCompletionResponse:
        return self._state.build(partial)

    def _incomplete(self) -> str:
        state = self._state
        unfinished = state.unfinished()
        if unfinished:
            detail = f"before [DONE] and choices {unfinished} have no finish_reason"
        elif self._chunks:
            detail = "before [DONE] and no choice was received"
        else:
            detail = "without any chunk"
        if not state.choices and (self._chunks or self._other_events):
            detail += " (a stream of another API? streamagg.detect_dialect tells which)"
        return detail

    def _body(self, body: Any) -> None:
        self._dispatch(body, None)

    # -- internals ---------------------------------------------------------------------------

    def _dispatch(self, chunk: Any, out: list[Delta] | None) -> None:
        """Fold one decoded chunk (the callers have checked that the stream has not ended)."""
        if chunk.__class__ is not dict:
            chunk = self._as_mapping(chunk)
            if chunk is None:
                return
        state = self._state
        self._chunks += 1
        try:
            state.fold(chunk, out)
        except InvalidChunk as exc:
            self._bad_input(str(exc), chunk)
        except OverLimit as exc:
            raise self._over_limit(exc) from None
        if state.errored:
            self._raise_error(state.error)

    def _event_error(self, data: str) -> None:
        try:
            payload: Any = decode_json(data)
        except (ValueError, RecursionError):
            payload = data
        if (
            isinstance(payload, dict)
            and "error" in payload
            and not nesting_exceeds(payload, self.limits.max_depth)
        ):
            # Fold what the payload carried besides the error (usage, ids), then stop.
            self._dispatch(payload, None)  # raises UpstreamError: the payload has an error key
        self._raise_error(payload)
