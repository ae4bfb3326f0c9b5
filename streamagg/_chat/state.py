"""The state of a chat-completion fold: ``ResponseState`` folds a chunk's top-level keys and
hands each choice to its ``ChoiceState`` (the rules: ``rules``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._core.errors import InvalidChunk, OverLimit
from .._core.merge import copy_json
from .choice import ChoiceState
from .events import (
    Delta,
    UsageDelta,
)
from .models import (
    ChatCompletionResponse,
)
from .rules import HEADING, Rules, as_list, build_usage, check_usage, mapping

__all__ = ["ResponseState"]


def _provider_usage(extension: Any) -> Mapping[str, Any] | None:
    """The ``usage`` inside a provider's extension object (Groq's ``x_groq``), if it is a valid
    usage object; otherwise it stays in the extensions only."""
    usage = extension.get("usage") if isinstance(extension, dict) else None
    if usage is None:
        return None
    try:
        return check_usage(usage, "x_groq.usage")
    except InvalidChunk:
        return None


class ResponseState:
    """The whole response being folded: the top-level keys and the choices by index."""

    __slots__ = (
        "choices",
        "created",
        "error",
        "errored",
        "extra",
        "heading",
        "id",
        "model",
        "other",
        "prompt_logprobs",
        "rules",
        "service_tier",
        "system_fingerprint",
        "usage",
    )

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.id = ""
        self.created: int = 0
        self.model: str | None = None
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None
        self.prompt_logprobs: Any = None
        self.usage: Mapping[str, Any] | None = None
        self.extra: str | None = None
        self.other: dict[str, Any] = {}
        self.choices: dict[int, ChoiceState] = {}
        self.error: Any = None
        self.errored = False
        self.heading = True  # id, created or model is still to come

    def fold(self, chunk: Mapping[str, Any], out: list[Delta] | None) -> None:
        """One ``chat.completion.chunk`` (already known to be an object)."""
        get = chunk.get
        if self.heading:
            self._fold_heading(get)
        value = get("system_fingerprint")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("system_fingerprint", "a string", value)
            self.system_fingerprint = value
        value = get("service_tier")
        if value:
            if value.__class__ is not str:
                raise InvalidChunk("service_tier", "a string", value)
            self.service_tier = value
        value = get("usage")
        if value is not None:
            self.usage = self.rules.kept(check_usage(value, "usage"))
            if out is not None:
                out.append(UsageDelta(build_usage(value)))
        choices = get("choices")
        if choices:
            if choices.__class__ is not list:
                choices = as_list(choices, "choices")
            states = self.choices
            for entry in choices:
                choice = entry if entry.__class__ is dict else mapping(entry, "choices[]")
                index = choice.get("index")
                state = states.get(index) if index.__class__ is int else None
                if state is None:
                    state = self._new_choice(index)
                state.fold(choice, out)
        if not self.rules.common_top.issuperset(chunk):
            self._fold_rare(chunk)

    def _fold_heading(self, get: Any) -> None:
        """``id``, ``created`` and ``model``: each the first non-empty value (read until all
        three have one)."""
        for key, kind, expected in HEADING:
            if not getattr(self, key):
                value = get(key)
                if value:
                    if value.__class__ is not kind:
                        raise InvalidChunk(key, expected, value)
                    setattr(self, key, value)
        self.heading = not (self.id and self.created and self.model)

    def _new_choice(self, index: Any) -> ChoiceState:
        if index is None:
            index = 0
        elif index.__class__ is not int:
            raise InvalidChunk("choices[].index", "an integer", index)
        state = self.choices.get(index)
        if state is None:
            if len(self.choices) >= self.rules.max_choices:
                raise OverLimit("max_choices", "choices")
            state = self.choices[index] = ChoiceState(index, self.rules)
        return state

    def _fold_rare(self, chunk: Mapping[str, Any]) -> None:
        for key, value in chunk.items():
            if value is None or key in self.rules.common_top:
                continue
            if key == "prompt_logprobs":
                if value:
                    if value.__class__ is not list:
                        raise InvalidChunk("prompt_logprobs", "a list", value)
                    self.prompt_logprobs = self.rules.kept(value)
            elif key == "extra":
                if value and value != "{}":
                    self.extra = value if value.__class__ is str else json.dumps(value)
            elif key == "error":
                # Everything else in this chunk is folded first (OpenRouter sends usage with it).
                self.error = value
                self.errored = True
            else:
                other = self.other
                old = other.get(key)
                kept = self.rules.kept(value)
                if old.__class__ is dict and isinstance(kept, Mapping):
                    old.update({k: copy_json(v) for k, v in kept.items() if v is not None})
                else:
                    other[key] = copy_json(kept)

    def unfinished(self) -> list[int]:
        """The indices of the choices without a finish reason."""
        return sorted(i for i, c in self.choices.items() if not c.finish_reason)

    def build(self, partial: bool = False) -> ChatCompletionResponse:
        """The response; with ``partial``, its tool calls carry their arguments parsed so far."""
        choices = self.choices
        usage_data = self.usage
        keep_choice_usage = True
        if usage_data is None:
            usage_data = _provider_usage(self.other.get("x_groq"))
        if usage_data is None:
            for index in sorted(choices):
                if choices[index].usage is not None:
                    usage_data = choices[index].usage
                    keep_choice_usage = False
                    break
        return ChatCompletionResponse(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=self.system_fingerprint,
            service_tier=self.service_tier,
            choices=[choices[i].build(keep_choice_usage, partial) for i in sorted(choices)],
            usage=None if usage_data is None else build_usage(usage_data),
            prompt_logprobs=copy_json(self.prompt_logprobs),
            extra=self.extra,
            extensions=copy_json(self.other),
        )
