"""The README's Python examples run as written (from the repository root)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_readme_python_examples_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ```python block of the README executes as written (```py marks the snippets that
    call a live API: the next test runs them against a replayed recording)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "GetWeatherArgs" in out
    assert "I'm unable" in out


def test_readme_app_snippets_run_against_recordings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every ```py block (the ones that call a live API) runs as written when httpx2's real
    transports answer with a bundled recording: the snippets are complete programs."""
    import anyio
    import httpx2

    from streamagg.testing import ReplayTransport, StreamCassette

    from .helpers import STREAMS

    plain = STREAMS / "openai-python__plain-content.sse"
    replay = ReplayTransport({"POST /v1/chat/completions": plain})

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = replay.handle_request(request)
        return response

    async def ahandle(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = await replay.handle_async_request(request)
        return response

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", ahandle)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    blocks = re.findall(r"```py\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 5
    for block in blocks:
        scope: dict[str, object] = {"__name__": "readme"}
        exec(compile(block, "README.md", "exec"), scope)
        if "app" in scope:  # the gateway: one call through it

            async def call(transport: httpx2.ASGITransport) -> bytes:
                async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as c:
                    answer = await c.post(
                        "/v1/chat/completions", json={"model": "m", "stream": True}
                    )
                    return answer.content

            gateway = httpx2.ASGITransport(app=scope["app"])  # type: ignore[arg-type]
            assert anyio.run(call, gateway) == plain.read_bytes()
        test = scope.get("test_weather_answer")
        if callable(test):  # the pytest example, with its recording in place
            (tmp_path / "test_weather_answer.sse").write_bytes(plain.read_bytes())
            test(StreamCassette(tmp_path, "test_weather_answer"))
    out = capsys.readouterr().out
    assert out.count("I'm unable to provide real-time weather") >= 2  # the sync and async ones
    assert "finished: Usage(prompt_tokens=14" in out  # the gateway's on_finish
    assert "gen_ai.client.operation" in out
