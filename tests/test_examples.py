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


def test_gateway_example_relays_and_stores(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gateway.py`` relays a stream through a Starlette route and stores the response once."""
    pytest.importorskip("starlette")
    run_example("gateway.py", monkeypatch)
    out = capsys.readouterr().out
    assert '"city":"San Francisco"' in out
    assert "stored: ok: 3 choices, 121 tokens" in out


def test_tool_turn_example_shows_partial_arguments_and_the_next_turn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tool_turn.py`` prints the arguments as they stream, the timings and the next turn."""
    run_example("tool_turn.py", monkeypatch)
    out = capsys.readouterr().out
    assert "tool 0: {'city': 'Edinb'}" in out
    assert "first token after" in out
    assert "next request: 4 messages" in out


def test_tool_turn_example_against_a_real_server(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a base URL, the tool example talks to a real server over HTTP."""
    run_example("tool_turn.py", monkeypatch, f"{server}/openai-python__parallel-tool-calls")
    assert "tool 1: {'ticker': 'AAPL', 'exchange': 'NASDAQ'}" in capsys.readouterr().out
