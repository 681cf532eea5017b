"""Reading the contracts' ABIs by name: struct fields, outputs, snake_case keys.

Contract answers are decoded by the names the ABI gives them, never by position, so a field the
contract adds to a struct (a new market parameter) flows through without any positional edit:
decoders pick the fields they know by name and ignore the others; encoders fill a struct from a
mapping of names and say which field has no value.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from chain.errors import AbiMismatchError

_R = TypeVar("_R")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """``priceFloor`` -> ``price_floor`` (ABI names are camelCase, Python fields snake_case)."""
    return _CAMEL.sub("_", name).lower()


def pick(fields: Mapping[str, Any], wanted: Sequence[str], what: str) -> dict[str, Any]:
    """The ``wanted`` snake_case fields out of ABI-named ``fields`` (others are ignored)."""
    found = {snake(k): v for k, v in fields.items()}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise AbiMismatchError(f"{what} has no field {', '.join(missing)} in the ABI")
    return {name: found[name] for name in wanted}


def decode_record(cls: type[_R], fields: Mapping[str, Any], what: str) -> _R:
    """``cls``, a dataclass whose fields are named as the struct ``what``'s, from the struct's
    ABI-named ``fields`` (a struct, or an event's arguments): each value as its field's type
    says (an address checksummed, a bool, a str, else an int or a unit over int)."""
    converters = _converters(cls)
    values = pick(fields, tuple(converters), what)
    return cls(**{name: convert(values[name]) for name, convert in converters.items()})


_CONVERTERS: dict[type[Any], dict[str, Callable[[Any], Any]]] = {}


def _converters(cls: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """How each field of the dataclass ``cls`` is read (worked out once per class: reads are
    hot)."""
    if cls not in _CONVERTERS:
        hints = typing.get_type_hints(cls)
        _CONVERTERS[cls] = {
            f.name: _converter(hints[f.name], f.name) for f in dataclasses.fields(cls)
        }
    return _CONVERTERS[cls]


def _converter(kind: object, name: str) -> Callable[[Any], Any]:
    if kind is ChecksumAddress:
        return to_checksum_address
    if kind is bool:
        return bool
    if kind is str:
        return str
    if kind is int or getattr(kind, "__supertype__", None) is int:
        return int
    raise TypeError(f"field {name}: no ABI decoding for {kind!r}")


def struct_input(item: Mapping[str, Any], argument: str) -> list[str]:
    """The field names of the struct argument ``argument`` of an ABI function or constructor."""
    for param in item.get("inputs", []):
        if param.get("name") == argument and str(param["type"]) == "tuple":
            return [str(c["name"]) for c in param["components"]]
    raise AbiMismatchError(f"{item.get('name', item.get('type'))} has no struct input {argument}")


def encode_struct(names: Sequence[str], values: Mapping[str, Any], what: str) -> tuple[Any, ...]:
    """A struct argument in ABI field order from snake_case ``values``."""
    missing = [name for name in names if snake(name) not in values]
    if missing:
        raise AbiMismatchError(
            f"{what}: no value for {', '.join(missing)} (a field the contract added?)"
        )
    return tuple(values[snake(name)] for name in names)


def constructor_args(
    abi: Sequence[Mapping[str, Any]], values: Mapping[str, Any], what: str
) -> list[Any]:
    """A constructor's arguments by name from snake_case ``values``.

    An argument's name is read without its trailing underscore (``epoch_`` -> ``epoch``); a
    struct argument is filled field by field from the same ``values``.
    """
    empty: Mapping[str, Any] = {"inputs": []}
    item = next((i for i in abi if i.get("type") == "constructor"), empty)
    args: list[Any] = []
    for param in item.get("inputs", []):
        if str(param["type"]) == "tuple":
            names = [str(c["name"]) for c in param["components"]]
            args.append(encode_struct(names, values, f"{what} {param.get('internalType', '')}"))
            continue
        key = snake(str(param["name"]).rstrip("_"))
        if key not in values:
            raise AbiMismatchError(f"{what}: no value for constructor argument {param['name']}")
        args.append(values[key])
    return args
