"""The sans-IO fold of a chat completion: chunks or SSE events in, deltas and one response out.

``Aggregator`` is a dispatcher: it decodes event data, hands chunks to ``ResponseState`` (the rules
live with the state they change, in ``_state``), tracks the end of the stream and turns bad input
into ``MalformedChunkError`` and error chunks into ``UpstreamError``, each with the partial
response. It implements the ``Fold`` seam (``_ingest``) that every adapter uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any, Generic, NoReturn, TypeVar

from . import _codec
from ._errors import (
    IncompleteStreamError,
    StreamError,
    StreamInterruptedError,
    UpstreamError,
)
from ._eventfold import DONE, FoldBase, decode_json
from ._json import nesting_exceeds
from ._limits import DEFAULT_LIMITS, Limits
from ._models import ChatCompletionResponse, Delta, FoldReport, Skipped
from ._shapes import MAX_SHAPES, Shape, learn
from ._sse import Item
from ._state import DEFAULT_PADDING_KEYS, InvalidChunk, OverLimit, ResponseState, Rules

__all__ = ["DEFAULT_PADDING_KEYS", "DEFAULT_TEXT_KEYS", "Aggregator", "Folding", "afold", "fold"]

R = TypeVar("R")

#: Keys whose string values are concatenated when unknown structures are merged. Everything else
#: is "last non-null wins", so re-sent ids, formats or whole arguments never double.
DEFAULT_TEXT_KEYS = frozenset(
    {"text", "content", "refusal", "reasoning", "reasoning_content", "thinking", "summary"}
)


class Aggregator(FoldBase[ChatCompletionResponse]):
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

    Adapters that read bytes use ``StreamReader``, which drives ``receive()`` and
    ``receive_body()``: the two methods of the ``Fold`` seam that carry input.
    """

    def __init__(
        self,
        *,
        text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
        padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
    ) -> None:
        self.limits = limits
        self.strict = strict
        self._state = ResponseState(Rules(frozenset(text_keys), frozenset(padding_keys), limits))
        #: How many keep-alives arrived as event data (``data: : keepalive``).
        self.keepalives = 0
        self._other_events = 0
        self._skipped: list[Skipped] = []
        self._chunks = 0  # chunks folded (a stream with [DONE] and no chunk is not complete)
        self._done = False
        self._ended = False  # [DONE], feed_done() or an error: no more input is folded
        self._loads = _codec.loads
        self._shapes: list[Shape] = []  # the repeated shapes learned (``_shapes``)
        self._learn_gap = 1  # full parses between two attempts to learn a shape
        # Full parses until the next attempt: none before the fourth chunk, so that a short
        # stream (or a stream's first chunk, whose shape rarely comes back) pays nothing.
        self._learn_in = 4

    @property
    def done(self) -> bool:
        """True once ``[DONE]`` (or ``feed_done()``) has ended the stream normally."""
        return self._done

    @property
    def chunks(self) -> int:
        """How many chunks have been folded (keep-alives, comments and pings are not chunks)."""
        return self._chunks

    @property
    def complete(self) -> bool:
        """True when the stream is whole: ``[DONE]`` arrived after at least one chunk, or every
        choice has a finish reason; False after an error."""
        state = self._state
        if state.errored:
            return False
        if self._done:
            return self._chunks > 0
        return bool(state.choices) and not state.unfinished()

    def feed(self, chunk: Mapping[str, Any] | Any) -> list[Delta]:
        """Fold one chunk and return what it added, as typed deltas.

        Raises ``UpstreamError`` after folding a chunk that carries a top-level ``error``,
        ``MalformedChunkError`` when the chunk is not an object or a field has an impossible type
        (unless lenient), and ``LimitExceededError``.
        """
        out: list[Delta] = []
        self.receive_chunk(chunk, out)
        return out

    def receive_chunk(self, chunk: Mapping[str, Any] | Any, out: list[Delta] | None) -> bool:
        """Fold one chunk, appending its deltas to ``out`` (when not None; None is the fastest
        way to fold). Returns True once the stream has ended. Raises as ``feed()`` does."""
        if self._ended:
            return True
        self._fold(chunk, out)
        return self._ended

    def feed_event(self, event: Any) -> list[Delta]:
        """Fold one SSE event (anything with ``event`` and ``data`` attributes, such as
        httpx-sse's ``ServerSentEvent``); see ``receive()``."""
        out: list[Delta] = []
        self.receive(event.event, event.data, out)
        return out

    def feed_done(self) -> None:
        """Mark the end of the stream, as ``data: [DONE]`` does."""
        self._done = self._ended = True

    _end_of_stream = feed_done

    def receive(self, event: str, data: str, out: list[Delta] | None) -> bool:
        """Fold the data of one SSE event, appending its deltas to ``out`` (when not None).

        Returns True once the stream has ended (read no more). ``data: [DONE]`` ends it, under
        any event name; an event named ``error`` raises ``UpstreamError``; other named events
        (``ping``) and events with empty data (keep-alives) are skipped.
        """
        if self._ended:
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
        self._fold(chunk, out)
        return self._ended

    def receive_events(self, events: list[Item], out: list[Delta] | None) -> bool:
        """Fold the SSE events of one read (``SSEDecoder.feed_data``); True once the stream
        has ended. A chunk (an unnamed event whose data decodes to an object) takes this loop,
        the hot path of every stream; anything else goes through ``receive()``."""
        if self._ended:
            return True
        loads = self._loads
        fold = self._fold
        shapes = self._shapes
        for item in events:
            if item.__class__ is str:
                for shape in shapes:
                    if shape.fold(item, out):  # a chunk that repeats a shape: not parsed
                        self._chunks += 1
                        break
                else:
                    try:
                        chunk = loads(item)
                    except (ValueError, RecursionError):
                        chunk = None  # receive() says why (or decodes what orjson refused)
                    if chunk.__class__ is dict:
                        skipped = len(self._skipped)
                        fold(chunk, out)
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

    def receive_body(self, body: str) -> None:
        """Fold a whole non-streaming response body (a ``chat.completion`` object, or an error
        object): it is complete once folded. Ignored after the end of the stream."""
        if self._ended:
            return
        try:
            chunk = decode_json(body)
        except ValueError:
            self._bad_input(f"the body is not JSON: {body[:80]!r}", body)
        except RecursionError:
            raise self._too_deep() from None
        else:
            self._fold(chunk, None)
        if not self._ended:
            self.feed_done()

    def snapshot(self) -> ChatCompletionResponse:
        """The response folded so far (a new object each call); its ``report`` says whether
        it is complete and what was skipped, and its tool calls carry the arguments parsed so
        far (``partial_arguments``)."""
        return self._build(partial=True)

    def partial_json(self, choice: int = 0, tool: int | None = None) -> Any:
        """The value parsed so far of the JSON in a choice's content (``tool`` None: a JSON-mode
        answer) or in a tool call's arguments (``tool``: its number, as in the deltas), with
        the complete keys and values and the last string partial; None before any. Linear
        over a stream, however often it is read; never raises (invalid JSON stops it)."""
        state = self._state.choices.get(choice)
        return None if state is None else state.partial_json(tool)

    def _build(self, partial: bool) -> ChatCompletionResponse:
        response = self._state.build(partial)
        response.report = FoldReport(
            complete=self.complete,
            skipped=list(self._skipped),
            keepalives=self.keepalives,
            other_events=self._other_events,
        )
        return response

    def result(self) -> ChatCompletionResponse:
        """The final response.

        Raises ``UpstreamError`` if the stream carried an error, and (unless lenient)
        ``IncompleteStreamError`` unless ``[DONE]`` arrived after a chunk or every choice has a
        finish reason; each carries ``.partial``.
        """
        state = self._state
        if state.errored:
            raise self._upstream(self._state.error)
        if not self.complete and self.strict:
            unfinished = state.unfinished()
            if unfinished:
                detail = f"before [DONE] and choices {unfinished} have no finish_reason"
            elif self._chunks:
                detail = "before [DONE] and no choice was received"
            else:
                detail = "without any chunk"
            if not state.choices and (self._chunks or self._other_events):
                detail += " (a stream of another API? streamagg.detect_dialect tells which)"
            raise IncompleteStreamError(f"the stream ended {detail}", partial=self.snapshot())
        return self._build(partial=False)

    # -- internals ---------------------------------------------------------------------------

    def _fold(self, chunk: Any, out: list[Delta] | None) -> None:
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
            self._ended = True
            raise self._upstream(self._state.error)

    def _event_error(self, data: str) -> None:
        try:
            payload: Any = decode_json(data)
        except (ValueError, RecursionError):
            payload = data
        state = self._state
        if (
            isinstance(payload, dict)
            and "error" in payload
            and not nesting_exceeds(payload, self.limits.max_depth)
        ):
            # Fold what the payload carried besides the error (usage, ids), then stop.
            self._fold(payload, None)  # raises UpstreamError: the payload has an error key
        state.error = payload
        state.errored = True
        self._ended = True
        raise self._upstream(self._state.error)


def _sdk_failure(exc: BaseException) -> str | None:
    """How to report an exception raised while iterating an SDK's chunk stream: "interrupted"
    for a failed connection (the SDK's connection and timeout errors, httpx's transport
    errors), "upstream" for another API error (an ``error`` event the SDK raised), None for
    anything else. Decided by class names, so the core imports neither the SDK nor httpx."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"APIConnectionError", "APITimeoutError", "TransportError", "TimeoutException"}:
        return "interrupted"
    if "APIError" in names:
        return "upstream"
    return None


def _is_sdk_stream(chunks: object) -> bool:
    """An SDK's ``Stream``/``AsyncStream`` (openai, anthropic): it consumes ``[DONE]`` itself, so
    a stream that ends without raising has ended normally."""
    module = type(chunks).__module__ or ""
    return module.split(".")[0] in ("openai", "anthropic") and hasattr(chunks, "response")


class Folding(Generic[R]):
    """What ``fold`` and ``afold`` of every dialect share: a fold, the method that takes one
    parsed chunk or event, and the rules for how a source of them ends (normally, or with an
    exception of the SDK that produced it)."""

    def __init__(
        self,
        chunks: object,
        fold: FoldBase[R],
        receive: Callable[[Any, None], bool],
        end: Callable[[], None] | None = None,
    ) -> None:
        self.fold = fold
        self.receive = receive
        self.end = end if _is_sdk_stream(chunks) else None

    def raise_failure(self, exc: Exception) -> NoReturn:
        """Raise what an exception from the chunk source becomes (our own errors, and any
        exception that is not an SDK's, as they are)."""
        kind = None if isinstance(exc, StreamError) else _sdk_failure(exc)
        if kind == "interrupted":
            raise StreamInterruptedError(
                f"the stream failed: {type(exc).__name__}: {exc}",
                partial=self.fold.snapshot(),
            ) from exc
        if kind == "upstream":
            raise UpstreamError(
                f"the server sent an error: {exc}",
                error=getattr(exc, "body", None) or str(exc),
                partial=self.fold.snapshot(),
            ) from exc
        raise exc

    def run(self, chunks: Iterable[Any]) -> R:
        """Fold every chunk of a (sync) source; the final object."""
        receive = self.receive
        try:
            for chunk in chunks:
                receive(chunk, None)
        except Exception as exc:  # an SDK's errors become ours; others are re-raised
            self.raise_failure(exc)
        return self.result()

    async def arun(self, chunks: AsyncIterable[Any]) -> R:
        """Fold every chunk of an async source; the final object."""
        receive = self.receive
        try:
            async for chunk in chunks:
                receive(chunk, None)
        except Exception as exc:  # an SDK's errors become ours; others are re-raised
            self.raise_failure(exc)
        return self.result()

    def result(self) -> R:
        if self.end is not None:
            self.end()
        return self.fold.result()


def fold(
    chunks: Iterable[Mapping[str, Any] | Any],
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """Fold chunk dicts (or pydantic chunks with ``model_dump()``) into the final response.

    The chunks are complete when every choice has a finish reason, or when they come from an
    openai SDK ``Stream`` that ended normally (the SDK consumes ``[DONE]``); otherwise
    ``IncompleteStreamError`` is raised with the partial response. An error the SDK raises
    mid-stream becomes ``UpstreamError`` (an error event) or ``StreamInterruptedError`` (a failed
    connection) with the partial response and the SDK's exception as ``__cause__``. For an async
    iterable (an ``openai.AsyncStream``), use ``afold``. The keywords are the fold options of
    ``Aggregator``.
    """
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    folding = Folding(chunks, aggregator, aggregator.receive_chunk, aggregator.feed_done)
    return folding.run(chunks)


async def afold(
    chunks: AsyncIterable[Mapping[str, Any] | Any],
    *,
    text_keys: Iterable[str] = DEFAULT_TEXT_KEYS,
    padding_keys: Iterable[str] = DEFAULT_PADDING_KEYS,
    limits: Limits = DEFAULT_LIMITS,
    strict: bool = True,
) -> ChatCompletionResponse:
    """The async twin of ``fold``: ``await afold(async_stream)``."""
    aggregator = Aggregator(
        text_keys=text_keys, padding_keys=padding_keys, limits=limits, strict=strict
    )
    folding = Folding(chunks, aggregator, aggregator.receive_chunk, aggregator.feed_done)
    return await folding.arun(chunks)
