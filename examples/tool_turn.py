"""Show a tool call's arguments while they stream, time the stream, and send the next turn.

python examples/tool_turn.py                             # a bundled recording, replayed
python examples/tool_turn.py http://127.0.0.1:8000/v1    # against a server
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx2

import streamagg
from streamagg.testing import ReplayTransport

RECORDING = (
    Path(__file__).parent.parent / "tests" / "streams" / "openai-python__parallel-tool-calls.sse"
)


def main(base_url: str | None) -> None:
    client = httpx2.Client(transport=None if base_url else ReplayTransport(RECORDING))
    question = {"role": "user", "content": "Weather in Edinburgh, and AAPL's price?"}
    payload = {"model": "gpt-4o", "messages": [question]}
    url = base_url or "http://mock/v1"
    with client, streamagg.create(client, url, payload, idle_timeout=60, total_timeout=600) as s:
        for delta in s:
            if isinstance(delta, streamagg.ToolCallArgumentsDelta):
                # The arguments parsed so far: complete keys, the last string partial.
                print(f"tool {delta.tool}: {s.partial_json(delta.choice, delta.tool)}")
        message = s.response.choices[0].message
        timings = s.timings
    print(f"{timings.chunks} chunks, first token after {timings.time_to_first_token:.3f} s")
    # The next request: the assistant turn as the API wants it, then one result per call.
    results = [
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"ok": True})}
        for call in message.tool_calls or []
    ]
    messages = [question, streamagg.to_request_message(message), *results]
    print(json.dumps(messages[1]["tool_calls"][0]["function"]))
    print(f"next request: {len(messages)} messages")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
