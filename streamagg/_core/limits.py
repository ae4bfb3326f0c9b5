"""The limits that bound what a stream can make the library hold or do.

Whatever the other side sends, a fold must not grow memory without bound, recurse until Python
gives up, or spend time out of proportion to its input. Each limit has a default that no real
stream comes near, and each is a keyword of ``Limits``, which every entry point takes as
``limits=``. Exceeding one raises ``LimitExceededError`` (a ``StreamError`` with ``.partial``)
as soon as it happens, not at the end of the input.
"""

from __future__ import annotations

from attrs import frozen

__all__ = ["DEFAULT_LIMITS", "Limits"]

_MIB = 1024 * 1024


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
    """

    max_event_size: int = 16 * _MIB
    max_choices: int = 1024
    max_tool_calls: int = 4096
    max_items: int = 4096
    max_depth: int = 128
    max_error_body: int = _MIB
    max_total_bytes: int | None = None


#: The limits in force when none are given.
DEFAULT_LIMITS = Limits()
