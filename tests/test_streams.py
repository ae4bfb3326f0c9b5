"""Every real recorded stream in ``tests/streams/`` (see SOURCES.md there) folds to its expected
response, whole, split at every byte offset (many random ones for long streams), and fed one
byte at a time.

``<name>.streamagg.json`` holds the expected response (and, for streams that end in an error,
the error). ``<name>.expected.json``, where present, is openai-python's own accumulator output:
an independent oracle for content, tool calls, finish reasons, usage and logprob counts.
"""

from __future__ import annotations

import json
import random

import pytest

import streamagg

from .helpers import NAMES, STREAMS, expected, outcome

EVERY_OFFSET_LIMIT = 16_000  # streams up to this size are split at every offset


def test_every_stream_has_an_expectation() -> None:
    """Each recorded stream has its expected result beside it, and there are streams."""
    assert len(NAMES) >= 14
    for name in NAMES:
        assert (STREAMS / f"{name}.streamagg.json").exists(), name


@pytest.mark.parametrize("name", NAMES)
def test_stream_folds_to_expected(name: str) -> None:
    """The recorded stream, read from its file, folds to the expected response."""
    assert outcome(STREAMS / f"{name}.sse") == expected(name)


@pytest.mark.slow  # a fold per offset: the one-byte and CRLF tests below stay in the quick run
@pytest.mark.parametrize("name", NAMES)
def test_stream_split_at_every_offset(name: str) -> None:
    """Any split of the bytes into two reads (many random multi-way splits when long) folds
    identically."""
    raw = (STREAMS / f"{name}.sse").read_bytes()
    want = expected(name)
    if len(raw) <= EVERY_OFFSET_LIMIT:
        for cut in range(len(raw) + 1):
            assert outcome([raw[:cut], raw[cut:]]) == want, cut
    else:
        rnd = random.Random(name)
        for _ in range(300):
            cut = rnd.randrange(len(raw) + 1)
            assert outcome([raw[:cut], raw[cut:]]) == want, cut
    rnd = random.Random(len(raw))
    for _ in range(20):
        cuts = sorted(rnd.sample(range(len(raw)), 40))
        pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
        assert outcome(pieces) == want, cuts


@pytest.mark.parametrize("name", NAMES)
def test_stream_one_byte_at_a_time(name: str) -> None:
    """Fed one byte at a time, the stream folds identically."""
    raw = (STREAMS / f"{name}.sse").read_bytes()
    assert outcome(raw[i : i + 1] for i in range(len(raw))) == expected(name)


@pytest.mark.parametrize("name", NAMES)
def test_stream_with_crlf_line_endings(name: str) -> None:
    """The same stream with CRLF (or lone CR) line endings folds identically."""
    raw = (STREAMS / f"{name}.sse").read_bytes()
    assert outcome(raw.replace(b"\n", b"\r\n")) == expected(name)
    assert outcome(raw.replace(b"\n", b"\r")) == expected(name)


ORACLES = sorted(p.name[: -len(".expected.json")] for p in STREAMS.glob("*.expected.json"))


@pytest.mark.parametrize("name", ORACLES)
def test_stream_agrees_with_openai_python_accumulator(name: str) -> None:
    """Content, refusal, tool calls, finish reasons, usage and logprob counts agree with
    openai-python's accumulator (which keeps the streaming ``index`` and null defaults)."""
    oracle = json.loads((STREAMS / f"{name}.expected.json").read_text())
    ours = streamagg.to_dict(streamagg.replay(STREAMS / f"{name}.sse"))
    assert ours["id"] == oracle["id"]
    assert ours["model"] == oracle["model"]
    assert ours["usage"] == oracle["usage"]
    assert len(ours["choices"]) == len(oracle["choices"])
    for mine, theirs in zip(ours["choices"], oracle["choices"], strict=True):
        assert mine["finish_reason"] == theirs["finish_reason"]
        for key in ("role", "content", "refusal"):
            assert mine["message"][key] == theirs["message"][key], key
        tools = [
            {k: v for k, v in t.items() if k != "index"}
            for t in theirs["message"].get("tool_calls") or []
        ]
        assert mine["message"].get("tool_calls", []) == tools
        for key in ("content", "refusal"):
            theirs_lp = (theirs["logprobs"] or {}).get(key)
            mine_lp = (mine["logprobs"] or {}).get(key)
            assert len(mine_lp or []) == len(theirs_lp or []), key


def test_openrouter_stream_keeps_usage_sent_with_the_error() -> None:
    """OpenRouter's final chunk carries ``error`` and usage: the usage is in the partial."""
    with pytest.raises(streamagg.UpstreamError) as info:
        streamagg.replay(STREAMS / "pydantic-ai__openrouter-minimax-midstream-error-comments.sse")
    assert info.value.error == {"code": 400, "message": "Token limit reached"}
    usage = info.value.partial.usage
    assert usage is not None
    assert (usage.total_tokens, usage.extensions["cost"]) == (53, 0)
    assert info.value.partial.choices[0].finish_reason == "length"


def test_perplexity_role_not_concatenated_usage_not_summed() -> None:
    """Perplexity repeats role and cumulative usage on every chunk."""
    r = streamagg.replay(STREAMS / "vercel-ai__perplexity-sonar-citations-cumulative-usage.sse")
    assert r.choices[0].message.role == "assistant"
    assert r.usage is not None
    assert r.usage.total_tokens == 346
    assert len(r.extensions["citations"]) == 7


def test_truncated_stream_raises_incomplete_with_partial() -> None:
    """A recorded stream cut before its finish chunk raises, keeping what was folded."""
    raw = (STREAMS / "openai-python__plain-content.sse").read_bytes()
    cut = raw[: raw.index(b'"finish_reason":"stop"')]
    cut = cut[: cut.rindex(b"\n\n") + 2]
    with pytest.raises(streamagg.IncompleteStreamError) as info:
        streamagg.replay(cut)
    full = streamagg.replay(raw).choices[0].message.content
    assert full is not None
    assert info.value.partial.choices[0].message.content == full
