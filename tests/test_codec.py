"""The JSON decoders (``_codec``): orjson and the standard library give identical results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import streamagg
from streamagg import StreamError
from streamagg._chat.fold import Aggregator
from streamagg._core import codec as _codec
from streamagg._core.reader import StreamReader

from .dialects import MODULES, RECORDINGS, path
from .helpers import NAMES, STREAMS, using_orjson

pytest.importorskip("orjson")  # in the test group: CI always runs this module

SOURCES = [(p, "chat") for p in (STREAMS / f"{n}.sse" for n in NAMES)]
SOURCES += [(path(d, n), d) for d, n in RECORDINGS]


@pytest.fixture
def restore_decoder() -> Iterator[None]:
    """The decoder in force before the test, put back after it."""
    before = _codec.loads
    yield
    _codec.loads = before


def fold(raw: bytes, dialect: str, orjson: bool, size: int) -> tuple[Any, list[Any]]:
    """(outcome, deltas) of a stream read in pieces of ``size`` bytes, with either decoder."""
    _codec.use_orjson(orjson)
    aggregator = Aggregator() if dialect == "chat" else MODULES[dialect].Aggregator()
    reader = StreamReader(aggregator)
    deltas: list[Any] = []
    try:
        for i in range(0, len(raw), size):
            if reader.receive_data(raw[i : i + size], deltas):
                break
        outcome: Any = streamagg.to_dict(reader.receive_eof())
    except StreamError as exc:
        outcome = (type(exc).__name__, str(exc), streamagg.to_dict(exc.partial))
    return outcome, deltas


@pytest.mark.usefixtures("restore_decoder")
@pytest.mark.parametrize(("source", "dialect"), SOURCES, ids=[p.stem for p, _ in SOURCES])
def test_the_corpus_folds_the_same_with_orjson(source: Path, dialect: str) -> None:
    """Every recording of every dialect folds to the same object, deltas and errors with
    orjson as with the standard library, read whole and in small pieces."""
    raw = source.read_bytes()
    for size in (len(raw) or 1, 5):
        assert fold(raw, dialect, True, size) == fold(raw, dialect, False, size)


@pytest.mark.usefixtures("restore_decoder")
@pytest.mark.parametrize(
    "data",
    [
        '{"a": NaN}',
        '{"a": -Infinity}',
        '{"a": "\\ud800"}',
        '{"a": 1e400}',
        ' {"a": 1} ',
        '{"a": 1}\n',
        '{"a": 1, "a": 2}',
        '{"a": "\\u00e9\\ud83d\\ude00"}',
    ],
)
def test_what_orjson_refuses_the_standard_library_reads(data: str) -> None:
    """Data orjson refuses or reads its own way (NaN, Infinity, a lone surrogate, a float
    past the double range, surrounding whitespace, nesting past 1,024 levels) decodes as
    ``json.loads`` decodes it, through the fold's fallback."""
    for text in (data, "[" * 5000 + "]" * 5000):
        want = decoded(json.loads, text)
        for orjson in (True, False):
            _codec.use_orjson(orjson)
            assert decoded(Aggregator()._decode, text) == want


def decoded(decode: Callable[[str], Any], text: str) -> Any:
    """What ``decode`` makes of ``text``: its value, or the type of its error (Python 3.13
    reads nesting that 3.11 refuses with ``RecursionError``)."""
    try:
        return decode(text)
    except (ValueError, RecursionError) as exc:
        return type(exc)


@pytest.mark.usefixtures("restore_decoder")
def test_errors_are_the_standard_librarys() -> None:
    """Data that is not JSON fails with the standard library's error either way."""
    for orjson in (True, False):
        _codec.use_orjson(orjson)
        with pytest.raises(json.JSONDecodeError, match="Extra data"):
            Aggregator()._decode('{"a": 1} x')


def test_integers_past_64_bits_are_floats_with_orjson() -> None:
    """The one documented difference: orjson reads an integer past 64 bits as a float."""
    with using_orjson(True):
        assert _codec.loads("18446744073709551616") == float(2**64)
    with using_orjson(False):
        assert _codec.loads("18446744073709551616") == 2**64


def test_the_environment_turns_orjson_off() -> None:
    """``STREAMAGG_ORJSON=0`` makes the standard library the decoder."""
    code = "from streamagg._core import codec; print(codec.loads.__name__)"
    for setting, want in (("0", "stdlib_loads"), ("1", "loads")):
        env = {**os.environ, "STREAMAGG_ORJSON": setting}
        run = [sys.executable, "-c", code]
        found = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
        assert found.stdout.strip() == want
