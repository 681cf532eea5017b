"""A bare MeterRegistry on a development chain, and meter registration (oracle tests, bench).

A full EnergyChain comes from ``energychain.deploy.deploy_energychain``; the oracle only needs
the registry (which deploys its own EnergyToken), with a slot length and clock skew of one's
choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from chain.artifacts import load_artifact
from energychain.contracts import revert_decoder
from energychain.deploy import current_epoch
from energychain.deploy import deploy_registry as deploy_meter_registry
from energychain.registry import Registry
from wallet.transactions import TransactionSender


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
    epoch = current_epoch(sender.w3, slot_seconds) if epoch is None else epoch
    address = deploy_meter_registry(
        sender,
        epoch=epoch,
        slot_seconds=slot_seconds,
        max_clock_skew_seconds=max_clock_skew_seconds,
        token_uri=token_uri,
    )
    return address, epoch


def register_meters(
    sender: TransactionSender, registry: str, meters: list[MeterRegistration]
) -> None:
    """``registerMeter`` for each (needs METER_ADMIN_ROLE), sent in batches of 200."""
    handle = Registry(sender.w3, load_artifact("MeterRegistry"), registry, revert_decoder())
    requests = [
        handle.register_meter(
            m.meter_id,
            Web3.to_checksum_address(m.owner),
            Web3.to_checksum_address(m.signer),
            m.capacity_wh_per_slot,
            gas=200_000,
        )
        for m in meters
    ]
    for start in range(0, len(requests), 200):
        sender.send_batch(requests[start : start + 200])
