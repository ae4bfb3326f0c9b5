"""The one cattrs converter: response models <-> the OpenAI non-streaming JSON shape.

Configured here and nowhere else (the habit of ``cattrs.preconf``): unknown keys are collected
into each model's ``extensions`` on structure and spread back on unstructure; optional fields
the OpenAI shape leaves out when absent are omitted when None; strings and integers are checked,
not coerced (cattrs' default would turn ``None`` into ``"None"``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._anthropic_models import ContentBlock, MessageUsage
from ._anthropic_models import Message as AnthropicMessage
from ._completions_models import Completion, CompletionChoice, CompletionLogprobs, CompletionUsage
from ._gemini_models import Candidate, Content, GenerateContentResponse, Part, UsageMetadata
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
from ._ollama_models import OllamaMessage, OllamaResponse
from ._responses_models import ContentPart, OutputItem, Response, ResponseUsage

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
# The models of the other dialects: every field is optional and left out when None, and
# structure is lenient (``_lenient_structure_hook``). Parts before the models that contain them.
_DIALECT_MODELS: tuple[type, ...] = (
    ContentPart,
    OutputItem,
    ResponseUsage,
    Response,
    ContentBlock,
    MessageUsage,
    AnthropicMessage,
    Part,
    Content,
    Candidate,
    UsageMetadata,
    GenerateContentResponse,
    OllamaMessage,
    OllamaResponse,
    CompletionLogprobs,
    CompletionChoice,
    CompletionUsage,
    Completion,
)
_GEMINI_MODELS = (Part, Content, Candidate, UsageMetadata, GenerateContentResponse)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


#: For each model: its fields whose JSON key is another name (Gemini's keys are camelCase).
_RENAMES: dict[type, dict[str, str]] = {
    cls: {name: _camel(name) for name in known_fields(cls) if _camel(name) != name}
    for cls in _GEMINI_MODELS
}


def _all_optional(cls: type) -> tuple[str, ...]:
    return tuple(sorted(known_fields(cls)))


_DIALECT_OMIT_NONE: dict[type, tuple[str, ...]] = {
    # Keys the API always sends (null or not) are written; parts and blocks of many types
    # leave out what their type does not have.
    ContentPart: ("type", "text", "refusal", "annotations", "logprobs"),
    OutputItem: _all_optional(OutputItem),
    ResponseUsage: ("input_tokens_details", "output_tokens_details"),
    Response: (),
    ContentBlock: _all_optional(ContentBlock),
    MessageUsage: ("cache_creation_input_tokens", "cache_read_input_tokens"),
    AnthropicMessage: (),
    **{cls: _all_optional(cls) for cls in _GEMINI_MODELS},
    OllamaMessage: _all_optional(OllamaMessage),
    OllamaResponse: _all_optional(OllamaResponse),
    CompletionLogprobs: (),
    CompletionChoice: (),
    CompletionUsage: (),
    Completion: ("system_fingerprint", "usage"),
}
_OMIT_NONE.update(_DIALECT_OMIT_NONE)
# Keys that only make sense while streaming: dropped where a stream puts them.
_STREAMING_ONLY: dict[type, frozenset[str]] = {ToolCall: STREAMING_ONLY_KEYS}


def _strict(kind: type) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if value.__class__ is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}: {value!r}")
        return value

    return structure


def _tokens_out(tokens: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Logprob tokens as JSON: the token objects themselves, in a new list. Tokens are the one
    kind of kept data the fold does not measure for depth (measuring every token would cost as
    much as folding it), so they are never walked here; nor copied: a copy of each would cost a
    tenth of folding a chunk with logprobs, for output that is mostly serialised at once. The
    output shares them with the response (``to_dict`` says so)."""
    return None if tokens is None else list(tokens)


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
    renames = _RENAMES.get(cls, {})
    overrides: dict[str, Any] = {
        **_not_api(cls),
        **_OVERRIDES.get(cls, {}),
        **{name: override(rename=key) for name, key in renames.items()},
    }
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, converter, **overrides)
    omit = tuple(renames.get(name, name) for name in omit)
    lenient = cls in _DIALECT_MODELS

    def unstructure(obj: Any) -> dict[str, Any]:
        d: dict[str, Any] = base(obj)
        for name in omit:
            if d[name] is None:
                del d[name]
        if lenient:  # an extension holds a known key whose value had another type
            for key, value in obj.extensions.items():
                if d.get(key) is None:
                    d[key] = value
        else:
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


def _accepts(kind: Any, converter: cattrs.Converter) -> Callable[[Any], tuple[bool, Any]]:
    """For a field's type: a function telling whether a JSON value fits it, and the value
    structured. Only the shapes the dialect models use: (optional) str, int, int | float, dict,
    list, a model, a list of models, and ``Any``."""
    if kind is Any:
        return lambda value: (True, value)
    args = [kind]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
    if len(args) > 1:  # int | float: a number (a bool is neither)
        return lambda value: (value.__class__ in (int, float), value)
    (kind,) = args
    origin = typing.get_origin(kind)
    if origin is list and attrs.has(typing.get_args(kind)[0]):
        item = typing.get_args(kind)[0]
        structure_item = converter.get_structure_hook(item)

        def models(value: Any) -> tuple[bool, Any]:
            if value.__class__ is not list or not all(isinstance(v, Mapping) for v in value):
                return False, value
            return True, [structure_item(v, item) for v in value]

        return models
    if attrs.has(kind):
        structure_model = converter.get_structure_hook(kind)
        return lambda value: (
            (True, structure_model(value, kind)) if isinstance(value, Mapping) else (False, value)
        )
    exact = origin or kind
    return lambda value: (value.__class__ is exact, value)


def _lenient_structure_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any, type], Any]:
    """Structure for the dialect models: a key whose value has its field's type fills the
    field; every other key (unknown, or of an unexpected type) goes to ``extensions`` as it
    came, so that nothing is lost and ``to_dict`` gives the object back."""
    hints = typing.get_type_hints(cls)
    renames = _RENAMES.get(cls, {})
    # By JSON key: the field it fills, and the test of a value.
    fields = {
        renames.get(name, name): (name, _accepts(hints[name], converter))
        for name in known_fields(cls)
    }
    nullable = {renames.get(a.name, a.name) for a in attrs.fields(cls) if a.default is None}

    def structure(data: Any, _: type) -> Any:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        values: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for key, value in data.items():
            known = fields.get(key)
            if known is not None:
                ok, structured = known[1](value)
                if ok or (value is None and key in nullable):
                    values[known[0]] = structured
                    continue
            extensions[key] = value
        return cls(**values, extensions=extensions)

    return structure


def configure_converter(converter: cattrs.Converter) -> None:
    """Register streamagg's hooks on a converter."""
    converter.register_structure_hook(str, _strict(str))
    converter.register_structure_hook(int, _strict(int))
    for cls, omit in _OMIT_NONE.items():
        converter.register_unstructure_hook(cls, _unstructure_hook(converter, cls, omit))
        if cls in _DIALECT_MODELS:
            converter.register_structure_hook(cls, _lenient_structure_hook(converter, cls))
        else:
            converter.register_structure_hook(cls, _structure_hook(converter, cls))


def make_converter() -> cattrs.Converter:
    """A new converter configured for streamagg's models."""
    converter = cattrs.Converter()
    configure_converter(converter)
    return converter


converter = make_converter()


def to_dict(response: Any) -> dict[str, Any]:
    """A final object as the JSON its API returns without streaming, provider extensions
    included, with the API's own key names: a ``ChatCompletionResponse`` as the
    ``chat.completion`` object, a Responses API ``Response`` as the ``response`` object, an
    Anthropic ``Message``, a Gemini ``GenerateContentResponse`` (camelCase keys), an
    ``OllamaResponse``, a legacy ``Completion``.

    The dict is new, all but one kind of value: the logprob token objects of a chat completion
    (``choices[].logprobs.content[]`` and ``refusal[]``) are the response's own, not copies.
    Copy them (``copy.deepcopy``) before changing them in place."""
    result: dict[str, Any] = converter.unstructure(response)
    return result


def from_dict(data: Mapping[str, Any]) -> ChatCompletionResponse:
    """A response from its dict form (``to_dict`` output or a non-streaming response body).

    Raises ``cattrs.ClassValidationError`` when a field has the wrong type.
    """
    result: ChatCompletionResponse = converter.structure(data, ChatCompletionResponse)
    return result
