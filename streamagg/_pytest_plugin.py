"""The pytest plugin (entry point ``pytest11``): replay recorded streams, record missing ones.

``stream_cassette`` is a ``streamagg.testing.StreamCassette`` for the current test: its
recordings live in ``<folder of the test file>/recordings/<test module>/<test name>.sse``
(``streamagg_recordings`` in the ini file changes ``recordings``). By default a missing
recording fails the test; ``--streamagg-record=missing`` records it from the live service
instead, ``--streamagg-record=all`` records everything again, and ``--streamagg-timing`` replays
at the recorded pace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ._cassette import RECORD_MODES, StreamCassette

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("streamagg", "recorded chat-completion streams")
    group.addoption(
        "--streamagg-record",
        choices=RECORD_MODES,
        default="none",
        help="none: replay only (default); missing: record missing recordings from the live "
        "service; all: record every request again",
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


@pytest.fixture
def stream_cassette(request: pytest.FixtureRequest) -> Iterator[StreamCassette]:
    """A transport routing this test's requests to its recordings (see the module doc)."""
    folder = request.path.parent / str(request.config.getini("streamagg_recordings"))
    name = _UNSAFE.sub("_", request.node.name).strip("_")
    cassette = StreamCassette(
        folder / request.path.stem,
        name,
        mode=request.config.getoption("streamagg_record"),
        timing=request.config.getoption("streamagg_timing"),
    )
    yield cassette
    cassette.close()
