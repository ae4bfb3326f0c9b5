"""``StreamCassette``: the pytest plugin's transport, replaying a test's recordings or
recording them from the live service."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from .._core.limits import Limits
from ._matching import DEFAULT_VOLATILE_KEYS, deny_list, identity, mismatch, redacted_url
from ._recording import RecordingTransport
from ._replay_transport import RecordingMissingError, ReplayTransport, describe

__all__ = ["RECORD_MODES", "RecordingMismatchError", "RecordingMissingError", "StreamCassette"]

#: ``StreamCassette`` modes: replay only; record what is missing; record everything again.
RECORD_MODES = ("none", "missing", "all")


class RecordingMismatchError(RecordingMissingError):
    """The request is not the one its recording was made for (the test changed it): the
    message holds a diff of the two."""


def _request_file(recording: Path) -> Path:
    return recording.with_name(recording.name.removesuffix(".sse") + ".request.json")


class StreamCassette(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport that answers the ``n``-th request of a test with ``<name>.sse`` (``n`` = 0)
    or ``<name>.<n>.sse`` in ``directory``.

    ``mode`` says what happens when a recording is missing: ``"none"`` raises
    ``RecordingMissingError``; ``"missing"`` sends the request to the live service and records
    the answer; ``"all"`` records every request again. ``live`` is the transport to the live
    service (httpx's own by default). ``requests`` lists the requests, ``recorded`` the files
    written, ``used`` the recordings replayed.

    Each recording keeps the request it answers beside it (``NAME.request.json``: method,
    path, canonical JSON body without ``volatile_keys``, and a digest; never a header, never a
    credential). A request that is not the recorded one raises ``RecordingMismatchError`` with
    a diff (``"missing"`` mode records it again). Credentials are known by name: query
    parameters named like one are dropped and body fields named like one are kept as
    ``"[redacted]"``; the names are ``DEFAULT_SECRET_NAMES`` (``key``, ``api_key``,
    ``access_token``, ``code``, ``sig``, ``subscription-key``...) and ``secret_names``, compared
    without case or separators (``api_key``, ``API-Key`` and ``apikey`` are one name); the
    URLs in messages leave them out too.

    ``limits`` bounds what recording holds and reads (see ``RecordingTransport``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        name: str,
        *,
        mode: str = "none",
        timing: bool = False,
        live: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        volatile_keys: Iterable[str] = DEFAULT_VOLATILE_KEYS,
        secret_names: Iterable[str] = (),
        limits: Limits | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"mode must be one of {RECORD_MODES}, not {mode!r}")
        self.directory = Path(directory)
        self.name = name
        self.mode = mode
        self.timing = timing
        self.volatile_keys = frozenset(volatile_keys)
        #: The names of credentials (the defaults and ``secret_names``, as ``secret_name``
        #: writes them).
        self.secret_names = deny_list(secret_names)
        self.requests: list[httpx.Request] = []
        #: The recordings replayed (for the report of recordings no test used).
        self.used: list[Path] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._recorder = RecordingTransport(self._target, live, limits=limits)

    @property
    def recorded(self) -> list[Path]:
        return self._recorder.recorded

    def path(self, number: int) -> Path:
        """The recording of request ``number`` (0 for the first)."""
        return self.directory / (
            f"{self.name}.sse" if number == 0 else f"{self.name}.{number}.sse"
        )

    def _target(self, request: httpx.Request, _: int) -> Path:
        path = self.path(request.extensions["streamagg_number"])
        # What the recording answers, kept beside it (never a header: no credentials).
        kept = identity(request, self.volatile_keys, self.secret_names)
        path.parent.mkdir(parents=True, exist_ok=True)
        _request_file(path).write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
        return path

    def _changed(self, request: httpx.Request, path: Path) -> str | None:
        """The diff from the request a recording was made for, if it is another one (None
        without a kept request: recordings made before requests were kept)."""
        kept_file = _request_file(path)
        if not path.exists() or not kept_file.exists():
            return None
        try:
            kept = json.loads(kept_file.read_text())
        except ValueError:
            return None
        return mismatch(kept, identity(request, self.volatile_keys, self.secret_names))

    def _describe(self, request: httpx.Request) -> str:
        """``describe(request)`` with the URL's credentials left out (messages end up in
        test logs)."""
        url = redacted_url(request.url, self.secret_names)
        return describe(httpx.Request(request.method, url, content=request.content))

    def _route(self, request: httpx.Request) -> tuple[Path, bool]:
        """(the recording, whether to replay it)."""
        with self._lock:
            number = next(self._count)
            self.requests.append(request)
        path = self.path(number)
        request.extensions["streamagg_number"] = number
        changed = self._changed(request, path)
        if self.mode == "all" or (self.mode == "missing" and (not path.exists() or changed)):
            return path, False
        if changed:
            raise RecordingMismatchError(
                f"{self._describe(request)} is not the request {path.name} recorded (request "
                f"{number + 1} of the test); run pytest with --streamagg-record=missing to "
                f"record it again:\n{changed}"
            )
        if not path.exists():
            there = sorted(p.name for p in self.directory.glob(f"{self.name}.*sse"))
            raise RecordingMissingError(
                f"no recording {path} for {self._describe(request)} (request {number + 1} of the "
                f"test; its recordings: {there or 'none'}); run pytest with "
                "--streamagg-record=missing to record it from the live service"
            )
        return path, True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, replay_it = self._route(request)
        if replay_it:
            self.used.append(path)
            return ReplayTransport(path, timing=self.timing).handle_request(request)
        return self._recorder.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path, replay_it = self._route(request)
        if replay_it:
            self.used.append(path)
            return await ReplayTransport(path, timing=self.timing).handle_async_request(request)
        return await self._recorder.handle_async_request(request)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on this cassette."""
        return httpx.Client(transport=self, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on this cassette."""
        return httpx.AsyncClient(transport=self, **kwargs)

    def close(self) -> None:
        self._recorder.close()

    async def aclose(self) -> None:
        await self._recorder.aclose()
