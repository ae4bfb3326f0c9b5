"""The sans-IO fold of a Gemini ``streamGenerateContent?alt=sse`` stream into the
``GenerateContentResponse`` that ``generateContent`` returns.

Each chunk is a ``GenerateContentResponse`` of its own. The rules, and why:

* Top-level keys (``usageMetadata``, ``modelVersion``, ``responseId``, ``promptFeedback``, any
  other): last non-null value. Usage is cumulative in every chunk (summing it is a peers' bug);
  a chunk without it never erases it. ``createTime``: the first.
* Candidates are keyed by ``index`` (missing means 0), sorted in the result. ``content.role``:
  the first; ``finishReason``, ``safetyRatings``, ``groundingMetadata``, ``finishMessage`` and
  any other key: last non-null; ``citationMetadata.citations`` append.
* Parts are appended in order. A part made only of ``text``/``thought``/``thoughtSignature``
  merges into the previous part when that one is also text-only, has the same ``thought`` flag,
  and the two do not both carry a signature: the text concatenates, and a signature that
  arrives later (even on an empty text part) stays on the merged part. Other parts (function
  calls, code and its results, server tool calls and responses, inline data) are never merged.
* Streamed function arguments (Vertex ``streamFunctionCallArguments``): a ``functionCall`` with a
  ``name`` and ``willContinue: true`` opens a call; ``partialArgs`` entries write their
  ``stringValue``/``numberValue``/``boolValue``/``nullValue`` at their ``jsonPath`` (strings
  concatenate); a ``functionCall`` without a name continues the open call, and one without
  ``willContinue`` (``{}``) closes it. The result is a plain ``functionCall {name, args}``.
* No ``[DONE]``: the stream is complete at its end when every candidate has a finish reason. A
  blocked prompt (``promptFeedback.blockReason``, no candidates) is a valid final object.
* A chunk with an ``error`` raises ``UpstreamError`` with the partial response.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from .._core.convert import converter
from .._core.errors import InvalidChunk, OverLimit
from .._core.fields import Streamed, check_count, keyed_entry, text_of
from .._core.fold import ERRORED, EventFold
from .._core.pieces import Pieces
from ._events import FinishDelta, GeminiDelta, PartStart, TextDelta, ThoughtDelta
from ._models import GenerateContentResponse

__all__ = ["GeminiAggregator"]

_TEXT_KEYS = frozenset({"text", "thought", "thoughtSignature"})
# One step of a JSON path (RFC 9535, the forms the API sends): .name, [0], ['name'], ["name"].
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_VALUE_KEYS = ("stringValue", "numberValue", "boolValue", "nullValue")


def _steps(path: str) -> list[str | int]:
    """The steps of a JSON path such as ``$.a.b[0]``."""
    if not path.startswith("$"):
        raise InvalidChunk("partialArgs[].jsonPath", "a JSON path starting with $", path)
    steps: list[str | int] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise InvalidChunk("partialArgs[].jsonPath", "a JSON path", path)
        name, number, quoted, double = match.groups()
        steps.append(int(number) if number is not None else (name or quoted or double or ""))
        at = match.end()
    return steps


def _place(container: Any, step: str | int, max_items: int) -> None:
    """Make room for ``step`` in ``container`` (a list grows to its index, within
    ``max_items``)."""
    if isinstance(step, int):
        if not isinstance(container, list):
            raise InvalidChunk("partialArgs[].jsonPath", "a path matching the arguments", step)
        if step >= max_items:
            raise OverLimit("max_items", "elements in a list of arguments")
        container.extend([None] * (step + 1 - len(container)))


def _plain(value: Any) -> Any:
    """Arguments as JSON: their streamed strings (``Pieces``) joined, containers copied."""
    cls = value.__class__
    if cls is Pieces:
        return "".join(value)
    if cls is dict:
        return {k: _plain(v) for k, v in value.items()}
    if cls is list:
        return [_plain(v) for v in value]
    return value


class _Part(Streamed):
    """A part: its JSON, and its text as pieces."""

    __slots__ = ("open_call", "text_only", "thought")

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.open_call = False  # a function call whose arguments are still streaming
        # Made only of text, thought and signature (only a signature is ever added to it).
        self.text_only = _TEXT_KEYS.issuperset(data)
        self.thought = bool(data.get("thought"))

    def write_arg(self, entry: Any, max_steps: int, max_items: int) -> None:
        """Apply one ``partialArgs`` entry to the open call's ``args``. A streamed string is
        kept in pieces (joined when the part is built), so that its cost stays linear."""
        if entry.__class__ is not dict:
            raise InvalidChunk("partialArgs[]", "an object", entry)
        path = entry.get("jsonPath")
        if path.__class__ is not str:
            raise InvalidChunk("partialArgs[].jsonPath", "a string", path)
        steps = _steps(path)
        if not steps or len(steps) > max_steps:
            raise InvalidChunk("partialArgs[].jsonPath", "a path into the arguments", path)
        key = next((k for k in _VALUE_KEYS if k in entry), None)
        if key is None:
            return  # a continuation marker without a value
        value = None if key == "nullValue" else entry[key]
        call = self.data["functionCall"]
        node: Any = call.setdefault("args", {})
        for step, following in itertools.pairwise(steps):
            _place(node, step, max_items)
            child = node[step] if isinstance(step, int) else node.get(step)
            if child is None:
                child = [] if isinstance(following, int) else {}
                node[step] = child
            node = child
        last = steps[-1]
        _place(node, last, max_items)
        if key == "stringValue":
            text = text_of(value, "partialArgs[].stringValue")
            current = node.get(last) if isinstance(node, dict) else node[last]
            if current.__class__ is Pieces:
                current.add(text)
                return
            value = Pieces((text,))
        node[last] = value


class _Candidate:
    """A candidate: its keys, its role, its parts."""

    __slots__ = ("citations", "data", "indexed", "parts", "parts_sent", "role")

    def __init__(self) -> None:
        self.indexed = False  # whether the stream named its index (else it is left out)
        self.parts_sent = False  # whether a content had a parts list (even empty)
        self.data: dict[str, Any] = {}
        self.role: Any = None
        self.parts: list[_Part] = []
        self.citations: list[Any] | None = None

    def build(self, index: int) -> dict[str, Any]:
        data = dict(self.data)
        content: dict[str, Any] = {}
        if self.parts or self.parts_sent:
            content["parts"] = [_built_part(part) for part in self.parts]
        if self.role is not None:
            content["role"] = self.role
        if content:
            data["content"] = content
        if self.citations is not None:
            citation = data.get("citationMetadata")
            data["citationMetadata"] = {
                **(citation if isinstance(citation, dict) else {}),
                "citations": list(self.citations),
            }
        if self.indexed:
            data["index"] = index
        return data


def _built_part(part: _Part) -> dict[str, Any]:
    data = part.build()
    call = data.get("functionCall")
    if isinstance(call, dict):  # streamed arguments joined; the streaming keys left out
        data["functionCall"] = {
            k: _plain(v) if k == "args" else v
            for k, v in call.items()
            if k not in ("partialArgs", "willContinue")
        }
    return data


class GeminiAggregator(EventFold[GenerateContentResponse, GeminiDelta]):
    """Fold a Gemini stream into the ``GenerateContentResponse`` (rules:
    ``streamagg.gemini._fold``).

    Sans-IO, with the API of the chat-completions ``Aggregator``: ``feed(chunk)`` for a parsed
    chunk (a dict, or a google-genai response object with ``model_dump``), ``feed_event(sse)``,
    ``snapshot()`` and ``result()``; ``StreamReader`` drives ``receive``/``receive_body``.
    ``limits`` and ``strict`` are the fold options of ``Aggregator``.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._top: dict[str, Any] = {}
        self._candidates: dict[int, _Candidate] = {}

    @property
    def complete(self) -> bool:
        """True when every candidate has a finish reason, or the prompt was blocked."""
        if self._phase is ERRORED:
            return False
        feedback = self._top.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            return True
        candidates = self._candidates.values()
        return bool(candidates) and all(c.data.get("finishReason") for c in candidates)

    def _incomplete(self) -> str:
        if self._chunks == 0:
            return "without any chunk"
        waiting = sorted(i for i, c in self._candidates.items() if not c.data.get("finishReason"))
        if waiting:
            return f"before candidates {waiting} had a finishReason"
        return "without a candidate or a blocked prompt"

    def _object(self, body: dict[str, Any]) -> None:
        self._event(None, body, None)

    def _event(self, kind: Any, chunk: dict[str, Any], out: list[GeminiDelta] | None) -> None:
        error = chunk.get("error")
        if error is not None:
            self._raise_error(error)
        top = self._top
        for key, value in chunk.items():
            if key == "candidates":
                if value is None:
                    continue
                if value.__class__ is not list:
                    raise InvalidChunk("candidates", "a list", value)
                for candidate in value:
                    self._candidate(candidate, out)
            elif key == "createTime":
                top.setdefault(key, value)
            elif value is not None:
                top[key] = self._kept(value, key)

    def _candidate(self, data: Any, out: list[GeminiDelta] | None) -> None:
        limits = self.limits
        index, candidate = keyed_entry(self._candidates, data, "candidates", limits, _Candidate)
        candidate.indexed = candidate.indexed or "index" in data
        for key, value in data.items():
            if key == "content":
                self._content(index, candidate, value, out)
            elif key == "citationMetadata" and isinstance(value, dict):
                self._citations(candidate, value)
            elif key != "index" and value is not None:
                candidate.data[key] = self._kept(value, key)
                if key == "finishReason" and out is not None and value.__class__ is str:
                    out.append(FinishDelta(index, value))

    def _citations(self, candidate: _Candidate, value: dict[str, Any]) -> None:
        citations = value.get("citations")
        rest = {k: v for k, v in value.items() if k != "citations"}
        if rest:
            candidate.data["citationMetadata"] = self._kept(rest, "citationMetadata")
        if citations is None:
            return
        if citations.__class__ is not list:
            raise InvalidChunk("citationMetadata.citations", "a list", citations)
        kept = candidate.citations if candidate.citations is not None else []
        check_count(len(kept) + len(citations), self.limits, "citations")
        kept.extend(self._kept(citations, "citations"))
        candidate.citations = kept

    def _content(
        self, index: int, candidate: _Candidate, content: Any, out: list[GeminiDelta] | None
    ) -> None:
        if content is None:
            return
        if content.__class__ is not dict:
            raise InvalidChunk("content", "an object", content)
        if candidate.role is None:
            candidate.role = content.get("role")
        parts = content.get("parts")
        if parts is None:
            return
        if parts.__class__ is not list:
            raise InvalidChunk("content.parts", "a list", parts)
        candidate.parts_sent = True
        for part in parts:
            if part.__class__ is not dict:
                raise InvalidChunk("content.parts[]", "an object", part)
            self._part(index, candidate, part, out)

    def _part(
        self,
        index: int,
        candidate: _Candidate,
        part: dict[str, Any],
        out: list[GeminiDelta] | None,
    ) -> None:
        parts = candidate.parts
        last = parts[-1] if parts else None
        if _TEXT_KEYS.issuperset(part):  # the hot path: a piece of text
            text = part.get("text")
            if text.__class__ is not str:
                text = text_of(text, "text")
            thought = bool(part.get("thought"))
            signature = part.get("thoughtSignature")
            if (
                last is not None
                and last.text_only
                and last.thought == thought
                and (signature is None or last.data.get("thoughtSignature") is None)
            ):
                pieces = last.pieces.get("text")
                if pieces is None:
                    last.extend("text", text)
                else:
                    pieces.add(text)
                if signature is not None:
                    last.data["thoughtSignature"] = signature
                target = len(parts) - 1
            else:
                target = self._append(candidate, dict(part), "text", index, out)
            if out is not None and text:
                delta = ThoughtDelta if thought else TextDelta
                out.append(delta(index, target, text))
            return
        call = part.get("functionCall")
        if isinstance(call, dict) and last is not None and last.open_call and "name" not in call:
            self._continue_call(last, call)
        else:
            new = dict(self._kept(part, "part"))
            if isinstance(call, dict):
                new["functionCall"] = dict(call)
            self._append(candidate, new, next(iter(part), "part"), index, out)
            if isinstance(call, dict) and call.get("willContinue"):
                opened = parts[-1]
                opened.open_call = True
                opened.data["functionCall"].pop("partialArgs", None)
                self._continue_call(opened, call)

    def _append(
        self,
        candidate: _Candidate,
        data: dict[str, Any],
        kind: str,
        index: int,
        out: list[GeminiDelta] | None,
    ) -> int:
        check_count(len(candidate.parts) + 1, self.limits, "parts in a candidate")
        candidate.parts.append(_Part(data))
        number = len(candidate.parts) - 1
        if out is not None:
            out.append(PartStart(index, number, kind))
        return number

    def _continue_call(self, part: _Part, call: dict[str, Any]) -> None:
        partial = call.get("partialArgs")
        if partial is not None:
            if partial.__class__ is not list:
                raise InvalidChunk("functionCall.partialArgs", "a list", partial)
            for entry in partial:
                part.write_arg(entry, self.limits.max_depth, self.limits.max_items)
        if not call.get("willContinue"):
            part.open_call = False

    def _make(self, partial: bool) -> GenerateContentResponse:
        data = dict(self._top)
        candidates = self._candidates
        if candidates:
            data["candidates"] = [candidates[i].build(i) for i in sorted(candidates)]
        response: GenerateContentResponse = converter.structure(data, GenerateContentResponse)
        return response
