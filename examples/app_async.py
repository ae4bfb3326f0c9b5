"""Stream a chat completion in an async app, reacting to each kind of delta.

python examples/app_async.py                             # a bundled recording, replayed
python examples/app_async.py http://127.0.0.1:8000/v1    # against a server (or the replay one)
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx2

import streamagg
from streamagg import ContentDelta, FinishDelta, ToolCallArgumentsDelta, ToolCallStart
from streamagg.testing import ReplayTransport

RECORDING = (
    Path(__file__).parent.parent / "tests" / "streams" / "openai-python__parallel-tool-calls.sse"
)


async def main(base_url: str | None) -> None:
    transport = None if base_url else ReplayTransport(RECORDING)
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather and AAPL?"}]}
    async with (
        httpx2.AsyncClient(transport=transport) as client,
        streamagg.acreate(client, base_url or "http://mock/v1", payload) as s,
    ):
        async for delta in s:
            match delta:
                case ContentDelta(text=text):
                    print(text, end="", flush=True)
                case ToolCallStart(name=name):
                    print(f"\n-> {name} ", end="")
                case ToolCallArgumentsDelta(text=text):
                    print(text, end="", flush=True)
                case FinishDelta(reason=reason):
                    print(f"\n[{reason}]")
    for call in s.response.choices[0].message.tool_calls or []:
        print(call.function.name, json.loads(call.function.arguments))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
