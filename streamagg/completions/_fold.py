"""The sans-IO fold of a legacy OpenAI ``/v1/completions`` stream (``text_completion`` chunks)
into the completion a non-streaming call returns.

The rules, and why:

* ``id``, ``model``, ``created``: the first non-empty; ``object``: ``text_completion`` unless
  the stream says otherwise; ``system_fingerprint``, ``usage`` and other top-level keys: last
  non-null (a usage-only chunk
  with ``choices: []`` supplies usage; ``usage: null`` on other chunks never erases it).
* Choices are keyed by ``index`` (missing means 0) and sorted. ``text`` concatenates.
* ``logprobs``: the parallel arrays ``tokens``, ``token_logprobs``, ``top_logprobs`` and
  ``text_offset`` extend together (None until one is sent); other logprob keys last non-null.
* ``finish_reason`` and other choice keys (vLLM's ``stop_reason``): last non-null, so a later
  empty chunk with ``finish_reason: null`` does not erase it.
* The stream ends at ``data: [DONE]``; it is complete when every choice has a finish reason or
  ``[DONE]`` came after a chunk. A chunk with an ``error`` raises ``UpstreamError``.
"""

from __future__ import annotations

from typing import Any

from .._core.convert import converter
from .._core.errors import InvalidChunk
from .._core.fields import keyed_entry
from .._core.fold import CLOSED, ERRORED, EventFold
from .._core.merge import TWO_DEEP, two_deep
from .._core.pieces import Pieces
from ._events import CompletionDelta, CompletionFinish, CompletionText
from ._models import Completion

__all__ = ["CompletionsAggregator"]

_FIRST: tuple[str, ...] = ("id", "model", "created")
# The keys of a usual chunk: nothing to keep once its id, model and created are known.
_ROUTINE = frozenset({"id", "object", "created", "model", "choices"})
# The keys of a choice read directly; the keys of a usual choice entry.
_CHOICE_READ = frozenset({"text", "index", "logprobs"})
_CHOICE_KEYS = frozenset({"text", "index", "logprobs", "finish_reason"})
_ARRAYS = ("tokens", "token_logprobs", "top_logprobs", "text_offset")


class _Choice:
    __slots__ = ("data", "logprobs", "text")

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.text = Pieces()
        self.logprobs: dict[str, Any] | None = None

    def build(self, index: int) -> dict[str, Any]:
        data = {"text": "".join(self.text), "index": index, "logprobs": None, **self.data}
        data["finish_reason"] = self.data.get("finish_reason")
        if self.logprobs is not None:
            data["logprobs"] = {
                k: list(v) if k in _ARRAYS else v for k, v in self.logprobs.items()
            }
        return data


class CompletionsAggregator(EventFold[Completion, CompletionDelta]):
    """Fold a legacy completions stream into the ``Completion`` (rules:
    ``streamagg.completions._fold``).

    Sans-IO, with the API of the chat-completions ``Aggregator``: ``feed(chunk)``,
    ``feed_event(sse)``, ``feed_done()``, ``snapshot()`` and ``result()``; ``StreamReader``
    drives ``receive``/``receive_body``. ``limits`` and ``strict`` are the fold options of
    ``Aggregator``.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._top: dict[str, Any] = {}
        self._choices: dict[int, _Choice] = {}
        self._missing = _FIRST  # id, model, created until each has its first non-empty value

    @property
    def complete(self) -> bool:
        """True when ``[DONE]`` came after a chunk, or every choice has a finish reason."""
        if self._phase is ERRORED or self._chunks == 0:
            return False
        if self._phase is CLOSED:
            return True
        choices = self._choices.values()
        return bool(choices) and all(c.data.get("finish_reason") for c in choices)

    def _incomplete(self) -> str:
        if self._chunks == 0:
            return "without any chunk"
        return "before [DONE] and with choices that have no finish_reason"

    def _object(self, body: dict[str, Any]) -> None:
        self._event(None, body, None)

    def _event(self, kind: Any, chunk: dict[str, Any], out: list[CompletionDelta] | None) -> None:
        error = chunk.get("error")
        if error is not None:
            self._raise_error(error)
        choices = chunk.get("choices")
        if choices is not None:
            # A single object where a list belongs: a list of one.
            for choice in choices if choices.__class__ is list else [choices]:
                self._choice(choice, out)
        missing = self._missing
        if _ROUTINE.issuperset(chunk) and not any(chunk.get(key) for key in missing):
            return  # the usual chunk: it adds nothing to what is known
        top = self._top
        for key, value in chunk.items():
            if key == "choices" or value is None:
                continue
            if key in _FIRST:
                if not top.get(key) and value:
                    top[key] = value
            else:
                top[key] = self._kept(value, key)
        self._missing = tuple(key for key in _FIRST if not top.get(key))

    def _choice(self, data: Any, out: list[CompletionDelta] | None) -> None:
        index, choice = keyed_entry(self._choices, data, "choices", self.limits, _Choice)
        text = data.get("text")
        if text.__class__ is not str:
            if text is not None:
                raise InvalidChunk("choices[].text", "a string", text)
        elif text:
            choice.text.add(text)
            if out is not None:
                out.append(CompletionText(index, text))
        logprobs = data.get("logprobs")
        if logprobs is not None:
            self._logprobs(choice, logprobs)
        if _CHOICE_KEYS.issuperset(data) and data.get("finish_reason") is None:
            return  # the usual entry: nothing else to keep
        for key, value in data.items():
            if key in _CHOICE_READ or value is None:
                continue
            choice.data[key] = self._kept(value, key)
            if key == "finish_reason" and out is not None and value.__class__ is str:
                out.append(CompletionFinish(index, value))

    def _logprobs(self, choice: _Choice, value: Any) -> None:
        if value.__class__ is not dict:
            raise InvalidChunk("choices[].logprobs", "an object", value)
        kept = choice.logprobs if choice.logprobs is not None else {}
        for key, items in value.items():
            if key in _ARRAYS:
                if items is None:
                    continue
                if items.__class__ is not list:
                    raise InvalidChunk(f"choices[].logprobs.{key}", "a list", items)
                # Logprob tokens are not items (``max_items``): they are bounded by the stream's
                # size, as chat's are; each is checked for nesting (at once when, as always in
                # practice, an array nests two deep at the most).
                if not (two_deep(items) and self.limits.max_depth >= TWO_DEEP):
                    self._kept(items, key)
                kept.setdefault(key, []).extend(items)
            elif items is not None:
                kept[key] = self._kept(items, key)
        choice.logprobs = kept

    def _make(self, partial: bool) -> Completion:
        data = {"object": "text_completion", **self._top}
        choices = self._choices
        data["choices"] = [choices[i].build(i) for i in sorted(choices)]
        completion: Completion = converter.structure(data, Completion)
        return completion
