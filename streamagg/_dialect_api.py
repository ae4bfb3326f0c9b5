"""What each dialect's public module shares, written once: ``replay``, ``fold``/``afold`` and
``from_dict`` over a fold class and a model (``DialectAPI``), and the lazy loading of its app
helpers (``lazy_app``). ``streamagg.responses`` and ``streamagg.anthropic`` bind them to their
own fold and model, so each function is typed with the dialect's object."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from importlib import import_module
from typing import Any, Generic, TypeVar

from ._convert import converter
from ._eventfold import EventFold
from ._fold import Folding
from ._limits import DEFAULT_LIMITS, Limits
from ._replay import Source, replay_into

__all__ = ["DialectAPI", "lazy_app"]

R = TypeVar("R")


class DialectAPI(Generic[R]):
    """The entry points of a dialect whose fold is ``fold_class`` and final object ``model``."""

    def __init__(self, fold_class: Callable[..., EventFold[R, Any]], model: type[R]) -> None:
        self.fold_class = fold_class
        self.model = model

    def replay(self, source: Source, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> R:
        """Fold a recorded stream of this dialect into the final object it carries.

        ``source`` is the stream's bytes, a path to a recording, an open binary file or byte
        pieces; a recorded non-streaming answer (the object's JSON) is accepted too. Raises
        ``UpstreamError`` (an error the server sent), ``IncompleteStreamError`` (no terminal
        event; unless ``strict=False``), ``MalformedChunkError`` and ``LimitExceededError``,
        each with the partial object as ``.partial``.
        """
        return replay_into(self.fold_class(limits=limits, strict=strict), source)

    def fold(
        self,
        events: Iterable[Mapping[str, Any] | Any],
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
    ) -> R:
        """Fold parsed events: dicts, or the SDK's event objects (a ``stream=True`` call of the
        openai or anthropic SDK, whose errors become ``UpstreamError`` or
        ``StreamInterruptedError`` with the partial object)."""
        fold = self.fold_class(limits=limits, strict=strict)
        return Folding(events, fold, fold.receive_event).run(events)

    async def afold(
        self,
        events: AsyncIterable[Mapping[str, Any] | Any],
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
    ) -> R:
        """The async twin of ``fold``."""
        fold = self.fold_class(limits=limits, strict=strict)
        return await Folding(events, fold, fold.receive_event).arun(events)

    def from_dict(self, data: Mapping[str, Any]) -> R:
        """The final object from its dict form (``to_dict`` output or a non-streaming body).
        Lenient: a value of an unexpected type is kept in ``extensions``."""
        result: R = converter.structure(data, self.model)
        return result


def lazy_app(module: str, app_module: str, names: frozenset[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that loads ``names`` from ``app_module`` (which needs
    httpx) on first use."""

    def module_getattr(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(import_module(f"streamagg.{app_module}"), name)
        setattr(import_module(module), name, value)
        return value

    return module_getattr
