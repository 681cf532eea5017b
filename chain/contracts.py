"""Handles on deployed contracts: calls, transaction requests and event decoding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, TxReceipt

from chain.artifacts import Artifact, load_artifact
from chain.reverts import RevertDecoder
from wallet.transactions import TxRequest, revert_data, revert_errors

#: Artifacts whose ABIs carry the errors and events of a deployed EnergyChain.
ENERGYCHAIN_CONTRACTS = ("EnergyToken", "MeterRegistry", "EnergyMarket", "TestEuro")


class ContractHandle:
    """One deployed contract: read with :meth:`call`, write with :meth:`request`."""

    def __init__(self, w3: Web3, artifact: Artifact, address: str, decoder: RevertDecoder):
        self.name = artifact.name
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact.abi)
        self._decoder = decoder

    def call(self, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """Call a view function; a revert raises the decoded ``ContractRevertError``."""
        try:
            return self.contract.functions[function](*args).call(block_identifier=block)
        except revert_errors() as exc:
            data = revert_data(exc)
            decoded = self._decoder(data) if data is not None else None
            if decoded is not None:
                raise decoded from None
            raise

    def request(self, function: str, *args: Any, gas: int | None = None) -> TxRequest:
        """A :class:`TxRequest` calling ``function(*args)``, for a ``TransactionSender``."""
        data = self.contract.encode_abi(function, args=list(args))
        return TxRequest(to=self.address, data=bytes.fromhex(data[2:]), gas=gas)

    def events(self, receipt: TxReceipt, event: str) -> list[EventData]:
        """The ``event`` logs this contract emitted in ``receipt``, decoded."""
        logs = self.contract.events[event]().process_receipt(receipt, errors=DISCARD)
        return [log for log in logs if log["address"] == self.address]


def revert_decoder(names: Iterable[str] = ENERGYCHAIN_CONTRACTS) -> RevertDecoder:
    """A decoder for the custom errors of the given contracts (compiled artifacts)."""
    return RevertDecoder(load_artifact(name).abi for name in names)


@dataclass
class EnergyChain:
    """The deployed EnergyChain contracts on one chain."""

    payment: ContractHandle
    registry: ContractHandle
    token: ContractHandle
    market: ContractHandle
    decoder: RevertDecoder

    @classmethod
    def at(cls, w3: Web3, addresses: dict[str, str]) -> EnergyChain:
        """Handles for ``addresses`` (keys: payment_token, registry, energy_token, market)."""
        decoder = revert_decoder()
        payment_artifact = load_artifact("TestEuro")  # any ERC-20: only the standard ABI is used
        return cls(
            payment=ContractHandle(w3, payment_artifact, addresses["payment_token"], decoder),
            registry=ContractHandle(
                w3, load_artifact("MeterRegistry"), addresses["registry"], decoder
            ),
            token=ContractHandle(
                w3, load_artifact("EnergyToken"), addresses["energy_token"], decoder
            ),
            market=ContractHandle(w3, load_artifact("EnergyMarket"), addresses["market"], decoder),
            decoder=decoder,
        )
