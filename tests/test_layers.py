"""The layer contract (``[tool.importlinter]`` in pyproject.toml) holds, and it would catch a
breach: a copy of the package with one import added against the layers fails ``lint-imports``,
which names that import."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None,
    reason="import-linter is not installed (dependency groups `tools`, `test`, `lint`)",
)

# `lint-imports`, run by this interpreter (importlinter.cli has no `__main__`).
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in ``project``: its pyproject.toml, its copy of the package (the working
    directory comes first on the path, before any installed streamagg)."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the package and of pyproject.toml (which holds the contracts)."""
    shutil.copytree(
        ROOT / "streamagg", tmp_path / "streamagg", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_contracts(project: Path) -> None:
    """The package as it is keeps both contracts (the dialects' type-only imports of the app
    layer do not count)."""
    result = _lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "breach"),
    [
        pytest.param(
            "_core/errors.py",
            "from streamagg._app import timing",
            "streamagg._core.errors -> streamagg._app.timing",
            id="core-imports-app",
        ),
        pytest.param(
            "gemini/_fold.py",
            "from streamagg.anthropic import _models",
            "streamagg.gemini._fold -> streamagg.anthropic._models",
            id="dialect-imports-dialect",
        ),
        pytest.param(
            "_core/limits.py",
            "import httpx",
            "streamagg._core.limits -> httpx",
            id="core-imports-httpx",
        ),
        pytest.param(
            "ollama/__init__.py",
            "from streamagg._app import dialects",
            "streamagg.ollama -> streamagg._app.dialects",
            id="dialect-imports-app-at-run-time",
        ),
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(
    project: Path, module: str, line: str, breach: str
) -> None:
    """One import added against the layers (upward, between dialects, httpx into the core, the
    app layer at run time) makes ``lint-imports`` fail and name that import."""
    path = project / "streamagg" / module
    path.write_text(path.read_text() + f"\n{line}  # against the layers\n")
    result = _lint_imports(project)
    assert result.returncode != 0
    assert "Contracts: 1 kept, 1 broken." in result.stdout, result.stdout + result.stderr
    assert re.search(rf"^-\s+{re.escape(breach)} \(l\.\d+\)$", result.stdout, re.M), result.stdout
