"""The official SDKs (openai 3.x and anthropic 2.x, both on httpx2) with the test kit: a
cassette recorded once against ``streamagg serve`` and replayed with the server stopped, its
client handed to the SDK, for streaming and whole calls, sync and async."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest

import streamagg
from streamagg import anthropic
from streamagg.testing import StreamCassette

from .dialects import MESSAGE, TOOL_MESSAGE
from .helpers import STREAMS, serving

pytest.importorskip("uvicorn")

PLAIN = STREAMS / "openai-python__plain-content.sse"
TOOLS = STREAMS / "openai-python__parallel-tool-calls.sse"
MESSAGES = [{"role": "user", "content": "hi"}]


def served(tmp_path: Path, *recordings: Path) -> Path:
    """A folder for ``streamagg serve`` holding ``recordings``."""
    folder = tmp_path / "served"
    folder.mkdir()
    for recording in recordings:
        shutil.copy(recording, folder / recording.name)
    return folder


def test_openai_records_from_serve_then_replays_offline(tmp_path: Path) -> None:
    """``openai.OpenAI(http_client=cassette.client())`` records a streaming and a whole call
    from ``serve``; with the server stopped, the same calls replay to the same objects."""
    sdk = pytest.importorskip("openai")
    from streamagg.testing._server import ReplayApp

    cassettes = tmp_path / "cassettes"

    def calls(cassette: StreamCassette, base: str) -> tuple[Any, Any]:
        client = sdk.OpenAI(api_key="sk-test", base_url=base, http_client=cassette.client())
        chunks = client.chat.completions.create(model=TOOLS.stem, messages=MESSAGES, stream=True)
        whole = client.chat.completions.create(model=PLAIN.stem, messages=MESSAGES)
        return streamagg.fold(chunks), whole

    with serving(ReplayApp(served(tmp_path, PLAIN, TOOLS), timing=False)) as base:
        recording = StreamCassette(cassettes, "openai", mode="missing")
        live = calls(recording, base)
        recording.close()
    assert [p.name for p in recording.recorded] == ["openai.sse", "openai.1.sse"]
    assert "sk-test" not in (cassettes / "openai.request.json").read_text()
    replayed = calls(StreamCassette(cassettes, "openai"), base)
    assert replayed == live
    assert replayed[0] == streamagg.replay(TOOLS)
    assert replayed[1].choices[0].message.content == (
        streamagg.replay(PLAIN).choices[0].message.content
    )


def test_anthropic_records_from_serve_then_replays_offline(tmp_path: Path) -> None:
    """``anthropic.Anthropic(http_client=cassette.client())`` (the SDK refuses an httpx
    client) records ``messages.stream`` and ``messages.create`` from ``serve``; with the server
    stopped they replay, sync and through ``AsyncAnthropic(http_client=cassette.async_client())``,
    and the stream folds to the SDK's own final message."""
    sdk = pytest.importorskip("anthropic")
    from streamagg.testing._server import ReplayApp

    cassettes = tmp_path / "cassettes"

    def calls(cassette: StreamCassette, base: str) -> tuple[Any, Any]:
        client = sdk.Anthropic(api_key="k", base_url=base, http_client=cassette.client())
        with client.messages.stream(
            model=TOOL_MESSAGE.stem, max_tokens=100, messages=MESSAGES
        ) as stream:
            final = stream.get_final_message()
        whole = client.messages.create(model=MESSAGE.stem, max_tokens=100, messages=MESSAGES)
        return final, whole

    async def acalls(cassette: StreamCassette, base: str) -> tuple[Any, Any]:
        client = sdk.AsyncAnthropic(
            api_key="k", base_url=base, http_client=cassette.async_client()
        )
        async with client.messages.stream(
            model=TOOL_MESSAGE.stem, max_tokens=100, messages=MESSAGES
        ) as stream:
            final = await stream.get_final_message()
        whole = await client.messages.create(model=MESSAGE.stem, max_tokens=100, messages=MESSAGES)
        return final, whole

    folder = served(tmp_path, MESSAGE, TOOL_MESSAGE)
    with serving(ReplayApp(folder, timing=False)) as url:
        base = url.removesuffix("/v1")  # the SDK adds /v1/messages itself
        recording = StreamCassette(cassettes, "claude", mode="missing")
        live = calls(recording, base)
    assert [p.name for p in recording.recorded] == ["claude.sse", "claude.1.sse"]
    assert calls(StreamCassette(cassettes, "claude"), base) == live
    assert anyio.run(acalls, StreamCassette(cassettes, "claude"), base) == live
    final, whole = live
    expected = anthropic.replay(TOOL_MESSAGE)
    assert (
        streamagg.to_dict(expected)["content"]
        == final.model_dump(mode="json", exclude_none=True)["content"]
    )
    assert whole.content[0].text == anthropic.replay(MESSAGE).content[0].text
