"""The dialect registry: a dialect registered from outside the package (the toy of
``tests/toy_dialect``) gets detection, replay, synthesize, serve, the converter, the app helpers
and the CLI with no edit anywhere but its own folder and the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import streamagg
from streamagg import _cli
from streamagg._registry import DEFAULT, DIALECTS, dialect_of, register, unregister
from streamagg._registry.detect import output_text, replay_any
from streamagg.testing import ReplayTransport, synthesize
from streamagg.testing._server import ReplayApp

from . import toy_dialect
from .toy_dialect import DIALECT as ECHO
from .toy_dialect import EchoReply, EchoText

REPLY = EchoReply(text="Hello, registry!", stop="stop")
RAW = b'data: {"echo":"Hello, "}\n\ndata: {"echo":"registry!"}\n\ndata: {"echo_end":"stop"}\n\n'


@pytest.fixture(autouse=True)
def echo() -> Iterator[None]:
    """The toy dialect, registered for each test and removed after it."""
    register(ECHO)
    yield
    unregister(ECHO.name)


def test_detected_by_its_own_rules() -> None:
    """A stream or a whole body of the toy is detected as its dialect; others are not."""
    assert streamagg.detect_dialect(RAW) == "echo"
    assert streamagg.detect_dialect(b'{"object": "echo.reply", "text": "x"}') == "echo"
    chat = b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\n\n'
    assert streamagg.detect_dialect(chat) == "chat"


def test_replayed_from_bytes_a_file_and_a_whole_body(tmp_path: Path) -> None:
    """``replay`` of the entry and of any dialect fold the toy's stream, split anywhere, and its
    non-streaming answer."""
    assert ECHO.replay(RAW) == REPLY
    assert ECHO.replay([RAW[:7], RAW[7:40], RAW[40:]]) == REPLY
    path = tmp_path / "echo.sse"
    path.write_bytes(RAW)
    assert replay_any(path) == ("echo", REPLY)
    body = json.dumps(streamagg.to_dict(REPLY)).encode()
    assert replay_any(body) == ("echo", REPLY)


def test_incomplete_and_lenient() -> None:
    """The lifecycle is the core's: no terminal event is ``IncompleteStreamError`` with the
    partial, or (lenient) the partial with ``report.complete`` False."""
    cut = RAW[: RAW.index(b'data: {"echo_end"')]
    with pytest.raises(streamagg.IncompleteStreamError, match="before echo_end") as caught:
        ECHO.replay(cut)
    assert caught.value.partial.text == "Hello, registry!"
    partial = ECHO.replay(cut, strict=False)
    assert partial.report is not None
    assert not partial.report.complete


def test_converted_both_ways() -> None:
    """``to_dict`` gives the toy's JSON (None fields left out, unknown keys kept) and
    ``from_dict`` reads it back."""
    assert streamagg.to_dict(EchoReply(text="x")) == {"object": "echo.reply", "text": "x"}
    data = {"object": "echo.reply", "text": "x", "stop": "stop", "x_extra": [1]}
    assert streamagg.to_dict(ECHO.from_dict(data)) == data


def test_synthesized_and_folded_back() -> None:
    """``synthesize`` makes the toy's own stream, which folds back to the object, timed or not."""
    for chunk_size in (1, 4, 100):
        assert ECHO.replay(synthesize(REPLY, chunk_size=chunk_size)) == REPLY
    timed = synthesize(REPLY, interval=0.1)
    assert timed.startswith(b": t=0.100\n")
    assert ECHO.replay(timed) == REPLY
    assert dialect_of(REPLY) is ECHO


def test_output_text_of_its_deltas() -> None:
    """Every dialect's ``output_text`` is asked: the toy's deltas give their text."""
    assert output_text(EchoText("hi")) == "hi"


def test_served_on_its_route(tmp_path: Path) -> None:
    """``serve`` answers the toy's route (with and without ``/v1``) from its recordings: a
    stream when asked for one, else the folded JSON."""
    (tmp_path / "echo.sse").write_bytes(RAW)
    app = ReplayApp(tmp_path, timing=False)

    async def call(path: str, stream: bool) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(path, json={"stream": stream})

    streamed = anyio.run(call, "/v1/echo", True)
    assert streamed.status_code == 200
    assert ECHO.replay(streamed.content) == REPLY
    whole = anyio.run(call, "/echo", False)
    assert whole.json() == streamagg.to_dict(REPLY)


def test_app_helpers_for_free() -> None:
    """The toy's module gets ``create``/``stream`` and their async twins, posting to its route
    and folding the answer, deltas and text included."""
    transport = ReplayTransport({"/v1/echo": synthesize(REPLY, chunk_size=3)})
    with (
        httpx.Client(transport=transport) as client,
        toy_dialect.create(client, "https://echo.test/v1", {"q": 1}, api_key="k") as s,
    ):
        deltas = list(s)
        assert s.response == REPLY
    assert "".join(d.text for d in deltas) == REPLY.text
    request = transport.requests[0]
    assert request.headers["authorization"] == "Bearer k"
    assert json.loads(request.content) == {"q": 1, "stream": True}

    async def run() -> Any:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            toy_dialect.astream(
                client, "POST", "https://echo.test/v1/echo", json={"stream": True}
            ) as s,
        ):
            return [text async for text in s.text()], s.response

    texts, response = anyio.run(run)
    assert "".join(texts) == REPLY.text
    assert response == REPLY


def test_cli_replays_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``streamagg replay`` detects the toy and prints its object."""
    path = tmp_path / "echo.sse"
    path.write_bytes(RAW)
    assert _cli.main(["replay", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == streamagg.to_dict(REPLY)


def test_registry_rules() -> None:
    """A name is registered once; the default dialect stays; an object of no dialect is a
    ``TypeError``."""
    with pytest.raises(ValueError, match="registered already"):
        register(ECHO)
    with pytest.raises(ValueError, match="cannot be removed"):
        unregister(DEFAULT.name)
    assert list(DIALECTS)[-1] == "echo"
    with pytest.raises(TypeError, match="not the final object of any dialect"):
        dialect_of(object())
