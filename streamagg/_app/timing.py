"""Timing of a stream, and the stall watchdog: sans-IO, fed with the times things happened.

``Clock`` is told when the request was sent, when bytes arrived, and how many chunks (data
events) and output tokens (text) had been folded by then; it gives ``Timings`` at any moment and
says when a stream has been idle (no data event: comments and pings do not count) or running
too long. The adapters call it as soon as bytes arrive, not when their consumer asks, so the
times are the stream's own; a replay calls it with the times a recording carries.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from attrs import frozen

__all__ = ["DEFAULT_IDLE_TIMEOUT", "Clock", "Timings", "completion_tokens"]

#: Seconds a streaming call waits for a data event before the watchdog stops it: long enough for
#: a reasoning model's silent thinking, short enough that a stalled stream (or one that sends
#: only keep-alives) never hangs a caller for ever, even with a client's ``timeout=None``.
DEFAULT_IDLE_TIMEOUT = 600.0

_PREFIX = "gen_ai.client.operation."


@frozen
class Timings:
    """How a stream went, in seconds (None where it cannot be known yet).

    Named after the OpenTelemetry GenAI client conventions (``to_otel()`` gives the names
    with their ``gen_ai.client.operation.`` prefix): ``time_to_first_chunk`` from the request to
    the first chunk; ``time_to_first_token`` to the first chunk with content, reasoning, refusal
    or tool-call text (not the one with only a role); ``duration`` of the whole stream so far;
    ``chunks`` folded; ``time_per_output_chunk`` the mean time between chunks after the first;
    ``gap_median``, ``gap_p95``, ``gap_max`` of the gaps between chunks;
    ``output_tokens_per_second`` from the usage's ``completion_tokens`` over the time from the
    first token to the end, when the server reported usage.
    """

    time_to_first_chunk: float | None = None
    time_to_first_token: float | None = None
    duration: float | None = None
    chunks: int = 0
    time_per_output_chunk: float | None = None
    gap_median: float | None = None
    gap_p95: float | None = None
    gap_max: float | None = None
    output_tokens_per_second: float | None = None

    def to_otel(self) -> dict[str, Any]:
        """The timings under OpenTelemetry-style names (``gen_ai.client.operation.*``)."""
        return {
            _PREFIX + name: getattr(self, name)
            for name in (
                "time_to_first_chunk",
                "time_to_first_token",
                "duration",
                "chunks",
                "time_per_output_chunk",
                "gap_median",
                "gap_p95",
                "gap_max",
                "output_tokens_per_second",
            )
        }


def completion_tokens(response: object) -> int | None:
    """The output tokens a response reports, if any (for tokens per second): the
    ``usage.completion_tokens`` of chat completions, or the ``usage.output_tokens`` of the
    Responses API and Anthropic Messages."""
    usage = getattr(response, "usage", None)
    tokens = getattr(usage, "completion_tokens", None)
    if tokens is None:
        tokens = getattr(usage, "output_tokens", None)
    return tokens if isinstance(tokens, int) else None


def _quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values (nearest rank)."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


class Clock:
    """The times of one stream, and its watchdog.

    ``idle_timeout``: seconds allowed between data events (from the request to the first
    one, then between two); ``total_timeout``: seconds allowed for the whole stream. Either may
    be None (no limit).
    """

    __slots__ = (
        "_chunk_times",
        "_chunks",
        "_end",
        "_first_token",
        "_last_data",
        "_start",
        "idle_timeout",
        "total_timeout",
    )

    def __init__(
        self, *, idle_timeout: float | None = None, total_timeout: float | None = None
    ) -> None:
        self.idle_timeout = idle_timeout
        self.total_timeout = total_timeout
        self._start: float | None = None
        self._last_data: float | None = None
        self._first_token: float | None = None
        self._end: float | None = None
        self._chunks = 0
        self._chunk_times: list[float] = []

    def started(self, now: float) -> None:
        """The request was sent."""
        self._start = self._last_data = now

    def arrived(self, now: float, chunks: int, token: bool) -> None:
        """Bytes arrived at ``now``; ``chunks`` have been folded in all, and ``token`` says
        whether the new ones carried output text."""
        if self._start is None:
            self.started(now)
        if chunks > self._chunks:
            self._chunk_times.extend([now] * (chunks - self._chunks))
            self._chunks = chunks
            self._last_data = now
        if token and self._first_token is None:
            self._first_token = now

    @property
    def wants_token(self) -> bool:
        """No output text has arrived yet (so the next deltas are worth looking at)."""
        return self._first_token is None

    def ended(self, now: float) -> None:
        """The stream ended (normally or not)."""
        if self._end is None:
            self._end = now

    def stalled(self, now: float) -> str | None:
        """Why the stream must stop at ``now`` ("idle" or "total"), or None."""
        if self._start is None:
            return None
        total = self.total_timeout
        if total is not None and now - self._start >= total:
            return "total"
        idle = self.idle_timeout
        if idle is not None and self._last_data is not None and now - self._last_data >= idle:
            return "idle"
        return None

    def wait_limit(self, now: float) -> float | None:
        """How long the next read may wait before the watchdog must act (None: forever)."""
        limits = []
        if self._start is not None and self.total_timeout is not None:
            limits.append(self._start + self.total_timeout - now)
        if self._last_data is not None and self.idle_timeout is not None:
            limits.append(self._last_data + self.idle_timeout - now)
        return max(min(limits), 0.0) if limits else None

    def timings(self, now: float, completion_tokens: int | None = None) -> Timings:
        """The timings so far (up to the end, or to ``now`` while the stream runs)."""
        start = self._start
        if start is None:
            return Timings()
        end = self._end if self._end is not None else now
        times = self._chunk_times
        gaps = sorted(b - a for a, b in itertools.pairwise(times))
        first_token = self._first_token
        rate = None
        if completion_tokens is not None and first_token is not None and end > first_token:
            rate = completion_tokens / (end - first_token)
        return Timings(
            time_to_first_chunk=times[0] - start if times else None,
            time_to_first_token=None if first_token is None else first_token - start,
            duration=end - start,
            chunks=len(times),
            time_per_output_chunk=(times[-1] - times[0]) / len(gaps) if gaps else None,
            gap_median=_quantile(gaps, 0.5) if gaps else None,
            gap_p95=_quantile(gaps, 0.95) if gaps else None,
            gap_max=gaps[-1] if gaps else None,
            output_tokens_per_second=rate,
        )
