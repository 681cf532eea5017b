"""Local-chain helpers for demos, benchmarks and tests: a bare MeterRegistry, meter registration.

A full EnergyChain comes from ``chain.deploy.deploy_energychain``; the oracle only needs the
registry (which deploys its own EnergyToken), with a slot length and clock skew of one's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from chain.artifacts import load_artifact
from wallet.transactions import TransactionSender, TxRequest


@dataclass(frozen=True)
class MeterRegistration:
    meter_id: bytes
    owner: str
    signer: str
    capacity_wh_per_slot: int


def deploy_registry(
    sender: TransactionSender,
    *,
    epoch: int | None = None,
    slot_seconds: int = 900,
    max_clock_skew_seconds: int = 300,
    token_uri: str = "https://energychain.invalid/slot/{id}.json",
) -> tuple[str, int]:
    """Deploy a MeterRegistry administered by ``sender``; returns ``(address, epoch)``.

    ``epoch`` None: the latest block's time rounded down to a slot boundary.
    """
    w3 = sender.w3
    if epoch is None:
        now = int(w3.eth.get_block("latest")["timestamp"])
        epoch = now - now % slot_seconds
    artifact = load_artifact("MeterRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(
        sender.address, epoch, slot_seconds, max_clock_skew_seconds, token_uri
    ).data_in_transaction
    receipt = sender.transact(TxRequest(to=None, data=bytes.fromhex(data[2:])))
    address = receipt["contractAddress"]
    assert address is not None
    return Web3.to_checksum_address(address), epoch


def register_meters(
    sender: TransactionSender, registry: str, meters: list[MeterRegistration]
) -> None:
    """``registerMeter`` for each (needs METER_ADMIN_ROLE), sent in batches of 200."""
    contract = sender.w3.eth.contract(
        address=Web3.to_checksum_address(registry), abi=load_artifact("MeterRegistry").abi
    )
    requests = []
    for m in meters:
        data = contract.encode_abi(
            "registerMeter",
            args=[
                m.meter_id,
                Web3.to_checksum_address(m.owner),
                Web3.to_checksum_address(m.signer),
                m.capacity_wh_per_slot,
            ],
        )
        requests.append(TxRequest(to=contract.address, data=bytes.fromhex(data[2:]), gas=200_000))
    for start in range(0, len(requests), 200):
        sender.send_batch(requests[start : start + 200])
