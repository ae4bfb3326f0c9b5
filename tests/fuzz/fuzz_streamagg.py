"""A coverage-guided fuzz harness (atheris) over replay, parse_sse, fold, from_dict and
PartialJSON.

Not part of the test suite. Run it with::

    pip install atheris
    python tests/fuzz/fuzz_streamagg.py -max_total_time=1800 [-jobs=N] [CORPUS_DIR ...]

Without a corpus directory it seeds one (in a temporary folder) from the recorded streams in
``tests/streams``. The first byte of each input picks the target; the rest is its input. The
harness asserts the library's promise: nothing but the documented errors comes out, and every
response (final or partial) converts with ``to_dict``, serialises as JSON and round-trips
through ``from_dict``. A crash is printed with the input that caused it (libFuzzer writes it
to ``crash-*``); each finding becomes a regression test in ``tests/test_robustness.py``.
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

STREAMS = Path(__file__).resolve().parent.parent / "streams"


def check_response(response: Any) -> None:
    """A response converts, serialises and round-trips."""
    data = streamagg.to_dict(response)
    json.dumps(data)
    assert streamagg.from_dict(data) == response, "from_dict(to_dict(r)) != r"


def fold_bytes(body: bytes, strict: bool) -> None:
    try:
        check_response(streamagg.replay(body, strict=strict))
    except streamagg.StreamError as exc:
        lenient_may_raise = (
            streamagg.UpstreamError,
            streamagg.LimitExceededError,
            streamagg.HTTPStatusError,
            streamagg.ContentTypeError,
        )
        if not strict and not isinstance(exc, lenient_may_raise):
            raise AssertionError(f"lenient replay raised {exc!r}") from exc
        check_response(exc.partial)


def parse_json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def fold_chunks(body: bytes) -> None:
    chunks = [c for c in map(parse_json, body.split(b"\n")) if c is not None]
    try:
        check_response(streamagg.fold(chunks))
    except streamagg.StreamError as exc:
        check_response(exc.partial)


def structure(body: bytes) -> None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return
    try:
        response = streamagg.from_dict(data)
    except (cattrs.BaseValidationError, TypeError):
        return
    check_response(response)


def partial_json(body: bytes) -> None:
    """``PartialJSON`` never raises, and a whole valid text parses as ``json.loads`` does."""
    text = body.decode("utf-8", "replace")
    parser = streamagg.PartialJSON()
    half = len(text) // 2
    parser.feed(text[:half])
    parser.feed(text[half:])
    parser.feed(" ")  # a number at the very end is complete
    try:
        expected = json.loads(text)
    except (ValueError, RecursionError):
        return
    if parser.error is None:
        assert parser.value == expected, "PartialJSON != json.loads"


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0] % 6, data[1:]
    if target == 0:
        fold_bytes(body, strict=True)
    elif target == 1:
        fold_bytes(body, strict=False)
    elif target == 2:
        for _ in streamagg.parse_sse([body[: len(body) // 2], body[len(body) // 2 :]]):
            pass
    elif target == 3:
        fold_chunks(body)
    elif target == 4:
        structure(body)
    else:
        partial_json(body)


def seed_corpus() -> str:
    folder = tempfile.mkdtemp(prefix="streamagg-fuzz-")
    for n, path in enumerate(sorted(STREAMS.glob("*.sse"))):
        raw = path.read_bytes()
        for target in range(6):
            body = raw
            if target == 3:
                body = b"\n".join(e.data.encode() for e in streamagg.parse_sse(raw))
            (Path(folder) / f"{n}-{target}").write_bytes(bytes([target]) + body)
    return folder


def main() -> None:
    args = sys.argv[:]
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(seed_corpus())
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
