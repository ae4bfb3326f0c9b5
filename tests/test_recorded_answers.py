"""A recording of an answer that is not a 2xx stream (``: http-status:`` lines, as
``RecordingTransport`` and ``streamagg record`` write it) replays as the ``HTTPStatusError`` the
live call raised, with its status and message, in every dialect and whatever the pieces."""

from __future__ import annotations

import pytest

import streamagg
from streamagg._registry import DIALECTS
from streamagg._registry.detect import replay_any

ANSWER = (
    b": http-status: 404\n"
    b": http-header: content-type: application/json\n"
    b"\n"
    b'{"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error"}}'
)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_each_dialect_replays_a_recorded_error_answer_as_the_http_error(name: str) -> None:
    dialect = DIALECTS[name]
    with pytest.raises(streamagg.HTTPStatusError) as info:
        dialect.replay(ANSWER)
    error = info.value
    assert str(error) == "HTTP 404 Not Found: The model `gpt-9` does not exist"
    assert (error.status_code, error.error["type"]) == (404, "invalid_request_error")
    assert error.request is None  # a recording: no live objects
    assert error.response is None
    assert isinstance(error.partial, dialect.model)


def test_any_dialect_replay_raises_it_at_every_split() -> None:
    """``streamagg replay`` (detection) raises it too, however the bytes are cut."""
    for at in range(len(ANSWER) + 1):
        with pytest.raises(streamagg.HTTPStatusError, match="HTTP 404 Not Found: The model"):
            replay_any([ANSWER[:at], ANSWER[at:]])


def test_a_body_that_is_not_json_gives_its_text_and_the_body_is_bounded() -> None:
    recording = b": http-status: 502\n\n" + b"<html>Bad gateway</html>" + b"x" * 10_000
    limits = streamagg.Limits(max_error_body=100)
    with pytest.raises(streamagg.HTTPStatusError) as info:
        streamagg.replay(recording, limits=limits)
    assert str(info.value).startswith("HTTP 502 Bad Gateway: <html>Bad gateway</html>xxx")
    assert len(info.value.body) == 100


def test_an_unknown_status_has_no_reason_phrase() -> None:
    with pytest.raises(streamagg.HTTPStatusError, match=r"^HTTP 599 : \{\}$"):
        streamagg.replay(b": http-status: 599\n\n{}")


@pytest.mark.parametrize(
    "head",
    [
        b": http-status: soon\n\n",  # not a status
        b": http-status: 404\n",  # no blank line: not the format
        b": http-stat\n\n",  # another comment
    ],
)
def test_a_stream_that_only_looks_like_one_folds_as_a_stream(head: bytes) -> None:
    stream = (
        head + b'data: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n'
    )
    assert streamagg.replay(stream).choices[0].message.content == "hi"
