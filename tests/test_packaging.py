"""What a user installs: ``python -m build`` makes an sdist and a wheel that pass ``twine check``,
carry the licence and no local clutter, and install into a fresh venv (dependencies from the
index) where ``import streamagg`` and the ``streamagg`` command work."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in ("build", "twine")),
        reason="build and twine are not installed (dependency groups `tools`, `test`)",
    ),
]

# Directory names that are a developer's or CI's, never the project's.
CLUTTER = {
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".import_linter_cache",
    "htmlcov",
}


def _run(*args: str | Path, cwd: Path) -> str:
    """Run a command; fail the test with its output when it fails."""
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _is_clutter(name: str) -> bool:
    """Whether an archive member lies in a local directory or is a build product."""
    parts = name.split("/")
    return (
        any(part in CLUTTER or part.startswith(".ci-venv") for part in parts)
        or name.endswith((".pyc", ".pyo"))
        or parts[-1].startswith(".coverage")
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel, built as a release is (the wheel from the sdist, each in an
    isolated build environment)."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    (sdist,) = out.glob("streamagg-*.tar.gz")
    (wheel,) = out.glob("streamagg-*.whl")
    return sdist, wheel


def test_twine_check_passes(dist: tuple[Path, Path]) -> None:
    """Both distributions pass ``twine check --strict`` (the README renders on the index)."""
    sdist, wheel = dist
    output = _run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel, cwd=ROOT)
    assert output.count("PASSED") == 2, output


def test_the_sdist_holds_the_project_and_no_local_clutter(dist: tuple[Path, Path]) -> None:
    """The sdist has the licence, the package, tests and recordings, and none of a venv, a cache
    or a compiled file."""
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert {"LICENSE", "pyproject.toml", "README.md", "CHANGELOG.md", "PKG-INFO"} <= set(names)
    assert "streamagg/py.typed" in names
    assert any(name.startswith("tests/streams/") for name in names)
    assert [name for name in names if _is_clutter(name)] == []


def test_the_wheel_holds_the_package_and_its_licence(dist: tuple[Path, Path]) -> None:
    """The wheel has the typed package and its licence, declared as ``MIT``, and nothing else
    (no tests, no clutter)."""
    _, wheel = dist
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        headers = archive.read(metadata).decode()
    assert {name.split("/")[0] for name in names} == {"streamagg", metadata.split("/")[0]}
    assert "streamagg/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert [name for name in names if _is_clutter(name)] == []
    assert "License-Expression: MIT" in headers.splitlines()
    assert "Requires-Python: >=3.11" in headers.splitlines()


def test_the_wheel_installs_and_runs_in_a_fresh_venv(
    dist: tuple[Path, Path], tmp_path: Path
) -> None:
    """Installed (with its dependencies and the ``serve`` extra, beside the openai SDK) into a
    fresh venv, away from this checkout, the wheel imports, ``streamagg --help`` and
    ``streamagg replay`` work, and httpx is not installed: httpx2 is the stack of both."""
    _, wheel = dist
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    _run(*pip, f"{wheel}[serve]", "openai>=3", cwd=tmp_path)
    check = "import importlib.util as u; print([n for n in ('httpx', 'httpx2') if u.find_spec(n)])"
    assert _run(python, "-c", check, cwd=tmp_path).strip() == "['httpx2']"

    where = _run(python, "-c", "import streamagg; print(streamagg.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(env)  # the installed copy, not this checkout
    assert "replay" in _run(bin_dir / "streamagg", "--help", cwd=tmp_path)
    recording = ROOT / "tests" / "streams" / "openai-python__n3-choices.sse"
    folded = _run(bin_dir / "streamagg", "replay", recording, cwd=tmp_path)
    assert '"object": "chat.completion"' in folded
