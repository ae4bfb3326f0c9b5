"""The pytest plugin, exercised with pytester: replay offline, fail clearly, record missing."""

from __future__ import annotations

import socket

import pytest

from .helpers import STREAMS

pytest_plugins = ["pytester"]

TEST_FILE = """
import httpx
import streamagg

URL = {url!r}


def test_weather(stream_cassette):
    with stream_cassette.client() as client:
        with streamagg.chat(client, URL, {{"model": "gpt-4o", "messages": []}}) as s:
            text = "".join(s.text())
    assert text.startswith("I'm unable")
    assert len(stream_cassette.requests) == 1


async def _twice(stream_cassette):
    async with stream_cassette.async_client() as client:
        for _ in range(2):
            async with streamagg.achat(client, URL, {{"model": "m", "messages": []}}) as s:
                await s.finish()


def test_two_calls(stream_cassette):
    import anyio

    anyio.run(_twice, stream_cassette)
    assert [p.name for p in stream_cassette.recorded] in ([], ["test_two_calls.sse",
                                                              "test_two_calls.1.sse"])
"""


def closed_port_url() -> str:
    """A URL where nothing listens: replaying must never go there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/openai-python__plain-content"


def test_replays_recordings_next_to_the_test(pytester: pytest.Pytester) -> None:
    """With recordings in ``recordings/<module>/``, tests pass offline."""
    pytester.makepyfile(test_app=TEST_FILE.format(url=closed_port_url()))
    folder = pytester.path / "recordings" / "test_app"
    folder.mkdir(parents=True)
    plain = (STREAMS / "openai-python__plain-content.sse").read_bytes()
    for name in ("test_weather.sse", "test_two_calls.sse", "test_two_calls.1.sse"):
        (folder / name).write_bytes(plain)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_missing_recording_fails_naming_file_and_option(pytester: pytest.Pytester) -> None:
    """Without a recording (and without the option) the test fails, saying how to record."""
    pytester.makepyfile(test_app=TEST_FILE.format(url=closed_port_url()))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "weather")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*RecordingMissingError*test_weather.sse*--streamagg-record=missing*"]
    )


def test_record_missing_from_the_live_service_then_replay(
    pytester: pytest.Pytester, server: str
) -> None:
    """``--streamagg-record=missing`` records from the live service; the next run replays."""
    pytester.makepyfile(test_app=TEST_FILE.format(url=f"{server}/openai-python__plain-content"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--streamagg-record=missing")
    result.assert_outcomes(passed=2)
    folder = pytester.path / "recordings" / "test_app"
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_two_calls.1.request.json",
        "test_two_calls.1.sse",
        "test_two_calls.request.json",
        "test_two_calls.sse",
        "test_weather.request.json",
        "test_weather.sse",
    ]
    kept = (folder / "test_weather.request.json").read_text()
    assert '"model": "gpt-4o"' in kept
    assert "authorization" not in kept.lower()
    assert b": t=" in (folder / "test_weather.sse").read_bytes()
    # Offline now: the URL points nowhere, the recordings answer.
    pytester.makepyfile(test_app=TEST_FILE.format(url=closed_port_url()))
    result = pytester.runpytest("-p", "no:cacheprovider", "--streamagg-timing")
    result.assert_outcomes(passed=2)


def test_ini_option_moves_the_recordings(pytester: pytest.Pytester) -> None:
    """``streamagg_recordings`` in the ini file names the folder."""
    pytester.makeini("[pytest]\nstreamagg_recordings = cassettes\n")
    pytester.makepyfile(test_app=TEST_FILE.format(url=closed_port_url()))
    folder = pytester.path / "cassettes" / "test_app"
    folder.mkdir(parents=True)
    (folder / "test_weather.sse").write_bytes(
        (STREAMS / "openai-python__plain-content.sse").read_bytes()
    )
    pytester.runpytest("-p", "no:cacheprovider", "-k", "weather").assert_outcomes(passed=1)


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    """The plugin's options appear in ``pytest --help``."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--streamagg-record*", "*--streamagg-timing*"])


CHANGED_FILE = """
import httpx
import pytest
import streamagg

URL = {url!r}


def test_weather(stream_cassette):
    with stream_cassette.client() as client:
        with streamagg.chat(client, URL, {{"model": {model!r}, "messages": []}}) as s:
            s.finish()


def test_own_client(stream_cassette):
    with httpx.Client() as client:
        client.get(URL)


@pytest.mark.streamagg(network=True)
def test_own_client_allowed(stream_cassette):
    with pytest.raises(Exception) as info:  # refused by the closed port, not by the plugin
        with httpx.Client() as client:
            client.get({closed!r})
    assert "NetworkForbidden" not in type(info.value).__name__
"""


def test_a_changed_request_fails_with_a_diff_and_records_again(
    pytester: pytest.Pytester, server: str
) -> None:
    """A test whose request changed fails with a diff of the two requests; with
    ``--streamagg-record=missing`` it is recorded again and then replays."""
    url = f"{server}/openai-python__plain-content"
    closed = closed_port_url()
    pytester.makepyfile(test_app=CHANGED_FILE.format(url=url, model="gpt-4o", closed=closed))
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--streamagg-record=missing", "-k", "weather"
    )
    result.assert_outcomes(passed=1)
    pytester.makepyfile(test_app=CHANGED_FILE.format(url=url, model="gpt-5", closed=closed))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "weather")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*RecordingMismatchError*not the request test_weather.sse recorded*",
            '*-    "model": "gpt-4o"*',
            '*+    "model": "gpt-5"*',
        ]
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--streamagg-record=missing", "-k", "weather"
    )
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "weather")
    result.assert_outcomes(passed=1)


def test_replay_forbids_the_network_unless_the_marker_allows_it(
    pytester: pytest.Pytester,
) -> None:
    """While a test replays, a request through any httpx client is a test error naming it;
    ``@pytest.mark.streamagg(network=True)`` lets real requests go."""
    closed = closed_port_url()
    pytester.makepyfile(
        test_app=CHANGED_FILE.format(url="http://example.com/x", model="m", closed=closed)
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "own_client")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*NetworkForbiddenError*GET http://example.com/x*"])


def test_unused_recordings_are_reported(pytester: pytest.Pytester) -> None:
    """Recordings a test had but did not use are listed at the end of the run."""
    pytester.makepyfile(test_app=TEST_FILE.format(url=closed_port_url()))
    folder = pytester.path / "recordings" / "test_app"
    folder.mkdir(parents=True)
    plain = (STREAMS / "openai-python__plain-content.sse").read_bytes()
    for name in ("test_weather.sse", "test_weather.1.sse"):
        (folder / name).write_bytes(plain)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "weather")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*recordings no request used*", "*test_weather.1.sse"])


def test_marker_sets_the_mode_of_one_test(pytester: pytest.Pytester, server: str) -> None:
    """``@pytest.mark.streamagg(record="missing")`` records that test's missing recording
    without the command-line option."""
    source = TEST_FILE.format(url=f"{server}/openai-python__plain-content").replace(
        "def test_weather", '@pytest.mark.streamagg(record="missing")\ndef test_weather'
    )
    pytester.makepyfile(test_app="import pytest\n" + source)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "weather")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "recordings" / "test_app" / "test_weather.sse").exists()
