"""A coverage-guided fuzz harness (atheris) over one dialect's fold: its ``replay`` (strict and
lenient, the bytes cut in two anywhere), its ``fold`` of parsed events and its ``from_dict``.

Not part of the test suite. Run one target per dialect with::

    pip install atheris
    python tests/fuzz/fuzz_dialect.py DIALECT -max_total_time=1800 -timeout=10 \\
        -rss_limit_mb=1024 [CORPUS_DIR ...]

``DIALECT`` is a registered dialect's name (``chat``, ``responses``, ``anthropic``,
``gemini``, ``ollama``, ``completions``). Without a corpus directory it seeds one (in a
temporary folder) from that dialect's recordings in ``tests/streams``. The first byte of an
input picks the target and where the bytes are cut; the rest is the input. The harness asserts
the promise every dialect makes: nothing but the documented errors comes out of it (strict:
any ``StreamError``; lenient: ``UpstreamError``, ``LimitExceededError``, a recorded answer's
``HTTPStatusError`` or, for input that is no event stream at all, ``ContentTypeError`` only; the
rest are skips), cutting the bytes anywhere changes nothing, and every object (final or partial)
converts with ``to_dict``, serialises as JSON and round-trips through ``from_dict``. A slow
input (``-timeout``) or one that holds memory (``-rss_limit_mb``) is a finding too; each
finding becomes a regression test in ``tests/test_hostile_<dialect>.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports():
    import cattrs

    import streamagg
    from streamagg._registry import DIALECTS

STREAMS = Path(__file__).resolve().parent.parent / "streams"
#: Small limits, so that inputs the fuzzer can make reach them.
LIMITS = streamagg.Limits(max_event_size=1 << 16, max_total_bytes=1 << 20, max_items=64)
TARGETS = 4


def check(dialect: Any, response: Any) -> None:
    """An object converts, serialises and round-trips."""
    data = streamagg.to_dict(response)
    json.dumps(data)
    assert dialect.from_dict(data) == response, "from_dict(to_dict(r)) != r"


def read(dialect: Any, pieces: list[bytes], strict: bool) -> Any:
    """``pieces`` through a ``StreamReader`` as they come (``replay`` joins an input's first
    bytes while it looks for a recorded answer, which would hide a small cut)."""
    reader = streamagg.StreamReader(dialect.new_fold(LIMITS, strict))
    for piece in pieces:
        if reader.receive_data(piece):
            break
    return reader.receive_eof()


def outcome(dialect: Any, pieces: list[bytes], strict: bool, direct: bool = False) -> Any:
    """What replaying ``pieces`` gives: the object, or the error's type, what the input looks
    like (a ``ContentTypeError``'s) and the partial object."""
    try:
        if direct:
            response = read(dialect, pieces, strict)
        else:
            response = dialect.replay(pieces, limits=LIMITS, strict=strict)
    except streamagg.StreamError as exc:
        lenient_may_raise = (
            streamagg.UpstreamError,
            streamagg.LimitExceededError,
            streamagg.HTTPStatusError,
            streamagg.ContentTypeError,
        )
        if not strict and not isinstance(exc, lenient_may_raise):
            raise AssertionError(f"lenient replay raised {exc!r}") from exc
        check(dialect, exc.partial)
        media = getattr(exc, "content_type", None)
        return type(exc), media, streamagg.to_dict(exc.partial)
    check(dialect, response)
    return streamagg.to_dict(response)


def replay(dialect: Any, cut: int, body: bytes, strict: bool) -> None:
    at = cut * len(body) // 255
    pieces = [body[:at], body[at:]]
    whole = outcome(dialect, [body], strict)
    assert whole == outcome(dialect, pieces, strict), f"cut at {at} replays differently"
    whole = outcome(dialect, [body], strict, direct=True)
    assert whole == outcome(dialect, pieces, strict, direct=True), f"cut at {at} reads differently"


def parse_json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def fold(dialect: Any, body: bytes) -> None:
    """Each line a parsed event (what an SDK's stream hands ``fold``)."""
    events = [e for e in map(parse_json, body.split(b"\n")) if e is not None]
    try:
        check(dialect, dialect.fold(events, limits=LIMITS))
    except streamagg.StreamError as exc:
        check(dialect, exc.partial)


def structure(dialect: Any, body: bytes) -> None:
    data = parse_json(body)
    if not isinstance(data, dict):
        return
    try:
        response = dialect.from_dict(data)
    except (cattrs.BaseValidationError, TypeError, ValueError, RecursionError):
        return
    check(dialect, response)


def one_input(dialect: Any) -> Any:
    def test_one_input(data: bytes) -> None:
        if len(data) < 2:
            return
        target, cut, body = data[0] % TARGETS, data[1], data[2:]
        if target == 0:
            replay(dialect, cut, body, strict=True)
        elif target == 1:
            replay(dialect, cut, body, strict=False)
        elif target == 2:
            fold(dialect, body)
        else:
            structure(dialect, body)

    return test_one_input


def events_of(raw: bytes, framing: str) -> bytes:
    if framing == "ndjson":
        return raw
    return b"\n".join(e.data.encode() for e in streamagg.parse_sse(raw) if e.data != "[DONE]")


def final_or_partial(dialect: Any, raw: bytes) -> Any:
    try:
        return dialect.replay(raw, strict=False)
    except streamagg.StreamError as exc:
        return exc.partial


def seed_corpus(dialect: Any) -> str:
    folder = Path(tempfile.mkdtemp(prefix=f"streamagg-fuzz-{dialect.name}-"))
    where = STREAMS if dialect.name == "chat" else STREAMS / dialect.name
    recordings = sorted(p for p in where.iterdir() if p.suffix in (".sse", ".ndjson"))
    for n, path in enumerate(recordings):
        raw = path.read_bytes()
        for target in range(TARGETS):
            body = raw
            if target == 2:
                body = events_of(raw, dialect.framing)
            elif target == 3:
                body = json.dumps(streamagg.to_dict(final_or_partial(dialect, raw))).encode()
            (folder / f"{n}-{target}").write_bytes(bytes([target, 128]) + body)
    return str(folder)


def main() -> None:
    names = DIALECTS
    args = sys.argv[:]
    if len(args) < 2 or args[1] not in names:
        sys.exit(f"usage: {args[0]} {{{','.join(names)}}} [libFuzzer flags] [CORPUS_DIR ...]")
    dialect = names[args.pop(1)]
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(seed_corpus(dialect))
    atheris.Setup(args, one_input(dialect))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
