"""Dialect detection (``streamagg._registry.detect``): every recording's dialect is found from its
first events or from its JSON body, whatever the split; input that decides nothing is chat
completions; and chat's ``replay`` of another dialect's stream says where to look."""

from __future__ import annotations

import json

import pytest

import streamagg
from streamagg._registry.detect import Detector, detect_dialect

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
