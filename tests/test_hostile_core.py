"""The core and the adapters under hostile input: limits validated when made, a whitespace-only
stream and an undetectable input in bounded memory, a relayed event that never ends in linear
time."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import streamagg
from streamagg import Limits
from streamagg._registry.detect import replay_any

CHUNK = b'data: {"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}\n\n'


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_depth": 2000}, ValueError, "max_depth must be from 1 to 256"),
        ({"max_depth": 0}, ValueError, "max_depth must be from 1 to 256"),
        ({"max_event_size": "x"}, TypeError, "max_event_size must be an int"),
        ({"max_items": True}, TypeError, "max_items must be an int"),
        ({"max_choices": -1}, ValueError, "max_choices must be 1 or more"),
        ({"max_total_bytes": 0}, ValueError, "max_total_bytes must be 1 or more"),
        ({"max_error_body": 1.5}, TypeError, "max_error_body must be an int"),
    ],
)
def test_limits_are_validated_when_made(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A limit of the wrong type or past what the library can honour is refused when the
    ``Limits`` is made (``max_depth=2000`` gave ``RecursionError`` on 500-deep input, a string
    a ``TypeError`` from deep inside)."""
    with pytest.raises(error, match=message):
        Limits(**options)


def test_the_deepest_max_depth_is_honoured() -> None:
    """At ``max_depth=256`` a value 256 deep is kept and converts; 257 is refused."""
    limits = Limits(max_depth=256)
    for levels, refused in ((255, False), (257, True)):
        value = "[" * levels + "]" * levels
        raw = f'data: {{"x_deep": {value}, "choices": []}}\n\n'.encode() + CHUNK
        if refused:
            with pytest.raises(streamagg.LimitExceededError):
                streamagg.replay(raw, limits=limits)
        else:
            streamagg.to_dict(streamagg.replay(raw, limits=limits))


def peak_of(run: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        try:
            outcome = run()
        except streamagg.StreamError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_stream_of_whitespace_holds_no_more_than_a_line() -> None:
    """64 MiB of blank lines and whitespace (512 MiB held 546 MB) is read in bounded memory and
    ends as a stream without a chunk; whitespace with no line end is a line past
    ``max_event_size``."""

    def blank() -> Iterator[bytes]:
        for _ in range(1_024):
            yield b" \n\t\r\n" * 13_107

    outcome, peak = peak_of(lambda: streamagg.replay(blank()))
    assert isinstance(outcome, streamagg.IncompleteStreamError)
    assert peak < 2_000_000
    limits = Limits(max_event_size=10_000)
    outcome, peak = peak_of(lambda: streamagg.replay([b" " * 1_000] * 10_000, limits=limits))
    assert isinstance(outcome, streamagg.LimitExceededError)
    assert peak < 1_000_000


def test_blank_lines_before_a_stream_still_fold_it() -> None:
    """Dropping the blank lines keeps a BOM and the line under way: the stream folds."""
    pieces = [b"\xef\xbb", b"\xbf\n\n  \r", b"\n\r", b"\n", CHUNK]
    assert streamagg.replay(pieces).choices[0].message.content == "x"
    assert streamagg.replay(b"\n" * 5_000 + b'{"choices": []}').choices == []


def test_input_that_names_no_dialect_is_refused_after_a_bounded_prefix() -> None:
    """Random bytes (``replay /dev/urandom`` grew 18 MB/s for ever) are refused once
    ``max_event_size`` bytes name no dialect, holding about that much."""

    def noise() -> Iterator[bytes]:
        while True:
            yield os.urandom(16_384)

    limits = Limits(max_event_size=1_000_000)
    outcome, peak = peak_of(lambda: replay_any(noise(), limits=limits))
    assert isinstance(outcome, streamagg.LimitExceededError)
    assert "name no dialect" in str(outcome)
    assert peak < 4_000_000


@pytest.mark.slow
def test_a_relayed_event_that_never_ends_costs_linear_time() -> None:
    """An upstream that sends comment lines and never a blank line: the relay held its bytes
    by copying them on every read (32 MiB took 22.6 s; 8 times the bytes cost 18.6 times the
    time here); now about 8 times (CPU time ratios in one run, the best of two)."""

    def cost(reads: int) -> float:
        def handler(request: httpx.Request) -> httpx.Response:
            body = (b": keep-alive comment\n" * 780 for _ in range(reads))
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

        best = float("inf")
        for _ in range(2):
            with httpx.Client(transport=httpx.MockTransport(handler)) as client:
                relay = streamagg.relay(
                    client, "POST", "https://up.test/v1/chat/completions",
                    on_finish=lambda response, error: None, strict=False,
                )  # fmt: skip
                start = time.process_time()
                forwarded = b"".join(relay)
                best = min(best, time.process_time() - start)
            assert len(forwarded) == reads * 780 * 21
        return best

    small, large = cost(256), cost(2_048)
    assert large / small < 13, (small, large)


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("gemini", b'{"candidates": "w1a6"}'),
        ("completions", b'{"id": "cmpl-1", "object": "text_completion", "choices": 9643}'),
        ("anthropic", b'{"type": "message", "content": "x", "usage": 5}'),
    ],
)
def test_a_whole_body_with_a_field_of_the_wrong_type_is_bad_input(
    dialect: str, body: bytes
) -> None:
    """A whole (non-streaming) JSON body goes through the same rules as an event: a field of
    an impossible type is ``MalformedChunkError`` (strict) or a skip (lenient), never the
    fold's internal ``InvalidChunk`` (found by ``tests/fuzz/fuzz_dialect.py`` for Gemini and
    legacy completions)."""
    module = getattr(streamagg, dialect)
    with pytest.raises(streamagg.MalformedChunkError, match="the body"):
        module.replay(body)
    lenient = module.replay(body, strict=False)
    assert [s.reason[:10] for s in lenient.report.skipped] == ["the body: "]
