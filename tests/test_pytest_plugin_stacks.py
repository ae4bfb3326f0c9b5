"""The pytest plugin on both HTTP stacks, exercised with pytester: replaying forbids real
requests through any client (the SDKs' default ones too), async tests run as written, a
cassette error is reported briefly, and the marker's keys add to the defaults."""

from __future__ import annotations

import importlib
import json
import socket

import pytest

from streamagg.testing import ReplayTransport, StreamCassette

from .helpers import STREAMS

pytest_plugins = ["pytester"]

PLAIN = STREAMS / "openai-python__plain-content.sse"


def closed_url() -> str:
    """A base URL where nothing listens: replaying must never go there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


FORBIDDEN = """
import anyio
import httpx2
import pytest

CLOSED = {closed!r}


def test_openai_default_client(stream_cassette):
    import openai

    openai.OpenAI(api_key="k", base_url=CLOSED).chat.completions.create(model="m", messages=[])


def test_async_openai_default_client(stream_cassette):
    import openai

    async def main():
        client = openai.AsyncOpenAI(api_key="k", base_url=CLOSED)
        await client.chat.completions.create(model="m", messages=[])

    anyio.run(main)


def test_anthropic_default_client(stream_cassette):
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=CLOSED.removesuffix("/v1"))
    client.messages.create(model="m", max_tokens=5, messages=[])


def test_httpx2_client(stream_cassette):
    httpx2.post(CLOSED + "/chat/completions", json={{"model": "m"}})


def test_httpx_client(stream_cassette):
    httpx = pytest.importorskip("httpx")
    httpx.post(CLOSED + "/chat/completions", json={{"model": "m"}})


@pytest.mark.streamagg(network=True)
def test_allowed(stream_cassette):
    import openai

    client = openai.OpenAI(api_key="k", base_url=CLOSED, max_retries=0)
    with pytest.raises(openai.APIConnectionError):  # the closed port, not the plugin
        client.chat.completions.create(model="m", messages=[])
"""


def test_replay_forbids_the_network_on_both_stacks_and_in_the_sdks(
    pytester: pytest.Pytester,
) -> None:
    """While a test replays, the SDKs' default clients (openai sync and async, anthropic) and
    plain clients of httpx2 and httpx fail with ``NetworkForbiddenError`` naming the request,
    at once (no SDK retries it); ``network=True`` lets them go."""
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    closed = closed_url()
    pytester.makepyfile(test_app=FORBIDDEN.format(closed=closed))
    result = pytester.runpytest("-p", "no:cacheprovider")
    forbidden = [
        ("openai_default_client", "chat/completions"),
        ("async_openai_default_client", "chat/completions"),
        ("anthropic_default_client", "messages"),
        ("httpx2_client", "chat/completions"),
    ]
    try:
        importlib.import_module("httpx")
    except ImportError:  # a run with httpx2 alone
        result.assert_outcomes(passed=1, failed=4, skipped=1)
    else:
        result.assert_outcomes(passed=1, failed=5)
        forbidden.append(("httpx_client", "chat/completions"))
    lines = []
    for name, path in forbidden:
        lines += [
            f"_* test_{name} _*",
            f"E   streamagg.testing.NetworkForbiddenError: POST {closed}/{path} (model 'm') "
            "would leave the process while this test replays its recordings; record it "
            "(--streamagg-record=missing) or allow it with @pytest.mark.streamagg(network=True)",
        ]
    result.stdout.fnmatch_lines(lines)


ASYNC = """
import openai
import pytest


async def test_as_written(stream_cassette):
    client = openai.AsyncOpenAI(
        api_key="k", base_url={closed!r}, http_client=stream_cassette.async_client()
    )
    answer = await client.chat.completions.create(model="m", messages=[])
    assert answer.choices[0].message.content.startswith("I'm unable")
    assert len(stream_cassette.requests) == 1


@pytest.mark.anyio
async def test_marked(stream_cassette):  # anyio's plugin runs it, as before
    client = openai.AsyncOpenAI(
        api_key="k", base_url={closed!r}, http_client=stream_cassette.async_client()
    )
    await client.chat.completions.create(model="m", messages=[])


async def test_without_the_fixture():  # not the plugin's to run: pytest says so
    pass
"""


def test_an_async_test_runs_as_written(pytester: pytest.Pytester) -> None:
    """An ``async def`` test with ``stream_cassette`` and no marker runs (on asyncio), its
    recording named after the test as for a sync test; a test marked for anyio is left to
    anyio, and an async test without the fixture to pytest."""
    pytest.importorskip("openai")
    pytester.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    )
    pytester.makepyfile(test_app=ASYNC.format(closed=closed_url()))
    folder = pytester.path / "recordings" / "test_app"
    folder.mkdir(parents=True)
    for name in ("test_as_written", "test_marked"):
        (folder / f"{name}.sse").write_bytes(PLAIN.read_bytes())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_without_the_fixture*async def functions*"])


CHANGED = """
import httpx2

URL = "http://api.test/v1"


def test_changed(stream_cassette):
    with stream_cassette.client() as client:
        client.post(URL + "/chat/completions", json={"model": "gpt-5", "stream": True})


def test_changed_in_an_sdk(stream_cassette):
    import anthropic

    http = stream_cassette.client()
    client = anthropic.Anthropic(api_key="k", base_url="http://api.test", http_client=http)
    client.messages.create(model="claude-5", max_tokens=5, messages=[])
"""


def _record(pytester: pytest.Pytester, name: str, url: str, body: dict[str, object]) -> None:
    """The recording (and its kept request) that the test ``name`` of ``test_app`` had."""
    folder = pytester.path / "recordings" / "test_app"
    cassette = StreamCassette(folder, name, mode="missing", live=ReplayTransport(PLAIN))
    cassette.client().post(url, json=body).read()


def test_a_changed_request_is_reported_briefly_and_not_as_unused(
    pytester: pytest.Pytester,
) -> None:
    """A request that is not the recorded one fails the test with the diff and the command,
    after the test's own frame only (no frame of httpx2, an SDK or streamagg; the SDK does not
    turn it into a connection error), and its recording is not listed as one no request
    used."""
    pytest.importorskip("anthropic")
    _record(
        pytester,
        "test_changed",
        "http://api.test/v1/chat/completions",
        {"model": "gpt-4o", "stream": True},
    )
    _record(
        pytester,
        "test_changed_in_an_sdk",
        "http://api.test/v1/messages",
        {"model": "claude-4", "max_tokens": 5, "messages": []},
    )
    pytester.makepyfile(test_app=CHANGED)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_app.py:*: in test_changed",
            "E   streamagg.testing.RecordingMismatchError: POST http://api.test/v1/chat/"
            "completions (model 'gpt-5') is not the request test_changed.sse recorded (request "
            "1 of the test); run pytest with --streamagg-record=missing to record it again:",
            '*-    "model": "gpt-4o",',
            '*+    "model": "gpt-5",',
            "test_app.py:*: in test_changed_in_an_sdk",
            "E   streamagg.testing.RecordingMismatchError: POST http://api.test/v1/messages "
            "(model 'claude-5') is not the request test_changed_in_an_sdk.sse recorded*",
        ]
    )
    output = result.stdout.str()
    assert "site-packages" not in output
    assert "streamagg/testing" not in output
    assert "APIConnectionError" not in output
    assert "recordings no request used" not in output
    full = pytester.runpytest("-p", "no:cacheprovider", "--fulltrace", "-k", "test_changed")
    assert "httpx2/_client.py" in full.stdout.str()


KEYS = """
import pytest

URL = {url!r}


@pytest.mark.streamagg(volatile_keys=["seed"], secret_names=["tenant"])
def test_keys(stream_cassette):
    body = {{"model": "m", "user": {user!r}, "seed": {seed}, "tenant": "acme-secret"}}
    with stream_cassette.client() as client:
        client.post(URL, json={{**body, "stream": True}}).read()
"""


def test_the_markers_keys_add_to_the_defaults(pytester: pytest.Pytester, server: str) -> None:
    """The marker's ``volatile_keys`` add to the defaults (a changed ``user`` and a changed
    ``seed`` still match) and its ``secret_names`` reach the cassette (``tenant`` is kept
    redacted)."""
    url = f"{server}/openai-python__plain-content/chat/completions"
    pytester.makepyfile(test_app=KEYS.format(url=url, user="u-1", seed=1))
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--streamagg-record=missing")
    recorded.assert_outcomes(passed=1)
    kept = json.loads(
        (pytester.path / "recordings" / "test_app" / "test_keys.request.json").read_text()
    )
    assert kept["body"] == {"model": "m", "stream": True, "tenant": "[redacted]"}
    pytester.makepyfile(test_app=KEYS.format(url=url, user="u-2", seed=2))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
