"""The ``streamagg`` command line (``streamagg._cli``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import streamagg
from streamagg import _cli, anthropic
from streamagg._cli import main

from .dialects import (
    COMPLETION,
    GEMINI,
    GENERATE,
    MESSAGE,
    OLLAMA,
    TEXT,
    TOOL_MESSAGE,
    folded,
    path,
)
from .helpers import STREAMS

PLAIN = STREAMS / "openai-python__plain-content.sse"


def test_replay_prints_the_response_json(capsys: pytest.CaptureFixture[str]) -> None:
    """``streamagg replay FILE`` prints the folded response as JSON and exits 0."""
    assert main(["replay", str(PLAIN)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"]["content"].startswith("I'm unable")


def test_replay_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-`` reads the stream from standard input."""

    class Stdin:
        buffer = io.BytesIO(PLAIN.read_bytes())

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert main(["replay", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["usage"]["total_tokens"] == 44


def test_replay_missing_file_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing file prints one clear line on stderr and exits 2, no traceback."""
    assert main(["replay", str(tmp_path / "nope.sse")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot read" in err
    assert "No such file" in err


def test_replay_stream_error_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A stream that carries an error prints one line and exits 1; --partial prints the rest."""
    path = STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse"
    assert main(["replay", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "UpstreamError" in captured.err
    assert captured.err.count("\n") == 1
    assert main(["replay", "--partial", str(path)]) == 1
    partial = json.loads(capsys.readouterr().out)
    assert partial["choices"][0]["message"]["reasoning"].startswith("We need")


def test_python_dash_m_and_console_script() -> None:
    """``python -m streamagg replay FILE`` works as a real process."""
    done = subprocess.run(
        [sys.executable, "-m", "streamagg", "replay", str(PLAIN)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL"


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command is a usage error (argparse's exit status 2), said in one line that points
    to ``--help``."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "required: command (see streamagg --help)" in err


def test_dunder_main_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``streamagg/__main__.py`` runs ``main`` and exits with its status."""
    import importlib

    monkeypatch.setattr(sys, "argv", ["streamagg", "replay", str(PLAIN)])
    monkeypatch.delitem(sys.modules, "streamagg.__main__", raising=False)
    with pytest.raises(SystemExit) as info:
        importlib.import_module("streamagg.__main__")
    assert info.value.code == 0
    assert json.loads(capsys.readouterr().out)["object"] == "chat.completion"


# -- replay --text ---------------------------------------------------------------------------


def test_replay_text_streams_the_content(capsys: pytest.CaptureFixture[str]) -> None:
    """``--text`` prints the content of choice 0 as it is read."""
    assert main(["replay", "--text", str(PLAIN)]) == 0
    assert capsys.readouterr().out.startswith("I'm unable to provide real-time weather")


def test_replay_text_realtime_honours_timing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--realtime`` waits the recorded gaps between events."""
    from streamagg import replay
    from streamagg.testing import synthesize

    recording = tmp_path / "timed.sse"
    recording.write_bytes(synthesize(replay(PLAIN), chunk_size=40, interval=0.2))
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    assert main(["replay", "--text", "--realtime", str(recording)]) == 0
    assert waits
    assert all(abs(w - 0.2) < 1e-9 for w in waits)
    assert "San Francisco" in capsys.readouterr().out
    before = len(waits)
    assert main(["replay", "--text", str(recording)]) == 0
    assert len(waits) == before  # no new waits without --realtime


def test_replay_text_without_done(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A recording without ``[DONE]`` whose choices finished prints its text and exits 0."""
    raw = PLAIN.read_bytes()
    path = tmp_path / "no-done.sse"
    path.write_bytes(raw[: raw.index(b"data: [DONE]")])
    assert main(["replay", "--text", str(path)]) == 0
    assert capsys.readouterr().out.startswith("I'm unable")


def test_replay_option_combinations_that_mean_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--realtime`` without ``--text``, and ``--text`` with ``--partial`` (which would mix
    JSON into the text on stdout), are usage errors, not silently ignored."""
    assert main(["replay", "--realtime", str(PLAIN)]) == 2
    assert "--realtime goes with --text" in capsys.readouterr().err
    assert main(["replay", "--text", "--partial", str(PLAIN)]) == 2
    assert "--partial prints the response JSON" in capsys.readouterr().err


def test_replay_text_of_tool_calls_only_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An answer of tool calls alone has no text: ``--text`` prints nothing, not an empty
    line."""
    assert main(["replay", "--text", str(STREAMS / "openai-python__parallel-tool-calls.sse")]) == 0
    assert capsys.readouterr().out == ""


def test_replay_text_from_a_slow_pipe_prints_as_it_arrives() -> None:
    """``replay - --text`` prints the text of the events that arrived while the writer still
    holds the rest back."""
    import select

    raw = PLAIN.read_bytes()
    cut = raw.index(b"\n\n", len(raw) // 3) + 2
    process = subprocess.Popen(
        [sys.executable, "-m", "streamagg", "replay", "-", "--text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(raw[:cut])
    process.stdin.flush()
    ready, _, _ = select.select([process.stdout], [], [], 20)
    assert ready, "no text before the end of the input"
    first = os.read(process.stdout.fileno(), 1000)
    assert first.startswith(b"I'm")
    process.stdin.write(raw[cut:])
    process.stdin.close()
    rest = process.stdout.read()
    assert process.wait(20) == 0
    assert (first + rest).decode().startswith("I'm unable to provide real-time weather")


def test_replay_text_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``--text`` on a failing stream exits 1; on a missing file exits 2; one line each."""
    assert (
        main(
            ["replay", "--text", str(STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse")]
        )
        == 1
    )
    assert "UpstreamError" in capsys.readouterr().err
    assert main(["replay", "--text", str(tmp_path / "none.sse")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# -- record ----------------------------------------------------------------------------------


def test_record_then_replay_identically(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``streamagg record`` writes the stream with timing; it replays to the same response."""
    out = tmp_path / "rec.sse"
    url = f"{server}/openai-python__n3-choices"
    data = '{"model": "gpt-4o", "messages": [], "n": 3}'
    assert main(["record", url, "--data", data, "-o", str(out), "-H", "X-Test: 1"]) == 0
    assert "recorded" in capsys.readouterr().out
    from streamagg import replay
    from streamagg.testing._format import timed_segments

    original = (STREAMS / "openai-python__n3-choices.sse").read_bytes()
    assert b"".join(p for _, p in timed_segments(out.read_bytes())) == original
    assert replay(out) == replay(original)
    payload = tmp_path / "payload.json"
    payload.write_text(data)
    again = ["record", url, "--data", f"@{payload}", "-o", str(out), "--api-key", "k"]
    assert main([*again, "--force"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{nope"], "--data is not JSON"),
        (["--data", "[1]"], "must be a JSON object"),
        (["--data", "{}", "-H", "no colon"], "a header must read"),
        (["--data", "@/does/not/exist.json"], "cannot read"),
    ],
)
def test_record_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Bad arguments print one line and exit 2."""
    assert main(["record", "http://127.0.0.1:9/v1", *args, "-o", str(tmp_path / "o.sse")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_record_failures_exit_1(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An HTTP error, a dead address and a stream cut short exit 1 with one line."""
    out = tmp_path / "o.sse"
    assert main(["record", f"{server}/missing", "--data", "{}", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "HTTPStatusError" in err
    assert f"the answer is recorded in {out}" in err
    assert out.read_bytes().startswith(b": http-status: 404\n")
    out.unlink()
    assert main(["record", "http://127.0.0.1:9/v1", "--data", "{}", "-o", str(out)]) == 1
    assert "cannot reach" in capsys.readouterr().err
    url = f"{server}/openai-python__plain-content"
    too_long = tmp_path / ("x" * 300 + ".sse")  # a name no file system takes
    assert main(["record", url, "--data", "{}", "-o", str(too_long)]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main(["record", url, "--data", "{}", "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    cut = f"{server}/openai-python__plain-content?cut=2000"
    assert main(["record", cut, "--data", "{}", "-o", str(out)]) == 1
    assert f"what arrived is recorded in {out}" in capsys.readouterr().err
    assert out.exists()


def test_record_output_rules(
    server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``-o -`` writes the recording to stdout (the report goes to stderr); a missing folder is
    a usage error, never created silently; ``OPENAI_API_KEY`` is the default API key."""
    from streamagg._cli._record import _Call

    seen: list[str | None] = []
    real_open = _Call.open

    def spy(self: _Call, client: Any, url: str) -> Any:
        seen.append(self.api_key)
        return real_open(self, client, url)

    monkeypatch.setattr(_Call, "open", spy)
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    url = f"{server}/openai-python__plain-content"
    buffer = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(buffer))
    assert main(["record", url, "--data", "{}", "-o", "-"]) == 0
    sys.stdout.flush()
    from streamagg import replay

    assert replay(buffer.getvalue()) == replay(STREAMS / "openai-python__plain-content.sse")
    assert "recorded stdout" in capsys.readouterr().err
    assert seen == ["from-env"]
    missing = tmp_path / "no" / "such" / "x.sse"
    assert main(["record", url, "--data", "{}", "-o", str(missing), "--api-key", "k"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert seen == ["from-env"]


# -- serve -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _access_log_restored() -> Iterator[None]:
    """``serve`` without ``--quiet`` gives the access log a handler on the stderr of its time
    (here a test's capture, closed afterwards) and the level INFO: both are put back after
    each test, or the servers of later tests would log every request into a closed stream."""
    from streamagg.testing import _server

    log = _server.access_log
    handlers, level = list(log.handlers), log.level
    yield
    log.handlers[:] = handlers
    log.setLevel(level)


def test_serve_usage_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing or empty folder, a missing uvicorn or a busy port: one line, exit 2."""
    assert main(["serve", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["serve", str(tmp_path)]) == 2
    assert "holds no recordings" in capsys.readouterr().err
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "uvicorn", None)
        assert main(["serve", str(tmp_path)]) == 2
        assert "pip install '.[serve]'" in capsys.readouterr().err
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(tmp_path), "--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_serve_prints_the_url_and_serves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--port 0`` picks a free port and prints the URL; the app gets the folder and timing."""
    from streamagg.testing import _server

    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    served: list[tuple[_server.ReplayApp, int]] = []

    def fake_serve(app: _server.ReplayApp, sock: object) -> None:
        served.append((app, sock.getsockname()[1]))  # type: ignore[attr-defined]
        sock.close()  # type: ignore[attr-defined]

    monkeypatch.setattr(_server, "serve", fake_serve)
    assert main(["serve", str(tmp_path), "--port", "0", "--no-timing"]) == 0
    ((app, port),) = served
    assert (app.directory, app.timing) == (tmp_path, False)
    assert f"at http://127.0.0.1:{port}/v1 (timing off)" in capsys.readouterr().out


def test_serve_quiet_and_faults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--fault SPEC`` gives the app its faults (a bad spec is a usage error); ``--quiet``
    adds no access-log handler."""
    import logging

    from streamagg.testing import Faults, _server

    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    served: list[_server.ReplayApp] = []

    def fake_serve(app: _server.ReplayApp, sock: object) -> None:
        served.append(app)
        sock.close()  # type: ignore[attr-defined]

    monkeypatch.setattr(_server, "serve", fake_serve)
    _server.access_log.handlers.clear()  # put back by _access_log_restored
    args = ["serve", str(tmp_path), "--port", "0"]
    assert main([*args, "--quiet", "--fault", "rechunk=1"]) == 0
    assert served[0].faults == Faults(rechunk=1)
    assert _server.access_log.handlers == []
    assert main(args) == 0
    assert [type(h) for h in _server.access_log.handlers] == [logging.StreamHandler]
    assert _server.access_log.level == logging.INFO
    assert main([*args, "--fault", "boom=1"]) == 2
    assert "--fault: unknown fault" in capsys.readouterr().err


@pytest.mark.slow  # a server process
def test_serve_as_a_real_process(tmp_path: Path) -> None:
    """``python -m streamagg serve DIR --port 0`` serves concurrent clients until stopped."""
    pytest.importorskip("uvicorn")
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    import streamagg

    for name in ("openai-python__plain-content", "openai-python__n3-choices"):
        (tmp_path / f"{name}.sse").write_bytes((STREAMS / f"{name}.sse").read_bytes())
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamagg",
            "serve",
            str(tmp_path),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base = line.split(" at ")[1].split(" ")[0]

        def one(name: str) -> streamagg.ChatCompletionResponse:
            with httpx.Client() as client, streamagg.chat(client, base, {"model": name}) as s:
                return s.finish()

        names = ["openai-python__plain-content", "openai-python__n3-choices"] * 3
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(one, names))
        assert [r.id for r in results] == [
            streamagg.replay(STREAMS / f"{n}.sse").id for n in names
        ]
    finally:
        process.terminate()
        process.wait(10)
    assert process.stderr is not None
    access = [line for line in process.stderr.read().splitlines() if "recording=" in line]
    assert len(access) == 6  # one line per request
    assert all(
        line.startswith("streamagg: POST /v1/chat/completions recording=openai-python__")
        and "status=200" in line
        for line in access
    )


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (as while serving) exits with 130, without a traceback."""

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(_cli._COMMANDS, "replay", interrupted)
    assert main(["replay", "x"]) == 130


def test_closed_output_pipe_is_quiet(tmp_path: Path) -> None:
    """Piping into a reader that stops early (``| head``) ends without a traceback."""
    from streamagg import ChatCompletionResponse, Choice, Message
    from streamagg.testing import synthesize

    big = tmp_path / "big.sse"  # its JSON is far larger than a pipe's buffer
    big.write_bytes(
        synthesize(
            ChatCompletionResponse(choices=[Choice(0, Message(content="x" * 300_000))]),
            chunk_size=5000,
        )
    )
    process = subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m streamagg replay {big} | head -c 10; exit ${{PIPESTATUS[0]}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.stdout == '{\n  "id": '[:10]
    assert process.stderr == ""
    assert process.returncode == 0  # the reader had what it wanted: a success


def test_replay_stats_prints_the_recorded_timings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--stats`` prints the timings of a timed recording as JSON under OpenTelemetry-style
    names; a recording without timing lines is a one-line error."""
    from streamagg import replay
    from streamagg.testing import synthesize

    timed = tmp_path / "timed.sse"
    timed.write_bytes(synthesize(replay(PLAIN), chunk_size=40, interval=0.25))
    assert main(["replay", str(timed), "--stats"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gen_ai.client.operation.time_to_first_chunk"] == 0.25
    assert stats["gen_ai.client.operation.time_to_first_token"] == 0.5
    assert stats["gen_ai.client.operation.gap_max"] == pytest.approx(0.25)
    assert stats["gen_ai.client.operation.chunks"] > 2
    assert main(["replay", str(PLAIN), "--stats"]) == 2
    assert "no timing lines" in capsys.readouterr().err


# -- the other dialects ----------------------------------------------------------------------


@pytest.mark.parametrize("source", [TEXT, MESSAGE, GEMINI, OLLAMA, GENERATE, COMPLETION])
def test_cli_replay_detects_the_dialect(
    source: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``streamagg replay`` prints each dialect's own object; ``--text`` its output text; from a
    file and from stdin alike."""
    dialect = source.parent.name
    want = streamagg.to_dict(folded(dialect, source))
    assert main(["replay", str(source)]) == 0
    assert json.loads(capsys.readouterr().out) == want
    assert main(["replay", "--text", str(source)]) == 0
    obj = folded(dialect, source)
    text = obj.output_text if dialect == "responses" else obj.text
    assert capsys.readouterr().out == text + "\n"

    class Stdin:
        buffer = source.open("rb")

    monkeypatch.setattr("sys.stdin", Stdin)
    assert main(["replay", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == want


def test_cli_stats_and_partial_for_a_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--stats`` reads a timed recording of another dialect; ``--partial`` prints the failed
    response of a Responses stream that ended in an error."""
    from streamagg.testing import synthesize

    timed = tmp_path / "timed.sse"
    timed.write_bytes(synthesize(anthropic.replay(TOOL_MESSAGE), interval=0.01))
    assert main(["replay", "--stats", str(timed)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gen_ai.client.operation.chunks"] > 5
    failed = path("responses", "vercel-ai__error-insufficient-quota-then-failed")
    assert main(["replay", "--partial", str(failed)]) == 1
    captured = capsys.readouterr()
    assert "UpstreamError" in captured.err
    assert json.loads(captured.out)["status"] == "failed"
