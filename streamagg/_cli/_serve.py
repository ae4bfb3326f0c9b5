"""``streamagg serve``: the replay server (``streamagg.testing._server``) on a folder."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..testing import _server
from ..testing._faults import Faults
from ._common import UsageError

__all__ = ["serve"]


def serve(args: argparse.Namespace) -> int:
    """Run ``streamagg serve`` (until interrupted)."""
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{args.dir} is not a folder")
    try:
        faults = None if args.fault is None else Faults.parse(args.fault)
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    app = _server.ReplayApp(folder, timing=not args.no_timing, faults=faults)
    try:
        names = app.check()  # the server's own listing: subfolders included, names unique
    except _server.RecordingClashError as exc:
        raise UsageError(f"{args.dir}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {args.dir}: {exc.strerror or exc}") from None
    if not names:
        raise UsageError(f"{args.dir} holds no recordings (.sse, .ndjson, .jsonl)")
    try:
        import uvicorn  # noqa: F401, PLC0415 - the optional extra: check early, fail clearly
    except ImportError:
        raise UsageError(
            "serve needs uvicorn: pip install 'streamagg[serve]' "
            "(from a clone of the repository: pip install '.[serve]')"
        ) from None
    try:
        sock = _server.bind(args.host, args.port)
    except (OSError, OverflowError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {why}") from None
    host, port = sock.getsockname()[:2]
    root = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(
        f"streamagg: serving {len(names)} recordings from {folder} "
        f"at {root}/v1 (timing {'off' if args.no_timing else 'on'})",
        flush=True,
    )
    # The openai SDK appends /chat/completions to its base URL; the anthropic, google-genai
    # and ollama SDKs add /v1/messages, /v1beta/... and /api/chat themselves. Serve takes
    # either (/v1/v1/messages is /v1/messages).
    print(
        f"streamagg: SDK base URLs: openai {root}/v1; anthropic, google-genai, ollama {root} "
        "(either works for each)",
        flush=True,
    )
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("streamagg: %(message)s"))
        _server.access_log.addHandler(handler)
        _server.access_log.setLevel(logging.INFO)
    _server.serve(app, sock)
    return 0
