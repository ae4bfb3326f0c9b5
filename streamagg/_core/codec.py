"""JSON decoding for the folds: the one place that picks the decoder.

The parse of each chunk is the floor of a fold's cost, so it gets the fastest decoder there is:

* orjson, when it is installed (``pip install streamagg[fast]``) and not turned off with the
  environment variable ``STREAMAGG_ORJSON=0``;
* otherwise the standard library's C scanner called directly (``JSONDecoder.scan_once``):
  ``json.loads`` spends a sixth of a small chunk's time on argument checks and the two regular
  expressions that skip whitespace around the document, which event data never has. Data that
  does not start and end with its JSON value (surrounding whitespace, or no JSON at all) goes to
  the full decoder, which accepts the whitespace and gives the exact error.

Results are identical either way: what orjson refuses and the standard library reads (``NaN``,
``Infinity``, a lone surrogate escape, nesting past 1,024 levels) is decoded again by the
standard library (``decode_exact``) before anything is called bad input. One difference
remains, documented in the README: orjson reads an integer beyond 64 bits as a float (Python's
``json`` keeps it exact); no API we know sends one.

Folds take the decoder in force when they are made (``loads``); ``use_orjson`` switches it for
folds made afterwards (the benchmark measures both in one run).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "decode_exact",
    "loads",
    "orjson_available",
    "scan_string",
    "scan_value",
    "stdlib_loads",
    "use_orjson",
]

_DECODER = json.JSONDecoder()
#: The C scanner (``c_make_scanner``) the decoder made: ``(value, end)`` of the JSON value that
#: starts at an index; ``StopIteration`` or ``ValueError`` when none does.
scan_value: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
#: The C string scanner: ``(value, end)`` of the string literal whose opening quote is just
#: before an index (``end`` just after its closing quote); ``ValueError`` when there is none.
scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

#: The standard library's decoder, with its exact errors: what every fallback uses.
decode_exact: Callable[[str], Any] = _DECODER.decode


def stdlib_loads(data: str) -> Any:
    """``json.loads`` without its per-call overhead (see the module doc)."""
    try:
        value, end = scan_value(data, 0)
    except StopIteration:
        return decode_exact(data)  # leading whitespace, or not JSON
    if end != len(data):
        return decode_exact(data)  # trailing whitespace, or extra data
    return value


_orjson_loads: Callable[[str], Any] | None
try:
    _orjson_loads = importlib.import_module("orjson").loads
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_loads = None

orjson_available = _orjson_loads is not None

#: The decoder folds use: ``data`` (a str) to its value; raises ``ValueError`` (then ask
#: ``decode_exact``) or ``RecursionError``.
loads: Callable[[str], Any] = stdlib_loads


def use_orjson(enabled: bool) -> bool:
    """Make folds created from now on decode with orjson (when installed) or with the standard
    library. Returns whether orjson is now in use."""
    global loads  # noqa: PLW0603 - the one switch, read when a fold is made
    loads = _orjson_loads if enabled and _orjson_loads is not None else stdlib_loads
    return loads is not stdlib_loads


use_orjson(os.environ.get("STREAMAGG_ORJSON", "1") != "0")
