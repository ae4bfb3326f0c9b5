"""The recorded streams of the dialects other than chat completions, and how to compare them.

``streams/<dialect>/NAME.sse`` with ``NAME.expected.json`` (see SOURCES.md there): the object a
non-streaming call returns, or ``{"error": ..., "partial": ...}`` for a stream that ends in an
error. The Responses API's failed stream expects the failed ``response`` (status ``failed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamagg
from streamagg import anthropic, completions, gemini, ollama, responses

from .helpers import STREAMS

#: Each dialect's module (its folder of recordings has its name).
MODULES: dict[str, Any] = {
    "responses": responses,
    "anthropic": anthropic,
    "gemini": gemini,
    "ollama": ollama,
    "completions": completions,
}
#: Each dialect's ``replay``.
DIALECTS: dict[str, Callable[..., Any]] = {d: m.replay for d, m in MODULES.items()}
#: The file ending of each dialect's recordings.
SUFFIX = {"ollama": ".ndjson"}
#: (dialect, name) of every recording.
RECORDINGS = sorted(
    (dialect, p.stem)
    for dialect in DIALECTS
    for p in (STREAMS / dialect).glob("*" + SUFFIX.get(dialect, ".sse"))
)


def path(dialect: str, name: str, suffix: str | None = None) -> Path:
    """The recording ``name`` of ``dialect`` (or the file beside it with ``suffix``)."""
    return STREAMS / dialect / f"{name}{suffix or SUFFIX.get(dialect, '.sse')}"


# Recordings the tests name, one or two per dialect.
#: Responses API: plain text, and reasoning summaries before the text.
TEXT = path("responses", "pydantic-ai__gpt4o-text")
REASONING = path("responses", "pydantic-ai__reasoning-summary-4-parts-then-text")
#: Anthropic Messages: text with pings, and text then a tool call.
MESSAGE = path("anthropic", "anthropic-sdk-python__claude3-opus-text-with-ping")
TOOL_MESSAGE = path("anthropic", "anthropic-sdk-python__sonnet4-text-then-tool-use")
#: Gemini: thought summaries, then text with a signature.
GEMINI = path("gemini", "pydantic-ai__gemini25-thought-summaries-then-text-with-signature")
#: Ollama: a chat answer cut by its length limit, and a generate answer with thinking.
OLLAMA = path("ollama", "dotnet-extensions__llama31-chat-done-reason-length")
GENERATE = path("ollama", "ollama-bash-lib__gpt-oss-120b-generate-thinking-field")
#: Legacy completions: logprobs, cut by the length limit, then an empty chunk.
COMPLETION = path(
    "completions", "langstream__azure-gpt35-instruct-logprobs-length-then-empty-chunk"
)


def events_of(dialect: str, name: str) -> list[dict[str, Any]]:
    """The parsed events of a recording (its ``data:`` lines, or its JSON lines)."""
    lines = path(dialect, name).read_text().split("\n")  # not str.splitlines: U+2028 in JSON
    if dialect == "ollama":
        return [json.loads(line) for line in lines if line.strip()]
    datas = [line[5:].strip() for line in lines if line.startswith("data:")]
    return [json.loads(data) for data in datas if data != "[DONE]"]


def normalize(value: Any) -> Any:
    """JSON with null, absent, {} and [] meaning the same (as SOURCES.md says to compare)."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def covers(got: Any, want: Any) -> bool:
    """``got`` has every key of ``want`` with the same value (a fold may keep more: provider
    extensions such as Bedrock's invocation metrics); lists match item by item."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(covers(got.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(covers(g, w) for g, w in zip(got, want, strict=True))
        )
    return bool(got == want)


def expected(dialect: str, name: str) -> dict[str, Any]:
    """The expected outcome: ``{"object": ...}`` or ``{"error": ..., "partial": ...}``."""
    data: dict[str, Any] = json.loads(path(dialect, name, ".expected.json").read_text())
    if "partial" in data and "error" in data:
        return {"error": data["error"], "object": normalize(data["partial"])}
    if data.get("status") == "failed" and data.get("object") == "response":
        return {"error": data.get("error"), "object": normalize(data)}
    return {"object": normalize(data)}


def folded(dialect: str, source: Any) -> Any:
    """The object a recording folds to (the partial, for one that ends in an error)."""
    try:
        return MODULES[dialect].replay(source)
    except streamagg.UpstreamError as exc:
        return exc.partial


def outcome(dialect: str, source: Any) -> dict[str, Any]:
    """What replaying gives, in the form of ``expected``."""
    try:
        return {"object": normalize(streamagg.to_dict(DIALECTS[dialect](source)))}
    except streamagg.UpstreamError as exc:
        partial = normalize(streamagg.to_dict(exc.partial))
        return {"error": exc.error, "object": partial}
