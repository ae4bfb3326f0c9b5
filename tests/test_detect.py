"""Dialect detection (``streamagg._registry.detect``): every recording's dialect is found from its
first events or from its JSON body, whatever the split; input that decides nothing is chat
completions; chat's ``replay`` of another dialect's stream says where to look; and what
detection holds meanwhile is bounded, comments and blank lines not held at all."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import streamagg
from streamagg import Limits
from streamagg._registry import DIALECTS
from streamagg._registry.detect import Detector, detect_dialect, replay_any

from .dialects import GEMINI, MESSAGE, RECORDINGS, folded, path
from .helpers import STREAMS

CHAT = STREAMS / "openai-python__plain-content.sse"


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_dialect_is_detected_from_the_first_events(dialect: str, name: str) -> None:
    """Every recording's dialect is found from its first events, whatever the split; its
    non-streaming form (a JSON body) too."""
    raw = path(dialect, name).read_bytes()
    assert detect_dialect(raw) == dialect
    detector = Detector()
    found = next(filter(None, (detector.feed(raw[i : i + 7]) for i in range(0, len(raw), 7))))
    assert found == dialect
    body = json.dumps(streamagg.to_dict(folded(dialect, raw))).encode()
    assert detect_dialect(body) == dialect


def test_chat_streams_and_undecided_input_are_chat() -> None:
    """Chat chunks are chat; an empty stream or only errors and comments decide nothing and are
    read as chat completions, the first dialect."""
    assert detect_dialect(CHAT.read_bytes()) == "chat"
    assert detect_dialect(b"") == "chat"
    assert detect_dialect(b': hi\n\nevent: error\ndata: {"error": {"message": "x"}}\n\n') == "chat"
    assert detect_dialect(b'{"error": {"message": "x"}}') == "chat"
    assert detect_dialect(b"data: {no json\n\n") == "chat"
    assert detect_dialect(b'event: ping\ndata: {"type": "ping"}') == "anthropic"


@pytest.mark.parametrize(
    ("body", "dialect"),
    [
        (b'{"id": "c", "choices": [{"text": "x", "index": 0}]}\n', "completions"),
        (b'[{"candidates": []}]', "gemini"),
        (b'{\n  "object": "chat.completion",\n  "choices": []\n}', "chat"),
        (b'{"a": 1}\n{"b": 2}\n', "chat"),
        (b'{"model": "m", "response": "x", "done": true}', "ollama"),
        (b"[1, 2]", "chat"),
        (b'{"object": "chat.completion", "choices": "x"}', "chat"),
        (b'\xef\xbb\xbf{"model": "m", "message": {}, "done": false}\n{"done": true}', "ollama"),
        (b"{oops\n{oops", "chat"),
    ],
)
def test_bodies_are_detected_by_their_keys(body: bytes, dialect: str) -> None:
    """Whole JSON bodies, arrays of chunks and JSON lines decide by the same keys; a body that
    says nothing is a chat completion."""
    assert detect_dialect(body) == dialect
    detector = Detector()
    for i in range(len(body)):
        detector.feed(body[i : i + 1])
    assert detector.close() == dialect


def test_chat_replay_of_another_dialect_says_so() -> None:
    """``streamagg.replay`` of another API's stream fails with a message that points to
    ``streamagg.detect_dialect``, which names the dialect."""
    with pytest.raises(streamagg.IncompleteStreamError, match="detect_dialect"):
        streamagg.replay(MESSAGE)
    with pytest.raises(streamagg.IncompleteStreamError, match="detect_dialect"):
        streamagg.replay(GEMINI)
    assert streamagg.detect_dialect(MESSAGE.read_bytes()) == "anthropic"


# -- what detection holds (issue 21) ------------------------------------------------------------


def _outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What a replay gives: ``(dialect, object as a dict)``, or the error's type and partial."""
    try:
        dialect, result = run()
    except streamagg.StreamError as exc:
        return type(exc).__name__, streamagg.to_dict(exc.partial)
    return dialect, streamagg.to_dict(result)


CHAT_RAW = CHAT.read_bytes()
#: Inputs whose first lines mean nothing (comments, blank lines, a BOM, CR/LF/CRLF endings),
#: and lines after them that must stay what they were.
PRELUDES = [
    b"\xef\xbb\xbf: hi\r\n\r\n" + CHAT_RAW,
    b": a\r" + b"\n" + CHAT_RAW,
    b': x\n{"choices": []}\n\n' + CHAT_RAW,  # after a comment, "{" is a field, not JSON
    b"\n\r\n  \n" + b'{"object": "chat.completion", "choices": []}',
    b"\xef\xbb\xbf" + MESSAGE.read_bytes(),
    b": ping\n\n" * 40 + MESSAGE.read_bytes(),
    b"\r\r\n: c\r" + MESSAGE.read_bytes(),
    b"\xef\xbb\xbf\n\n" + CHAT_RAW,
    b"  : not a comment\n" + CHAT_RAW,
    b": only comments\r\n: and a last one without its line end",
    b': cut\n\ndata: {"choices": [{"index": 0, "delta": {"content": "x"}}]}',
]


@pytest.mark.parametrize("raw", PRELUDES, ids=range(len(PRELUDES)))
def test_what_detection_drops_changes_nothing(raw: bytes) -> None:
    """Replaying any dialect from the pieces detection held gives what the dialect's own
    replay of the bytes gives, whatever the split (comments dropped, a mark in their place)."""
    whole = _outcome(lambda: replay_any(raw))
    dialect = whole[0] if whole[0] in DIALECTS else "chat"
    assert whole[1] == _outcome(lambda: ("", DIALECTS[dialect].replay(raw)))[1]
    for size in (1, 2, 3, 7):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert _outcome(lambda: replay_any(pieces)) == whole  # noqa: B023 - called here


def _keepalives(total: int, line: bytes = b": keep-alive\n\n") -> Iterator[bytes]:
    """``total`` bytes of keep-alive comment lines, in 16 KiB reads."""
    block = line * (16_384 // len(line))
    for _ in range(total // len(block)):
        yield block


def test_a_stream_of_comments_is_held_in_a_few_bytes() -> None:
    """64 MiB of keep-alive comments (four times ``max_event_size``) name no dialect, are held
    in no bytes at all, and decide chat completions at the end (they were held up to 16 MiB,
    then refused)."""
    detector = Detector()
    tracemalloc.start()
    try:
        for piece in _keepalives(64 * 1024 * 1024):
            assert detector.feed(piece) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert detector.pieces == []
    assert detector.skipped == 64 * 1024 * 1024 - 64 * 1024 * 1024 % 16_380
    assert detector.close() == "chat"
    assert peak < 200_000


@pytest.mark.parametrize("line", [b": keep-alive\n\n", b"\r\n", b": a\r:b\r"])
def test_a_long_prelude_then_a_stream_is_detected(line: bytes) -> None:
    """Keep-alives, blank lines or comments longer than ``max_event_size`` before the first
    event: the stream is still detected and folded (it was refused)."""
    limits = Limits(max_event_size=4096)
    source = [*_keepalives(1024 * 1024, line), MESSAGE.read_bytes()]
    dialect, message = replay_any(source, limits=limits)
    assert dialect == "anthropic"
    assert message == streamagg.anthropic.replay(MESSAGE)


def test_whitespace_is_held_a_line_at_most() -> None:
    """Blank lines before anything decides are dropped as the reader drops them; spaces of
    the line under way are held, and past ``max_event_size`` refused."""
    detector = Detector(Limits(max_event_size=100))
    for _ in range(10_000):
        assert detector.feed(b" \r\n\n\t") is None
    assert detector.pieces == []
    assert detector.close() == "chat"
    with pytest.raises(streamagg.LimitExceededError, match="name no dialect"):
        Detector(Limits(max_event_size=100)).feed(b" " * 101)
    detector = Detector()
    pieces = [
        b"\xef",
        b"\xbb",
        b"\xbf \n",
        b"\r\n  ",
        b'{"model": "m", "message": {}, "done": false}\n',
    ]
    assert [detector.feed(piece) for piece in pieces][-1] == "ollama"


def test_skipped_bytes_count_against_max_total_bytes() -> None:
    """What detection drops is still read: ``max_total_bytes`` counts it, before the dialect
    is known and after."""
    limits = Limits(max_total_bytes=100_000)
    with pytest.raises(streamagg.LimitExceededError, match="max_total_bytes=100000"):
        replay_any(_keepalives(200_000), limits=limits)
    # 98,280 bytes of comments, then a first event (which decides) and the rest of the stream
    source = [*_keepalives(99_000), CHAT_RAW[:400], CHAT_RAW[400:]]
    with pytest.raises(streamagg.LimitExceededError, match="max_total_bytes=100000") as info:
        replay_any(source, limits=limits)
    assert info.value.partial.id  # refused while folding: the partial response
    source = [*_keepalives(90_000), CHAT_RAW[:400], CHAT_RAW[400:]]
    assert replay_any(source, limits=limits)[0] == "chat"
