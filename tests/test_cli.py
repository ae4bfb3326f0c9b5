"""The ``streamagg`` command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamagg._cli import main

STREAMS = Path(__file__).parent / "streams"
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
    """No command is a usage error (argparse's exit status 2)."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_dunder_main_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``streamagg/__main__.py`` runs ``main`` and exits with its status."""
    import runpy

    monkeypatch.setattr(sys, "argv", ["streamagg", "replay", str(PLAIN)])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("streamagg", run_name="__main__")
    assert info.value.code == 0
    assert json.loads(capsys.readouterr().out)["object"] == "chat.completion"
