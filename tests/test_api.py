"""The public surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


def test_the_core_imports_without_an_http_stack() -> None:
    """Models, converter, SSE decoder, fold and replay work with neither httpx2 nor httpx
    installed; the app layer imports too (it takes the stack of the client it is given), and a
    client of neither stack is a clear ``TypeError``."""
    code = (
        "import sys\n"
        "sys.modules['httpx'] = sys.modules['httpx2'] = None\n"  # any import of either fails
        "import streamagg, streamagg._chat.fold, streamagg._core.sse, streamagg._core.convert\n"
        'r = streamagg.replay(b\'data: {"choices": [{"finish_reason": "stop"}]}\\n\\n\')\n'
        "assert streamagg.to_dict(r)['choices'][0]['finish_reason'] == 'stop'\n"
        "try:\n"
        "    streamagg.stream(object(), 'http://localhost', {}).__enter__()\n"
        "except TypeError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "expected an object of httpx2 or httpx (a Client, AsyncClient...), got builtins.object"
    )


def test_app_names_load_on_first_use() -> None:
    """The lazily loaded names are the real objects, and ``dir()`` lists them."""
    from streamagg._app.chat import chat
    from streamagg._app.http import HTTPStatusError

    assert streamagg.chat is chat
    assert streamagg.HTTPStatusError is HTTPStatusError
    assert {"chat", "stream", "HTTPStatusError"} <= set(dir(streamagg))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        streamagg.nope  # noqa: B018


@pytest.mark.parametrize("name", ["responses", "anthropic"])
def test_dialect_modules(name: str) -> None:
    """``streamagg.responses`` and ``streamagg.anthropic`` load on first use; each ``__all__``
    is exactly the module's public names, app helpers included."""
    import importlib

    module = getattr(streamagg, name)
    assert module is importlib.import_module(f"streamagg.{name}")
    for attribute in module.__all__:
        getattr(module, attribute)
    # (pytest's assertion rewriting may add names starting with "@")
    public = {n for n in dir(module) if not n.startswith(("_", "@"))}
    assert public <= set(module.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_dialects_import_without_httpx() -> None:
    """The dialect folds are core: they replay with httpx unavailable."""
    code = (
        "import sys\n"
        "sys.modules['httpx'] = sys.modules['httpx2'] = None\n"
        "from streamagg import anthropic, responses\n"
        'm = anthropic.replay(b\'data: {"type": "message_start", "message": {"id": "m"}}'
        '\\n\\ndata: {"type": "message_stop"}\\n\\n\')\n'
        "assert m.id == 'm'\n"
        'r = responses.replay(b\'data: {"type": "response.completed", "response": '
        '{"id": "r", "status": "completed"}}\\n\\n\')\n'
        "assert r.id == 'r'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
