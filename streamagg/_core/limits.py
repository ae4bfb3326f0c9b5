"""The limits that bound what a stream can make the library hold or do.

Whatever the other side sends, a fold must not grow memory without bound, recurse until Python
gives up, or spend time out of proportion to its input. Each limit has a default that no real
stream comes near, and each is a keyword of ``Limits``, which every entry point takes as
``limits=``. Exceeding one raises ``LimitExceededError`` (a ``StreamError`` with ``.partial``)
as soon as it happens, not at the end of the input.
"""

from __future__ import annotations

from typing import Any

from attrs import Attribute, field, frozen

__all__ = ["DEFAULT_LIMITS", "MAX_DEPTH", "Limits"]

_MIB = 1024 * 1024
#: The deepest ``max_depth`` there can be: the converter and ``to_dict`` copy kept values
#: recursively, and deeper data would exhaust Python's recursion (1,000 frames by default).
MAX_DEPTH = 256


def _count(minimum: int, maximum: int | None = None) -> Any:
    """An attrs validator: an ``int`` (not a bool) from ``minimum`` to ``maximum``."""

    def check(_: Any, attribute: Attribute[Any], value: Any) -> None:
        if value.__class__ is not int:
            raise TypeError(f"Limits.{attribute.name} must be an int, not {value!r}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            raise ValueError(f"Limits.{attribute.name} must be {bound}, not {value}")

    return check


def _optional_count(_: Any, attribute: Attribute[Any], value: Any) -> None:
    if value is not None:
        _count(1)(_, attribute, value)


@frozen
class Limits:
    """Bounds on one stream.

    * ``max_event_size``: characters in one line, or in one event's data (one whole JSON
      body counts as one event): 16 MiB. A line that never ends stops here.
    * ``max_choices``: choices in one response: 1,024.
    * ``max_tool_calls``: tool calls in one choice: 4,096.
    * ``max_items``: output items or content blocks of one response, and parts of one item
      (the dialects other than chat completions): 4,096.
    * ``max_depth``: nesting (objects and lists) of any JSON value the fold keeps as it is
      (provider extensions, usage, content parts): 128. The fields the fold
      reads are flat, so chunks are not measured as a whole, nor are logprob tokens (the
      converter copies them without recursing); JSON nested past what the decoder can read at
      all is refused too.
    * ``max_error_body``: bytes of an HTTP error body read into memory (the rest is not
      read): 1 MiB.
    * ``max_total_bytes``: bytes of the whole stream: no limit (None) by default.

    Each is an ``int`` of at least 1 (``max_error_body`` may be 0; ``max_total_bytes`` None),
    and ``max_depth`` at most ``MAX_DEPTH`` (256), the deepest data the converter can copy;
    anything else raises ``TypeError`` or ``ValueError`` when the ``Limits`` is made.
    """

    max_event_size: int = field(default=16 * _MIB, validator=_count(1))
    max_choices: int = field(default=1024, validator=_count(1))
    max_tool_calls: int = field(default=4096, validator=_count(1))
    max_items: int = field(default=4096, validator=_count(1))
    max_depth: int = field(default=128, validator=_count(1, MAX_DEPTH))
    max_error_body: int = field(default=_MIB, validator=_count(0))
    max_total_bytes: int | None = field(default=None, validator=_optional_count)


#: The limits in force when none are given.
DEFAULT_LIMITS = Limits()
