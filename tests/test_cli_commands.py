"""The command line after issue 22: ``record`` records every dialect's route (either HTTP
stack) and never replaces a file without ``--force``; ``synthesize`` writes the stream of a
final object; every error is one line; ``serve`` lists what the server serves (subfolders too),
refuses a name clash and prints each SDK's base URL; ``--stats`` has a bundled recording to
read and does not mix with ``--text``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import streamagg
from streamagg import _cli, anthropic, completions, gemini, ollama, responses
from streamagg._cli import main
from streamagg.testing import _server
from streamagg.testing._format import timed_segments

from .dialects import COMPLETION, GEMINI, GENERATE, MESSAGE, OLLAMA, TEXT
from .helpers import STREAMS, serving

PLAIN = STREAMS / "openai-python__plain-content.sse"
TIMED = STREAMS / "constructed__plain-content-with-timing.sse"


@pytest.fixture(autouse=True)
def _access_log_restored() -> Iterator[None]:
    """``serve`` without ``--quiet`` adds a handler on this test's stderr: put it back."""
    log = _server.access_log
    handlers, level = list(log.handlers), log.level
    yield
    log.handlers[:] = handlers
    log.setLevel(level)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A replay server with a recording of each dialect (``.../v1``)."""
    pytest.importorskip("uvicorn")
    folder = tmp_path_factory.mktemp("every-dialect")
    for source in (PLAIN, TEXT, MESSAGE, GEMINI, OLLAMA, GENERATE, COMPLETION):
        shutil.copy(source, folder / source.name)
    with serving(_server.ReplayApp(folder, timing=False)) as url:
        yield url


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err


# -- record: every dialect's route ------------------------------------------------------------


def routes(base: str) -> list[tuple[list[str], Path, Any]]:
    """(the URL and options, the recording served, how it replays) for each dialect's route."""
    root = base.removesuffix("/v1")
    return [
        ([f"{base}/chat/completions"], PLAIN, streamagg.replay),
        ([base], PLAIN, streamagg.replay),
        ([f"{base}/responses"], TEXT, responses.replay),
        ([f"{base}/messages"], MESSAGE, anthropic.replay),
        ([root, "--dialect", "anthropic"], MESSAGE, anthropic.replay),
        ([f"{base}/completions"], COMPLETION, completions.replay),
        ([f"{root}/v1beta/models/{GEMINI.stem}:streamGenerateContent"], GEMINI, gemini.replay),
        ([f"{root}/v1beta/models/{GEMINI.stem}", "--dialect", "gemini"], GEMINI, gemini.replay),
        ([f"{root}/api/chat"], OLLAMA, ollama.replay),
        ([f"{root}/api/generate"], GENERATE, ollama.replay),
    ]


@pytest.mark.parametrize("stack", ["httpx2", "httpx"])
def test_record_records_every_dialects_route(
    served: str, stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given an endpoint's URL (or a base URL and ``--dialect``), ``record`` calls that route
    (never appending ``/chat/completions`` to it) and the recording replays to what was
    served; with either HTTP stack."""
    for n, (url, source, replay) in enumerate(routes(served)):
        out = tmp_path / f"{n}{source.suffix}"
        data = json.dumps({"model": source.stem, "messages": []})
        assert main(["record", *url, "--data", data, "-o", str(out), "--stack", stack]) == 0, url
        dialect = source.parent.name if source.parent != STREAMS else "chat"
        assert f"of a {dialect} stream" in capsys.readouterr().out
        assert replay(out) == replay(source), url


def test_record_refuses_a_method_that_does_not_stream(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Gemini's ``:generateContent`` does not stream: a one-line usage error saying what to
    give instead."""
    url = served.removesuffix("/v1") + f"/v1beta/models/{GEMINI.stem}:generateContent"
    assert main(["record", url, "--data", "{}", "-o", str(tmp_path / "g.sse")]) == 2
    assert "asks for no stream" in one_line(capsys.readouterr().err)


def test_record_never_replaces_a_file_without_force(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o`` naming an existing file is refused in one line before any request, the file
    untouched (``RecordingTransport``'s rule); ``--force`` replaces it."""
    out = tmp_path / "kept.sse"
    out.write_bytes(b"precious")
    args = [
        "record",
        served,
        "--data",
        '{"model": "openai-python__plain-content"}',
        "-o",
        str(out),
    ]
    assert main(args) == 2
    assert "exists: remove it, or give --force" in one_line(capsys.readouterr().err)
    assert out.read_bytes() == b"precious"
    assert main([*args, "--force"]) == 0
    assert streamagg.replay(out) == streamagg.replay(PLAIN)


def test_record_with_a_stack_that_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--stack httpx`` without httpx installed: one line saying what to install."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    args = ["record", "http://127.0.0.1:9/v1", "--data", "{}", "-o", str(tmp_path / "o.sse")]
    assert main([*args, "--stack", "httpx"]) == 2
    assert "pip install httpx" in one_line(capsys.readouterr().err)


def test_record_of_a_url_that_is_not_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL that cannot be parsed or used is one line, not a traceback."""
    out = str(tmp_path / "o.sse")
    assert main(["record", "http://[::1/v1", "--data", "{}", "-o", out]) == 2
    assert "not a URL" in one_line(capsys.readouterr().err)
    for url in ("http://exa mple.com:99999/v1", "http://a\x01b/v1"):
        assert main(["record", url, "--data", "{}", "-o", out]) == 1
        assert "cannot reach" in one_line(capsys.readouterr().err)


# -- synthesize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "replay"),
    [
        (PLAIN, streamagg.replay),
        (TEXT, responses.replay),
        (MESSAGE, anthropic.replay),
        (GEMINI, gemini.replay),
        (OLLAMA, ollama.replay),
        (COMPLETION, completions.replay),
    ],
)
def test_synthesize_writes_the_stream_of_a_final_object(
    source: Path,
    replay: Any,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """``streamagg synthesize FILE`` reads a final object's JSON (its dialect detected) and
    writes the stream, in that dialect, that folds back to it."""
    want = replay(source)
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(streamagg.to_dict(want)))
    assert main(["synthesize", str(answer)]) == 0
    stream = capsysbinary.readouterr().out
    assert not stream.lstrip().startswith(b"{") or source is OLLAMA  # a stream, not the JSON
    assert replay(stream) == want


def test_synthesize_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``-o`` writes a file (never replacing one without ``--force``); ``--interval`` adds
    timing lines that ``--stats`` reads; ``--no-usage`` leaves the usage chunk out;
    ``--chunk-size`` sets the pieces; ``--dialect`` reads the file as that API's object."""
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(streamagg.to_dict(streamagg.replay(PLAIN))))
    out = tmp_path / "out.sse"
    assert main(["synthesize", str(answer), "-o", str(out), "--interval", "0.1"]) == 0
    assert [t for t, _ in timed_segments(out.read_bytes())][:2] == [0.1, 0.2]
    assert main(["replay", str(out), "--stats"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gen_ai.client.operation.time_to_first_chunk"] == pytest.approx(0.1)
    assert main(["synthesize", str(answer), "-o", str(out)]) == 2
    assert "exists" in one_line(capsys.readouterr().err)
    options = ["--no-usage", "--chunk-size", "1", "--dialect", "chat", "--force"]
    assert main(["synthesize", str(answer), "-o", str(out), *options]) == 0
    unused = streamagg.replay(out)
    assert unused.usage is None
    assert unused.choices == streamagg.replay(PLAIN).choices
    assert out.read_bytes().count(b"data: ") > 100  # a character per chunk


def test_synthesize_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """Options that cannot work are one line each (exit 2)."""
    assert main(["synthesize", str(OLLAMA), "--interval", "0.1"]) == 2
    assert "JSON lines have no timing lines" in one_line(capsys.readouterr().err)
    for option, message in (
        ("--chunk-size=0", "must be at least 1"),
        ("--chunk-size=x", "not a whole number: 'x'"),
        ("--interval=nan", "finite"),
        ("--interval=soon", "not a number of seconds: 'soon'"),
    ):
        with pytest.raises(SystemExit) as info:
            main(["synthesize", str(OLLAMA), option])
        assert info.value.code == 2
        assert message in one_line(capsys.readouterr().err)


def test_synthesize_of_what_does_not_fold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is no answer, or missing, is one line (exit 1, or 2 for a missing file)."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"choices": 5}')
    assert main(["synthesize", str(bad)]) == 1
    assert "MalformedChunkError" in one_line(capsys.readouterr().err)
    assert main(["synthesize", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in one_line(capsys.readouterr().err)
    assert main(["synthesize", str(PLAIN), "-o", str(tmp_path / "no" / "x.sse")]) == 2
    assert "is not a folder" in one_line(capsys.readouterr().err)
    too_long = tmp_path / ("x" * 300 + ".sse")  # a name no file system takes
    assert main(["synthesize", str(PLAIN), "-o", str(too_long)]) == 1
    assert "cannot write" in one_line(capsys.readouterr().err)


# -- errors are one line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", ".", "--port", "99999"], "a port is 0 to 65535, not 99999"),
        (["serve", ".", "--port", "http"], "not a port number: 'http'"),
        (["replay"], "the following arguments are required: file"),
        (["record", "http://x", "-o", "x.sse"], "the following arguments are required: --data"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_every_usage_error_is_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's errors (a port out of range was an ``OverflowError`` traceback) are one line
    ending with where to find the usage, exit 2."""
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = one_line(capsys.readouterr().err)
    assert message in err
    assert err.rstrip().endswith("--help)")


def test_serve_port_out_of_range_as_a_process() -> None:
    """``python -m streamagg serve DIR --port 99999``: one line on stderr, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "streamagg", "serve", str(STREAMS), "--port", "99999"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_an_unexpected_error_is_one_line_unless_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error no command expected is one line (exit 1); ``STREAMAGG_TRACEBACK=1`` raises it
    for a bug report."""

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(_cli._COMMANDS, "replay", broken)
    monkeypatch.delenv("STREAMAGG_TRACEBACK", raising=False)
    assert main(["replay", "x"]) == 1
    assert "unexpected error: RuntimeError: a bug" in one_line(capsys.readouterr().err)
    monkeypatch.setenv("STREAMAGG_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        main(["replay", "x"])


def test_serve_on_an_address_that_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host that does not resolve is one line."""
    pytest.importorskip("uvicorn")
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    assert main(["serve", str(tmp_path), "--host", "no-such-host.invalid", "--port", "0"]) == 2
    assert "cannot listen on no-such-host.invalid:0" in one_line(capsys.readouterr().err)


# -- serve: the server's listing, clashes, the base URLs ----------------------------------------


def fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[_server.ReplayApp]:
    """Replace uvicorn by a record of the apps ``serve`` would run."""
    served: list[_server.ReplayApp] = []

    def run(app: _server.ReplayApp, sock: Any) -> None:
        served.append(app)
        sock.close()

    monkeypatch.setattr(_server, "serve", run)
    return served


def test_serve_counts_what_the_server_serves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``serve tests/streams`` counts the recordings of every subfolder, as the server lists
    them (the README's own folder serves every dialect)."""
    pytest.importorskip("uvicorn")
    fake_serve(monkeypatch)
    suffixes = (".sse", ".ndjson", ".jsonl")
    count = sum(1 for p in STREAMS.rglob("*") if p.suffix in suffixes)
    assert count > len(list(STREAMS.glob("*.sse")))
    assert main(["serve", str(STREAMS), "--port", "0", "--quiet"]) == 0
    assert f"serving {count} recordings" in capsys.readouterr().out


def test_serve_refuses_two_recordings_with_one_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two files with one recording name are a startup error naming both."""
    fake_serve(monkeypatch)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "sub" / "a.sse").write_bytes(PLAIN.read_bytes())
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "two recordings are named 'a': a.sse and sub/a.sse" in err


def test_serve_prints_each_sdks_base_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The openai SDK's base URL ends in ``/v1``; the anthropic, google-genai and ollama
    SDKs' does not (they add it): both are printed."""
    pytest.importorskip("uvicorn")
    fake_serve(monkeypatch)
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    assert main(["serve", str(tmp_path), "--port", "0", "--quiet"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    root = first.split(" at ")[1].split()[0].removesuffix("/v1")
    assert second == (
        f"streamagg: SDK base URLs: openai {root}/v1; anthropic, google-genai, ollama {root} "
        "(either works for each)"
    )


def test_serve_of_a_folder_it_cannot_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that cannot be listed is one line."""

    def refused(app: _server.ReplayApp) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_server.ReplayApp, "check", refused)
    assert main(["serve", str(tmp_path)]) == 2
    assert "Permission denied" in one_line(capsys.readouterr().err)


# -- replay --stats ---------------------------------------------------------------------------


def test_the_bundled_timed_recording_gives_stats(capsys: pytest.CaptureFixture[str]) -> None:
    """``tests/streams`` has a recording with timing lines, so ``--stats`` can be tried; it
    folds like the recording it was made from."""
    assert main(["replay", str(TIMED), "--stats"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gen_ai.client.operation.time_to_first_chunk"] == pytest.approx(0.412)
    assert stats["gen_ai.client.operation.gap_max"] == pytest.approx(0.045)
    assert streamagg.replay(TIMED) == streamagg.replay(PLAIN)


def test_stats_and_text_together_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``--stats --text`` would ignore one of them: a one-line usage error."""
    assert main(["replay", str(TIMED), "--stats", "--text"]) == 2
    assert "--stats prints the recording's timings" in one_line(capsys.readouterr().err)
