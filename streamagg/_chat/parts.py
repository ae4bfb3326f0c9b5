"""The parts of a choice being folded, each with the rules that change it: the partial JSON of
a text (``PartialText``), one tool call (``ToolState``), logprobs (``LogprobsState``) and audio
(``AudioState``)."""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any

from .._core.errors import InvalidChunk
from .._core.merge import copy_json
from .._core.partial import PartialJSON
from .._core.pieces import JOIN_AT, Pieces
from .events import (
    Delta,
    ToolCallArgumentsDelta,
)
from .models import (
    Audio,
    FunctionCall,
    Logprobs,
    ToolCall,
)
from .rules import FUNCTION_KEYS, TOOL_KEYS, Rules, as_list, mapping

__all__ = ["AudioState", "LogprobsState", "PartialText", "ToolState"]


class PartialText:
    """Text arriving in pieces, parsed as JSON only when its value is asked for, and then only
    the pieces that came since the last time (so reading it after every piece stays linear).
    When the pieces were compacted since (``Pieces.joins``), the text not yet fed is found by
    its length instead, once per compaction."""

    __slots__ = ("chars", "fed", "joins", "parser")

    def __init__(self) -> None:
        self.parser: PartialJSON | None = None
        self.fed = 0  # pieces fed
        self.chars = 0  # characters fed
        self.joins = 0  # the pieces' compactions when they were fed

    def value(self, pieces: Pieces) -> Any:
        parser = self.parser
        if parser is None:
            parser = self.parser = PartialJSON()
        if pieces.joins == self.joins:
            new = "".join(pieces[self.fed :])
        else:
            new = "".join(pieces)[self.chars :]
            self.joins = pieces.joins
        if new:
            parser.feed(new)
        self.fed = len(pieces)
        self.chars += len(new)
        return parser.value


class ToolState:
    """A tool call (or the legacy ``function_call``, whose ``key`` is None) being folded.

    ``ChoiceState.tool_call`` decides which call a fragment belongs to and sets the call's
    identity (id, type) as it does; the function and any other key are folded here."""

    __slots__ = (
        "arguments",
        "choice",
        "extra",
        "function_extra",
        "id",
        "key",
        "name",
        "order",
        "partial",
        "type",
    )

    def __init__(self, choice: int, key: int | None, order: tuple[int, int] = (0, 0)) -> None:
        self.choice = choice
        self.key = key  # the number deltas give it (unique in its choice)
        self.order = order  # where it goes in the message: (stream index, arrival at that index)
        self.partial = PartialText()  # the arguments parsed so far, when asked for
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments = Pieces()
        self.extra: dict[str, Any] = {}
        self.function_extra: dict[str, Any] = {}

    def fold_extra(self, entry: Mapping[str, Any], rules: Rules) -> None:
        """The keys of a fragment besides ``index``/``id``/``type``/``function``."""
        extra = self.extra
        for k, v in entry.items():
            if v is not None and k not in TOOL_KEYS:
                extra[k] = rules.merge(extra.get(k), v, k)

    def fold_function(
        self,
        function: Any,
        field: str,
        rules: Rules,
        out: list[Delta] | None,
    ) -> None:
        """A fragment of the function: ``arguments`` pieces append, ``name`` first non-empty."""
        if function.__class__ is not dict:
            function = mapping(function, field)
        get = function.get
        arguments = get("arguments")
        if arguments is not None:
            if arguments.__class__ is not str:
                # Some servers send arguments as an object: keep it as JSON text.
                arguments = json.dumps(rules.kept(arguments))
            self.add_arguments(arguments, out)
        name = get("name")
        if name and not self.name:
            if name.__class__ is not str:
                raise InvalidChunk(f"{field}.name", "a string", name)
            self.name = name
        if len(function) > (arguments is not None) + (name is not None):
            extra = self.function_extra
            for k, v in function.items():
                if v is not None and k not in FUNCTION_KEYS:
                    extra[k] = rules.merge(extra.get(k), v, k)

    def add_arguments(self, arguments: str, out: list[Delta] | None) -> None:
        """A piece of the arguments (an empty one is no piece)."""
        if arguments:
            parts = self.arguments
            parts.append(arguments)  # Pieces.add, inline: once a fragment
            if len(parts) > JOIN_AT:
                parts.compact()
            if out is not None and self.key is not None:
                out.append(ToolCallArgumentsDelta(self.choice, self.key, arguments))

    def function(self) -> FunctionCall:
        return FunctionCall(
            name=self.name,
            arguments="".join(self.arguments),
            extensions=copy_json(self.function_extra) if self.function_extra else {},
        )

    def build(self, partial: bool = False) -> ToolCall:
        return ToolCall(
            id=self.id,
            type=self.type or "function",
            function=self.function(),
            extensions=copy_json(self.extra) if self.extra else {},
            partial_arguments=self.partial.value(self.arguments) if partial else None,
        )


def _tokens(value: Any, key: str) -> list[Any]:
    """A chunk's logprob tokens, which must be objects: a response holding anything else would
    not convert. Tokens are not measured for depth (that would cost as much as folding them):
    the converter never recurses into them."""
    tokens = value if value.__class__ is list else as_list(value, f"choices[].logprobs.{key}")
    for token in tokens:
        if token.__class__ is not dict and not isinstance(token, Mapping):
            raise InvalidChunk(f"choices[].logprobs.{key}[]", "an object", token)
    return tokens


class LogprobsState:
    """A choice's logprobs: token lists extend, other keys merge."""

    __slots__ = ("content", "extra", "refusal")

    def __init__(self) -> None:
        self.content: list[Any] | None = None
        self.refusal: list[Any] | None = None
        self.extra: dict[str, Any] = {}

    def fold(self, logprobs: Any, rules: Rules) -> None:
        if logprobs.__class__ is not dict:
            logprobs = mapping(logprobs, "choices[].logprobs")
        for k, v in logprobs.items():
            if v is None:
                continue
            if k == "content" or k == "refusal":  # noqa: PLR1714 - the hot comparison first
                # A token list, once made, is only extended: shapes extend it directly.
                tokens, kept = _tokens(v, k), getattr(self, k)
                if kept is None:
                    setattr(self, k, list(tokens))
                else:
                    kept.extend(tokens)
            else:
                self.extra[k] = rules.merge(self.extra.get(k), v, k)

    def build(self) -> Logprobs | None:
        if self.content is None and self.refusal is None and not self.extra:
            return None  # only nulls were sent
        return Logprobs(
            content=None if self.content is None else list(self.content),
            refusal=None if self.refusal is None else list(self.refusal),
            extensions=copy_json(self.extra) if self.extra else {},
        )


class AudioState:
    """A message's audio output: ``id`` first non-empty, ``transcript`` pieces concatenate,
    ``data`` pieces (each base64 on its own) are decoded and joined as bytes, then encoded once,
    ``expires_at`` last non-null; other keys merge."""

    __slots__ = ("data", "expires_at", "extra", "id", "transcript")

    def __init__(self) -> None:
        self.id = ""
        self.transcript = Pieces()
        self.data: list[bytes] = []
        self.expires_at: int | None = None
        self.extra: dict[str, Any] = {}

    def fold(self, audio: Any, rules: Rules) -> None:
        audio = mapping(audio, "delta.audio")
        for k, v in audio.items():
            if v is None:
                continue
            if k == "id":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.id", "a string", v)
                if not self.id:
                    self.id = v
            elif k == "transcript":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.transcript", "a string", v)
                self.transcript.add(v)
            elif k == "data":
                if v.__class__ is not str:
                    raise InvalidChunk("delta.audio.data", "a string", v)
                try:
                    self.data.append(b64decode(v, validate=True))
                except (binascii.Error, ValueError):
                    raise InvalidChunk("delta.audio.data", "base64 text", v) from None
            elif k == "expires_at":
                if v.__class__ is not int:
                    raise InvalidChunk("delta.audio.expires_at", "an integer", v)
                self.expires_at = v
            else:
                self.extra[k] = rules.merge(self.extra.get(k), v, k)

    def build(self) -> Audio:
        return Audio(
            id=self.id,
            data=b64encode(b"".join(self.data)).decode("ascii"),
            transcript="".join(self.transcript),
            expires_at=self.expires_at,
            extensions=copy_json(self.extra) if self.extra else {},
        )
