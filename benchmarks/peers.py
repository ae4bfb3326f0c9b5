"""The peers: the accumulators users reach for instead of streamagg, each fed from the same raw
bytes the way its own users feed it, and each result reduced to one comparable view.

* openai-python: its SSE decoder, ``ChatCompletionChunk`` objects built as its ``Stream`` builds
  them (``construct_type``), ``ChatCompletionStreamState.handle_chunk`` on each, then
  ``get_final_completion()``.
* litellm: ``ModelResponseStream`` objects made from each chunk (what ``litellm.completion(...,
  stream=True)`` yields), collected and given to ``litellm.stream_chunk_builder``.
* langchain: what ``ChatOpenAI.stream()`` does with each chunk of the openai SDK
  (``model_dump()``, ``_convert_chunk_to_generation_chunk``, the response metadata merged as
  ``BaseChatModel.stream`` merges it), and the message chunks added with ``+``, as its users
  accumulate them.

A peer whose package is not installed is reported as such; ``python benchmarks/run.py`` then
still runs the rest (``pip install -e . --group bench`` installs them all).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["PEERS", "Peer", "load_peers", "view_of_dict"]

# litellm fetches a model price list from the network when imported, unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

#: What a peer's result is reduced to: per choice its text, reasoning, tool calls, finish
#: reason and logprob tokens, and the usage counts.
View = dict[str, Any]


class Peer:
    """One peer: ``run(raw)`` folds a stream's bytes into the peer's own final object;
    ``view(obj)`` reduces it to a ``View``."""

    def __init__(
        self, name: str, run: Callable[[bytes], Any], view: Callable[[Any], View]
    ) -> None:
        self.name = name
        self.run = run
        self.view = view


def _choice_view(
    index: int, texts: tuple[Any, Any], tools: list[tuple[Any, Any, Any]], finish: Any, tokens: int
) -> dict[str, Any]:
    """One choice's view; ``texts`` are its content and its reasoning."""
    return {
        "index": index,
        "content": texts[0] or None,
        "reasoning": texts[1] or None,
        "tool_calls": tools,
        "finish_reason": finish,
        "logprob_tokens": tokens,
    }


def view_of_dict(response: dict[str, Any]) -> View:
    """The view of a chat completion as a dict (``streamagg.to_dict`` of a response)."""
    choices = []
    for choice in response["choices"]:
        message = choice["message"]
        tools = [
            (t.get("id"), t["function"]["name"], t["function"]["arguments"])
            for t in message.get("tool_calls") or []
        ]
        logprobs = choice.get("logprobs") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        choices.append(
            _choice_view(
                choice["index"],
                (message.get("content"), reasoning),
                tools,
                choice.get("finish_reason"),
                len(logprobs.get("content") or []),
            )
        )
    usage = response.get("usage") or {}
    counts = (
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("total_tokens"),
    )
    return {"choices": choices, "usage": counts}


def _openai() -> Peer:
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    def run(raw: bytes) -> Any:
        state: Any = ChatCompletionStreamState()
        for sse in SSEDecoder().iter_bytes(iter([raw])):
            if sse.data.startswith("[DONE]"):
                break
            chunk = construct_type(type_=ChatCompletionChunk, value=sse.json())
            state.handle_chunk(chunk)
        return state.get_final_completion()

    def view(completion: Any) -> View:
        return view_of_dict(completion.model_dump())

    return Peer("openai", run, view)


def _litellm() -> Peer:
    import litellm
    from litellm.types.utils import ModelResponseStream
    from openai._streaming import SSEDecoder

    litellm.suppress_debug_info = True  # it prints a help banner on every error

    def run(raw: bytes) -> Any:
        chunks = []
        for sse in SSEDecoder().iter_bytes(iter([raw])):
            if sse.data.startswith("[DONE]"):
                break
            chunks.append(ModelResponseStream(**sse.json()))
        return litellm.stream_chunk_builder(chunks)

    def view(response: Any) -> View:
        return view_of_dict(response.model_dump())

    return Peer("litellm", run, view)


def _langchain() -> Peer:
    from langchain_core.language_models.chat_models import _gen_info_and_msg_metadata
    from langchain_core.messages import AIMessageChunk
    from langchain_openai import ChatOpenAI
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.types.chat import ChatCompletionChunk

    model = ChatOpenAI(model="gpt-4o", api_key="sk-bench")  # type: ignore[arg-type]
    # The hook ChatOpenAI.stream() itself calls on each chunk of the SDK.
    convert = model._convert_chunk_to_generation_chunk  # noqa: SLF001

    def run(raw: bytes) -> Any:
        total: Any = None
        for sse in SSEDecoder().iter_bytes(iter([raw])):
            if sse.data.startswith("[DONE]"):
                break
            chunk = construct_type(type_=ChatCompletionChunk, value=sse.json())
            generation = convert(chunk.model_dump(), AIMessageChunk, {})  # type: ignore[attr-defined]
            if generation is None:
                continue
            # What BaseChatModel.stream() does to each chunk before yielding its message.
            generation.message.response_metadata = _gen_info_and_msg_metadata(generation)
            total = generation.message if total is None else total + generation.message
        return total

    def view(message: Any) -> View:
        tools = [
            (t.get("id"), t.get("name"), t.get("args") or "")
            for t in message.tool_call_chunks or []
        ]
        meta = message.response_metadata
        usage = message.usage_metadata or {}
        logprobs = meta.get("logprobs") or {}
        content = (
            message.content if isinstance(message.content, str) else json.dumps(message.content)
        )
        choice = _choice_view(
            0,
            (content, message.additional_kwargs.get("reasoning_content")),
            tools,
            meta.get("finish_reason"),
            len(logprobs.get("content") or []),
        )
        counts = (
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            usage.get("total_tokens"),
        )
        return {"choices": [choice], "usage": counts}

    return Peer("langchain", run, view)


#: Each peer's name and the function that imports it.
PEERS: dict[str, Callable[[], Peer]] = {
    "openai": _openai,
    "litellm": _litellm,
    "langchain": _langchain,
}


def load_peers(names: list[str]) -> dict[str, Peer | str]:
    """Each named peer, or why it cannot run (its package is not installed)."""
    loaded: dict[str, Peer | str] = {}
    for name in names:
        try:
            loaded[name] = PEERS[name]()
        except ImportError as exc:
            loaded[name] = f"not installed ({exc.name})"
    return loaded
