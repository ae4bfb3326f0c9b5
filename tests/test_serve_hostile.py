"""Hostile input to ``streamagg serve`` and its fault specs (issue 21): specs past their bounds
or not numbers, folders holding links out, FIFOs and huge files, non-ASCII headers, and large
folders. Memory is measured with ``tracemalloc``, never with a clock."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import threading
import tracemalloc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

import streamagg
from streamagg.testing import Faults, ReplayTransport, _folder, _server
from streamagg.testing import _faults as faults_module
from streamagg.testing._faults import CUT, FAULT_HEADER, plan
from streamagg.testing._server import RECORDING_HEADER, ReplayApp

from .helpers import STREAMS, serving

PLAIN = STREAMS / "openai-python__plain-content.sse"
RAW = PLAIN.read_bytes()
KEEPALIVE = b": keepalive\n\n"


@attrs.define
class Answer:
    """What the ASGI app sent for one request: the status, the body's size and SHA-256, its
    pieces (at most ``keep`` of them kept), and the error message of a JSON error."""

    status: int | None = None
    size: int = 0
    pieces: int = 0
    kept: list[bytes] = attrs.field(factory=list)
    digest: Any = attrs.field(factory=hashlib.sha256)

    @property
    def error(self) -> str:
        message: str = json.loads(b"".join(self.kept))["error"]["message"]
        return message


async def acall(
    app: ReplayApp,
    headers: Mapping[str, str | bytes] | None = None,
    *,
    leave_after: int | None = None,
    route: str = "POST /v1/chat/completions",
    keep: int = 100,
) -> Answer:
    """Call the ASGI app once (a streaming call, model ``any``); keep the first ``keep`` body
    pieces. The client leaves after ``leave_after`` pieces (else it stays to the end)."""
    answer = Answer()
    payload = json.dumps({"model": "any", "stream": True}).encode()
    inbox = [{"type": "http.request", "body": payload}]
    left = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if inbox:
            return inbox.pop(0)
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            return
        piece = message.get("body", b"")
        if piece:
            answer.size += len(piece)
            answer.pieces += 1
            answer.digest.update(piece)
            if len(answer.kept) < keep:
                answer.kept.append(piece)
        if leave_after is not None and answer.pieces >= leave_after:
            left.set()

    raw = [
        (k.lower().encode(), v if isinstance(v, bytes) else v.encode())
        for k, v in (headers or {}).items()
    ]
    method, path = route.split()
    scope = {"type": "http", "method": method, "path": path, "headers": raw}
    await app(scope, receive, send)
    return answer


def call(
    app: ReplayApp, headers: Mapping[str, str | bytes] | None = None, **options: Any
) -> Answer:
    """``acall`` on a new event loop."""
    return asyncio.run(acall(app, headers, **options))


def call_within(app: ReplayApp, seconds: float, **options: Any) -> Answer:
    """``call`` on a thread, failing (not hanging) when the app has not answered in time: a
    guard against a server frozen on a read, not a timing assertion."""
    answers: list[Answer] = []
    thread = threading.Thread(target=lambda: answers.append(call(app, **options)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert answers, f"the app did not answer within {seconds} s (frozen)"
    return answers[0]


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of memory allocated (bytes, by ``tracemalloc``) inside the block, appended to
    the list it gives when the block ends."""
    tracemalloc.start()
    peak: list[int] = []
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of recordings holding ``plain.sse``, beside a secret file outside it."""
    path = tmp_path / "recordings"
    path.mkdir()
    (path / "plain.sse").write_bytes(RAW)
    (tmp_path / "secret.txt").write_bytes(b"TOPSECRET\n")
    return path


# -- fault specs: bounds, NaN and infinity (bugs 13 and 14) ---------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stall=1000,keepalive=0.00001", "keepalive must be at least 0.001"),
        ("keepalive=0.0009", "keepalive must be at least 0.001"),
        ("keepalive=0", "keepalive must be at least 0.001"),
        ("stall=3601", "stall must be at most 3600"),
        ("stall=1e300", "stall must be at most 3600"),
        ("speed=0.0009", "speed must be at least 0.001"),
        ("cut-after-event=1.5", "takes a whole number"),
        ("rechunk-random=maybe", "takes true or false"),
    ],
)
def test_a_spec_past_the_bounds_is_a_value_error(spec: str, message: str) -> None:
    """A spec past the documented bounds raises ``ValueError`` saying which bound."""
    with pytest.raises(ValueError, match=message):
        Faults.parse(spec)


def test_the_bounds_themselves_are_accepted() -> None:
    """The bounds are inclusive: an hour's stall, a keep-alive every 1 ms, speed 0.001."""
    faults = Faults.parse("stall=3600,keepalive=0.001,speed=0.001,rechunk=1")
    assert faults == Faults(stall=3600.0, keepalive=0.001, speed=0.001, rechunk=1)
    assert faults_module.MAX_STALL == 3600
    assert faults_module.MIN_KEEPALIVE == faults_module.MIN_SPEED == 0.001


@pytest.mark.parametrize("name", ["stall", "keepalive", "speed"])
@pytest.mark.parametrize("text", ["nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e999"])
def test_nan_and_infinity_are_refused_in_specs(name: str, text: str) -> None:
    """No fault spec number may be NaN or infinite (NaN passed ``value < 0`` and broke
    asyncio's timer heap)."""
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        Faults.parse(f"{name}={text}")


@pytest.mark.parametrize(
    "options",
    [
        {"stall": math.nan},
        {"stall": math.inf},
        {"keepalive": math.nan},
        {"keepalive": math.inf},
        {"speed": math.nan},
        {"speed": math.inf},
        {"cut_after_event": math.nan},
        {"cut_after_byte": math.inf},
        {"error_after_event": 2.5},
        {"stall_after_event": math.nan},
        {"rechunk": math.inf},
    ],
)
def test_nan_and_infinity_are_refused_in_fields(options: dict[str, Any]) -> None:
    """``Faults(...)`` refuses NaN, infinity and fractions in its fields, as its spec does."""
    with pytest.raises((ValueError, TypeError)):
        Faults(**options)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stall=nan", "stall must be a finite number"),
        ("keepalive=0.00001", "keepalive must be at least 0.001"),
        ("stall=1000,keepalive=0.00001", "keepalive must be at least 0.001"),
        ("stall=7200", "stall must be at most 3600"),
    ],
)
def test_serve_answers_a_spec_past_the_bounds_with_400(
    folder: Path, spec: str, message: str
) -> None:
    """``serve`` answers a refused ``X-Streamagg-Fault`` spec 400, naming the bound, and plans
    nothing (``stall=1000,keepalive=0.00001`` once built 1e8 steps in the event loop)."""
    answer = call(ReplayApp(folder, timing=False), {FAULT_HEADER: spec})
    assert answer.status == 400
    assert message in answer.error


def test_a_refused_spec_on_a_real_server_leaves_other_clients_served(folder: Path) -> None:
    """Over uvicorn, the spec that once froze the server for every client is a 400, and the
    next client is served."""
    pytest.importorskip("uvicorn")
    with serving(ReplayApp(folder, timing=False)) as url, httpx.Client(timeout=30) as client:
        headers = {FAULT_HEADER: "stall=1000,keepalive=0.00001"}
        bad = client.post(f"{url}/chat/completions", json={"stream": True}, headers=headers)
        assert bad.status_code == 400
        with streamagg.chat(client, url, {"model": "plain"}) as s:
            assert s.finish() == streamagg.replay(PLAIN)


def test_a_long_stall_with_keepalives_is_planned_lazily_by_serve(folder: Path) -> None:
    """An hour's stall with a keep-alive every 1 ms (3.6 million steps) costs ``serve`` what
    one step costs: the keep-alives start at once and memory stays flat."""
    app = ReplayApp(folder, timing=False)
    headers = {FAULT_HEADER: "stall=3600,keepalive=0.001"}
    with peak_memory() as peak:
        answer = call(app, headers, leave_after=5)
    assert answer.status == 200
    assert answer.kept == [KEEPALIVE] * 5
    assert peak[0] < 2 * 1024 * 1024


def test_a_long_stall_with_keepalives_is_planned_lazily_by_the_transport() -> None:
    """``ReplayTransport`` too makes its plan as the body is read, not at the request."""
    transport = ReplayTransport(PLAIN, faults="stall=3600,keepalive=0.001")
    with httpx.Client(transport=transport) as client:
        with peak_memory() as peak, client.stream("POST", "http://t/v1/chat/completions") as r:
            pieces = r.iter_raw()
            first = [next(pieces) for _ in range(3)]
        assert first == [KEEPALIVE] * 3
    assert peak[0] < 2 * 1024 * 1024


def test_rechunk_one_holds_about_the_recording_not_a_step_per_byte(folder: Path) -> None:
    """``rechunk=1`` sends a recording a byte at a time holding about the recording's size
    (a step per byte once held 35 times the recording)."""
    big = RAW * (256 * 1024 // len(RAW) + 1)
    (folder / "big.sse").write_bytes(big)
    app = ReplayApp(folder, timing=False)
    headers = {RECORDING_HEADER: "big", FAULT_HEADER: "rechunk=1"}
    with peak_memory() as peak:
        answer = call(app, headers, keep=0)
    assert answer.status == 200
    assert answer.pieces == answer.size == len(big)
    assert answer.digest.digest() == hashlib.sha256(big).digest()
    assert peak[0] < 4 * len(big)


def test_recorded_times_that_are_not_finite_wait_a_bounded_time() -> None:
    """Recorded times that are infinite (a float of 400 digits), NaN (infinity minus infinity)
    or huge once slowed down give waits within ``[0, MAX_WAIT]``, never NaN or infinity."""
    segments = [(math.inf, b"a"), (math.inf, b"b"), (math.nan, b"c"), (1e15, b"d"), (0.0, b"e")]
    for faults in (None, Faults(speed=0.001), Faults(speed=0.001, keepalive=3600.0)):
        steps = plan(segments, faults, timing=True)
        assert b"".join(data for _, data in steps if data and data != KEEPALIVE) == b"abcde"
        assert all(0 <= wait <= faults_module.MAX_WAIT for wait, _ in steps)


def test_past_the_end_a_cut_and_an_error_never_both_end_the_stream() -> None:
    """A cut and an error both due after the recording's end: the first of them ends the
    stream (the cut on a tie), as within it (found by ``tests/fuzz/fuzz_faults.py``)."""
    segments = [(None, b"data: {}\n\n")] * 3
    steps = plan(segments, Faults(error_after_event=388, cut_after_event=837), timing=False)
    assert steps[-1][1] is not None
    assert b"injected fault" in steps[-1][1]
    assert CUT not in [data for _, data in steps]
    steps = plan(segments, Faults(error_after_event=5, cut_after_event=5), timing=False)
    assert [data for _, data in steps][3:] == [CUT]


def test_a_delay_that_is_not_a_finite_number_is_refused(folder: Path) -> None:
    """``delay`` (of ``serve`` and ``ReplayTransport``) must be a finite number, not negative."""
    for delay in (math.nan, math.inf, -1.0):
        with pytest.raises(ValueError, match="delay must be a finite number"):
            ReplayApp(folder, delay=delay)
        with pytest.raises(ValueError, match="delay must be a finite number"):
            ReplayTransport(PLAIN, delay=delay)


# -- the folder: links out, FIFOs, huge files, reads off the loop (judgement a) -------------


def test_a_link_out_of_the_folder_is_refused(folder: Path) -> None:
    """A symbolic link out of the folder (to a secret, to ``/dev/zero``) is not served: 403
    naming the reason, never its bytes, and not listed; a link to a file of the folder is."""
    (folder / "leak.sse").symlink_to(folder.parent / "secret.txt")
    (folder / "alias.sse").symlink_to(folder / "plain.sse")
    app = ReplayApp(folder, timing=False)
    leak = call(app, {RECORDING_HEADER: "leak"})
    assert leak.status == 403
    assert leak.error == "recording 'leak' is not served: it leads outside the folder"
    assert b"TOPSECRET" not in b"".join(leak.kept)
    if Path("/dev/zero").exists():
        (folder / "zero.sse").symlink_to("/dev/zero")
        zero = call(app, {RECORDING_HEADER: "zero.sse"})
        assert zero.status == 403
        assert "outside the folder" in zero.error
    assert call(app, {RECORDING_HEADER: "alias"}).digest.digest() == hashlib.sha256(RAW).digest()
    for _ in range(3):  # in turn: only the recordings that are served
        assert b"TOPSECRET" not in b"".join(call(app).kept)
    models = json.loads(b"".join(call(app, route="GET /v1/models").kept))
    assert [m["id"] for m in models["data"]] == ["alias", "plain"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_or_a_folder_in_the_folder_is_refused_not_read(folder: Path) -> None:
    """A FIFO (or a folder) with a recording's ending is never opened for the recordings in
    turn, and naming it is a 403: once, the first request that named no recording froze the
    whole server on it."""
    fifo = folder / "pipe.sse"
    os.mkfifo(fifo)
    (folder / "sub.sse").mkdir()
    app = ReplayApp(folder, timing=False)
    try:
        answer = call_within(app, 20)
        assert answer.status == 200
        assert answer.digest.digest() == hashlib.sha256(RAW).digest()
        named = call_within(app, 20, headers={RECORDING_HEADER: "pipe"})
        assert named.status == 403
        assert named.error == "recording 'pipe' is not served: it is not a regular file"
        assert call_within(app, 20, headers={RECORDING_HEADER: "sub"}).status == 403
    finally:  # a reader stuck on the FIFO (before the fix) gets its end of file
        with suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_a_recording_larger_than_the_maximum_is_refused(folder: Path) -> None:
    """A recording over ``max_recording`` bytes (``MAX_RECORDING``, 256 MiB, by default) is
    refused with a 403 saying so, also when it grew past it after the folder was listed."""
    assert _folder.MAX_RECORDING == 256 * 1024 * 1024
    (folder / "big.sse").write_bytes(b"data: {}\n\n" * 200)
    (folder / "grows.sse").write_bytes(RAW[:1000])
    app = ReplayApp(folder, timing=False, max_recording=1500)
    big = call(app, {RECORDING_HEADER: "big"})
    assert big.status == 403
    assert big.error == "recording 'big' is not served: it is larger than 1500 bytes"
    assert call(app, {RECORDING_HEADER: "grows"}).status == 200
    with (folder / "grows.sse").open("ab") as grows:  # the folder's listing does not change
        grows.write(b": padding\n\n" * 100)
    grown = call(app, {RECORDING_HEADER: "grows"})
    assert grown.status == 403
    assert "larger than 1500 bytes" in grown.error


def test_files_are_read_off_the_event_loop(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording is read on a worker thread: while one read is stuck (a slow disk), other
    requests are served."""
    (folder / "slow.sse").write_bytes(RAW)
    release = threading.Event()
    readers: set[int] = set()
    real = _folder.read_recording

    def read(path: Path, *args: Any) -> Any:
        readers.add(threading.get_ident())
        if path.stem == "slow":
            assert release.wait(20), "never released"
        return real(path, *args)

    monkeypatch.setattr(_server, "read_recording", read)
    app = ReplayApp(folder, timing=False)

    async def both() -> tuple[Answer, Answer, bool]:
        slow = asyncio.ensure_future(acall(app, {RECORDING_HEADER: "slow"}))
        fast = await acall(app, {RECORDING_HEADER: "plain"})
        waiting = not slow.done()
        release.set()
        return fast, await slow, waiting

    fast, slow, slow_was_waiting = asyncio.run(both())
    assert slow_was_waiting
    assert fast.status == slow.status == 200
    assert threading.get_ident() not in readers


# -- headers and listings (judgements c and d) ----------------------------------------------


def test_a_utf8_recording_header_picks_its_recording(folder: Path) -> None:
    """``X-Streamagg-Recording`` is read as UTF-8 (``café``, ``日本``), and bytes that are not
    UTF-8 as latin-1 (what older clients send)."""
    (folder / "café.sse").write_bytes(RAW)
    (folder / "日本.sse").write_bytes(RAW)
    app = ReplayApp(folder, timing=False)
    for value in ("café".encode(), "日本".encode(), "café".encode("latin-1")):
        assert call(app, {RECORDING_HEADER: value}).status == 200, value
    assert call(app, {RECORDING_HEADER: b"caf\xc3"}).status == 404


def test_a_utf8_recording_header_over_a_real_server(folder: Path) -> None:
    """Over uvicorn, a UTF-8 ``X-Streamagg-Recording`` picks its recording."""
    pytest.importorskip("uvicorn")
    (folder / "café.sse").write_bytes(RAW)
    with serving(ReplayApp(folder, timing=False)) as url, httpx.Client() as client:
        headers = {RECORDING_HEADER.encode(): "café".encode()}
        answer = client.post(f"{url}/chat/completions", json={"stream": True}, headers=headers)
        assert answer.status_code == 200
        assert answer.content == RAW


def test_the_folder_is_listed_once_until_it_changes(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing is kept while the folder's modification time stays (one listing for many
    requests), and a file added later counts at once, even within the same clock tick."""
    for n in range(20):
        (folder / f"r{n}.sse").write_bytes(RAW)
    old = folder.stat().st_mtime - 60
    os.utime(folder, (old, old))
    listings = []
    for name in ("scandir", "listdir"):
        real = getattr(os, name)

        def counted(*args: Any, _real: Any = real) -> Any:
            listings.append(args)
            return _real(*args)

        monkeypatch.setattr(os, name, counted)
    app = ReplayApp(folder, timing=False)
    for _ in range(5):
        assert call(app, {RECORDING_HEADER: "r3"}).status == 200
    assert "r19" in app.recordings()
    assert len(listings) == 1
    (folder / "new.sse").write_bytes(RAW)
    assert call(app, {RECORDING_HEADER: "new"}).status == 200
    (folder / "newer.sse").write_bytes(RAW)  # same tick, maybe: listed again anyway
    assert call(app, {RECORDING_HEADER: "newer"}).status == 200
    (folder / "new.sse").unlink()
    assert call(app, {RECORDING_HEADER: "new"}).status == 404


def test_recordings_in_turn_detect_each_dialect_once(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taking turns reads every recording once to learn its dialect, then only the one that
    answers (per version of the file)."""
    for n in range(5):
        (folder / f"r{n}.sse").write_bytes(RAW)
    reads: list[str] = []
    real = _folder.read_recording

    def read(path: Path, *args: Any) -> Any:
        reads.append(path.stem)
        return real(path, *args)

    monkeypatch.setattr(_server, "read_recording", read)
    app = ReplayApp(folder, timing=False)
    assert call(app).status == 200
    assert len(reads) == 6 + 1  # six recordings detected, one sent
    reads.clear()
    assert call(app).status == 200
    assert len(reads) == 1


def test_a_recording_rewritten_in_place_is_noticed_when_next_served(folder: Path) -> None:
    """A recording rewritten in place (the folder's time stays) is listed again once it is
    served: a chat recording that became an Anthropic one answers ``/v1/messages`` after."""
    anthropic = STREAMS / "anthropic" / "anthropic-sdk-python__claude3-opus-text-with-ping.sse"
    old = folder.stat().st_mtime - 60
    os.utime(folder, (old, old))
    app = ReplayApp(folder, timing=False)
    assert call(app).status == 200
    (folder / "plain.sse").write_bytes(anthropic.read_bytes())
    os.utime(folder, (old, old))
    call(app)  # served as listed, then noticed
    assert call(app).status == 404
    assert call(app, route="POST /v1/messages").status == 200
