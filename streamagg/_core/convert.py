"""The one cattrs converter: every dialect's final object <-> its API's JSON.

Configured here and nowhere else (the habit of ``cattrs.preconf``), from the rules each dialect
declares for its models (``ModelRules``, registered with the dialect): unknown keys are collected
into each model's ``extensions`` on structure and spread back on unstructure; optional fields
the API leaves out when absent are omitted when None; strings and integers are checked, not
coerced (cattrs' default would turn ``None`` into ``"None"``). Chat completions' models are
structured strictly (a value of the wrong type raises); the other dialects' leniently (it is kept
in ``extensions``, so that nothing is lost).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .report import known_fields

__all__ = [
    "ModelRules",
    "all_optional",
    "configure_converter",
    "converter",
    "make_converter",
    "register",
    "to_dict",
]


@attrs.frozen(kw_only=True)
class ModelRules:
    """How one model converts: the fields left out of the dict when they are None
    (``omit_none``), whether its JSON keys are camelCase (``camel_case``), whether a value of
    an unexpected type is kept in ``extensions`` (``lenient``) or raises, the keys that only
    make sense while streaming and are dropped on structure (``streaming_only``), and cattrs
    field overrides (``overrides``)."""

    model: type
    omit_none: tuple[str, ...] = ()
    camel_case: bool = False
    lenient: bool = True
    streaming_only: frozenset[str] = frozenset()
    overrides: Mapping[str, Any] = attrs.field(factory=dict)


def all_optional(cls: type) -> tuple[str, ...]:
    """Every field of ``cls``: for models whose keys are all left out when None."""
    return tuple(sorted(known_fields(cls)))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _renames(rules: ModelRules) -> dict[str, str]:
    """A model's fields whose JSON key is another name (Gemini's keys are camelCase)."""
    if not rules.camel_case:
        return {}
    return {n: _camel(n) for n in known_fields(rules.model) if _camel(n) != n}


def _strict(kind: type) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if value.__class__ is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}: {value!r}")
        return value

    return structure


def _not_api(cls: type) -> dict[str, Any]:
    """cattrs overrides leaving out the fields that are not keys of the API's object."""
    names = {a.name for a in attrs.fields(cls)} - known_fields(cls)
    return {name: override(omit=True) for name in names}


def _unstructure_hook(
    converter: cattrs.Converter, rules: ModelRules
) -> Callable[[Any], dict[str, Any]]:
    cls = rules.model
    renames = _renames(rules)
    overrides: dict[str, Any] = {
        **_not_api(cls),
        **rules.overrides,
        **{name: override(rename=key) for name, key in renames.items()},
    }
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, converter, **overrides)
    omit = tuple(renames.get(name, name) for name in rules.omit_none)
    lenient = rules.lenient

    def unstructure(obj: Any) -> dict[str, Any]:
        d: dict[str, Any] = base(obj)
        for name in omit:
            if d[name] is None:
                del d[name]
        if lenient:
            # An extension under a known key holds the value that did not fit its field
            # (which kept its default): the value as it came wins, so that structuring the
            # dict again gives the same object.
            d.update(obj.extensions)
        else:
            for key, value in obj.extensions.items():
                d.setdefault(key, value)  # a known field always wins over an extension
        return d

    return unstructure


def _structure_hook(converter: cattrs.Converter, rules: ModelRules) -> Callable[[Any, type], Any]:
    cls = rules.model
    base: Callable[[Any, type], Any] = make_dict_structure_fn(cls, converter, **_not_api(cls))
    known = known_fields(cls)
    dropped = rules.streaming_only

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


def _lenient_structure_hook(
    converter: cattrs.Converter, rules: ModelRules
) -> Callable[[Any, type], Any]:
    """Structure for the dialect models: a key whose value has its field's type fills the
    field; every other key (unknown, or of an unexpected type) goes to ``extensions`` as it
    came, so that nothing is lost and ``to_dict`` gives the object back."""
    cls = rules.model
    hints = typing.get_type_hints(cls)
    renames = _renames(rules)
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


#: Every model's rules, in the order registered (parts before the models that contain them: a
#: model's hooks are generated with its fields' hooks as registered).
_RULES: list[ModelRules] = []


def _register_on(converter: cattrs.Converter, rules: ModelRules) -> None:
    converter.register_unstructure_hook(rules.model, _unstructure_hook(converter, rules))
    if rules.lenient:
        converter.register_structure_hook(rules.model, _lenient_structure_hook(converter, rules))
    else:
        converter.register_structure_hook(rules.model, _structure_hook(converter, rules))


def configure_converter(converter: cattrs.Converter) -> None:
    """Register streamagg's hooks on a converter: every registered dialect's models."""
    converter.register_structure_hook(str, _strict(str))
    converter.register_structure_hook(int, _strict(int))
    for rules in _RULES:
        _register_on(converter, rules)


def make_converter() -> cattrs.Converter:
    """A new converter configured for streamagg's models."""
    converter = cattrs.Converter()
    configure_converter(converter)
    return converter


converter = make_converter()


def register(models: Iterable[ModelRules]) -> None:
    """Add a dialect's models (parts first) to the converter (the registry calls this)."""
    for rules in models:
        if any(known.model is rules.model for known in _RULES):
            continue
        _RULES.append(rules)
        _register_on(converter, rules)


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
