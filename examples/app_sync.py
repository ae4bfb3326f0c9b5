"""Stream a chat completion in a sync app: print text as it arrives, keep the full response.

python examples/app_sync.py                              # a bundled recording, replayed
python examples/app_sync.py http://127.0.0.1:8000/v1     # against a server (or the replay one)
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2

import streamagg
from streamagg.testing import ReplayTransport

RECORDING = Path(__file__).parent.parent / "tests" / "streams" / "openai-python__plain-content.sse"


def main(base_url: str | None) -> None:
    client = httpx2.Client(transport=None if base_url else ReplayTransport(RECORDING))
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in SF?"}]}
    with client, streamagg.create(client, base_url or "http://mock/v1", payload) as s:
        for text in s.text():
            print(text, end="", flush=True)
    response = s.response  # the complete ChatCompletionResponse
    print(f"\n[{response.choices[0].finish_reason}] usage: {response.usage}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
