"""ABI types as strings, answers read by name, and decoded values in one plain shape.

``type_string`` gives the canonical type of an ABI parameter (``(uint256,address)[]`` for a
tuple array), as selectors and ``eth_abi`` want it; ``normalize`` turns what ``eth_abi`` decodes
into the shape the indexer stores and the API serves: addresses EIP-55 checksummed,
``bytes``/``bytesN`` as ``0x`` hex, tuples and arrays element by element.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chain.errors import AbiMismatchError


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    """EIP-55 form of a 20-byte hex address (cached: the same few accounts recur)."""
    return str(to_checksum_address(address))


def type_string(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(type_string(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def selector(name: str, inputs: Sequence[str]) -> bytes:
    """The 4-byte selector of function ``name`` with canonical input types ``inputs``."""
    return keccak(text=f"{name}({','.join(inputs)})")[:4]


def split_tuple(kind: str) -> list[str]:
    """Component types of ``(t1,t2,...)`` (nested tuples kept whole)."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in kind[1:-1]:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    if current:
        parts.append(current)
    return parts


def normalize(kind: str, value: Any) -> Any:
    if kind.startswith("(") and kind.endswith(")") and isinstance(value, tuple):
        return tuple(normalize(t, v) for t, v in zip(split_tuple(kind), value, strict=True))
    if kind == "address":
        return checksum(value)
    if kind.startswith("bytes") and isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if kind.endswith("[]") and isinstance(value, list | tuple):
        inner = kind[:-2]
        return [normalize(inner, v) for v in value]
    return value


def function_item(abi: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    """The ABI entry of function ``name`` (the first overload)."""
    for item in abi:
        if item.get("type") == "function" and item.get("name") == name:
            return item
    raise AbiMismatchError(f"the ABI has no function {name}")


def output_names(item: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Names of a view's answer: a single struct's fields, or its named outputs.

    None when the function returns one plain value (the answer is that value).
    """
    outputs = list(item.get("outputs", []))
    if len(outputs) == 1 and str(outputs[0]["type"]) == "tuple":
        names = tuple(str(c["name"]) for c in outputs[0]["components"])
    elif len(outputs) > 1:
        names = tuple(str(o["name"]) for o in outputs)
    else:
        return None
    if not all(names):
        raise AbiMismatchError(f"{item.get('name')} has unnamed outputs: cannot read by name")
    return names


def by_name(names: Sequence[str], values: Any, what: str) -> dict[str, Any]:
    """``values`` (a decoded tuple) keyed by ``names``."""
    if not isinstance(values, list | tuple) or len(values) != len(names):
        raise AbiMismatchError(
            f"{what}: expected {len(names)} values, the node answered {values!r}"
        )
    return dict(zip(names, values, strict=True))
