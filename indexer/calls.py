"""View calls in bulk: encode from the ABI, send as JSON-RPC batches of ``eth_call``, decode.

Used by ``enerwise indexer verify`` (thousands of balance reads) and by sign-in (roles).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from indexer.events import _normalize, _type_string
from indexer.rpc import JsonRpcClient


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class ContractReader:
    """Read-only calls of one contract, from its ABI."""

    def __init__(self, rpc: JsonRpcClient, address: str, abi: Iterable[Mapping[str, Any]]):
        self.rpc = rpc
        self.address = address
        self._functions: dict[str, _Function] = {}
        for item in abi:
            if item.get("type") != "function":
                continue
            inputs = tuple(_type_string(i) for i in item["inputs"])
            outputs = tuple(_type_string(o) for o in item.get("outputs", []))
            selector = keccak(text=f"{item['name']}({','.join(inputs)})")[:4]
            # overloads: the first one wins, callers use unambiguous functions
            self._functions.setdefault(str(item["name"]), _Function(selector, inputs, outputs))

    def encode(self, name: str, *args: Any) -> bytes:
        fn = self._functions[name]
        return fn.selector + abi_encode(list(fn.inputs), list(args))

    def decode(self, name: str, data: bytes) -> Any:
        fn = self._functions[name]
        values = abi_decode(list(fn.outputs), data)
        decoded = [_normalize(t, v) for t, v in zip(fn.outputs, values, strict=True)]
        return decoded[0] if len(decoded) == 1 else tuple(decoded)

    def call(self, name: str, *args: Any, block: int | str = "latest") -> Any:
        return self.decode(name, self.rpc.call(self.address, self.encode(name, *args), block))

    def call_many(
        self, calls: Sequence[tuple[str, Sequence[Any]]], block: int | str = "latest"
    ) -> list[Any]:
        """Several calls in JSON-RPC batches; results in order."""
        tag = hex(block) if isinstance(block, int) else block
        requests = [
            ("eth_call", [{"to": self.address, "data": "0x" + self.encode(n, *a).hex()}, tag])
            for n, a in calls
        ]
        answers = self.rpc.batch(requests)
        return [
            self.decode(n, bytes.fromhex(str(r)[2:]))
            for (n, _), r in zip(calls, answers, strict=True)
        ]


#: Enough of AccessControl and ERC-1155 for role checks and balance reads.
ACCESS_CONTROL_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "hasRole",
        "inputs": [{"name": "role", "type": "bytes32"}, {"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "METER_ADMIN_ROLE",
        "inputs": [],
        "outputs": [{"name": "", "type": "bytes32"}],
    },
]
