"""Fault injection for replays: the failures real streams have, on demand (sans-IO).

``Faults`` says what goes wrong; ``plan(segments, faults, timing, delay)`` turns a recording's
``(time, bytes)`` segments into the steps to send: ``(seconds to wait, bytes)``, and at the end
either nothing (the stream ends normally) or ``CUT`` (the connection drops). ``ReplayTransport``
and ``serve`` both send a plan; the spec string of ``Faults.parse`` is what ``serve --fault``
and the ``X-Streamagg-Fault`` request header take.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from attrs import field, fields, frozen

__all__ = ["CUT", "FAULT_HEADER", "Faults", "Step", "plan"]

#: The request header that asks ``serve`` for faults (a ``Faults.parse`` spec).
FAULT_HEADER = "x-streamagg-fault"
#: The marker of a dropped connection, last in a plan.
CUT = None
#: One step of a plan: seconds to wait, then bytes to send (``b""``: only wait; ``CUT``: drop
#: the connection).
Step = tuple[float, bytes | None]

_KEEPALIVE = b": keepalive\n\n"


def _non_negative(_: Any, attribute: Any, value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


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
    """

    cut_after_event: int | None = field(default=None, validator=_non_negative)
    cut_after_byte: int | None = field(default=None, validator=_non_negative)
    error_after_event: int | None = field(default=None, validator=_non_negative)
    error_as: str = "event"
    stall: float | None = field(default=None, validator=_non_negative)
    stall_after_event: int = field(default=0, validator=_non_negative)
    rechunk: int | None = field(default=None, validator=_non_negative)
    rechunk_random: bool = False
    seed: int = 0
    keepalive: float | None = field(default=None, validator=_non_negative)
    speed: float = field(default=1.0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.error_as not in ("event", "chunk"):
            raise ValueError(f"error_as must be 'event' or 'chunk', not {self.error_as!r}")
        if self.speed == 0:
            raise ValueError("speed must be more than 0")
        if self.rechunk == 0:
            raise ValueError("rechunk must be at least 1 byte")

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Faults from ``"name=value,name=value"`` (the field names, ``-`` or ``_``):
        ``cut-after-event=5``, ``stall=2,stall-after-event=3``, ``rechunk=1``,
        ``rechunk=random``, ``error-after-event=4,error-as=chunk``, ``keepalive=0.5``,
        ``speed=2``. Raises ``ValueError`` naming what is wrong."""
        kinds = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, equals, text = item.partition("=")
            key = name.strip().replace("-", "_")
            if not equals or key not in kinds:
                known = ", ".join(sorted(k.replace("_", "-") for k in kinds))
                raise ValueError(f"unknown fault {item!r} (faults: {known})")
            text = text.strip()
            if key == "rechunk" and text == "random":
                values["rechunk_random"] = True
                continue
            kind = str(kinds[key])
            try:
                if "bool" in kind:
                    values[key] = text.lower() in ("1", "true", "yes", "on")
                elif "float" in kind:
                    values[key] = float(text)
                elif "int" in kind:
                    values[key] = int(text)
                else:
                    values[key] = text
            except ValueError:
                raise ValueError(f"fault {name.strip()} takes a number, not {text!r}") from None
        return cls(**values)


def _error_bytes(faults: Faults, ndjson: bool) -> bytes:
    error = {"error": {"message": "injected fault", "type": "server_error"}}
    if ndjson:
        return json.dumps(error).encode() + b"\n"
    if faults.error_as == "event":
        return b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n"
    return b"data: " + json.dumps(error).encode() + b"\n\n"


def _waits(wait: float, keepalive: float | None) -> Iterator[Step]:
    """A wait, broken by keep-alive comments when it is longer than ``keepalive``."""
    if keepalive is None or keepalive <= 0 or wait <= keepalive:
        yield wait, b""
        return
    while wait > keepalive:
        yield keepalive, _KEEPALIVE
        wait -= keepalive
    yield wait, b""


def _pieces(data: bytes, faults: Faults, rnd: random.Random) -> list[bytes]:
    if faults.rechunk_random:
        pieces = []
        at = 0
        while at < len(data):
            size = rnd.randint(1, 64)
            pieces.append(data[at : at + size])
            at += size
        return pieces
    if faults.rechunk:
        size = faults.rechunk
        return [data[i : i + size] for i in range(0, len(data), size)]
    return [data]


def plan(
    segments: list[tuple[float | None, bytes]],
    faults: Faults | None,
    *,
    timing: bool,
    delay: float = 0.0,
    ndjson: bool = False,
) -> list[Step]:
    """The steps that send ``segments`` (a recording's events with their recorded times) with
    ``faults``: at the recorded times (``timing``, scaled by ``speed``) or ``delay`` apart.
    Waits come before their bytes; a step with empty bytes only waits; a last step with
    ``CUT`` drops the connection."""
    faults = faults or Faults()
    rnd = random.Random(faults.seed)
    steps: list[Step] = []
    previous = 0.0
    sent = 0
    for index, (at, data) in enumerate(segments):
        if faults.cut_after_event is not None and index >= faults.cut_after_event:
            return [*steps, (0.0, CUT)]
        if faults.error_after_event is not None and index >= faults.error_after_event:
            return [*steps, (0.0, _error_bytes(faults, ndjson))]
        wait = delay if index else 0.0
        if timing and at is not None:
            wait, previous = max(at - previous, 0.0) / faults.speed, at
        if faults.stall is not None and index == faults.stall_after_event:
            wait += faults.stall
        waits = list(_waits(wait, faults.keepalive))
        steps.extend(waits[:-1])
        last_wait = waits[-1][0]
        for n, piece in enumerate(_pieces(data, faults, rnd)):
            if faults.cut_after_byte is not None and sent + len(piece) > faults.cut_after_byte:
                head = piece[: faults.cut_after_byte - sent]
                if head:
                    steps.append((last_wait if n == 0 else 0.0, head))
                return [*steps, (0.0, CUT)]
            steps.append((last_wait if n == 0 else 0.0, piece))
            sent += len(piece)
    end = len(segments)
    if faults.stall is not None and faults.stall_after_event >= end:
        steps.extend(_waits(faults.stall, faults.keepalive))
    if faults.error_after_event is not None and faults.error_after_event >= end:
        steps.append((0.0, _error_bytes(faults, ndjson)))
    if faults.cut_after_event is not None and faults.cut_after_event >= end:
        steps.append((0.0, CUT))
    return steps
