"""View calls in bulk: encode from the ABI, send as JSON-RPC batches of ``eth_call``, decode.

Used by ``enerwise indexer verify`` (thousands of balance reads), sign-in (roles), the billing
route (token supply), the indexer's deployment facts and the demo's read-back; the ABI comes
from the compiled artifacts, never written by hand. Answers come in the shape
:func:`chain.abi_types.normalize` gives (checksummed addresses, ``0x`` hex bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from chain.abi_types import by_name, normalize, output_names, type_string
from chain.abi_types import selector as function_selector
from chain.errors import AbiMismatchError
from chain.rpc import JsonRpcClient


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    names: tuple[str, ...] | None


class ContractReader:
    """Read-only calls of one contract, from its ABI."""

    def __init__(self, rpc: JsonRpcClient, address: str, abi: Iterable[Mapping[str, Any]]):
        self.rpc = rpc
        self.address = address
        self._functions: dict[str, _Function] = {}
        for item in abi:
            if item.get("type") != "function":
                continue
            inputs = tuple(type_string(i) for i in item["inputs"])
            outputs = tuple(type_string(o) for o in item.get("outputs", []))
            selector = function_selector(str(item["name"]), inputs)
            try:
                names = output_names(item)
            except AbiMismatchError:
                names = None
            # overloads: the first one wins, callers use unambiguous functions
            self._functions.setdefault(
                str(item["name"]), _Function(selector, inputs, outputs, names)
            )

    def _function(self, name: str) -> _Function:
        if name not in self._functions:
            raise AbiMismatchError(f"the ABI at {self.address} has no function {name}")
        return self._functions[name]

    def encode(self, name: str, *args: Any) -> bytes:
        fn = self._function(name)
        return fn.selector + abi_encode(list(fn.inputs), list(args))

    def decode(self, name: str, data: bytes) -> Any:
        fn = self._function(name)
        try:
            values = abi_decode(list(fn.outputs), data)
        except DecodingError as exc:
            raise AbiMismatchError(
                f"{name} at {self.address}: the answer does not decode: {exc}"
            ) from None
        decoded = [normalize(t, v) for t, v in zip(fn.outputs, values, strict=True)]
        return decoded[0] if len(decoded) == 1 else tuple(decoded)

    def call(self, name: str, *args: Any, block: int | str = "latest") -> Any:
        return self.decode(name, self.rpc.call(self.address, self.encode(name, *args), block))

    def read(self, name: str, *args: Any, block: int | str = "latest") -> dict[str, Any]:
        """A view answering a struct or several named values, keyed by their ABI names."""
        names = self._function(name).names
        if names is None:
            raise AbiMismatchError(f"{name} at {self.address} answers one value: use call()")
        return by_name(names, self.call(name, *args, block=block), name)

    def call_many(
        self, calls: Sequence[tuple[str, Sequence[Any]]], block: int | str = "latest"
    ) -> list[Any]:
        """Several calls in JSON-RPC batches; results in order."""
        return call_many([(self, n, a) for n, a in calls], block)


def call_many(
    calls: Sequence[tuple[ContractReader, str, Sequence[Any]]], block: int | str = "latest"
) -> list[Any]:
    """``(reader, function, args)`` calls, of any contracts on one node, in JSON-RPC batches;
    results in order."""
    if not calls:
        return []
    tag = hex(block) if isinstance(block, int) else block
    requests = [
        ("eth_call", [{"to": r.address, "data": "0x" + r.encode(n, *a).hex()}, tag])
        for r, n, a in calls
    ]
    answers = calls[0][0].rpc.batch(requests)
    return [
        r.decode(n, bytes.fromhex(str(answer)[2:]))
        for (r, n, _), answer in zip(calls, answers, strict=True)
    ]
