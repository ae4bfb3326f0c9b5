"""The pytest plugin (entry point ``pytest11``): replay recorded streams, record missing ones.

``stream_cassette`` is a ``streamagg.testing.StreamCassette`` for the current test: its
recordings live in ``<folder of the test file>/recordings/<test module>/<test name>.sse``
(``streamagg_recordings`` in the ini file changes ``recordings``), each with the request it
answers beside it (``<test name>.request.json``). By default a missing recording, or a request
that is not the recorded one, fails the test (with a diff); ``--streamagg-record=missing``
records it from the live service instead, ``--streamagg-record=all`` records everything again,
and ``--streamagg-timing`` replays at the recorded pace.

While a test replays, httpx's real transports refuse to send anything: a request that would
leave the process is a test error (``NetworkForbiddenError``). The marker
``@pytest.mark.streamagg(record=..., timing=..., volatile_keys=..., network=True)`` sets a
test's own mode and options (``network=True`` allows real requests). At the end, the
recordings that a test had but did not use are listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._cassette import RECORD_MODES, StreamCassette
from ._matching import DEFAULT_VOLATILE_KEYS
from ._replay_transport import NetworkForbiddenError, describe

__all__: list[str] = []  # a pytest plugin: its hooks and fixture are found by name

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_UNUSED = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("streamagg", "recorded LLM streams")
    group.addoption(
        "--streamagg-record",
        choices=RECORD_MODES,
        default="none",
        help="none: replay only (default); missing: record missing or changed requests from "
        "the live service; all: record every request again",
    )
    group.addoption(
        "--streamagg-timing",
        action="store_true",
        help="replay recordings at their recorded timing",
    )
    parser.addini(
        "streamagg_recordings",
        default="recordings",
        help="folder, next to each test file, holding stream recordings (default: recordings)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "streamagg(record=None, timing=None, volatile_keys=None, network=False): this test's "
        "recording mode and options (see streamagg.testing._pytest_plugin)",
    )
    config.stash[_UNUSED] = []


def _refuse(request: httpx.Request) -> NetworkForbiddenError:
    return NetworkForbiddenError(
        f"{describe(request)} would leave the process while this test replays its "
        "recordings; record it (--streamagg-record=missing) or allow it with "
        "@pytest.mark.streamagg(network=True)"
    )


@pytest.fixture
def stream_cassette(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamCassette]:
    """A transport routing this test's requests to its recordings (see the module doc)."""
    marker = request.node.get_closest_marker("streamagg")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    folder = request.path.parent / str(request.config.getini("streamagg_recordings"))
    name = _UNSAFE.sub("_", request.node.name).strip("_")
    mode = options.get("record") or request.config.getoption("streamagg_record")
    timing = options.get("timing")
    cassette = StreamCassette(
        folder / request.path.stem,
        name,
        mode=mode,
        timing=request.config.getoption("streamagg_timing") if timing is None else timing,
        volatile_keys=options.get("volatile_keys") or DEFAULT_VOLATILE_KEYS,
    )
    if mode == "none" and not options.get("network", False):

        def refuse_sync(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            raise _refuse(request)

        async def refuse_async(
            self: httpx.AsyncHTTPTransport, request: httpx.Request
        ) -> httpx.Response:
            raise _refuse(request)

        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_sync)
        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_async)
    yield cassette
    cassette.close()
    if mode == "none":
        had = sorted(cassette.directory.glob(f"{name}.sse")) + sorted(
            cassette.directory.glob(f"{name}.[0-9]*.sse")
        )
        request.config.stash[_UNUSED].extend(p for p in had if p not in cassette.used)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    unused = config.stash.get(_UNUSED, [])
    if unused:
        terminalreporter.section("streamagg: recordings no request used")
        for path in unused:
            terminalreporter.write_line(str(path))
