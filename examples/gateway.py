"""A gateway that relays a provider's stream to its own clients and keeps each response.

python examples/gateway.py                            # one request through, upstream replayed
python examples/gateway.py http://127.0.0.1:8000/v1   # relay a real upstream (or serve)

The route is a Starlette ``StreamingResponse`` whose body is ``streamagg.arelay``: the upstream
bytes go to the client as they arrive, and ``on_finish`` runs exactly once with the folded
response (or the partial one and the error, if the upstream failed or the client left).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import streamagg
from streamagg.testing import ReplayTransport

RECORDING = Path(__file__).parent.parent / "tests" / "streams" / "openai-python__n3-choices.sse"


def make_app(upstream: httpx2.AsyncClient, base_url: str, log: list[str]) -> Starlette:
    def store(response: streamagg.ChatCompletionResponse, error: Any) -> None:
        # Store the conversation, bill the usage, log: whatever happened to the stream.
        tokens = response.usage.total_tokens if response.usage else None
        outcome = "ok" if error is None else type(error).__name__
        log.append(f"{outcome}: {len(response.choices)} choices, {tokens} tokens")

    async def chat(request: Request) -> StreamingResponse:
        body = streamagg.arelay(
            upstream,
            "POST",
            f"{base_url}/chat/completions",
            json=await request.json(),
            on_finish=store,
            idle_timeout=60,  # stop an upstream that stops sending data
        )
        return StreamingResponse(body, media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


async def main(base_url: str | None) -> None:
    log: list[str] = []
    transport = None if base_url else ReplayTransport(RECORDING)
    async with httpx2.AsyncClient(transport=transport, timeout=60) as upstream:
        app = make_app(upstream, base_url or "http://provider/v1", log)
        gateway = httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://gw")
        async with gateway:
            payload = {"model": "gpt-4o", "n": 3, "messages": [{"role": "user", "content": "Hi"}]}
            answer = await gateway.post("/v1/chat/completions", json={**payload, "stream": True})
    print(f"relayed {len(answer.content)} bytes; the client folds them to:")
    print(streamagg.replay(answer.content).choices[0].message.content)
    print("stored:", *log)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
