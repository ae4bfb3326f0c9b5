"""A toy dialect, defined here in the test suite and nowhere in the package, to prove that a new
dialect is one folder and one registry line: registered (``streamagg._registry.register``), it
gets detection, ``replay``, ``synthesize``, ``serve``, the converter and the app helpers with no
edit anywhere else.

The "echo" API streams ``data: {"echo": "piece"}`` events and ends with ``{"echo_end": REASON}``;
its non-streaming answer is ``{"object": "echo.reply", "text": ..., "stop": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import define, field, frozen

from streamagg._core.convert import ModelRules
from streamagg._core.dialect import Dialect, Route, lazy_app
from streamagg._core.fields import text_of
from streamagg._core.fold import EventFold
from streamagg._core.framing import cut, sse_event
from streamagg._core.pieces import Pieces
from streamagg._core.report import FoldReport, OutputText, extensions, fast_init

__all__ = ["DIALECT", "EchoAggregator", "EchoReply", "EchoText"]


@define
class EchoReply:
    """The final object: the echoed text and why it stopped."""

    object: str = "echo.reply"
    text: str | None = None
    stop: str | None = None
    extensions: dict[str, Any] = field(factory=extensions)
    report: FoldReport | None = field(default=None, eq=False, repr=False)


@fast_init
@frozen
class EchoText(OutputText):
    """A piece of the echoed text."""

    text: str


class EchoAggregator(EventFold[EchoReply, EchoText]):
    """The toy's fold: pieces of text, then the terminal ``echo_end``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._text = Pieces()
        self._stop: str | None = None

    def _event(self, kind: str, event: dict[str, Any], out: list[EchoText] | None) -> None:
        piece = text_of(event.get("echo"), "echo")
        if piece:
            self._text.add(piece)
            if out is not None:
                out.append(EchoText(piece))
        if event.get("echo_end") is not None:
            self._stop = text_of(event["echo_end"], "echo_end")
            self._terminate()

    def _object(self, body: dict[str, Any]) -> None:
        self._text = Pieces([text_of(body.get("text"), "text")])
        self._stop = text_of(body.get("stop"), "stop") or None
        self._terminate()

    def _incomplete(self) -> str:
        return "before echo_end"

    def _make(self, partial: bool) -> EchoReply:
        return EchoReply(text="".join(self._text) or None, stop=self._stop)


def _claims_chunk(chunk: Mapping[str, Any]) -> bool:
    return "echo" in chunk or "echo_end" in chunk


def _claims_body(body: Mapping[str, Any]) -> bool:
    return body.get("object") == "echo.reply"


def _output_text(delta: object) -> str | None:
    return delta.text if isinstance(delta, EchoText) else None


def _synthesize(reply: EchoReply, chunk_size: int, include_usage: bool) -> list[bytes]:
    pieces = [sse_event({"echo": piece}) for piece in cut(reply.text or "", chunk_size)]
    return [*pieces, sse_event({"echo_end": reply.stop or "stop"})]


DIALECT: Dialect[EchoReply, EchoText] = Dialect(
    name="echo",
    aggregator=EchoAggregator,
    model=EchoReply,
    models=(ModelRules(model=EchoReply, omit_none=("text", "stop")),),
    output_text=_output_text,
    synthesize=_synthesize,
    routes=(Route(path="/echo"),),
    claims_chunk=_claims_chunk,
    claims_body=_claims_body,
)

#: The app helpers (``create``, ``acreate``, ``stream``, ``astream``), loaded on first use.
__getattr__ = lazy_app(__name__, DIALECT)
