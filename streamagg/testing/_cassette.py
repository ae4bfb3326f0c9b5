"""``StreamCassette``: the pytest plugin's transport, replaying a test's recordings or
recording them from the live service."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from .._app import stack as stacks
from .._core.limits import Limits
from ._errors import RecordingMismatchError, RecordingMissingError
from ._matching import DEFAULT_VOLATILE_KEYS, deny_list, identity, mismatch, redacted_url
from ._recording import RecordingTransport
from ._replay_transport import ReplayTransport, describe
from ._stacks import Transport

if TYPE_CHECKING:
    import httpx
    import httpx2

    from .._app.stack import AsyncClient, Client, Request
    from ._stacks import AnyTransport

__all__ = ["RECORD_MODES", "RecordingMismatchError", "RecordingMissingError", "StreamCassette"]

#: ``StreamCassette`` modes: replay only; record what is missing; record everything again.
RECORD_MODES = ("none", "missing", "all")


def _request_file(recording: Path) -> Path:
    return recording.with_name(recording.name.removesuffix(".sse") + ".request.json")


class StreamCassette(Transport):
    """A transport (httpx2 and httpx, sync and async) that answers the ``n``-th request of a
    test with ``<name>.sse`` (``n`` = 0) or ``<name>.<n>.sse`` in ``directory``; ``client()``
    and ``async_client()`` give a client on it, of the stack asked for.

    ``mode`` says what happens when a recording is missing: ``"none"`` raises
    ``RecordingMissingError``; ``"missing"`` sends the request to the live service and records
    the answer (replacing what was there); ``"all"`` records every request again. ``live`` is
    the transport to the live service (by default the stack's own, of the client's stack).
    ``requests`` lists the requests, ``recorded`` the files written, ``used`` the recordings
    that requests came for (replayed, or refused as another request's).

    Each recording keeps the request it answers beside it (``NAME.request.json``: method,
    path, canonical JSON body without the volatile keys, and a digest; never a header, never a
    credential). The volatile keys are ``DEFAULT_VOLATILE_KEYS`` (``user``, ``metadata``...)
    and ``volatile_keys``. A request that is not the recorded one raises
    ``RecordingMismatchError`` with a diff (``"missing"`` mode records it again). A request
    that asks for what its recording is not (a stream of a recorded JSON answer, or the
    reverse) gets it made (``ReplayTransport``). Credentials are known by name: query
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
        live: AnyTransport | None = None,
        volatile_keys: Iterable[str] = (),
        secret_names: Iterable[str] = (),
        limits: Limits | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"mode must be one of {RECORD_MODES}, not {mode!r}")
        self.directory = Path(directory)
        self.name = name
        self.mode = mode
        self.timing = timing
        #: The body keys left out of a request's identity (the defaults and
        #: ``volatile_keys``).
        self.volatile_keys = DEFAULT_VOLATILE_KEYS | frozenset(volatile_keys)
        #: The names of credentials (the defaults and ``secret_names``, as ``secret_name``
        #: writes them).
        self.secret_names = deny_list(secret_names)
        self.requests: list[Request] = []
        #: The recordings requests came for (for the report of recordings no test used).
        self.used: list[Path] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._recorder = RecordingTransport(self._target, live, limits=limits, overwrite=True)

    @property
    def recorded(self) -> list[Path]:
        return self._recorder.recorded

    def path(self, number: int) -> Path:
        """The recording of request ``number`` (0 for the first)."""
        return self.directory / (
            f"{self.name}.sse" if number == 0 else f"{self.name}.{number}.sse"
        )

    def _target(self, request: Request, _: int) -> Path:
        path = self.path(request.extensions["streamagg_number"])
        # What the recording answers, kept beside it (never a header: no credentials).
        kept = identity(request, self.volatile_keys, self.secret_names)
        path.parent.mkdir(parents=True, exist_ok=True)
        _request_file(path).write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
        return path

    def _changed(self, request: Request, path: Path) -> str | None:
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

    def _describe(self, request: Request) -> str:
        """``describe(request)`` with the URL's credentials left out (messages end up in
        test logs)."""
        return describe(request, redacted_url(request.url, self.secret_names))

    def _route(self, request: Request) -> tuple[Path, bool]:
        """(the recording, whether to replay it)."""
        __tracebackhide__ = True
        with self._lock:
            number = next(self._count)
            self.requests.append(request)
        path = self.path(number)
        request.extensions["streamagg_number"] = number
        changed = self._changed(request, path)
        if self.mode == "all" or (self.mode == "missing" and (not path.exists() or changed)):
            return path, False
        if changed:
            self.used.append(path)  # asked for: not a recording that no request used
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

    def handle_request(self, request: Request) -> Any:
        __tracebackhide__ = True
        path, replay_it = self._route(request)
        if replay_it:
            self.used.append(path)
            return ReplayTransport(path, timing=self.timing).handle_request(request)
        return self._recorder.handle_request(request)

    async def handle_async_request(self, request: Request) -> Any:
        __tracebackhide__ = True
        path, replay_it = self._route(request)
        if replay_it:
            self.used.append(path)
            return await ReplayTransport(path, timing=self.timing).handle_async_request(request)
        return await self._recorder.handle_async_request(request)

    @overload
    def client(self, stack: Literal["httpx2"] | None = None, **kwargs: Any) -> httpx2.Client: ...
    @overload
    def client(self, stack: Literal["httpx"], **kwargs: Any) -> httpx.Client: ...
    @overload
    def client(self, stack: str | None = None, **kwargs: Any) -> Client: ...
    def client(self, stack: str | None = None, **kwargs: Any) -> Client:
        """A client on this cassette, of the stack ``stack`` (``"httpx2"`` or ``"httpx"``; by
        default httpx2 when it is installed), with ``kwargs`` for the client:
        ``openai.OpenAI(http_client=cassette.client())``."""
        made: Client = stacks.stack(stack).Client(transport=self, **kwargs)
        return made

    @overload
    def async_client(
        self, stack: Literal["httpx2"] | None = None, **kwargs: Any
    ) -> httpx2.AsyncClient: ...
    @overload
    def async_client(self, stack: Literal["httpx"], **kwargs: Any) -> httpx.AsyncClient: ...
    @overload
    def async_client(self, stack: str | None = None, **kwargs: Any) -> AsyncClient: ...
    def async_client(self, stack: str | None = None, **kwargs: Any) -> AsyncClient:
        """The async twin of ``client()``: ``anthropic.AsyncAnthropic(http_client=
        cassette.async_client())``."""
        made: AsyncClient = stacks.stack(stack).AsyncClient(transport=self, **kwargs)
        return made

    def close(self) -> None:
        self._recorder.close()

    async def aclose(self) -> None:
        await self._recorder.aclose()
