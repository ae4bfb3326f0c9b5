"""What a stream dialect is, in one place: the entry the registry holds for each dialect.

A ``Dialect`` names its fold (``aggregator``), its final object (``model``) and how its models
convert (``models``), the rules that recognise its streams (``claims_name``, ``claims_chunk``,
``claims_body``), the output text of its deltas, its synthesizer and its HTTP endpoints
(``routes``). Everything that works on any dialect (detection, ``replay``, the converter,
``synthesize``, ``serve``, the app helpers, the CLI) reads these entries and nothing else, so a
new dialect is one folder (its models, events, fold and this entry) and one line in the registry
(``streamagg._registry``).

Its methods are the entry points each dialect's public module binds (``replay``,
``fold``/``afold``, ``from_dict``), typed with the dialect's object. ``lazy_app`` gives a public
module the app helpers (``create``, ``stream``...) that the app layer makes from ``routes``: they
need httpx, so they are loaded on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from importlib import import_module
from typing import Any, Generic, TypeVar

import attrs

from .convert import ModelRules, converter, register
from .drain import adrain, drain
from .fold import FoldBase
from .limits import DEFAULT_LIMITS, Limits
from .source import Source, replay_into

__all__ = ["Dialect", "Route", "bearer", "lazy_app"]

R = TypeVar("R")
D = TypeVar("D")


def bearer(api_key: str) -> dict[str, str]:
    """The usual way to send an API key: ``Authorization: Bearer KEY``."""
    return {"Authorization": f"Bearer {api_key}"}


def _never(_: Any) -> bool:
    return False


@attrs.frozen(kw_only=True)
class Route:
    """One HTTP endpoint of a dialect: how the app helpers call it, how ``serve`` answers it.

    ``path`` is appended to the caller's base URL (``/messages``; Gemini's
    ``:streamGenerateContent`` follows the model's URL). ``serve`` is the path ``streamagg
    serve`` answers, a regular expression matched whole after an optional ``/v1`` or
    ``/v1beta`` (by default ``path`` itself): a group ``model`` names the model in the path, a
    group ``stream`` that matched says the call asks for a stream (else the body's ``stream``
    does, or ``streams_by_default`` when it has none). ``name`` names the app helpers
    (``create``/``acreate``, or ``generate``/``agenerate``...). ``auth`` turns an API key into
    headers; ``headers``, ``params`` and ``body`` are defaults (a body default the payload sets
    to None is not sent); ``stream_flag``: the body asks for a stream with ``"stream": true``.
    """

    path: str
    name: str = "create"
    serve: str | None = None
    auth: Callable[[str], dict[str, str]] = bearer
    headers: Mapping[str, str] = attrs.field(factory=dict)
    params: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] = attrs.field(factory=dict)
    stream_flag: bool = True
    streams_by_default: bool = False


@attrs.frozen(kw_only=True, eq=False)  # one object per dialect: compared (and hashed) by identity
class Dialect(Generic[R, D]):
    """A stream dialect (see the module's doc).

    Detection, the first event (or line) that names a dialect decides: an SSE event name or
    JSON ``type`` for which ``claims_name`` is true, else a decoded chunk for which
    ``claims_chunk`` is, in the registry's order; a whole JSON body by ``claims_body``, then
    as a chunk. ``output_text`` is the text a delta adds to the first choice (or candidate),
    or None. ``synthesize(obj, chunk_size, include_usage)`` gives the events (framed bytes) of
    a realistic stream that folds to ``obj``; ``done`` is what ends such a stream after its
    last event (``data: [DONE]``), if anything.
    """

    name: str
    aggregator: Callable[..., FoldBase[R, D]]
    model: type[R]
    models: tuple[ModelRules, ...]
    output_text: Callable[[Any], str | None]
    synthesize: Callable[[R, int, bool], list[bytes]]
    routes: tuple[Route, ...]
    claims_name: Callable[[str], bool] = _never
    claims_chunk: Callable[[Mapping[str, Any]], bool] = _never
    claims_body: Callable[[Mapping[str, Any]], bool] = _never
    done: bytes = b""

    def __attrs_post_init__(self) -> None:
        register(self.models)  # the converter knows every dialect there is

    @property
    def framing(self) -> str:
        """How its bytes are framed: ``"sse"``, or ``"ndjson"`` (JSON lines)."""
        framing: str = getattr(self.aggregator, "framing", "sse")
        return framing

    def new_fold(self, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> FoldBase[R, D]:
        """A new fold of this dialect."""
        return self.aggregator(limits=limits, strict=strict)

    def replay(self, source: Source, *, limits: Limits = DEFAULT_LIMITS, strict: bool = True) -> R:
        """Fold a recorded stream of this dialect into the final object it carries.

        ``source`` is the stream's bytes, a path to a recording, an open binary file or byte
        pieces; a recorded non-streaming answer (the object's JSON) is accepted too. Raises
        ``UpstreamError`` (an error the server sent), ``IncompleteStreamError`` (no terminal
        event; unless ``strict=False``), ``MalformedChunkError`` and ``LimitExceededError``,
        each with the partial object as ``.partial``.
        """
        return replay_into(self.aggregator(limits=limits, strict=strict), source)

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
        return drain(events, self.new_fold(limits, strict))

    async def afold(
        self,
        events: AsyncIterable[Mapping[str, Any] | Any],
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = True,
    ) -> R:
        """The async twin of ``fold``."""
        return await adrain(events, self.new_fold(limits, strict))

    def from_dict(self, data: Mapping[str, Any]) -> R:
        """The final object from its dict form (``to_dict`` output or a non-streaming body).
        Lenient: a value of an unexpected type is kept in ``extensions``."""
        result: R = converter.structure(data, self.model)
        return result


def lazy_app(module: str, dialect: Dialect[Any, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that loads the app helpers of ``dialect`` (made by
    the app layer, which needs httpx) on first use: ``stream``/``astream`` and, for each
    route, ``NAME``/``aNAME``."""
    names = {"stream", "astream"} | {n for r in dialect.routes for n in (r.name, "a" + r.name)}

    def module_getattr(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        helpers = import_module("streamagg._app.dialects").helpers(dialect)
        value = getattr(helpers, name)
        setattr(import_module(module), name, value)
        return value

    return module_getattr
