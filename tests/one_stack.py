"""The tests of the HTTP paths with one stack alone: ``python tests/one_stack.py httpx2`` runs
them where httpx cannot be imported (what ``pip install openai streamagg`` gives: the SDKs and
streamagg on httpx2), ``python tests/one_stack.py httpx`` where httpx2 cannot be imported (an
app on httpx alone, streamagg installed without its dependencies). Extra arguments go to
pytest.

The other stack is made unimportable in this process before pytest starts (an import of it
raises ``ModuleNotFoundError``, as when it is not installed), so one environment shows what two
CI jobs with two installs would: the tests of the missing stack are skipped, everything else
passes. ``.ci/run`` runs both.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
#: The modules run with each stack alone: the app layer, relay, the test kit, the pytest
#: plugin, and (with httpx2, which the SDKs need) the SDKs on cassettes and their helpers.
MODULES = {
    "httpx2": [
        "test_app_stacks.py",
        "test_app_decoding.py",
        "test_kit_stacks.py",
        "test_kit_sdks.py",
        "test_pytest_plugin_stacks.py",
        "test_sdk_helpers.py",
    ],
    "httpx": [
        "test_app.py",
        "test_app_stacks.py",
        "test_app_decoding.py",
        "test_relay.py",
        "test_testing.py",
        "test_pytest_plugin.py",
    ],
}
OTHER = {"httpx2": "httpx", "httpx": "httpx2"}


class Missing(MetaPathFinder):
    """A finder that makes the package ``name`` (and its submodules) not installed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == self.name or fullname.startswith(f"{self.name}."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in MODULES:
        print(f"usage: python tests/one_stack.py {{{','.join(MODULES)}}} [PYTEST ARGS]")
        return 2
    alone, *extra = argv
    missing = OTHER[alone]
    if missing in sys.modules:
        print(f"{missing} is imported already: run this file as a script")
        return 2
    sys.meta_path.insert(0, Missing(missing))
    print(f"== the HTTP paths with {alone} alone ({missing} cannot be imported)", flush=True)
    paths = [str(HERE / name) for name in MODULES[alone]]
    return int(pytest.main(["-q", "-p", "no:cacheprovider", *paths, *extra]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
