"""The SDKs' streaming helpers, fed every bundled recording (issue 22, "Tested with the real
SDKs"): openai 3.x ``chat.completions.stream`` and ``responses.stream`` and anthropic 2.x
``messages.stream``, each on an ``httpx2`` client whose transport is ``ReplayTransport``.

For each recording the helper's final object (``get_final_completion()``,
``get_final_response()``, ``get_final_message()``) is compared field by field with streamagg's
fold of the same recording and with streamagg's fold of the events the helper yielded. Where
they differ, the difference is one of the SDK's known deviations listed below with its reason,
and each listed deviation is checked to hold as described (an SDK that fixes one fails the test,
so the list stays true). Recordings the helper refuses are asserted to be refused, with why.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

# The SDKs are in the test group; as in the other SDK tests, the module is skipped without them.
pytest.importorskip("openai")
pytest.importorskip("anthropic")

import anthropic as anthropic_sdk
import httpx2
import openai
from anthropic.types import ParsedMessage
from openai.lib.streaming.chat import ChatCompletionStreamEvent, ChunkEvent
from openai.types.chat import ParsedChatCompletion
from openai.types.responses import ParsedResponse
from pydantic import BaseModel

import streamagg
from streamagg import anthropic, responses
from streamagg.testing import ReplayTransport

from .helpers import STREAMS

#: The recordings of each dialect the helpers speak.
CHAT = sorted(p.stem for p in STREAMS.glob("*.sse"))
RESPONSES = sorted(p.stem for p in (STREAMS / "responses").glob("*.sse"))
MESSAGES = sorted(p.stem for p in (STREAMS / "anthropic").glob("*.sse"))

PROMPT = "hi"


# -- a fair comparison ------------------------------------------------------------------------

#: What the helpers add that no stream carries: their parse of the text and of tool arguments
#: (None here: no ``response_format`` or strict tool was given).
HELPER_FIELDS = frozenset({"parsed", "parsed_arguments", "parsed_output"})


class _Absent:
    """A field one side does not carry."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


def plain(value: Any) -> Any:
    """``value`` without None, ``{}`` and the helpers' own fields: the SDKs dump an optional
    field they did not receive as None (or an empty object) where streamagg leaves it out, and
    neither means anything."""
    if isinstance(value, dict):
        kept = {k: plain(v) for k, v in value.items() if k not in HELPER_FIELDS}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def sdk_dict(final: BaseModel) -> Any:
    """The SDK's final object as JSON, as it was set (no defaults filled in), made ``plain``."""
    dumped = final.model_dump(mode="json", exclude_unset=True)
    for choice in dumped.get("choices", []) if isinstance(final, ParsedChatCompletion) else []:
        for call in choice["message"].get("tool_calls") or []:
            # The chat helper keeps each call's chunk index; a message's tool call has none.
            call.pop("index", None)
    return plain(dumped)


def differences(ours: Any, sdk: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Every field where ``ours`` and ``sdk`` (plain JSON) differ: path -> (ours, sdk)."""
    found: dict[str, tuple[Any, Any]] = {}
    if isinstance(ours, dict) and isinstance(sdk, dict):
        for key in sorted(ours.keys() | sdk.keys()):
            where = f"{path}.{key}" if path else key
            found.update(differences(ours.get(key, ABSENT), sdk.get(key, ABSENT), where))
    elif isinstance(ours, list) and isinstance(sdk, list) and len(ours) == len(sdk):
        for i, (mine, theirs) in enumerate(zip(ours, sdk, strict=True)):
            found.update(differences(mine, theirs, f"{path}[{i}]"))
    elif ours != sdk:
        found[path] = (ours, sdk)
    return found


# -- the SDKs' known deviations ----------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """How the SDK's helper (or, where said, streamagg's fold of its events) differs from
    streamagg's fold of the recording at one field, and why; ``holds(ours, sdk)`` checks that
    the difference is this one. ``before_events``: the helper drops what causes it before it
    yields its events, so streamagg's fold of those events does not have it."""

    why: str
    holds: Callable[[Any, Any], bool]
    before_events: bool = False


def _repeated(ours: Any, sdk: Any) -> bool:
    """``sdk`` is ``ours`` two or more times over."""
    if not (isinstance(ours, str) and isinstance(sdk, str) and ours):
        return False
    times, rest = divmod(len(sdk), len(ours))
    return times >= 2 and rest == 0 and sdk == ours * times


def _only_ours(ours: Any, sdk: Any) -> bool:
    return ours is not ABSENT and sdk is ABSENT


def _empty_kept(ours: Any, sdk: Any) -> bool:
    return ours is ABSENT and sdk == ""


def _calls_joined(ours: Any, sdk: Any) -> bool:
    """Fewer calls on the SDK's side, holding all of ours' arguments end to end."""

    def arguments(calls: list[Any]) -> str:
        return "".join(call["function"]["arguments"] for call in calls)

    return (
        isinstance(ours, list)
        and isinstance(sdk, list)
        and len(sdk) < len(ours)
        and arguments(sdk) == arguments(ours)
    )


def _base64_as_text(ours: Any, sdk: Any) -> bool:
    """``sdk`` is padded base64 pieces end to end whose bytes are ``ours``' bytes."""
    if not (isinstance(ours, str) and isinstance(sdk, str)) or sdk == ours:
        return False
    pieces = re.findall(r"[^=]+=*", sdk)
    return b"".join(base64.b64decode(p) for p in pieces) == base64.b64decode(ours)


REPEATS = Deviation(
    "the SDK's accumulator concatenates string fields it does not know as deltas, so a value"
    " a provider repeats in every chunk (role, a reasoning detail's id) comes out repeated",
    _repeated,
)
KEEPS_EMPTY = Deviation(
    "every chunk says '': the SDK keeps it, streamagg keeps the last non-empty value (none)",
    _empty_kept,
)
JOINS_CALLS = Deviation(
    "the SDK merges tool calls that all say index 0 into one (ids, names, arguments joined)",
    _calls_joined,
)
JOINS_BASE64_TEXT = Deviation(
    "the SDK joins the audio's base64 pieces as text (padding inside); streamagg joins their"
    " bytes",
    _base64_as_text,
)
KEEPS_FIRST = Deviation(
    "the SDK keeps a provider field as the first chunk had it: Azure's filter results arrive"
    " after an empty {}, x_groq's usage only in the last chunk",
    _only_ours,
)
SKIPS_CHUNK = Deviation(
    "the chat helper drops every chunk whose object is not chat.completion.chunk (Azure's"
    " prompt-filter chunk, a closing chat.completion frame, Perplexity's chat.completion.done)",
    _only_ours,
    before_events=True,
)
REBUILDS_MESSAGE_STOP = Deviation(
    "the anthropic helper replaces message_stop by {type, message: its snapshot}, and its"
    " accumulator reads nothing of it: message_stop's own fields (Bedrock's metrics) are lost",
    _only_ours,
    before_events=True,
)
#: streamagg's, not the SDK's: ``anthropic.fold`` keeps message_stop's fields on the Message
#: (Bedrock's metrics, rightly), so the helper's rebuilt message_stop gives it a ``message``
#: field holding the helper's snapshot (reported; remove this when the fold drops it).
KEEPS_HELPER_SNAPSHOT = Deviation(
    "anthropic.fold of the helper's events keeps the `message` of its message_stop",
    _only_ours,
)

#: Per recording, the fields where the SDK's final object differs from streamagg's fold.
KNOWN: dict[str, dict[str, Deviation]] = {
    "constructed__audio-output": {"choices[0].message.audio.data": JOINS_BASE64_TEXT},
    "constructed__closing-chat-completion-frame": {
        "choices[0].message.provider_trace": SKIPS_CHUNK,
        "usage": SKIPS_CHUNK,
    },
    "constructed__parallel-tool-calls-all-index-0-fragmented": {
        "choices[0].message.tool_calls": JOINS_CALLS
    },
    "constructed__parallel-tool-calls-all-index-0-whole": {
        "choices[0].message.tool_calls": JOINS_CALLS
    },
    "openllmetry__azure-gpt35turbo-prompt_filter_results-2024": {
        "choices[0].content_filter_results": KEEPS_FIRST,
        "prompt_filter_results": SKIPS_CHUNK,
    },
    "pydantic-ai__snowflake-claude-no-finish-reason": {
        "choices[0].message.reasoning_details[0].format": REPEATS,
        "choices[0].message.reasoning_details[0].id": REPEATS,
        "choices[0].message.role": REPEATS,
        "service_tier": KEEPS_EMPTY,
        "system_fingerprint": KEEPS_EMPTY,
    },
    "vercel-ai__groq-llama33-whole-toolcall-usage-and-x_groq": {"x_groq.usage": KEEPS_FIRST},
    "vercel-ai__perplexity-sonar-citations-cumulative-usage": {
        "choices[0].finish_reason": SKIPS_CHUNK,
        "choices[0].message.role": REPEATS,
    },
    "erda__bedrock-claude3-sonnet-invocation-metrics": {
        "amazon-bedrock-invocationMetrics": REBUILDS_MESSAGE_STOP
    },
}

#: Per dialect, where streamagg's fold of the helper's events has fields that its fold of the
#: recording has not: fields the helper adds to the events it yields, which the fold keeps
#: (streamagg's; reported: remove an entry once the fold drops them). The Responses helper's
#: ``response.completed`` carries its ``ParsedResponse``, whose output items have ``parsed`` or
#: ``parsed_arguments`` (None here); the anthropic helper's message_stop, its snapshot
#: (``KEEPS_HELPER_SNAPSHOT``). The chat fold takes only the chunks of the helper's events.
ADDED_BY_HELPER: dict[str, Callable[[str], bool]] = {
    "responses": lambda path: path.rsplit(".", 1)[-1] in {"parsed", "parsed_arguments"},
    "anthropic": lambda path: path == "message",
}


def assert_same(ours: Any, final: BaseModel, known: Mapping[str, Deviation]) -> None:
    """streamagg's object (``ours``) and the SDK's ``final`` carry the same fields with the same
    values, apart from the ``known`` deviations, each of which is there as described."""
    found = differences(plain(streamagg.to_dict(ours)), sdk_dict(final))
    unexplained = {path: found[path] for path in found.keys() - known.keys()}
    assert unexplained == {}
    assert sorted(found) == sorted(known), "a known deviation is gone"
    for path, (mine, theirs) in found.items():
        assert known[path].holds(mine, theirs), (path, mine, theirs, known[path].why)


def assert_folds_agree(
    dialect: str, name: str, replayed: Any, folded: Any, final: BaseModel
) -> None:
    """The recording (``replayed``) and the helper's events (``folded``) both fold to the SDK's
    ``final`` object; the two folds differ only by what the helper dropped before its events
    and by the fields it added to them (``ADDED_BY_HELPER``)."""
    known = KNOWN.get(name, {})
    assert_same(replayed, final, known)
    from_events = {p: d for p, d in known.items() if not d.before_events}
    if dialect == "anthropic":
        from_events["message"] = KEEPS_HELPER_SNAPSHOT
        assert plain(streamagg.to_dict(folded)["message"]) == sdk_dict(final)
    assert_same(folded, final, from_events)

    between = differences(streamagg.to_dict(folded), streamagg.to_dict(replayed))
    added_here = ADDED_BY_HELPER.get(dialect)
    added = {path for path in between if added_here is not None and added_here(path)}
    assert all(between[path][1] is ABSENT for path in added)
    assert bool(added) == (added_here is not None), "the fold no longer keeps what was added"
    dropped = {path for path, d in known.items() if d.before_events}
    assert sorted(between.keys() - added) == sorted(dropped)


# -- clients on a recording ----------------------------------------------------------------------


def chat_path(name: str) -> Path:
    return STREAMS / f"{name}.sse"


def openai_client(path: Path) -> openai.OpenAI:
    """An ``openai.OpenAI`` whose every request is answered by the recording ``path``."""
    http = httpx2.Client(transport=ReplayTransport(path))
    return openai.OpenAI(api_key="k", base_url="http://t/v1", max_retries=0, http_client=http)


def async_openai_client(path: Path) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=ReplayTransport(path))
    return openai.AsyncOpenAI(api_key="k", base_url="http://t/v1", max_retries=0, http_client=http)


def anthropic_client(path: Path) -> anthropic_sdk.Anthropic:
    """An ``anthropic.Anthropic`` whose every request is answered by the recording ``path``."""
    http = httpx2.Client(transport=ReplayTransport(path))
    return anthropic_sdk.Anthropic(
        api_key="k", base_url="http://t", max_retries=0, http_client=http
    )


def async_anthropic_client(path: Path) -> anthropic_sdk.AsyncAnthropic:
    http = httpx2.AsyncClient(transport=ReplayTransport(path))
    return anthropic_sdk.AsyncAnthropic(
        api_key="k", base_url="http://t", max_retries=0, http_client=http
    )


# -- driving the helpers, folding their events ---------------------------------------------------


def _chunks_folded(agg: streamagg.Aggregator) -> streamagg.ChatCompletionResponse:
    # The helper ended without raising, so its stream ended normally: what ``fold()`` does for
    # an SDK ``Stream`` (the helper consumed ``[DONE]``, or the connection closed cleanly).
    agg.feed_done()
    return agg.result()


def fold_chat_events(
    events: Iterable[ChatCompletionStreamEvent[None]],
) -> streamagg.ChatCompletionResponse:
    """streamagg's fold of the chunks the chat helper yields (``ChunkEvent.chunk``)."""
    agg = streamagg.Aggregator()
    for event in events:
        if isinstance(event, ChunkEvent):
            agg.feed(event.chunk)
    return _chunks_folded(agg)


async def afold_chat_events(
    events: AsyncIterable[ChatCompletionStreamEvent[None]],
) -> streamagg.ChatCompletionResponse:
    agg = streamagg.Aggregator()
    async for event in events:
        if isinstance(event, ChunkEvent):
            agg.feed(event.chunk)
    return _chunks_folded(agg)


def chat_helper(path: Path) -> tuple[streamagg.ChatCompletionResponse, ParsedChatCompletion[None]]:
    """streamagg's fold of the chat helper's events, and the helper's final completion."""
    client = openai_client(path)
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        folded = fold_chat_events(stream)
        final: ParsedChatCompletion[None] = stream.get_final_completion()
    return folded, final


async def achat_helper(
    path: Path,
) -> tuple[streamagg.ChatCompletionResponse, ParsedChatCompletion[None]]:
    client = async_openai_client(path)
    async with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        folded = await afold_chat_events(stream)
        final: ParsedChatCompletion[None] = await stream.get_final_completion()
    return folded, final


def responses_helper(path: Path) -> tuple[responses.Response, ParsedResponse[None]]:
    """streamagg's fold of the Responses helper's events, and its final response."""
    with openai_client(path).responses.stream(model="m", input=PROMPT) as stream:
        folded = responses.fold(stream)
        final: ParsedResponse[None] = stream.get_final_response()
    return folded, final


async def aresponses_helper(path: Path) -> tuple[responses.Response, ParsedResponse[None]]:
    async with async_openai_client(path).responses.stream(model="m", input=PROMPT) as stream:
        folded = await responses.afold(stream)
        final: ParsedResponse[None] = await stream.get_final_response()
    return folded, final


def messages_helper(path: Path) -> tuple[anthropic.Message, ParsedMessage[None]]:
    """streamagg's fold of the anthropic helper's events, and its final message."""
    with anthropic_client(path).messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        folded = anthropic.fold(stream)
        final: ParsedMessage[None] = stream.get_final_message()
    return folded, final


async def amessages_helper(path: Path) -> tuple[anthropic.Message, ParsedMessage[None]]:
    async with async_anthropic_client(path).messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        folded = await anthropic.afold(stream)
        final: ParsedMessage[None] = await stream.get_final_message()
    return folded, final


# -- which recordings the helpers refuse ---------------------------------------------------------

#: Chat recordings the helper raises on where streamagg folds them: (what it raises, why).
CHAT_REFUSED: dict[str, tuple[type[Exception], str]] = {
    "constructed__keepalive-as-data": (
        json.JSONDecodeError,
        "the SDK decodes a keep-alive comment sent as data (`data: : keepalive`) as JSON",
    ),
    "constructed__mistral-thinking-references-padding": (
        RuntimeError,
        "content as a list of parts: the helper's accumulator wants an index in each",
    ),
    "constructed__tool-calls-single-object": (
        KeyError,
        "tool_calls as one object, not a list",
    ),
    "vercel-ai__mistral-magistral-thinking-and-text-parts": (
        RuntimeError,
        "content as a list of parts: the helper's accumulator wants an index in each",
    ),
    "vercel-ai__mistral-small-toolcall-no-index-single-chunk": (
        TypeError,
        "a tool call without an index",
    ),
}
#: Recordings that end in an error the server sent: the helper raises ``openai.APIError``.
CHAT_ERRORS = [
    "pydantic-ai__groq-gptoss-event-error-no-done",
    "pydantic-ai__openrouter-minimax-midstream-error-comments",
]
RESPONSES_ERRORS = ["vercel-ai__error-insufficient-quota-then-failed"]
#: ``get_final_completion()`` raises ``LengthFinishReasonError`` on a length finish, by design.
LENGTH = "openai-python__finish-length"

CHAT_COMPARED = [n for n in CHAT if n not in {*CHAT_REFUSED, *CHAT_ERRORS, LENGTH}]
RESPONSES_COMPARED = [n for n in RESPONSES if n not in RESPONSES_ERRORS]


# -- the tests ----------------------------------------------------------------------------------


def test_the_lists_of_recordings_name_recordings_that_exist() -> None:
    """Every recording the lists above name (refused, erring, with known deviations) is a
    bundled one that the tests below take: no name is stale or misspelt."""
    assert {*CHAT_REFUSED, *CHAT_ERRORS, LENGTH} <= set(CHAT)
    assert set(RESPONSES_ERRORS) <= set(RESPONSES)
    assert set(KNOWN) <= {*CHAT_COMPARED, *RESPONSES_COMPARED, *MESSAGES}


@pytest.mark.parametrize("name", CHAT_COMPARED)
def test_chat_helper_final_completion_is_the_fold(name: str) -> None:
    """``chat.completions.stream(...).get_final_completion()`` equals ``streamagg.replay`` of
    the recording and streamagg's fold of the helper's chunks, apart from the known
    deviations."""
    folded, final = chat_helper(chat_path(name))
    assert_folds_agree("chat", name, streamagg.replay(chat_path(name)), folded, final)


@pytest.mark.parametrize("name", RESPONSES_COMPARED)
def test_responses_helper_final_response_is_the_fold(name: str) -> None:
    """``responses.stream(...).get_final_response()`` equals ``responses.replay`` of the
    recording and ``responses.fold`` of the helper's events."""
    folded, final = responses_helper(STREAMS / "responses" / f"{name}.sse")
    replayed = responses.replay(STREAMS / "responses" / f"{name}.sse")
    assert_folds_agree("responses", name, replayed, folded, final)


@pytest.mark.parametrize("name", MESSAGES)
def test_messages_helper_final_message_is_the_fold(name: str) -> None:
    """``messages.stream(...).get_final_message()`` equals ``anthropic.replay`` of the
    recording and ``anthropic.fold`` of the helper's events."""
    folded, final = messages_helper(STREAMS / "anthropic" / f"{name}.sse")
    replayed = anthropic.replay(STREAMS / "anthropic" / f"{name}.sse")
    assert_folds_agree("anthropic", name, replayed, folded, final)


# The SDK's own dump warns about these providers' shapes (content parts, one tool call object).
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize(
    ("name", "error", "why"),
    [pytest.param(n, e, w, id=n) for n, (e, w) in CHAT_REFUSED.items()],
)
def test_chat_helper_refuses_what_streamagg_folds(
    name: str, error: type[Exception], why: str
) -> None:
    """The chat helper raises on these recordings (``why``); streamagg folds each."""
    with pytest.raises(error):
        chat_helper(chat_path(name))
    report = streamagg.replay(chat_path(name)).report
    assert report is not None
    assert report.complete, why


def test_chat_helper_refuses_a_length_finish_with_the_folded_completion() -> None:
    """``get_final_completion()`` raises ``LengthFinishReasonError`` for a length finish; the
    completion it carries is streamagg's fold."""
    with pytest.raises(openai.LengthFinishReasonError) as info:
        chat_helper(chat_path(LENGTH))
    replayed = streamagg.replay(chat_path(LENGTH))
    assert replayed.choices[0].finish_reason == "length"
    assert_same(replayed, info.value.completion, {})


@pytest.mark.parametrize("name", CHAT_ERRORS)
def test_chat_helper_and_streamagg_raise_the_same_server_error(name: str) -> None:
    """A chat stream that ends in the server's error: ``get_final_completion()`` raises
    ``openai.APIError`` and ``replay`` raises ``UpstreamError``, with the same error object."""
    client = openai_client(chat_path(name))
    with (
        pytest.raises(openai.APIError) as sdk,
        client.chat.completions.stream(
            model="m", messages=[{"role": "user", "content": PROMPT}]
        ) as stream,
    ):
        stream.get_final_completion()
    with pytest.raises(streamagg.UpstreamError) as ours:
        streamagg.replay(chat_path(name))
    assert ours.value.error == sdk.value.body


@pytest.mark.parametrize("name", RESPONSES_ERRORS)
def test_responses_helper_and_streamagg_raise_the_same_server_error(name: str) -> None:
    """A Responses stream that ends in the server's error: ``get_final_response()`` raises
    ``openai.APIError``; ``replay`` of the recording and ``fold`` of the helper's events raise
    ``UpstreamError`` with the same error object (the second with the SDK's as its cause)."""
    path = STREAMS / "responses" / f"{name}.sse"
    with (
        pytest.raises(openai.APIError) as sdk,
        openai_client(path).responses.stream(model="m", input=PROMPT) as stream,
    ):
        stream.get_final_response()
    with pytest.raises(streamagg.UpstreamError) as ours:
        responses.replay(path)
    with pytest.raises(streamagg.UpstreamError) as from_events:
        responses_helper(path)
    assert ours.value.error == sdk.value.body == from_events.value.error
    assert isinstance(from_events.value.__cause__, openai.APIError)


# The async twins (``AsyncOpenAI``/``AsyncAnthropic`` on ``httpx2.AsyncClient``, ``afold``) on
# every recording the sync tests compare: they give the same objects as the sync ones.


@pytest.mark.parametrize("name", CHAT_COMPARED)
def test_async_chat_helper_gives_what_the_sync_one_gives(name: str) -> None:
    """``AsyncOpenAI.chat.completions.stream``: the same final completion and fold."""
    assert anyio.run(achat_helper, chat_path(name)) == chat_helper(chat_path(name))


@pytest.mark.parametrize("name", RESPONSES_COMPARED)
def test_async_responses_helper_gives_what_the_sync_one_gives(name: str) -> None:
    """``AsyncOpenAI.responses.stream`` and ``responses.afold``: the same final response and
    fold."""
    path = STREAMS / "responses" / f"{name}.sse"
    assert anyio.run(aresponses_helper, path) == responses_helper(path)


@pytest.mark.parametrize("name", MESSAGES)
def test_async_messages_helper_gives_what_the_sync_one_gives(name: str) -> None:
    """``AsyncAnthropic.messages.stream`` and ``anthropic.afold``: the same final message and
    fold."""
    path = STREAMS / "anthropic" / f"{name}.sse"
    assert anyio.run(amessages_helper, path) == messages_helper(path)
