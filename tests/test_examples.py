"""The runnable examples under ``examples/`` work, against a mock and against a real server."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(name: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_sync_example_against_the_mock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``app_sync.py`` prints the text and then the finish reason and usage."""
    run_example("app_sync.py", monkeypatch)
    out = capsys.readouterr().out
    assert out.startswith("I'm unable to provide real-time weather")
    assert "[stop] usage: Usage(prompt_tokens=14" in out


def test_async_example_against_the_mock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``app_async.py`` shows the tool calls as they stream, then the parsed arguments."""
    run_example("app_async.py", monkeypatch)
    out = capsys.readouterr().out
    assert '-> GetWeatherArgs {"city": "Edinburgh"' in out
    assert "get_stock_price {'ticker': 'AAPL', 'exchange': 'NASDAQ'}" in out


@pytest.mark.parametrize("name", ["app_sync.py", "app_async.py"])
def test_examples_against_a_real_server(
    name: str, server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a base URL, the examples talk to a real server over HTTP."""
    run_example(name, monkeypatch, f"{server}/openai-python__plain-content")
    assert "San Francisco" in capsys.readouterr().out
