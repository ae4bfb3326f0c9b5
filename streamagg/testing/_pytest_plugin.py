"""The pytest plugin (entry point ``pytest11``): replay recorded streams, record missing ones.

``stream_cassette`` is a ``streamagg.testing.StreamCassette`` for the current test: its
recordings live in ``<folder of the test file>/recordings/<test module>/<test name>.sse``
(``streamagg_recordings`` in the ini file changes ``recordings``), each with the request it
answers beside it (``<test name>.request.json``). ``stream_cassette.client()`` (or
``.async_client()``) is an httpx2 client on it (``client(stack="httpx")`` an httpx one), to use
as it is or to hand to an SDK: ``openai.OpenAI(http_client=stream_cassette.client())``. By
default a missing recording, or a request that is not the recorded one, fails the test (with a
diff); ``--streamagg-record=missing`` records it from the live service instead,
``--streamagg-record=all`` records everything again, and ``--streamagg-timing`` replays at the
recorded pace.

While a test replays, the real transports of every installed HTTP stack (httpx2's, and httpx's
when it is installed) refuse to send anything: a request that would leave the process, through
any client (an SDK's default one too), is a test error (``NetworkForbiddenError``). The marker
``@pytest.mark.streamagg(record=..., timing=..., volatile_keys=[...], secret_names=[...],
network=True)`` sets a test's own mode and options: ``volatile_keys`` and ``secret_names`` add
to the defaults (``DEFAULT_VOLATILE_KEYS``, ``DEFAULT_SECRET_NAMES``), ``network=True`` allows
real requests. At the end, the recordings that a test had but no request came for are listed.

An ``async def`` test that uses ``stream_cassette`` runs as it is written: when no async plugin
takes it (no ``anyio``, ``asyncio`` or ``trio`` marker), the plugin runs it on asyncio, through
anyio. A test kit error (a missing or changed recording, a forbidden request) is reported as its
message (the request, the diff, the command that records it again) after the frames of the
test's own code, without those of the HTTP stack, an SDK or streamagg (``--fulltrace`` shows
them all).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ._cassette import RECORD_MODES, StreamCassette
from ._errors import NetworkForbiddenError, RecordingMissingError
from ._replay_transport import describe
from ._stacks import installed

__all__: list[str] = []  # a pytest plugin: its hooks and fixture are found by name

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_UNUSED = pytest.StashKey[list[Path]]()
# The errors that say a test's requests and its recordings disagree (reported briefly).
_KIT_ERRORS = (RecordingMissingError, NetworkForbiddenError)
# The markers of the plugins that run async tests (anyio's, pytest-asyncio's, pytest-trio's).
_ASYNC_MARKERS = ("anyio", "asyncio", "trio")
# streamagg's own folder: its frames are not the test's code.
_PACKAGE = Path(__file__).resolve().parent.parent


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
        "streamagg(record=None, timing=None, volatile_keys=(), secret_names=(), network=False): "
        "this test's recording mode and options (see streamagg.testing._pytest_plugin)",
    )
    config.stash[_UNUSED] = []


def _refuse(request: Any) -> NetworkForbiddenError:
    return NetworkForbiddenError(
        f"{describe(request)} would leave the process while this test replays its "
        "recordings; record it (--streamagg-record=missing) or allow it with "
        "@pytest.mark.streamagg(network=True)"
    )


def _forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the real transports of every installed stack refuse to send."""

    def refuse_sync(self: Any, request: Any) -> Any:
        __tracebackhide__ = True
        raise _refuse(request)

    async def refuse_async(self: Any, request: Any) -> Any:
        __tracebackhide__ = True
        raise _refuse(request)

    for module in installed():
        monkeypatch.setattr(module.HTTPTransport, "handle_request", refuse_sync)
        monkeypatch.setattr(module.AsyncHTTPTransport, "handle_async_request", refuse_async)


@pytest.fixture
def stream_cassette(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamCassette]:
    """A transport routing this test's requests to its recordings (see the module doc);
    ``.client()`` and ``.async_client()`` give clients on it, in sync and async tests alike."""
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
        volatile_keys=options.get("volatile_keys") or (),
        secret_names=options.get("secret_names") or (),
    )
    if mode == "none" and not options.get("network", False):
        _forbid_network(monkeypatch)
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


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses ``stream_cassette`` and that no async plugin takes,
    on asyncio through anyio (see the module doc)."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    if "stream_cassette" not in pyfuncitem.fixturenames:
        return None
    if any(pyfuncitem.get_closest_marker(name) for name in _ASYNC_MARKERS):
        return None
    wanted = inspect.signature(function).parameters
    kwargs = {name: value for name, value in pyfuncitem.funcargs.items() if name in wanted}
    anyio.run(functools.partial(function, **kwargs))
    return True


def _own_code(path: Path, root: Path) -> bool:
    """Whether a frame's file is the tests' own code: under the root folder, and neither
    streamagg's nor an installed package's."""
    return (
        path.is_relative_to(root)
        and not path.is_relative_to(_PACKAGE)
        and not {"site-packages", "dist-packages"} & set(path.parts)
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Report a test kit error briefly (see the module doc)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    excinfo = call.excinfo
    if not (report.failed and excinfo is not None and isinstance(excinfo.value, _KIT_ERRORS)):
        return
    if item.config.getoption("fulltrace", False):
        return
    root = item.config.rootpath
    own = excinfo.traceback.filter(lambda entry: _own_code(Path(entry.path), root))
    excinfo.traceback = own if len(own) else excinfo.traceback.filter(excinfo)
    report.longrepr = excinfo.getrepr(style="short", chain=False)
