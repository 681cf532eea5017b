"""Handles on deployed contracts: calls, reads by name, transaction requests, events.

A :class:`ContractHandle` turns every failure into a typed error: a revert into the decoded
:class:`~chain.errors.ContractRevertError`, a node that does not answer into
:class:`~chain.errors.RpcError`, a function or argument the ABI does not have into
:class:`~energychain.errors.AbiMismatchError`. The façades (:mod:`energychain.market`,
:mod:`energychain.registry`, :mod:`energychain.tokens`) build their typed reads and
transaction builders on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_abi.exceptions import DecodingError, EncodingError
from eth_typing import ABIEvent, ChecksumAddress
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.normalizers import (
    BASE_RETURN_NORMALIZERS,
    abi_address_to_hex,
    abi_bytes_to_bytes,
    abi_string_to_text,
)
from web3.contract import Contract
from web3.exceptions import (
    BadFunctionCallOutput,
    InvalidAddress,
    MismatchedABI,
    ProviderConnectionError,
    TimeExhausted,
    Web3AttributeError,
    Web3RPCError,
    Web3TypeError,
    Web3ValidationError,
    Web3ValueError,
)
from web3.types import BlockIdentifier, EventData, TxReceipt

from chain.abi_types import by_name, function_item, output_names, selector, type_string
from chain.artifacts import Artifact, artifact_version
from chain.errors import AbiMismatchError, ContractRevertError, RpcError
from chain.reverts import RevertDecoder
from energychain.event_codec import EventCodec
from wallet.transactions import TxRequest, revert_data, revert_errors

#: Artifacts whose ABIs carry the errors and events of a deployed EnergyChain.
ENERGYCHAIN_CONTRACTS = (
    "EnergyToken",
    "MeterRegistry",
    "EnergyMarket",
    "SealedEnergyMarket",
    "PooledEnergyMarket",
    "CityPool",
    "TestEuro",
    "BookLens",
)

#: Failures of the node connection (not of the call): raised as :class:`RpcError`.
NODE_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    ProviderConnectionError,
    TimeExhausted,
    ConnectionError,
    TimeoutError,
)
#: A call the ABI cannot make or an answer it cannot decode: :class:`AbiMismatchError`.
_ABI_ERRORS: tuple[type[BaseException], ...] = (
    MismatchedABI,
    Web3ValidationError,
    Web3AttributeError,
    Web3TypeError,
    Web3ValueError,
    BadFunctionCallOutput,
    EncodingError,
    InvalidAddress,
)
#: What web3 does to a contract call's arguments before encoding them (checksummed addresses
#: checked, hex strings for ``bytes``, ``bytes`` for ``string``), its ENS resolver left out: the
#: protocol's contracts take addresses, never names.
_INPUT_NORMALIZERS = (abi_address_to_hex, abi_bytes_to_bytes, abi_string_to_text)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Signature:
    """One function's selector and canonical types, derived from the ABI once per handle."""

    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class ContractHandle:
    """One deployed contract: read with :meth:`call` / :meth:`read`, write with :meth:`request`.

    Calls and transaction data are encoded from a :class:`_Signature` cached per function:
    web3's ``ContractFunction`` validates the whole ABI on every call (a keccak of every
    function's signature, to look for selector clashes), which was a third of the Python time
    of the city's agents. The arguments and answers go through web3's own normalizers and codec,
    so values come back exactly as web3 gives them; an overloaded name takes web3's path, which
    picks the overload from the arguments.
    """

    def __init__(self, w3: Web3, artifact: Artifact, address: str, decoder: RevertDecoder):
        self.name = artifact.name
        self.abi = artifact.abi
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.w3 = w3
        self.decoder = decoder
        self._signatures: dict[str, _Signature | None] = {}
        self._event_codecs: dict[str, EventCodec] = {}

    @cached_property
    def contract(self) -> Contract:
        """web3's contract object, made on first use: building one walks the whole ABI, and most
        handles only call, build transactions and decode events through their own cache."""
        return self.w3.eth.contract(address=self.address, abi=self.abi)

    def call(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """Call a view function; the answer as web3 decodes it (tuples for structs)."""
        what = f"{self.name}.{function}"
        signature = self._signature(function)
        if signature is None:
            return self.guard(
                what, lambda: self.contract.functions[function](*args).call(block_identifier=block)
            )

        def call() -> Any:
            data = self._encode(signature, args, what)
            answer = self.w3.eth.call({"to": self.address, "data": data}, block)
            return self._decode(signature, bytes(answer), what)

        return self.guard(what, call)

    def read(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> dict[str, Any]:
        """Call a view whose answer is a struct or several named values, keyed by ABI name."""
        names = output_names(function_item(self.abi, function))
        if names is None:
            raise AbiMismatchError(f"{self.name}.{function} answers one value: use call()")
        return by_name(names, self.call(function, *args, block=block), f"{self.name}.{function}")

    def guard(self, what: str, fn: Callable[[], _T]) -> _T:
        """``fn()`` with its failures turned into this package's typed errors."""
        try:
            return fn()
        except revert_errors() as exc:
            data = revert_data(exc)
            decoded = self.decoder(data) if data is not None else None
            if decoded is not None:
                raise decoded from None
            raise ContractRevertError("UnknownRevert") from None
        except NODE_ERRORS as exc:
            raise RpcError(f"{what}: the node did not answer: {type(exc).__name__}") from None
        except Web3RPCError as exc:
            raise RpcError(f"{what}: {exc.message or exc}") from None
        except _ABI_ERRORS as exc:
            raise AbiMismatchError(f"{what}: {_first_line(exc)}") from None

    def request(self, function: str, *args: Any, gas: int | None = None) -> TxRequest:
        """A :class:`TxRequest` calling ``function(*args)``, for a ``TransactionSender``."""
        what = f"{self.name}.{function}"
        signature = self._signature(function)
        try:
            if signature is None:
                data = bytes.fromhex(self.contract.encode_abi(function, args=list(args))[2:])
            else:
                data = self._encode(signature, args, what)
        except _ABI_ERRORS as exc:
            raise AbiMismatchError(f"{what}: {_first_line(exc)}") from None
        return TxRequest(to=self.address, data=data, gas=gas)

    def _signature(self, function: str) -> _Signature | None:
        """``function``'s signature; None when the ABI has no such function or overloads it."""
        if function not in self._signatures:
            items = [
                item
                for item in self.abi
                if item.get("type") == "function" and item.get("name") == function
            ]
            signature = None
            if len(items) == 1:
                inputs = tuple(type_string(i) for i in items[0]["inputs"])
                signature = _Signature(
                    selector=selector(function, inputs),
                    inputs=inputs,
                    outputs=tuple(type_string(o) for o in items[0].get("outputs", [])),
                )
            self._signatures[function] = signature
        return self._signatures[function]

    def _encode(self, signature: _Signature, args: Sequence[Any], what: str) -> bytes:
        if len(args) != len(signature.inputs):
            raise AbiMismatchError(
                f"{what} takes {len(signature.inputs)} arguments "
                f"({', '.join(signature.inputs)}), got {len(args)}"
            )
        values = map_abi_data(_INPUT_NORMALIZERS, signature.inputs, args)
        return signature.selector + self.w3.codec.encode(signature.inputs, values)

    def _decode(self, signature: _Signature, answer: bytes, what: str) -> Any:
        try:
            values = self.w3.codec.decode(signature.outputs, answer)
        except DecodingError:
            if not answer:
                raise AbiMismatchError(
                    f"{what}: an empty answer (is the contract deployed at {self.address}?)"
                ) from None
            raise AbiMismatchError(
                f"{what}: cannot decode the answer 0x{answer.hex()} as "
                f"({', '.join(signature.outputs)})"
            ) from None
        normalized = map_abi_data(BASE_RETURN_NORMALIZERS, signature.outputs, values)
        return normalized[0] if len(normalized) == 1 else normalized

    def events(self, receipt: TxReceipt, event: str) -> list[EventData]:
        """The ``event`` logs this contract emitted in ``receipt``, decoded (as web3's
        ``process_receipt`` decodes them; a log that does not decode is left out, as there)."""
        codec = self.event_codec(event)
        found = []
        for log in receipt["logs"]:
            if log["address"] != self.address or not codec.matches(log):
                continue
            try:
                found.append(codec.decode(self.w3.codec, log))
            except (DecodingError, ValueError, OverflowError):
                continue
        return found

    def event_codec(self, event: str) -> EventCodec:
        """The decoder of ``event``'s logs (:mod:`energychain.event_codec`), made once.

        Raises:
            AbiMismatchError: the ABI has no event ``event``.
        """
        if event not in self._event_codecs:
            items = [i for i in self.abi if i.get("type") == "event" and i.get("name") == event]
            if len(items) != 1:
                raise AbiMismatchError(f"{self.name} has no event {event} in its ABI")
            self._event_codecs[event] = EventCodec.of(cast(ABIEvent, items[0]))
        return self._event_codecs[event]


def revert_decoder(names: Iterable[str] = ENERGYCHAIN_CONTRACTS) -> RevertDecoder:
    """A decoder for the custom errors of the given contracts (compiled artifacts); made once per
    version of those artifacts (a selector per error of every ABI, hashed)."""
    return _revert_decoder(tuple(artifact_version(name) for name in names))


@lru_cache(maxsize=32)
def _revert_decoder(versions: tuple[tuple[str, int, int], ...]) -> RevertDecoder:
    return RevertDecoder(Artifact.load(Path(path)).abi for path, _, _ in versions)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
