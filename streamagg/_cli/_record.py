"""``streamagg record`` (a live call of any dialect's route, recorded with its timing) and
``streamagg synthesize`` (the stream that folds to a final object)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from .._app.dialects import helpers
from .._app.http import HTTPStatusError
from .._app.stack import stack
from .._core.dialect import Dialect, Route
from .._core.errors import StreamError
from .._core.source import Source
from .._registry import DEFAULT, DIALECTS
from .._registry.detect import replay_any
from ..testing._recording import RecordingTransport
from ..testing._synthesize import synthesize as synthesize_stream
from ._common import UsageError, check_output

__all__ = ["MAX_REQUEST_BODY", "record", "synthesize"]

#: The largest request body ``record --data @FILE`` reads: 64 MiB, more than any API accepts
#: (a larger file is refused before it is read whole).
MAX_REQUEST_BODY = 64 * 1024 * 1024


def read_request(file: str) -> bytes:
    """The request body in ``file`` (``-``: stdin), up to ``MAX_REQUEST_BODY`` bytes."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_REQUEST_BODY + 1)
        else:
            with open(file, "rb") as f:
                data = f.read(MAX_REQUEST_BODY + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_REQUEST_BODY:
        raise UsageError(f"{file} is larger than {MAX_REQUEST_BODY} bytes: not a request body")
    return data


def record(args: argparse.Namespace) -> int:
    """Run ``streamagg record``."""
    text = args.data
    if text.startswith("@"):
        text = read_request(text[1:]).decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--data is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise UsageError("--data must be a JSON object")
    headers = {}
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"a header must read 'Name: value', not {header!r}")
        headers[name.strip()] = value.strip()
    try:
        module = stack(args.stack)
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    dialect, route = _route_of(args.url, args.dialect)
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY") or None
    call = _Call(module, dialect, route, payload, headers, api_key)
    to_stdout = args.output == "-"
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch, "recording.sse") if to_stdout else Path(args.output)
        check_output(output, args.force)
        status = _record_to(args, call, output)
        if to_stdout and output.exists():
            with output.open("rb") as recording:
                shutil.copyfileobj(recording, sys.stdout.buffer)
            sys.stdout.flush()
    return status


def _route_of(url: str, name: str | None) -> tuple[Dialect[Any, Any], Route]:
    """The dialect and route a URL calls: the route (of ``name``'s dialect, when given) whose
    path the URL's path ends with, the longest one (``/chat/completions`` before
    ``/completions``); else the first route of ``name``'s dialect, or chat completions'
    (appended to the base URL)."""
    try:
        path = urlsplit(url).path.rstrip("/")
    except ValueError as exc:
        raise UsageError(f"not a URL: {url!r} ({exc})") from None
    dialects = [DIALECTS[name]] if name else list(DIALECTS.values())
    best: tuple[int, Dialect[Any, Any], Route, re.Match[str]] | None = None
    for dialect in dialects:
        for route in dialect.routes:
            pattern = route.serve if route.serve is not None else re.escape(route.path)
            found = re.search(f"(?:{pattern})$", path)
            if found is not None and (best is None or len(found[0]) > best[0]):
                best = (len(found[0]), dialect, route, found)
    if best is None:
        dialect = dialects[0] if name else DEFAULT
        return dialect, dialect.routes[0]
    _, dialect, route, found = best
    if "stream" in found.re.groupindex and found["stream"] is None:
        raise UsageError(
            f"{url} asks for no stream: record the streaming method's URL "
            f"(the model's URL, or ...{route.path})"
        )
    return dialect, route


@attrs.frozen
class _Call:
    """The call ``record`` makes: the HTTP stack, the dialect and route, and the request's
    body, headers and API key."""

    module: Any  # the HTTP stack
    dialect: Dialect[Any, Any]
    route: Route
    payload: dict[str, Any]
    headers: dict[str, str]
    api_key: str | None

    def open(self, client: Any, url: str) -> Any:
        """The stream of the call, by the route's app helper (``create``, ``chat``...)."""
        create = getattr(helpers(self.dialect), self.route.name)
        return create(client, url, self.payload, api_key=self.api_key, headers=self.headers)


def _record_to(args: argparse.Namespace, call: _Call, output: Path) -> int:
    """Record the call into ``output``; report on stderr (and on stdout unless the recording
    goes there)."""
    shown = "stdout" if args.output == "-" else str(output)
    report = sys.stderr if args.output == "-" else sys.stdout
    module = call.module
    transport = RecordingTransport(output, overwrite=args.force)
    timeout = module.Timeout(30.0, read=args.timeout)
    try:
        with (
            module.Client(transport=transport, timeout=timeout) as client,
            call.open(client, args.url) as stream,
        ):
            stream.finish()
    except StreamError as exc:
        if not transport.recorded and isinstance(exc.__cause__, module.HTTPError):
            print(f"streamagg: cannot reach {args.url}: {exc.__cause__}", file=sys.stderr)
            return 1
        saved = ""
        if transport.recorded:
            what = "the answer" if isinstance(exc, HTTPStatusError) else "what arrived"
            saved = f" ({what} is recorded in {shown})"
        print(f"streamagg: {type(exc).__name__}: {exc}{saved}", file=sys.stderr)
        return 1
    except module.InvalidURL as exc:
        print(f"streamagg: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"streamagg: cannot write {shown}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    size = output.stat().st_size
    dialect = call.dialect.name
    print(f"streamagg: recorded {shown} ({size} bytes of a {dialect} stream)", file=report)
    return 0


def synthesize(args: argparse.Namespace) -> int:
    """Run ``streamagg synthesize``."""
    source: Source = sys.stdin.buffer if args.file == "-" else args.file
    output = None if args.output == "-" else Path(args.output)
    if output is not None:
        check_output(output, args.force)
    try:
        if args.dialect is None:
            response = replay_any(source)[1]
        else:
            response = DIALECTS[args.dialect].replay(source)
        data = synthesize_stream(
            response,
            chunk_size=args.chunk_size,
            include_usage=not args.no_usage,
            interval=args.interval,
        )
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except StreamError as exc:
        print(f"streamagg: {args.file}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # --interval for JSON lines, which have no comment lines
        raise UsageError(str(exc)) from None
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        with output.open("wb" if args.force else "xb") as file:
            file.write(data)
    except OSError as exc:
        print(f"streamagg: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
