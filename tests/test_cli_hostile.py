"""The command line against hostile input (issue 21): endless files and pipes, request bodies
that never end, compressed live streams, and timing lines that lie."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import streamagg
from streamagg import _cli
from streamagg._cli import main
from streamagg.testing._format import timed_segments

from .helpers import STREAMS

PLAIN = STREAMS / "openai-python__plain-content.sse"
_MIB = 1024 * 1024

# Runs the command line in a child process and reports the most memory Python held at once.
_MEASURED = """
import sys, tracemalloc
tracemalloc.start()
from streamagg._cli import main
status = main(sys.argv[1:])
print(f"peak={tracemalloc.get_traced_memory()[1]}", file=sys.stderr)
sys.exit(status)
"""


def _fed(args: list[str], size: int) -> tuple[int, str, int]:
    """Run ``streamagg ARGS`` with ``size`` zero bytes (a stand-in for ``/dev/zero``) piped to
    its stdin, stopping when it stops reading: its status, stderr and peak memory."""
    child = subprocess.Popen(
        [sys.executable, "-c", _MEASURED, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stderr is not None
    piece = bytes(_MIB)
    try:
        for _ in range(size // _MIB):
            child.stdin.write(piece)
        child.stdin.close()
    except BrokenPipeError:
        pass  # it stopped reading: what these tests hope for
    text = child.stderr.read().decode()  # a line or two: it cannot fill the pipe
    child.wait(timeout=120)
    peaks = [line for line in text.splitlines() if line.startswith("peak=")]
    assert peaks, text
    return child.returncode, text, int(peaks[-1].removeprefix("peak="))


# -- reading in pieces (bug 12) ------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["replay", "-", "--stats"], ["replay", "-", "--text", "--realtime"]]
)
def test_replay_of_an_endless_pipe_holds_no_more_than_the_limits(args: list[str]) -> None:
    """``--stats`` and ``--text --realtime`` read a 256 MiB pipe of zeros in pieces: a line
    longer than ``max_event_size`` (16 MiB) stops them (exit 1), holding a fraction of the
    input, where reading it whole held all of it."""
    status, err, peak = _fed(args, 256 * _MIB)
    assert peak < 128 * _MIB
    assert status == 1, err
    assert "LimitExceededError" in err
    assert "max_event_size" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_replay_stats_of_dev_zero_stops() -> None:
    """``streamagg replay /dev/zero --stats`` stops at the line limit with one line on stderr
    (the process may not take more than 1 GiB of address space beyond its start)."""
    limit = (
        "import resource, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
        "from streamagg._cli import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", limit, "replay", "/dev/zero", "--stats"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1
    assert "LimitExceededError" in done.stderr


def test_record_data_from_an_endless_pipe_is_refused_early() -> None:
    """``record --data @-`` reads at most ``MAX_REQUEST_BODY`` (64 MiB) of a 256 MiB pipe and
    refuses it as a usage error (exit 2), never holding the rest."""
    args = ["record", "http://127.0.0.1:9/v1", "--data", "@-", "-o", os.devnull]
    status, err, peak = _fed(args, 256 * _MIB)
    assert peak < 160 * _MIB
    assert status == 2, err
    assert "- is larger than 67108864 bytes" in err


def test_record_data_file_at_most_max_request_body(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request body of ``MAX_REQUEST_BODY`` bytes is read; one byte more is refused with one
    line (exit 2)."""
    monkeypatch.setattr(_cli._record, "MAX_REQUEST_BODY", 10)
    body = tmp_path / "body.json"
    body.write_text('{"a": 12}\n')
    out = tmp_path / "o.sse"
    assert main(["record", "http://127.0.0.1:9/v1", "--data", f"@{body}", "-o", str(out)]) == 1
    assert "cannot reach" in capsys.readouterr().err  # read, parsed, sent
    body.write_text('{"a": 123}\n')
    assert main(["record", "http://127.0.0.1:9/v1", "--data", f"@{body}", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "larger than 10 bytes" in err


# -- compressed live streams (bug 15) ------------------------------------------------------


class _Gzipped(BaseHTTPRequestHandler):
    """Answers every POST with a recorded stream, gzip-compressed, in chunked pieces."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = gzip.compress(PLAIN.read_bytes())
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-encoding", "gzip")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 100):
            piece = body[start : start + 100]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def gzip_server() -> Iterator[str]:
    """The base URL of a loopback server that sends its streams gzip-compressed."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Gzipped)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_record_of_a_gzip_stream_replays(
    gzip_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``streamagg record`` of a stream sent with ``content-encoding: gzip`` writes the decoded
    events with timing, which replay to the stream's response (not ``IncompleteStreamError``);
    ``-o -`` writes the same recording to stdout."""
    out = tmp_path / "rec.sse"
    assert main(["record", gzip_server, "--data", '{"model": "m"}', "-o", str(out)]) == 0
    assert "recorded" in capsys.readouterr().out
    assert out.read_bytes().startswith(b": t=")
    assert b"".join(p for _, p in timed_segments(out.read_bytes())) == PLAIN.read_bytes()
    assert streamagg.replay(out) == streamagg.replay(PLAIN)
    assert main(["replay", str(out)]) == 0
    capsys.readouterr()
    done = subprocess.run(
        [sys.executable, "-m", "streamagg", "record", gzip_server, "--data", "{}", "-o", "-"],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert streamagg.replay(done.stdout) == streamagg.replay(PLAIN)


# -- --stats: valid JSON, time never backwards (judgement b) -------------------------------


def _chunk(**fields: Any) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", **fields}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_replay_stats_is_json_when_times_go_back_or_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Timing lines that go back in time are read as the time before them (said on stderr:
    no negative gap); a time of 400 digits is no time (not infinity); a usage too large for a
    float gives no rate: the output is JSON (null where undefined), exit 0."""
    recording = b"".join(
        [
            b": t=0.100\n",
            _chunk(choices=[{"index": 0, "delta": {"content": "hi"}}]),
            b": t=0.500\n",
            _chunk(choices=[{"index": 0, "delta": {"content": " there"}}]),
            b": t=0.200\n",
            _chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            b": t=" + b"9" * 400 + b"\n",
            b'data: {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", '
            b'"choices": [], "usage": {"prompt_tokens": 1, "total_tokens": 2, '
            b'"completion_tokens": 1' + b"0" * 400 + b"}}\n\n",
            b"data: [DONE]\n\n",
        ]
    )
    path = tmp_path / "lying.sse"
    path.write_bytes(recording)
    assert main(["replay", str(path), "--stats"]) == 0
    captured = capsys.readouterr()
    stats = json.loads(captured.out, parse_constant=_no_constants)
    prefix = "gen_ai.client.operation."
    assert stats[prefix + "chunks"] == 4
    assert stats[prefix + "duration"] == pytest.approx(0.5)
    assert stats[prefix + "gap_max"] == pytest.approx(0.4)
    assert min(stats[prefix + k] for k in ("gap_median", "gap_p95", "gap_max")) >= 0
    assert stats[prefix + "output_tokens_per_second"] is None
    assert "1 timing line(s) went back in time" in captured.err


def test_replay_text_realtime_never_waits_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--text --realtime`` waits the recorded gaps, none for a time that goes back, and none
    for ever (a 400-digit time is no time)."""
    import time

    recording = (
        b": t=0.5\n"
        + _chunk(choices=[{"index": 0, "delta": {"content": "a"}}])
        + b": t=0.25\n"
        + _chunk(choices=[{"index": 0, "delta": {"content": "b"}}])
        + b": t="
        + b"9" * 400
        + b"\n"
        + _chunk(choices=[{"index": 0, "delta": {"content": "c"}, "finish_reason": "stop"}])
    )
    path = tmp_path / "lying.sse"
    path.write_bytes(recording)
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    assert main(["replay", str(path), "--text", "--realtime"]) == 0
    assert capsys.readouterr().out == "abc\n"
    assert waits == [0.5]
