"""Every recorded stream of the dialects other than chat completions (Responses API, Anthropic
Messages, Gemini, Ollama, legacy completions) folds to its expected object, whole, split at every
byte offset (many random ones for long streams), one byte at a time, and with CRLF line
endings."""

from __future__ import annotations

import json
import random

import pytest

import streamagg

from .dialects import MODULES, RECORDINGS, covers, events_of, expected, normalize, outcome, path

EVERY_OFFSET_LIMIT = 16_000  # streams up to this size are split at every offset


def test_every_dialect_has_recordings() -> None:
    """Every dialect has recordings, each with its expected object."""
    assert {d for d, _ in RECORDINGS} == set(MODULES)
    assert len(RECORDINGS) >= 19
    for dialect, name in RECORDINGS:
        assert path(dialect, name, ".expected.json").exists(), name


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_recording_folds_to_expected(dialect: str, name: str) -> None:
    """The recording, read from its file, folds to the expected object (compared on the
    expected keys: a fold may keep more, such as Bedrock's metrics)."""
    got, want = outcome(dialect, path(dialect, name)), expected(dialect, name)
    assert got.keys() == want.keys()
    # The error has what the expected one has (the error event's error may say more than the
    # failed response's: its type and param).
    assert covers(got.get("error"), want.get("error"))
    assert covers(got["object"], want["object"])


@pytest.mark.slow  # a fold per offset: the one-byte and CRLF test below stays in the quick run
@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_recording_split_at_every_offset(dialect: str, name: str) -> None:
    """Any split of the bytes into two reads (many random multi-way splits when long) folds
    identically."""
    raw = path(dialect, name).read_bytes()
    want = outcome(dialect, raw)
    rnd = random.Random(name)
    cuts = range(len(raw) + 1)
    if len(raw) > EVERY_OFFSET_LIMIT:
        cuts = sorted(rnd.sample(range(len(raw) + 1), 300))  # type: ignore[assignment]
    for cut in cuts:
        assert outcome(dialect, [raw[:cut], raw[cut:]]) == want, cut
    for _ in range(20):
        many = sorted(rnd.sample(range(len(raw)), 40))
        pieces = [raw[a:b] for a, b in zip([0, *many], [*many, len(raw)], strict=True)]
        assert outcome(dialect, pieces) == want, many


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_recording_one_byte_at_a_time_and_crlf(dialect: str, name: str) -> None:
    """Fed one byte at a time, or with CRLF line endings (or lone CR, which only event streams
    allow), the stream folds identically."""
    raw = path(dialect, name).read_bytes()
    want = outcome(dialect, raw)
    assert outcome(dialect, (raw[i : i + 1] for i in range(len(raw)))) == want
    lf = raw.replace(b"\r\n", b"\n")
    assert outcome(dialect, lf) == want
    assert outcome(dialect, lf.replace(b"\n", b"\r\n")) == want
    if dialect != "ollama":
        assert outcome(dialect, lf.replace(b"\n", b"\r")) == want


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_expected_object_round_trips(dialect: str, name: str) -> None:
    """``from_dict`` then ``to_dict`` gives every expected object back exactly (nulls too)."""
    data = json.loads(path(dialect, name, ".expected.json").read_text())
    data = data.get("partial", data)
    assert streamagg.to_dict(MODULES[dialect].from_dict(data)) == data


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_recorded_non_streaming_answer_replays(dialect: str, name: str) -> None:
    """The expected object saved as a non-streaming answer (a JSON body) replays to itself."""
    data = json.loads(path(dialect, name, ".expected.json").read_text())
    got = outcome(dialect, json.dumps(data.get("partial", data)).encode())
    if data.get("status") == "failed" and data.get("object") == "response":
        # A failed response is an error, with itself as partial.
        assert got == {"error": data["error"], "object": normalize(data)}
    else:
        assert got == {"object": normalize(data.get("partial", data))}


@pytest.mark.parametrize(("dialect", "name"), RECORDINGS)
def test_recording_folds_from_parsed_events(dialect: str, name: str) -> None:
    """``fold`` of the parsed events (as an SDK yields them) gives what ``replay`` gives."""
    events = events_of(dialect, name)
    want = outcome(dialect, path(dialect, name))
    try:
        got = {"object": normalize(streamagg.to_dict(MODULES[dialect].fold(events)))}
    except streamagg.UpstreamError as exc:
        got = {"error": exc.error, "object": normalize(streamagg.to_dict(exc.partial))}
    assert got == want
