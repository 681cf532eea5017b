"""Handles on deployed contracts: calls, reads by name, transaction requests, events.

A :class:`ContractHandle` turns every failure into a typed error: a revert into the decoded
:class:`~chain.errors.ContractRevertError`, a node that does not answer into
:class:`~chain.errors.RpcError`, a function or argument the ABI does not have into
:class:`~energychain.errors.AbiMismatchError`. The façades (:mod:`energychain.market`,
:mod:`energychain.registry`, :mod:`energychain.tokens`) build their typed reads and
transaction builders on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import requests
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import (
    BadFunctionCallOutput,
    MismatchedABI,
    ProviderConnectionError,
    TimeExhausted,
    Web3AttributeError,
    Web3RPCError,
    Web3TypeError,
    Web3ValidationError,
    Web3ValueError,
)
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, TxReceipt

from chain.abi_types import by_name, function_item, output_names
from chain.artifacts import Artifact, load_artifact
from chain.errors import AbiMismatchError, ContractRevertError, RpcError
from chain.reverts import RevertDecoder
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
)

_T = TypeVar("_T")


class ContractHandle:
    """One deployed contract: read with :meth:`call` / :meth:`read`, write with :meth:`request`."""

    def __init__(self, w3: Web3, artifact: Artifact, address: str, decoder: RevertDecoder):
        self.name = artifact.name
        self.abi = artifact.abi
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact.abi)
        self.w3 = w3
        self.decoder = decoder

    def call(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """Call a view function; the answer as web3 decodes it (tuples for structs)."""
        return self.guard(
            f"{self.name}.{function}",
            lambda: self.contract.functions[function](*args).call(block_identifier=block),
        )

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
        try:
            data = self.contract.encode_abi(function, args=list(args))
        except _ABI_ERRORS as exc:
            raise AbiMismatchError(f"{self.name}.{function}: {_first_line(exc)}") from None
        return TxRequest(to=self.address, data=bytes.fromhex(data[2:]), gas=gas)

    def events(self, receipt: TxReceipt, event: str) -> list[EventData]:
        """The ``event`` logs this contract emitted in ``receipt``, decoded."""
        logs = self.contract.events[event]().process_receipt(receipt, errors=DISCARD)
        return [log for log in logs if log["address"] == self.address]


def revert_decoder(names: Iterable[str] = ENERGYCHAIN_CONTRACTS) -> RevertDecoder:
    """A decoder for the custom errors of the given contracts (compiled artifacts)."""
    return RevertDecoder(load_artifact(name).abi for name in names)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
