"""What many test modules use: the recorded streams, a request payload, chat chunks and the bytes
of a stream built from events (``chunk``, ``delta``, ``sse``, ``ndjson``), a replay server, and
the outcome of folding a stream (its response, or its error and partial response)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamagg
from streamagg._core import codec

#: The recorded streams (see ``streams/SOURCES.md``): ``<name>.sse`` with the expected outcome
#: in ``<name>.streamagg.json``.
STREAMS = Path(__file__).parent / "streams"
NAMES = sorted(p.stem for p in STREAMS.glob("*.sse"))
#: A few recordings that cover text, ``n > 1``, tool calls and reasoning, for slower tests.
SAMPLE = [
    "openai-python__plain-content",
    "openai-python__n3-choices",
    "openai-python__parallel-tool-calls",
    "vercel-ai__deepseek-reasoner-text",
]
#: A chat request body.
PAYLOAD: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def outcome(source: Any) -> dict[str, Any]:
    """What folding gives: the response dict, plus the error for streams that end in one."""
    try:
        return {"response": streamagg.to_dict(streamagg.replay(source))}
    except streamagg.StreamError as exc:
        return {
            "error": {"type": type(exc).__name__, "error": getattr(exc, "error", None)},
            "response": streamagg.to_dict(exc.partial),
        }


def expected(name: str) -> dict[str, Any]:
    """The expected outcome of the recording ``name``."""
    result: dict[str, Any] = json.loads((STREAMS / f"{name}.streamagg.json").read_text())
    return result


def start_server(app: Any) -> tuple[str, Any, threading.Thread]:
    """``streamagg serve``'s app on uvicorn in a thread, on a free loopback port: its base URL
    (``.../v1``), the server (set ``should_exit`` to stop it) and the thread."""
    from streamagg.testing._server import bind, make_server

    sock = bind("127.0.0.1", 0)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", server, thread


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``start_server`` for a ``with`` block: the base URL; the server stops at its end."""
    url, server, thread = start_server(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def using_orjson(enabled: bool) -> Iterator[None]:
    """Folds made inside decode with orjson (when installed) or the standard library; the
    decoder in force before is put back after, whatever it was."""
    before = codec.loads
    codec.use_orjson(enabled)
    try:
        yield
    finally:
        codec.loads = before


# -- chunks and streams ----------------------------------------------------------------------


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A chat completion chunk with the given choices (each a dict of choice keys, see ``delta``)
    and top-level keys; ``choices=`` as a keyword replaces the list."""
    base: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
    }
    base.update(top)
    base.setdefault("choices", list(choices))
    return base


def delta(index: int = 0, finish: str | None = None, **d: Any) -> dict[str, Any]:
    """One choice of a chat chunk: the ``delta`` keys ``d``, its ``finish_reason`` and
    ``logprobs: null``."""
    return {"index": index, "delta": d, "logprobs": None, "finish_reason": finish}


def chunk_json(**d: Any) -> str:
    """The JSON text of the barest chat chunk: one choice (index 0) whose ``delta`` has the keys
    ``d``, and nothing else (no id, no ``finish_reason``): for streams written out by hand."""
    return json.dumps({"choices": [{"index": 0, "delta": d}]})


def sse(
    events: Iterable[Mapping[str, Any] | str],
    *,
    named: bool = False,
    done: bool = False,
    ensure_ascii: bool = True,
) -> bytes:
    """An event stream with one event per item: ``data:`` with a dict as JSON (a string as it
    is), then a blank line. ``named`` puts an ``event:`` line with the dict's ``type`` first (as
    the Responses API and Anthropic send it); ``done`` ends with ``data: [DONE]``;
    ``ensure_ascii=False`` keeps non-ASCII characters as UTF-8, so that byte splits can fall
    inside them."""
    blocks = []
    for event in events:
        if isinstance(event, str):
            blocks.append(f"data: {event}\n\n")
            continue
        head = f"event: {event['type']}\n" if named else ""
        blocks.append(f"{head}data: {json.dumps(event, ensure_ascii=ensure_ascii)}\n\n")
    if done:
        blocks.append("data: [DONE]\n\n")
    return "".join(blocks).encode()


def ndjson(lines: Iterable[Mapping[str, Any] | str]) -> bytes:
    """JSON lines (Ollama's framing): each dict as JSON (a string as it is), then ``\\n``."""
    texts = (line if isinstance(line, str) else json.dumps(line) for line in lines)
    return "".join(text + "\n" for text in texts).encode()
