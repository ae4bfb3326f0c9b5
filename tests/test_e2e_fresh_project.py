"""End to end, as a new user works: a fresh project with its own venv and streamagg installed
from this repository (not editable) records a cassette set from ``streamagg serve`` (streaming,
non-streaming and error answers), then replays it with the server stopped and the network
forbidden; a changed request fails with a readable diff."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from .helpers import STREAMS

pytest_plugins = ["pytester"]
# A fresh venv, a real install and a server process: seconds, not milliseconds.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent

TESTS = """
import os

import pytest

import streamagg

BASE = os.environ.get("LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there


def test_streaming(stream_cassette):
    with stream_cassette.client() as client:
        with streamagg.chat(client, BASE, {{"model": "{model}", "messages": []}}) as s:
            answer = s.finish()
    assert answer.choices[0].message.content.startswith("I'm unable")


def test_not_streaming(stream_cassette):
    with stream_cassette.client() as client:
        body = {{"model": "openai-python__n3-choices", "messages": []}}
        answer = client.post(f"{{BASE}}/chat/completions", json=body)
    assert len(streamagg.from_dict(answer.json()).choices) == 3


def test_rate_limited(stream_cassette):
    with stream_cassette.client() as client:
        with pytest.raises(streamagg.HTTPStatusError) as info:
            with streamagg.chat(client, BASE, {{"model": "limited", "messages": []}}):
                pass
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] == "3"
"""


def _python(env: Path) -> str:
    return str(env / ("Scripts" if os.name == "nt" else "bin") / "python")


def test_a_fresh_project_records_from_serve_then_replays_offline(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Record with the server up; replay with it stopped and the network forbidden; a changed
    request fails readably."""
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = _python(env)
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"{ROOT}[serve]",
            "pytest",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    shown = subprocess.run(
        [python, "-m", "pip", "show", "-f", "streamagg"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Editable project location" not in shown.stdout  # a real install, not a link

    served = tmp_path / "served"
    served.mkdir()
    for name in ("openai-python__plain-content", "openai-python__n3-choices"):
        (served / f"{name}.sse").write_bytes((STREAMS / f"{name}.sse").read_bytes())
    error = {"error": {"message": "Rate limit reached", "type": "requests"}}
    (served / "limited.sse").write_text(
        ": http-status: 429\n: http-header: retry-after: 3\n"
        ": http-header: content-type: application/json\n\n" + json.dumps(error)
    )
    server = subprocess.Popen(
        [python, "-m", "streamagg", "serve", str(served), "--port", "0", "--no-timing"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().split(" at ")[1].split(" ")[0]
        pytester.makepyfile(test_app=TESTS.format(model="openai-python__plain-content"))
        recorded = subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--streamagg-record=missing"],
            cwd=pytester.path,
            env={**os.environ, "LLM_BASE_URL": base},
            capture_output=True,
            text=True,
            check=False,
        )
        assert recorded.returncode == 0, recorded.stdout[-3000:]
    finally:
        server.terminate()
        server.wait(10)
    folder = pytester.path / "recordings" / "test_app"
    assert sorted(p.name for p in folder.glob("*.sse")) == [
        "test_not_streaming.sse",
        "test_rate_limited.sse",
        "test_streaming.sse",
    ]
    assert (folder / "test_rate_limited.sse").read_text().startswith(": http-status: 429")

    offline = pytester.run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert offline.ret == 0, "\n".join(offline.outlines[-40:])
    offline.stdout.fnmatch_lines(["*3 passed*"])

    pytester.makepyfile(test_app=TESTS.format(model="gpt-5"))
    changed = pytester.run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_streaming"
    )
    assert changed.ret == 1
    changed.stdout.fnmatch_lines(
        [
            "*RecordingMismatchError*not the request test_streaming.sse recorded*",
            '*-    "model": "openai-python__plain-content"*',
            '*+    "model": "gpt-5"*',
        ]
    )
