"""The public surface."""

from __future__ import annotations

import streamagg


def test_all_is_exactly_the_public_names() -> None:
    """``__all__`` lists every public name the package exports, and nothing private."""
    public = {n for n in dir(streamagg) if not n.startswith("_")} - {
        # submodule attributes set by importing them
        n
        for n in dir(streamagg)
        if type(getattr(streamagg, n)).__name__ == "module"
    }
    assert set(streamagg.__all__) == public | {"__version__"}
    assert len(streamagg.__all__) == len(set(streamagg.__all__))


def test_version_is_a_string() -> None:
    """``__version__`` is a dotted version string."""
    assert streamagg.__version__.count(".") == 2
