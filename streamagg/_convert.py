"""The one cattrs converter: response models <-> the OpenAI non-streaming JSON shape.

Configured here and nowhere else (the habit of ``cattrs.preconf``): unknown keys are collected
into each model's ``extensions`` on structure and spread back on unstructure; optional fields
the OpenAI shape leaves out when absent are omitted when None; strings and integers are checked,
not coerced (cattrs' default would turn ``None`` into ``"None"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._models import (
    STREAMING_ONLY_KEYS,
    Audio,
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Logprobs,
    Message,
    ToolCall,
    Usage,
    known_fields,
)

__all__ = ["configure_converter", "converter", "from_dict", "make_converter", "to_dict"]

# For each model: the fields left out of the dict when they are None. Parts come before the
# models that contain them: a model's hooks are generated with its fields' hooks as registered.
_OMIT_NONE: dict[type, tuple[str, ...]] = {
    FunctionCall: (),
    ToolCall: (),
    Audio: (),
    Message: ("tool_calls", "function_call", "reasoning_content", "reasoning", "audio"),
    Logprobs: (),
    Choice: (),
    Usage: ("prompt_tokens_details", "completion_tokens_details"),
    ChatCompletionResponse: ("prompt_logprobs", "extra"),
}
# Keys that only make sense while streaming: dropped where a stream puts them.
_STREAMING_ONLY: dict[type, frozenset[str]] = {ToolCall: STREAMING_ONLY_KEYS}


def _strict(kind: type) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if value.__class__ is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}: {value!r}")
        return value

    return structure


def _tokens_out(tokens: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Logprob tokens as JSON: each token copied, its values as they are. Tokens are the one
    kind of kept data the fold does not measure for depth (measuring every token would cost as
    much as folding it), so they are never walked recursively here either."""
    return None if tokens is None else [dict(token) for token in tokens]


# Field hooks beside the generated ones.
_OVERRIDES: dict[type, dict[str, Any]] = {
    Logprobs: {
        "content": override(unstruct_hook=_tokens_out),
        "refusal": override(unstruct_hook=_tokens_out),
    }
}


def _not_api(cls: type) -> dict[str, Any]:
    """cattrs overrides leaving out the fields that are not keys of the API's object."""
    names = {a.name for a in attrs.fields(cls)} - known_fields(cls)
    return {name: override(omit=True) for name in names}


def _unstructure_hook(
    converter: cattrs.Converter, cls: type, omit: tuple[str, ...]
) -> Callable[[Any], dict[str, Any]]:
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls, converter, **_not_api(cls), **_OVERRIDES.get(cls, {})
    )

    def unstructure(obj: Any) -> dict[str, Any]:
        d: dict[str, Any] = base(obj)
        for name in omit:
            if d[name] is None:
                del d[name]
        for key, value in obj.extensions.items():
            d.setdefault(key, value)  # a known field always wins over an extension
        return d

    return unstructure


def _structure_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any, type], Any]:
    base: Callable[[Any, type], Any] = make_dict_structure_fn(cls, converter, **_not_api(cls))
    known = known_fields(cls)
    dropped = _STREAMING_ONLY.get(cls, frozenset())

    def structure(data: Any, _: type) -> Any:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        obj = base(data, cls)
        obj.extensions = {k: v for k, v in data.items() if k not in known and k not in dropped}
        return obj

    return structure


def configure_converter(converter: cattrs.Converter) -> None:
    """Register streamagg's hooks on a converter."""
    converter.register_structure_hook(str, _strict(str))
    converter.register_structure_hook(int, _strict(int))
    for cls, omit in _OMIT_NONE.items():
        converter.register_unstructure_hook(cls, _unstructure_hook(converter, cls, omit))
        converter.register_structure_hook(cls, _structure_hook(converter, cls))


def make_converter() -> cattrs.Converter:
    """A new converter configured for streamagg's models."""
    converter = cattrs.Converter()
    configure_converter(converter)
    return converter


converter = make_converter()


def to_dict(response: ChatCompletionResponse) -> dict[str, Any]:
    """The response as the OpenAI non-streaming JSON object, provider extensions included."""
    result: dict[str, Any] = converter.unstructure(response)
    return result


def from_dict(data: Mapping[str, Any]) -> ChatCompletionResponse:
    """A response from its dict form (``to_dict`` output or a non-streaming response body).

    Raises ``cattrs.ClassValidationError`` when a field has the wrong type.
    """
    result: ChatCompletionResponse = converter.structure(data, ChatCompletionResponse)
    return result
