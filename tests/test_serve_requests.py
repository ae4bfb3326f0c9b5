"""``streamagg serve`` answers what each request asked for (issue 22): the last event of a file
without its final blank line is ended, a streaming call on a JSON answer gets a stream, a call
without usage gets no usage chunk, a recorded upstream error answers with the provider's status;
it picks recordings by name as documented, walks subfolders and takes the paths of every SDK's
base URL. Over a real loopback server (uvicorn), as clients see it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import streamagg
from streamagg import anthropic, gemini, responses
from streamagg.testing._answers import ended, upstream_status, whole, without_usage_chunks
from streamagg.testing._format import timed_segments
from streamagg.testing._server import RECORDING_HEADER, RecordingClashError, ReplayApp

from .dialects import GEMINI, MESSAGE, TEXT, TOOL_MESSAGE
from .helpers import STREAMS, serving

pytest.importorskip("uvicorn")

PLAIN = STREAMS / "openai-python__plain-content.sse"
GROQ_ERROR = STREAMS / "pydantic-ai__groq-gptoss-event-error-no-done.sse"
OPENROUTER_ERROR = STREAMS / "pydantic-ai__openrouter-minimax-midstream-error-comments.sse"
QUOTA_ERROR = STREAMS / "responses" / "vercel-ai__error-insufficient-quota-then-failed.sse"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def unended(data: bytes, ending: bytes) -> bytes:
    """``data`` with its final blank line (and line end) replaced by ``ending``."""
    return data.rstrip(b"\r\n") + ending


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over recordings that end without their final blank line, JSON answers, error
    streams and recordings of several dialects, some in subfolders."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "anthropic").mkdir()
    (folder / "deep" / "er").mkdir(parents=True)
    message = MESSAGE.read_bytes()
    (folder / "anthropic" / "no-newline.sse").write_bytes(unended(message, b""))
    (folder / "anthropic" / "one-newline.sse").write_bytes(unended(message, b"\n"))
    (folder / "deep" / "er" / "gemini-crlf.sse").write_bytes(unended(GEMINI.read_bytes(), b""))
    shutil.copy(TOOL_MESSAGE, folder / "anthropic" / TOOL_MESSAGE.name)
    shutil.copy(TEXT, folder / TEXT.name)
    shutil.copy(PLAIN, folder / PLAIN.name)
    for source in (GROQ_ERROR, OPENROUTER_ERROR, QUOTA_ERROR):
        shutil.copy(source, folder / source.name)
    chat = streamagg.to_dict(streamagg.replay(PLAIN))
    (folder / "chat-json.sse").write_text(json.dumps(chat))
    (folder / "message-json.sse").write_text(
        json.dumps(streamagg.to_dict(anthropic.replay(MESSAGE)))
    )
    (folder / "not-an-answer.sse").write_bytes(b"[1, 2]")
    overloaded = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":'
        b'"message","role":"assistant","content":[],"model":"c","usage":{"input_tokens":1,'
        b'"output_tokens":0}}}\n\nevent: error\ndata: {"type":"error","error":{"type":'
        b'"overloaded_error","message":"Overloaded"}}\n\n'
    )
    (folder / "anthropic" / "overloaded.sse").write_bytes(overloaded)
    with serving(ReplayApp(folder, timing=False)) as url:
        yield url


def raw(base: str, path: str, body: dict[str, Any], name: str) -> httpx.Response:
    with httpx.Client() as client:
        return client.post(f"{base}{path}", json=body, headers={RECORDING_HEADER: name})


# -- 1: the last event is ended ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["no-newline", "one-newline"])
def test_serve_ends_the_last_event_of_a_file_without_its_blank_line(
    served: str, name: str
) -> None:
    """A recording that lacks the final blank line is served with its last event ended: an SSE
    parser sees every event the fold sees (``message_stop`` included), as when the file has
    it, and the anthropic SDK's stream completes."""
    answer = raw(served, "/messages", {"stream": True}, name)
    events = list(streamagg.parse_sse(answer.content))
    whole = MESSAGE.read_bytes() + b"\n\n"  # the bundled file lacks its blank line too
    assert [e.event for e in events] == [e.event for e in streamagg.parse_sse(whole)]
    assert events[-1].event == "message_stop"
    anthropic_sdk = pytest.importorskip("anthropic")
    claude = anthropic_sdk.Anthropic(api_key="k", base_url=served.removesuffix("/v1"))
    with claude.messages.stream(
        model=name, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == anthropic.replay(MESSAGE).text


def test_a_crlf_stream_is_ended_with_crlf(served: str) -> None:
    """Gemini's CRLF stream without its final blank line is ended with CRLF; the app helper
    folds it to what the file replays to."""
    answer = raw(served, "/v1beta/models/gemini-crlf:streamGenerateContent", {}, "gemini-crlf")
    assert answer.content.endswith(b"\r\n\r\n")
    assert gemini.replay(answer.content) == gemini.replay(GEMINI)


@pytest.mark.parametrize(
    ("stream", "added"),
    [
        (b"data: 1\n\n", b""),
        (b"data: 1\r\n\r\n", b""),
        (b"data: 1\r\r", b""),
        (b"data: 1\n\r\n", b""),
        (b"data: 1\n", b"\n"),
        (b"data: 1\r\n", b"\r\n"),
        (b"data: 1\r", b"\r"),
        (b"data: 1", b"\n\n"),
        (b"data: 1\r\ndata: 2", b"\r\n\r\n"),
    ],
)
def test_ended_adds_only_what_ends_the_last_event(stream: bytes, added: bytes) -> None:
    """``ended`` adds the line ends a stream lacks after its last event, in the stream's own
    style, and nothing to a stream that ends in a blank line; pieces split anywhere."""
    for cut in range(1, len(stream)):
        pieces: list[tuple[float | None, bytes]] = [(None, stream[:cut]), (0.5, stream[cut:])]
        assert b"".join(p for _, p in ended(pieces)) == stream + added
        assert ended(pieces)[-1][0] == 0.5
    assert ended([]) == []


# -- 4: a streaming call on a JSON answer ----------------------------------------------------


def test_a_streaming_call_on_a_json_answer_gets_a_stream(served: str) -> None:
    """A recorded non-streaming answer served to a ``stream=True`` call is sent as the stream
    that folds to it: the openai SDK gets its chunks (not zero), the anthropic SDK its events,
    and a call that does not stream still gets the JSON."""
    openai = pytest.importorskip("openai")
    anthropic_sdk = pytest.importorskip("anthropic")
    want = streamagg.replay(PLAIN)
    client = openai.OpenAI(api_key="k", base_url=served)
    chunks = list(client.chat.completions.create(model="chat-json", messages=[], stream=True))
    assert len(chunks) > 3
    assert streamagg.fold(chunks) == want
    claude = anthropic_sdk.Anthropic(api_key="k", base_url=served)  # .../v1 works too
    with claude.messages.stream(
        model="message-json", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert stream.get_final_message().content[0].text == anthropic.replay(MESSAGE).text
    whole = raw(served, "/chat/completions", {}, "chat-json")
    assert whole.headers["content-type"] == "application/json"
    assert streamagg.from_dict(whole.json()) == want


def test_a_json_answer_that_does_not_fold_is_a_clear_error(served: str) -> None:
    """A JSON recording that is no answer cannot become a stream: 502 saying so."""
    answer = raw(served, "/chat/completions", {"stream": True}, "not-an-answer")
    assert answer.status_code == 502
    assert (
        "not-an-answer.sse holds no stream and does not fold" in answer.json()["error"]["message"]
    )


# -- 13: include_usage and upstream statuses ------------------------------------------------


def test_include_usage_false_leaves_the_usage_chunk_out(served: str) -> None:
    """``stream_options.include_usage: false`` gets no usage chunk, recorded or synthesized;
    without it (or with true) the recorded one is sent."""
    for name in ("openai-python__plain-content", "chat-json"):
        with httpx.Client() as client:
            kept = streamagg.chat(client, served, {"model": name})
            with kept as s:
                assert s.finish().usage is not None
            off = {"model": name, "stream_options": {"include_usage": False}}
            with streamagg.chat(client, served, off) as s:
                response = s.finish()
        assert response.usage is None
        assert response.choices == streamagg.replay(PLAIN).choices
        body = raw(served, "/chat/completions", {**off, "stream": True}, name).content
        assert b'"choices":[]' not in body
        assert body.endswith(b"data: [DONE]\n\n")


def test_without_usage_chunks_keeps_every_other_event() -> None:
    """Only chunks with ``choices: []`` and a usage go; their times stay with what follows."""
    segments = timed_segments(PLAIN.read_bytes())
    kept = without_usage_chunks(segments)
    assert len(kept) == len(segments) - 1
    assert streamagg.replay(b"".join(p for _, p in kept)).usage is None


def test_usage_chunks_are_told_by_their_json_only() -> None:
    """An event that mentions usage but is no usage chunk (not JSON, choices not empty, usage
    null, a comment) is kept."""
    events = [
        b'data: {"usage": \n\n',
        b'data: {"choices": [{}], "usage": {}}\n\n',
        b'data: {"choices": [], "usage": null}\n\n',
        b': "usage"\n\n',
        b'data: {"choices": [],\r\ndata: "usage": {"total_tokens": 1}}\r\n\r\n',
    ]
    kept = without_usage_chunks([(None, e) for e in events])
    assert [e for _, e in kept] == events[:4]


def test_an_upstream_error_that_is_not_an_object_answers_502() -> None:
    """Ollama's ``{"error": "..."}`` line carries a string: 502 with that message."""
    line = b'{"model":"m","message":{"role":"assistant","content":"hi"},"done":false}\n'
    status, body = whole(line + b'{"error": "model not found"}\n', "o.ndjson")
    assert (status, body) == (
        502,
        {"error": {"message": "model not found", "type": "upstream_error"}},
    )


@pytest.mark.parametrize(
    ("name", "path", "status"),
    [
        ("pydantic-ai__groq-gptoss-event-error-no-done", "/chat/completions", 400),
        ("pydantic-ai__openrouter-minimax-midstream-error-comments", "/chat/completions", 400),
        ("vercel-ai__error-insufficient-quota-then-failed", "/responses", 429),
        ("overloaded", "/messages", 529),
    ],
)
def test_a_recording_that_ended_in_an_upstream_error_answers_with_its_status(
    served: str, name: str, path: str, status: int
) -> None:
    """A non-streaming call on a stream that ended in the provider's error answers with that
    error and the provider's status (from the error's ``status_code``/``code``, or its
    documented type), not 502; a streaming call still gets the stream as recorded."""
    answer = raw(served, path, {}, name)
    assert answer.status_code == status
    assert answer.json()["error"]["message"]
    assert raw(served, path, {"stream": True}, name).status_code == 200


def test_the_openai_sdk_gets_the_providers_error(served: str) -> None:
    """The openai SDK raises ``BadRequestError`` for the Groq stream's 400 (a 502 was retried
    and raised as a server error)."""
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="k", base_url=served, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=GROQ_ERROR.stem, messages=[])
    assert "Tool call validation failed" in str(info.value)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ({"status_code": 400}, 400),
        ({"code": 429, "status": "RESOURCE_EXHAUSTED"}, 429),
        ({"code": "503"}, 503),
        ({"type": "rate_limit_error"}, 429),
        ({"code": "insufficient_quota"}, 429),
        ({"type": "overloaded_error", "code": 200}, 529),
        ({"code": True}, 502),
        ({"code": 99999, "type": "unheard_of"}, 502),
        ({}, 502),
    ],
)
def test_upstream_status(error: dict[str, Any], status: int) -> None:
    """The status an error carries (an error status only), else its documented type's, else
    502."""
    assert upstream_status(error) == status


# -- 6, 7, 8: subfolders, base URLs, picking by name ----------------------------------------


def test_recordings_in_subfolders_are_served_and_listed(served: str) -> None:
    """Recordings of subfolders (any depth) are served by name and listed in ``/v1/models``."""
    with httpx.Client() as client:
        names = {m["id"] for m in client.get(f"{served}/models").json()["data"]}
    assert {"no-newline", "gemini-crlf", TOOL_MESSAGE.stem, TEXT.stem} <= names
    with (
        httpx.Client() as client,
        anthropic.create(client, served, {"model": TOOL_MESSAGE.stem}) as s,
    ):
        assert s.finish() == anthropic.replay(TOOL_MESSAGE)


def test_every_sdks_base_url_works(served: str) -> None:
    """Paths under the openai SDK's base URL (``.../v1``) or under the server's root work for
    every route: ``/v1/v1/messages`` is ``/v1/messages``, ``/v1/v1beta/...`` Gemini's."""
    root = served.removesuffix("/v1")
    with httpx.Client() as client:
        for base in (root, served):
            assert client.get(f"{base}/v1/models").status_code == 200
            message = client.post(f"{base}/v1/messages", json={"model": TOOL_MESSAGE.stem})
            assert anthropic.from_dict(message.json()) == anthropic.replay(TOOL_MESSAGE)
            whole = client.post(f"{base}/v1beta/models/gemini-crlf:generateContent", json={})
            assert gemini.from_dict(whole.json()) == gemini.replay(GEMINI)
        assert client.post(f"{root}/v1/v1/v1/messages", json={}).status_code == 404


def test_picking_by_name_as_documented(served: str) -> None:
    """The header or the model names a recording, with or without its ending; the header wins
    over the model; a name of another dialect's recording is a 400 saying which dialect it
    is; a model that names no recording takes a turn among the endpoint's own."""
    text = responses.replay(TEXT)
    for body, header in (
        ({"model": TEXT.stem}, None),
        ({"model": TEXT.name}, None),
        ({"model": "no-newline"}, TEXT.name),
    ):
        headers = {RECORDING_HEADER: header} if header else {}
        with httpx.Client() as client:
            answer = client.post(f"{served}/responses", json=body, headers=headers)
        assert responses.from_dict(answer.json()) == text
    wrong = raw(served, "/responses", {}, "no-newline")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == {
        "message": "recording 'no-newline' is a stream of the anthropic dialect; this endpoint "
        "answers with responses recordings",
        "type": "invalid_request_error",
    }
    with httpx.Client() as client:
        by_model = client.post(f"{served}/responses", json={"model": "no-newline"})
        assert by_model.status_code == 400
        # A model that names no recording: the next Responses recording in turn (one of them
        # ended in a quota error, answered 429).
        turn = client.post(f"{served}/responses", json={"model": "gpt-4o"})
        assert turn.status_code in (200, 429)


def test_two_files_with_one_name_are_a_clash_naming_both(tmp_path: Path) -> None:
    """``a.sse`` and ``sub/a.sse`` (or ``a.ndjson`` beside ``a.sse``): ``check()`` raises
    naming both files; neither is served (a 403 naming both), the other recordings are."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "sub" / "a.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "b.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "b.ndjson").write_bytes(PLAIN.read_bytes())
    (tmp_path / "c.sse").write_bytes(PLAIN.read_bytes())
    app = ReplayApp(tmp_path, timing=False)
    with pytest.raises(RecordingClashError, match=r"named 'b': b\.ndjson and b\.sse"):
        app.check()
    (tmp_path / "b.ndjson").unlink()
    with pytest.raises(RecordingClashError, match=r"named 'a': a\.sse and sub/a\.sse"):
        app.check()
    assert sorted(app.recordings()) == ["b", "c"]
    with serving(app) as url, httpx.Client() as client:
        answer = client.post(f"{url}/chat/completions", json={}, headers={RECORDING_HEADER: "a"})
        assert answer.status_code == 403
        message = answer.json()["error"]["message"]
        assert (
            message
            == "recording 'a' is not served: two files have this name (a.sse and sub/a.sse)"
        )
        assert client.post(f"{url}/chat/completions", json={}).status_code == 200


def test_a_subfolder_change_is_noticed_and_hidden_folders_are_not_walked(
    tmp_path: Path,
) -> None:
    """A recording added to a subfolder after the listing is served at once (each folder's
    time is checked); folders whose name starts with a dot and links to folders are not
    walked."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.sse").write_bytes(PLAIN.read_bytes())
    (tmp_path / "linked").symlink_to(STREAMS / "anthropic", target_is_directory=True)
    (sub / "first.sse").write_bytes(PLAIN.read_bytes())
    old = sub.stat().st_mtime - 60
    for folder in (tmp_path, sub):
        os.utime(folder, (old, old))
    app = ReplayApp(tmp_path, timing=False)
    assert list(app.recordings()) == ["first"]
    (sub / "second.sse").write_bytes(PLAIN.read_bytes())
    assert sorted(app.recordings()) == ["first", "second"]


def test_folders_that_go_away_or_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subfolder that cannot be listed and a dangling link are left out, the rest served;
    a folder removed after its listing serves nothing (and comes back with its files)."""
    root = tmp_path / "root"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "hidden.sse").write_bytes(PLAIN.read_bytes())
    (root / "a.sse").write_bytes(PLAIN.read_bytes())
    (root / "dangling.sse").symlink_to(tmp_path / "nowhere.sse")
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    with monkeypatch.context() as m:
        m.setattr(os, "scandir", scandir)
        assert list(ReplayApp(root).recordings()) == ["a"]
    old = root.stat().st_mtime - 60
    os.utime(root / "locked", (old, old))
    os.utime(root, (old, old))
    app = ReplayApp(root)
    assert sorted(app.recordings()) == ["a", "hidden"]
    shutil.rmtree(root)
    assert app.recordings() == {}
    shutil.copytree(STREAMS / "anthropic", root)
    assert len(app.recordings()) == len(list(root.glob("*.sse")))


def test_a_recording_removed_since_the_listing_is_a_404(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recording listed but gone when it is read is answered 404 naming it."""
    from streamagg.testing import _server

    (tmp_path / "a.sse").write_bytes(PLAIN.read_bytes())

    def gone(*args: Any) -> Any:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(_server, "read_recording", gone)
    with serving(ReplayApp(tmp_path)) as url, httpx.Client() as client:
        answer = client.post(f"{url}/chat/completions", json={}, headers={RECORDING_HEADER: "a"})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "no recording named 'a'"


def test_a_folder_that_cannot_be_listed_raises_in_check(tmp_path: Path) -> None:
    """``check()`` says when the folder is not there (the server itself answers 404s)."""
    with pytest.raises(OSError, match="No such file"):
        ReplayApp(tmp_path / "gone").check()
    assert ReplayApp(tmp_path / "gone").recordings() == {}
