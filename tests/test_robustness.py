"""Whatever the other side sends: typed errors (never a foreign exception), bounded memory and
depth, linear work, and a lenient mode that keeps going. Each test pins one escape or limit."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import anyio
import httpx
import pytest

import streamagg
from streamagg import Aggregator, LimitExceededError, Limits, SSEDecoder, StreamReader

from .helpers import PAYLOAD, STREAMS, chunk_json

PLAIN = (STREAMS / "openai-python__plain-content.sse").read_bytes()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# -- escapes ---------------------------------------------------------------------------------


def test_retry_with_thousands_of_digits_is_clamped() -> None:
    """``retry:`` with more digits than ``int()`` accepts is a valid (clamped) reconnection
    time, from the decoder and through ``replay``."""
    decoder = SSEDecoder()
    decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: x\n\n")
    assert decoder.retry == 10**18 - 1
    assert streamagg.replay(b"retry: " + b"7" * 5000 + b"\n\n" + PLAIN) == streamagg.replay(PLAIN)


@pytest.mark.parametrize("levels", [200, 1_000, 50_000])
def test_deep_json_in_a_chunk_is_a_limit_error(levels: int) -> None:
    """JSON nested deeper than ``max_depth`` (also deeper than Python's recursion limit, and
    deeper than the JSON decoder goes) is ``LimitExceededError`` with the partial response."""
    body = (
        f"data: {chunk_json(content='kept')}\n\n"
        f'data: {{"choices": [{{"delta": {{"x": {deep(levels)}}}}}]}}\n\n'
    )
    with pytest.raises(LimitExceededError, match="max_depth=128") as info:
        streamagg.replay(body.encode())
    assert info.value.limit == "max_depth"
    assert info.value.partial.choices[0].message.content == "kept"
    nested: Any = []
    for _ in range(levels):
        nested = [nested]
    with pytest.raises(LimitExceededError):
        Aggregator().feed({"choices": [{"delta": {"x": nested}}]})


def test_depth_just_under_the_limit_folds_and_converts() -> None:
    """Data as deep as ``max_depth`` allows folds, converts and round-trips."""
    inner = deep(120)
    body = f'data: {{"choices": [{{"delta": {{"x": {inner}}}, "finish_reason": "stop"}}]}}\n\n'
    response = streamagg.replay(body.encode())
    assert streamagg.from_dict(streamagg.to_dict(response)) == response
    json.dumps(streamagg.to_dict(response))


def test_deep_error_objects_give_a_short_message() -> None:
    """An error event or error body nested thousands of levels deep gives a short, bounded
    message (its repr is cut), not a ``RecursionError``."""
    with pytest.raises(streamagg.UpstreamError) as info:
        Aggregator().receive("error", json.dumps({"detail": 1}), None)
    assert "detail" in str(info.value)
    with pytest.raises(streamagg.UpstreamError) as info:
        Aggregator().receive("error", deep(50_000), None)
    assert len(str(info.value)) < 400
    nested: Any = "x"
    for _ in range(100):
        nested = {"e": nested}
    with pytest.raises(streamagg.UpstreamError) as info:
        Aggregator().feed({"error": nested})
    assert len(str(info.value)) < 400


def test_every_response_the_fold_returns_converts() -> None:
    """Values that would break ``to_dict`` or the round trip are rejected (or skipped when
    lenient): logprob tokens that are not objects; a provider usage with wrong types is not
    used as the usage (it stays in the extensions)."""
    for bad in ({"content": [None]}, {"refusal": ["x"]}):
        with pytest.raises(streamagg.MalformedChunkError, match=r"logprobs\.\w+\[\]"):
            Aggregator().feed({"choices": [{"logprobs": bad}]})
    groq = {"choices": [{"finish_reason": "stop"}], "x_groq": {"usage": {"prompt_tokens": "a"}}}
    response = streamagg.fold([groq])
    assert response.usage is None
    assert response.extensions["x_groq"] == {"usage": {"prompt_tokens": "a"}}
    assert streamagg.from_dict(streamagg.to_dict(response)) == response


@pytest.mark.parametrize("split", [None, 5, 20, 40])
def test_nothing_after_done_is_parsed_whatever_the_split(split: int | None) -> None:
    """After ``[DONE]`` nothing is parsed: the result is the same however the bytes after it
    arrive (a huge ``retry:`` or a line over the limit included)."""
    tail = b"retry: " + b"9" * 6000 + b"\n\n" + b"x" * 3000
    raw = PLAIN + tail
    cut = len(PLAIN) + split if split is not None else len(raw)
    limits = Limits(max_event_size=2000)
    expected = streamagg.replay(PLAIN)
    assert streamagg.replay([raw[:cut], raw[cut:]], limits=limits) == expected


def test_done_without_any_chunk_names_the_cause() -> None:
    """``[DONE]`` with no chunk before it is incomplete: the error says so."""
    with pytest.raises(streamagg.IncompleteStreamError, match="without any chunk"):
        streamagg.replay(b"data: [DONE]\n\n")


# -- limits ----------------------------------------------------------------------------------


def test_an_endless_line_stops_at_max_event_size_as_it_arrives() -> None:
    """A line that never ends raises as soon as it is longer than the limit, not at the end of
    the input; what was folded before stays in ``.partial``."""
    reader = StreamReader(Aggregator(limits=Limits(max_event_size=1000)))
    reader.receive_data(f"data: {chunk_json(content='kept')}\n\n".encode())
    reader.receive_data(b"data: " + b"x" * 500)
    reader.receive_data(b"x" * 300)  # 806 characters of the line: still under the limit
    with pytest.raises(LimitExceededError, match="a line") as info:
        reader.receive_data(b"x" * 300)
    assert info.value.limit == "max_event_size"
    assert info.value.partial.choices[0].message.content == "kept"


def test_one_large_read_over_the_limit_raises() -> None:
    """A single read holding a line longer than the limit raises too."""
    with pytest.raises(LimitExceededError, match="a line"):
        streamagg.replay(b"data: " + b"y" * 5000 + b"\n\n", limits=Limits(max_event_size=1000))


def test_an_event_of_many_lines_stops_at_max_event_size() -> None:
    """Many short data lines that never reach a blank line are one event: bounded too."""
    with pytest.raises(LimitExceededError, match="an event"):
        streamagg.replay([b"data: abcdefgh\n"] * 1000, limits=Limits(max_event_size=1000))


def test_a_json_body_counts_as_one_event() -> None:
    """A whole JSON body longer than ``max_event_size`` is refused while it is read."""
    body = b'{"choices": [], "pad": "' + b"z" * 5000 + b'"}'
    with pytest.raises(LimitExceededError, match="JSON body"):
        streamagg.replay([body[:100], body[100:]], limits=Limits(max_event_size=1000))


def test_max_total_bytes() -> None:
    """``max_total_bytes`` (off by default) bounds the whole stream."""
    with pytest.raises(LimitExceededError, match="max_total_bytes=500"):
        streamagg.replay(PLAIN, limits=Limits(max_total_bytes=500))
    assert streamagg.replay(PLAIN, limits=Limits(max_total_bytes=len(PLAIN)))


def test_max_choices_and_max_tool_calls() -> None:
    """More choices, or tool calls in one choice, than the limits allow raise at once."""
    limits = Limits(max_choices=3, max_tool_calls=2)
    agg = Aggregator(limits=limits)
    for i in range(3):
        agg.feed({"choices": [{"index": i, "delta": {"content": "x"}}]})
    with pytest.raises(LimitExceededError, match="max_choices=3") as info:
        agg.feed({"choices": [{"index": 9, "delta": {}}]})
    assert len(info.value.partial.choices) == 3
    calls = [{"id": f"c{i}", "function": {"name": "f", "arguments": ""}} for i in range(3)]
    with pytest.raises(LimitExceededError, match="max_tool_calls=2"):
        Aggregator(limits=limits).feed({"choices": [{"delta": {"tool_calls": calls}}]})


def test_limits_are_keywords_with_documented_defaults() -> None:
    """The defaults: 16 MiB per event, 1,024 choices, 4,096 tool calls, depth 128, 1 MiB of an
    error body, no total."""
    assert (
        Limits(
            max_event_size=16 * 2**20,
            max_choices=1024,
            max_tool_calls=4096,
            max_depth=128,
            max_error_body=2**20,
            max_total_bytes=None,
        )
        == streamagg.DEFAULT_LIMITS
    )


# -- linear work -----------------------------------------------------------------------------


def test_many_tool_calls_without_an_index() -> None:
    """Thousands of whole calls without an index each start a call of their own (a counter,
    not a search, gives the next number: the benchmark shows the per-call cost is flat)."""
    calls = [{"id": f"c{i}", "function": {"name": "f", "arguments": "{}"}} for i in range(4000)]
    response = streamagg.fold(
        [{"choices": [{"delta": {"tool_calls": calls}, "finish_reason": "tool_calls"}]}]
    )
    tools = response.choices[0].message.tool_calls or []
    assert [t.id for t in tools] == [f"c{i}" for i in range(4000)]


# -- lenient mode ----------------------------------------------------------------------------


def test_lenient_mode_skips_and_reports() -> None:
    """``strict=False``: data that is not JSON and chunks with an impossible field are skipped
    and listed; named events are counted; the rest folds."""
    raw = (
        f"data: {chunk_json(role='assistant', content='a')}\n\n"
        "data: {not json\n\n"
        f"data: {chunk_json(content=5)}\n\n"
        "event: ping\ndata: {}\n\n"
        "data: : keepalive\n\n"
        f"data: {chunk_json(content='b')}\n\n"
        "data: [DONE]\n\n"
    ).encode()
    with pytest.raises(streamagg.MalformedChunkError):
        streamagg.replay(raw)
    response = streamagg.replay(raw, strict=False)
    assert response.choices[0].message.content == "ab"
    report = response.report
    assert report is not None
    assert report.complete
    assert [s.reason for s in report.skipped] == [
        "event data is not JSON: '{not json'",
        "delta.content must be a string or a list of parts, not a number",
    ]
    assert (report.keepalives, report.other_events) == (1, 1)


def test_lenient_mode_returns_an_incomplete_stream_marked_so() -> None:
    """An incomplete stream gives the partial response with ``report.complete`` False, from
    replay and from the app wrappers."""
    cut = PLAIN[: len(PLAIN) // 2]
    response = streamagg.replay(cut, strict=False)
    assert response.report is not None
    assert not response.report.complete
    assert response.choices[0].message.content
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=cut)
    )
    with (
        httpx.Client(transport=transport) as client,
        streamagg.chat(client, "http://t/v1", PAYLOAD, strict=False) as s,
    ):
        live = s.finish()
    assert live == response


def test_upstream_errors_raise_in_lenient_mode_too() -> None:
    """An error the server sent is not input to skip."""
    raw = (STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse").read_bytes()
    with pytest.raises(streamagg.UpstreamError):
        streamagg.replay(raw, strict=False)


# -- live calls: every failure is a StreamError with the httpx exception as its cause ----------


@contextmanager
def raw_server(behaviour: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback server that runs ``behaviour`` on each accepted connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, suppress(OSError):
                behaviour(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return
        data += more


def reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def stall_before_headers(conn: socket.socket) -> None:
    read_request(conn)
    threading.Event().wait(1.0)


def gzip_that_is_not(conn: socket.socket) -> None:
    read_request(conn)
    body = b"this is not gzip at all"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )


def error_body_cut_by_reset(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
        b'content-length: 1000\r\n\r\n{"error": {"message": "boo'
    )
    reset(conn)


def redirect_then_reset(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 50\r\n\r\nab")
    reset(conn)


def huge_error_body(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n")
    conn.sendall(b"transfer-encoding: chunked\r\n\r\n")
    piece = b"e" * 65536
    for _ in range(200):  # 13 MB offered; the client must stop after max_error_body
        conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))


def test_a_refused_connection_is_a_stream_error() -> None:
    """Nothing listening: ``StreamInterruptedError`` caused by httpx's ``ConnectError``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        httpx.Client() as client,
        pytest.raises(streamagg.StreamInterruptedError, match="before the stream") as info,
        streamagg.chat(client, f"http://127.0.0.1:{port}/v1", PAYLOAD),
    ):
        pass
    assert isinstance(info.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("behaviour", "cause"),
    [(stall_before_headers, httpx.ReadTimeout), (gzip_that_is_not, httpx.DecodingError)],
)
def test_live_failures_are_stream_errors(
    behaviour: Callable[[socket.socket], None], cause: type[Exception]
) -> None:
    """A stall before the headers and a body labelled gzip that is not: typed errors with the
    httpx exception as ``__cause__``, sync and async."""
    with raw_server(behaviour) as url:
        with (
            httpx.Client(timeout=0.3) as client,
            pytest.raises(streamagg.StreamInterruptedError) as info,
            streamagg.chat(client, url, PAYLOAD) as s,
        ):
            s.finish()
        assert isinstance(info.value.__cause__, cause)

        async def main() -> None:
            async with (
                httpx.AsyncClient(timeout=0.3) as client,
                streamagg.achat(client, url, PAYLOAD) as s,
            ):
                await s.finish()

        with pytest.raises(streamagg.StreamInterruptedError) as ainfo:
            anyio.run(main)
        assert isinstance(ainfo.value.__cause__, cause)


@pytest.mark.parametrize(
    ("behaviour", "status", "shown"),
    [
        (error_body_cut_by_reset, 500, '{"error": {"message": "boo'),
        (redirect_then_reset, 302, "ab"),
    ],
)
def test_an_error_body_cut_short_still_reports_the_status(
    behaviour: Callable[[socket.socket], None], status: int, shown: str
) -> None:
    """A non-2xx answer whose body is cut by a reset is still ``HTTPStatusError`` with what
    arrived of the body (a 302 followed by a reset included)."""
    with (
        raw_server(behaviour) as url,
        httpx.Client() as client,
        pytest.raises(streamagg.HTTPStatusError) as info,
        streamagg.chat(client, url, PAYLOAD),
    ):
        pass
    assert info.value.status_code == status
    assert info.value.body == shown


def test_an_error_body_is_read_up_to_max_error_body() -> None:
    """Only ``max_error_body`` bytes of an error body are read into memory."""
    limits = Limits(max_error_body=100_000)
    with (
        raw_server(huge_error_body) as url,
        httpx.Client() as client,
        pytest.raises(streamagg.HTTPStatusError) as info,
        streamagg.chat(client, url, PAYLOAD, limits=limits),
    ):
        pass
    assert info.value.status_code == 503
    assert info.value.body == "e" * 100_000


# -- the command line ------------------------------------------------------------------------


def test_cli_prints_a_lone_surrogate_as_an_escape(tmp_path: Any) -> None:
    """Content with a lone surrogate (valid JSON) is printed as valid JSON, not a traceback."""
    path = tmp_path / "s.sse"
    path.write_text(
        'data: {"choices": [{"delta": {"content": "a\\ud800b"}, "finish_reason": "stop"}]}\n\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "streamagg", "replay", str(path)],
        capture_output=True,
        check=False,
        env={"PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["choices"][0]["message"]["content"] == "a\ud800b"
    text = subprocess.run(
        [sys.executable, "-m", "streamagg", "replay", str(path), "--text"],
        capture_output=True,
        check=False,
    )
    assert (text.returncode, text.stdout.strip()) == (0, b"a\\ud800b")


def test_cli_deep_json_is_one_line(tmp_path: Any) -> None:
    """Hostile input ends in one line on stderr and exit 1."""
    path = tmp_path / "deep.sse"
    path.write_text(f"data: {deep(100_000)}\n\n")
    done = subprocess.run(
        [sys.executable, "-m", "streamagg", "replay", str(path)], capture_output=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.count(b"\n") == 1
    assert b"LimitExceededError" in done.stderr


def test_gzip_helper_sanity() -> None:
    """(The gzip fault above really is not gzip.)"""
    with pytest.raises(OSError, match="Not a gzipped file"):
        gzip.decompress(b"this is not gzip at all")


def test_events_before_an_over_long_line_in_the_same_read_are_folded() -> None:
    """A read holding complete events and then a line over the limit: the events are folded
    (and in ``.partial``) before the error."""
    raw = f"data: {chunk_json(content='kept')}\n\ndata: ".encode() + b"z" * 3000 + b"\n\n"
    with pytest.raises(LimitExceededError) as info:
        streamagg.replay(raw, limits=Limits(max_event_size=1000))
    assert info.value.partial.choices[0].message.content == "kept"
