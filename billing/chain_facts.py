"""Billing facts straight from the chain (events and views): no indexer needed.

:func:`chain_facts` gathers a month's :class:`~billing.bill.MonthFacts` from a deployment's
events (read in chunks, :class:`energychain.events.EventReader`) and views; the indexer's
database feeds the same computation (``indexer.billing``).
"""

from __future__ import annotations

from billing.bill import (
    Forfeit,
    MeteredReading,
    MonthFacts,
    Redemption,
    Settlement,
    slot_range,
    supply_slots,
)
from energychain.calendar import NO_SLOT
from energychain.deploy import Deployment, EnergyChain
from energychain.events import EventReader
from energychain.sealed_market import SealedMarket


def chain_facts(
    contracts: EnergyChain, deployment: Deployment, month: str, time_zone: str = "UTC"
) -> MonthFacts:
    """The facts of ``month`` (in ``time_zone``) read from the chain's events and views."""
    first, last = slot_range(contracts.registry.calendar(), month, time_zone)
    start = deployment.block_number
    registry, token, market = (
        EventReader(contracts.registry),
        EventReader(contracts.token),
        EventReader(contracts.market),
    )

    def in_month(slot: int) -> bool:
        return first <= slot <= last

    owners = {
        "0x" + bytes(e["args"]["meterId"]).hex(): str(e["args"]["owner"])
        for e in registry.read("MeterRegistered", start)
    }
    facts = MonthFacts(month=month, slots=(first, last), meter_owners=owners)
    for e in registry.read("ReadingAccepted", start):
        slot = int(e["args"]["slot"])
        if slot == NO_SLOT or not in_month(slot):
            continue
        facts.readings.append(
            MeteredReading(
                "0x" + bytes(e["args"]["meterId"]).hex(),
                slot,
                int(e["args"]["importDeltaWh"]),
                int(e["args"]["exportDeltaWh"]),
            )
        )
    for e in token.read("Redeemed", start):
        slot = int(e["args"]["slot"])
        if in_month(slot):
            facts.redemptions.append(
                Redemption(str(e["args"]["holder"]), slot, int(e["args"]["amountWh"]))
            )

    orders = {
        int(e["args"]["orderId"]): (
            str(e["args"]["owner"]),
            int(e["args"]["slot"]),
            bool(e["args"]["isBuy"]),
        )
        for e in market.read("OrderPlaced", start)
        if in_month(int(e["args"]["slot"]))
    }
    cancelled = {int(e["args"]["orderId"]) for e in market.read("OrderCancelled", start)}
    claimed: dict[int, tuple[int, int, int]] = {
        int(e["args"]["orderId"]): (
            int(e["args"]["filledWh"]),
            int(e["args"]["amount"]),
            int(e["args"]["fee"]),
        )
        for e in market.read("OrderClaimed", start)
        if int(e["args"]["orderId"]) in orders
    }
    facts.volumes = {
        int(e["args"]["slot"]): int(e["args"]["volumeWh"])
        for e in market.read("SlotCleared", start)
        if in_month(int(e["args"]["slot"]))
    }
    for order_id, (owner, slot, is_buy) in sorted(orders.items()):
        if order_id in cancelled or slot not in facts.volumes:
            continue
        if order_id in claimed:
            filled, amount, fee = claimed[order_id]
        else:
            preview = contracts.market.preview_claim(order_id)
            filled, amount, fee = preview.filled_wh, preview.amount, preview.fee
        if filled > 0:
            facts.settlements.append(
                Settlement(
                    str(order_id),
                    owner,
                    slot,
                    is_buy,
                    filled,
                    amount,
                    fee,
                    claimed=order_id in claimed,
                )
            )
    if isinstance(contracts.market, SealedMarket):
        facts.bond_amount = int(contracts.market.bond_amount())
        for e in market.read("CommitmentForfeited", start):
            commit_id = int(e["args"]["commitId"])
            slot = commit_id >> 192  # a commit id is slot << 192 | its hash's low bits
            if in_month(slot):
                facts.forfeits.append(
                    Forfeit(str(commit_id), str(e["args"]["owner"]), slot, int(e["args"]["bond"]))
                )
        facts.forfeits.sort(key=lambda x: int(x.commit_id))  # as the index lists them
    facts.supply = {slot: contracts.token.total_supply(slot) for slot in supply_slots(facts)}
    facts.supply_source = "chain"
    return facts
