"""The dialect registry: one entry per dialect (``streamagg._core.dialect.Dialect``), in the
order detection asks them.

Detection, ``replay``, ``synthesize``, ``serve``, the app helpers and the CLI read the dialects
from here and nowhere else. A new dialect is its own folder (models, events, fold, synthesizer
and its ``Dialect`` entry) and one line below; ``register()`` adds one at run time (the test
suite's toy dialect does).
"""

from __future__ import annotations

from typing import Any

from .._chat.dialect import DIALECT as CHAT
from .._core.dialect import Dialect
from ..anthropic._dialect import DIALECT as ANTHROPIC
from ..completions._dialect import DIALECT as COMPLETIONS
from ..gemini._dialect import DIALECT as GEMINI
from ..ollama._dialect import DIALECT as OLLAMA
from ..responses._dialect import DIALECT as RESPONSES

__all__ = ["DEFAULT", "DIALECTS", "dialect_of", "register", "unregister"]

#: The dialects by name, in the order detection asks them. Legacy completions come before chat
#: completions: a chunk with ``choices`` is chat's unless completions' rule claims it first.
DIALECTS: dict[str, Dialect[Any, Any]] = {
    d.name: d for d in (RESPONSES, ANTHROPIC, COMPLETIONS, CHAT, GEMINI, OLLAMA)
}
#: What a stream that names no dialect is read as: the library's first dialect.
DEFAULT = CHAT


def register(dialect: Dialect[Any, Any]) -> None:
    """Add a dialect (last in detection's order); its name must be new."""
    if dialect.name in DIALECTS:
        raise ValueError(f"a dialect named {dialect.name!r} is registered already")
    DIALECTS[dialect.name] = dialect


def unregister(name: str) -> None:
    """Remove a dialect added by ``register()``."""
    if DIALECTS.get(name) is DEFAULT:
        raise ValueError(f"the default dialect {name!r} cannot be removed")
    del DIALECTS[name]


def dialect_of(obj: object) -> Dialect[Any, Any]:
    """The dialect whose final object ``obj`` is; ``TypeError`` for anything else."""
    for dialect in DIALECTS.values():
        if isinstance(obj, dialect.model):
            return dialect
    raise TypeError(f"not the final object of any dialect: {type(obj).__name__}")
