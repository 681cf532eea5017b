"""Decode revert data into named errors, from the custom errors in the contracts' ABIs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector

from chain.abi_types import type_string
from chain.errors import ContractRevertError

_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialised function",
}


class RevertDecoder:
    """Maps 4-byte selectors to error names and argument types; call it with revert data."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
            function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
        }
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [type_string(i) for i in item.get("inputs", [])]
                signature = f"{item['name']}({','.join(types)})"
                self._errors[function_signature_to_4byte_selector(signature)] = (
                    item["name"],
                    types,
                )

    def error_name(self, selector: bytes) -> str | None:
        """The custom error a 4-byte ``selector`` names (as ``ReadingRejected.reason`` holds it)."""
        known = self._errors.get(bytes(selector[:4]))
        return known[0] if known else None

    def __call__(self, data: bytes) -> ContractRevertError | None:
        if len(data) < 4:
            return ContractRevertError("EmptyRevert", (), data) if not data else None
        known = self._errors.get(data[:4])
        if known is None:
            return ContractRevertError(f"UnknownError_0x{data[:4].hex()}", (), data)
        name, types = known
        try:
            args = tuple(decode(types, data[4:]))
        except DecodingError:
            return ContractRevertError(name, (), data)
        if name == "Panic":
            code = int(args[0])
            return ContractRevertError("Panic", (_PANIC_CODES.get(code, hex(code)),), data)
        return ContractRevertError(name, args, data)
