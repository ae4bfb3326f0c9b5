"""Fault injection for replays: the failures real streams have, on demand (sans-IO).

``Faults`` says what goes wrong; ``iter_plan(segments, faults, timing, delay)`` turns a
recording's ``(time, bytes)`` segments into the steps to send, one at a time as they are sent:
``(seconds to wait, bytes)``, and at the end either nothing (the stream ends normally) or
``CUT`` (the connection drops). ``ReplayTransport`` and ``serve`` both send a plan; ``plan()``
is the same steps as a list, for small plans (tests). The spec string of ``Faults.parse`` is
what ``serve --fault`` and the ``X-Streamagg-Fault`` request header take.

A plan is lazy on purpose: a stall of an hour with a keep-alive every millisecond is 3.6
million steps, and ``rechunk=1`` on a 10 MB recording ten million; built up front they took
hundreds of megabytes and seconds of a server's event loop before the first byte went out.
Generated one step at a time they cost what one step costs.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator
from typing import Any

from attrs import field, fields, frozen
from attrs.validators import instance_of

__all__ = [
    "CUT",
    "FAULT_HEADER",
    "MAX_STALL",
    "MAX_WAIT",
    "MIN_KEEPALIVE",
    "MIN_SPEED",
    "Faults",
    "Step",
    "iter_plan",
    "plan",
]

#: The request header that asks ``serve`` for faults (a ``Faults.parse`` spec).
FAULT_HEADER = "x-streamagg-fault"
#: The marker of a dropped connection, last in a plan.
CUT = None
#: One step of a plan: seconds to wait, then bytes to send (``b""``: only wait; ``CUT``: drop
#: the connection).
Step = tuple[float, bytes | None]

#: The bounds of a spec, far past what a test needs (see ``Faults``): the longest stall
#: (seconds), the shortest keep-alive interval (seconds) and the slowest speed (a factor).
MAX_STALL = 3600.0
MIN_KEEPALIVE = 0.001
MIN_SPEED = 0.001
#: The longest wait between two recorded events (seconds, after ``speed``): a recorded time
#: that is not a number, or a gap longer than this, waits this long.
MAX_WAIT = 24 * 3600.0

_KEEPALIVE = b": keepalive\n\n"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _count(_: Any, attribute: Any, value: int | None) -> None:
    """A whole number of events or bytes, not negative (None: off)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be a whole number, not {value!r}")
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


def _seconds(_: Any, attribute: Any, value: float | None) -> None:
    """A finite number, not negative (None: off). NaN passes a ``value < 0`` test and breaks
    asyncio's timer heap; infinity never ends a wait."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, not {value}")
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


def _stall(_: Any, attribute: Any, value: float | None) -> None:
    if value is not None and value > MAX_STALL:
        raise ValueError(f"stall must be at most {MAX_STALL:g} seconds (an hour), not {value:g}")


def _keepalive(_: Any, attribute: Any, value: float | None) -> None:
    if value is not None and value < MIN_KEEPALIVE:
        raise ValueError(
            f"keepalive must be at least {MIN_KEEPALIVE:g} seconds (1 ms), not {value:g}"
        )


def _speed(_: Any, attribute: Any, value: float) -> None:
    if value == 0:
        raise ValueError(f"speed must be more than 0 (at least {MIN_SPEED:g})")
    if value < MIN_SPEED:
        raise ValueError(
            f"speed must be at least {MIN_SPEED:g} (1,000 times slower than recorded), "
            f"not {value:g}"
        )


def _rechunk(_: Any, attribute: Any, value: int | None) -> None:
    if value == 0:
        raise ValueError("rechunk must be at least 1 byte")


def _error_as(_: Any, attribute: Any, value: str) -> None:
    if value not in ("event", "chunk"):
        raise ValueError(f"error_as must be 'event' or 'chunk', not {value!r}")


@frozen
class Faults:
    """What goes wrong while a recording is replayed (all off by default).

    * ``cut_after_event`` / ``cut_after_byte``: the connection drops after that many events
      (or bytes) of the recording.
    * ``error_after_event``: after that many events the server sends an error and ends the
      stream: an SSE ``event: error`` (``error_as="event"``) or an ``{"error": ...}`` chunk
      (``error_as="chunk"``; a JSON line for Ollama's NDJSON).
    * ``stall`` seconds of silence after ``stall_after_event`` events (to test read timeouts
      and the stall watchdog).
    * ``rechunk``: the bytes are sent in pieces of this many bytes (1: one byte at a time), or
      of random sizes up to 64 with ``rechunk_random`` (seeded by ``seed``).
    * ``keepalive``: a ``: keepalive`` comment every that many seconds while waiting.
    * ``speed``: a factor on the recorded timing (2: twice as fast).

    Bounds, far past what a test needs (a spec beyond them raises ``ValueError``, which
    ``serve`` answers with a 400): every number is finite (no NaN, no infinity) and none is
    negative; ``stall`` is at most ``MAX_STALL`` (3,600 s, an hour); ``keepalive`` is at least
    ``MIN_KEEPALIVE`` (0.001 s, 1 ms); ``speed`` is at least ``MIN_SPEED`` (0.001, a thousand
    times slower than recorded); ``rechunk`` is at least 1 byte; the counts are whole numbers.
    A wait between recorded events is at most ``MAX_WAIT`` (a day) whatever the recording says.
    """

    cut_after_event: int | None = field(default=None, validator=_count)
    cut_after_byte: int | None = field(default=None, validator=_count)
    error_after_event: int | None = field(default=None, validator=_count)
    error_as: str = field(default="event", validator=_error_as)
    stall: float | None = field(default=None, validator=[_seconds, _stall])
    stall_after_event: int = field(default=0, validator=[instance_of(int), _count])
    rechunk: int | None = field(default=None, validator=[_count, _rechunk])
    rechunk_random: bool = field(default=False, validator=instance_of(bool))
    seed: int = field(default=0, validator=instance_of(int))
    keepalive: float | None = field(default=None, validator=[_seconds, _keepalive])
    speed: float = field(default=1.0, validator=[instance_of((int, float)), _seconds, _speed])

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Faults from ``"name=value,name=value"`` (the field names, ``-`` or ``_``):
        ``cut-after-event=5``, ``stall=2,stall-after-event=3``, ``rechunk=1``,
        ``rechunk=random``, ``error-after-event=4,error-as=chunk``, ``keepalive=0.5``,
        ``speed=2``. Raises ``ValueError`` naming what is wrong (and nothing else, whatever
        the string)."""
        kinds = {f.name: str(f.type) for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, equals, text = item.partition("=")
            key = name.strip().replace("-", "_")
            if not equals or key not in kinds:
                known = ", ".join(sorted(k.replace("_", "-") for k in kinds))
                raise ValueError(f"unknown fault {item[:100]!r} (faults: {known})")
            text = text.strip()
            if key == "rechunk" and text == "random":
                values["rechunk_random"] = True
                continue
            values[key] = _value(name.strip(), kinds[key], text)
        return cls(**values)


def _value(name: str, kind: str, text: str) -> Any:
    """The value of one ``name=text`` item, for a field of type ``kind``."""
    if "bool" in kind:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"fault {name} takes true or false, not {text[:100]!r}")
    try:
        if "float" in kind:
            return float(text)
        if "int" in kind:
            return int(text)
    except ValueError:
        what = "a number" if "float" in kind else "a whole number"
        raise ValueError(f"fault {name} takes {what}, not {text[:100]!r}") from None
    return text


def _error_bytes(faults: Faults, ndjson: bool) -> bytes:
    error = {"error": {"message": "injected fault", "type": "server_error"}}
    if ndjson:
        return json.dumps(error).encode() + b"\n"
    if faults.error_as == "event":
        return b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n"
    return b"data: " + json.dumps(error).encode() + b"\n\n"


def _keepalives(wait: float, keepalive: float | None) -> tuple[int, float]:
    """How many keep-alives break a wait (each after ``keepalive`` seconds), and the wait left
    after them: counted, not looped, so that any wait costs the same to plan."""
    if keepalive is None or wait <= keepalive:
        return 0, wait
    count = math.ceil(wait / keepalive) - 1
    return count, max(wait - count * keepalive, 0.0)


def _waits(wait: float, keepalive: float | None) -> Iterator[Step]:
    """A wait, broken by keep-alive comments when it is longer than ``keepalive``."""
    count, rest = _keepalives(wait, keepalive)
    for _ in range(count):
        yield keepalive or 0.0, _KEEPALIVE
    yield rest, b""


def _pieces(data: bytes, faults: Faults, rnd: random.Random) -> Iterator[bytes]:
    if faults.rechunk_random:
        at = 0
        while at < len(data):
            size = rnd.randint(1, 64)
            yield data[at : at + size]
            at += size
    elif faults.rechunk:
        size = faults.rechunk
        for at in range(0, len(data), size):
            yield data[at : at + size]
    else:
        yield data


def _bounded(wait: float) -> float:
    """A wait between two events within ``[0, MAX_WAIT]``: a recorded time of hundreds of
    digits is infinite, infinity minus infinity is NaN, and NaN breaks asyncio's timers."""
    if not wait > 0:  # also NaN
        return 0.0
    return min(wait, MAX_WAIT)


def iter_plan(
    segments: Iterable[tuple[float | None, bytes]],
    faults: Faults | None,
    *,
    timing: bool,
    delay: float = 0.0,
    ndjson: bool = False,
) -> Iterator[Step]:
    """The steps that send ``segments`` (a recording's events with their recorded times) with
    ``faults``, one at a time: at the recorded times (``timing``, scaled by ``speed``) or
    ``delay`` apart. Waits come before their bytes; a step with empty bytes only waits; a last
    step with ``CUT`` drops the connection."""
    faults = faults or Faults()
    rnd = random.Random(faults.seed)
    previous = 0.0
    sent = 0
    end = 0
    for index, (at, data) in enumerate(segments):
        end = index + 1
        if faults.cut_after_event is not None and index >= faults.cut_after_event:
            yield 0.0, CUT
            return
        if faults.error_after_event is not None and index >= faults.error_after_event:
            yield 0.0, _error_bytes(faults, ndjson)
            return
        wait = _bounded(delay) if index else 0.0
        if timing and at is not None:
            wait, previous = _bounded((at - previous) / faults.speed), at
        if faults.stall is not None and index == faults.stall_after_event:
            wait += faults.stall
        count, wait = _keepalives(wait, faults.keepalive)
        for _ in range(count):
            yield faults.keepalive or 0.0, _KEEPALIVE
        for piece in _pieces(data, faults, rnd):
            if faults.cut_after_byte is not None and sent + len(piece) > faults.cut_after_byte:
                head = piece[: faults.cut_after_byte - sent]
                if head:
                    yield wait, head
                yield 0.0, CUT
                return
            yield wait, piece
            wait = 0.0
            sent += len(piece)
    if faults.stall is not None and faults.stall_after_event >= end:
        yield from _waits(faults.stall, faults.keepalive)
    # Past the recording's end, as within it: the first of a cut and an error ends the stream
    # (the cut when both come after as many events), never both.
    cut, error = faults.cut_after_event, faults.error_after_event
    if cut is not None and (error is None or cut <= error):
        yield 0.0, CUT
    elif error is not None:
        yield 0.0, _error_bytes(faults, ndjson)


def plan(
    segments: Iterable[tuple[float | None, bytes]],
    faults: Faults | None,
    *,
    timing: bool,
    delay: float = 0.0,
    ndjson: bool = False,
) -> list[Step]:
    """``iter_plan`` as a list, for small plans (tests): a stream sends ``iter_plan``'s steps
    as they come, never this list."""
    return list(iter_plan(segments, faults, timing=timing, delay=delay, ndjson=ndjson))
