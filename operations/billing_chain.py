"""Billing facts straight from the chain (``eth_getLogs`` + views): no indexer needed.

:func:`chain_facts` gathers a month's :class:`~operations.billing.MonthFacts` from the
recorded deployment; :func:`monthly_bill` computes the bill from them with the operator's
tariffs and meter names. The indexer's database feeds the same computation
(:mod:`operations.billing_indexer`).
"""

from __future__ import annotations

from chain.contracts import EnergyChain
from chain.deploy import Deployment
from operations.billing import (
    NO_SLOT,
    Bill,
    BillTariffs,
    MeteredReading,
    MonthFacts,
    Redemption,
    Settlement,
    compute_bill,
    slot_range,
    supply_slots,
)
from operations.context import Community
from operations.events import fetch_events
from operations.meters import load_inventory


def chain_facts(
    contracts: EnergyChain, deployment: Deployment, slot_seconds: int, month: str
) -> MonthFacts:
    """The facts of ``month`` read from the chain's events and views."""
    first, last = slot_range(deployment.epoch, slot_seconds, month)
    start = deployment.block_number

    def in_month(slot: int) -> bool:
        return first <= slot <= last

    owners = {
        "0x" + bytes(e["args"]["meterId"]).hex(): str(e["args"]["owner"])
        for e in fetch_events(contracts.registry, "MeterRegistered", start)
    }
    facts = MonthFacts(month=month, slots=(first, last), meter_owners=owners)
    for e in fetch_events(contracts.registry, "ReadingAccepted", start):
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
    for e in fetch_events(contracts.token, "Redeemed", start):
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
        for e in fetch_events(contracts.market, "OrderPlaced", start)
        if in_month(int(e["args"]["slot"]))
    }
    cancelled = {
        int(e["args"]["orderId"]) for e in fetch_events(contracts.market, "OrderCancelled", start)
    }
    claimed: dict[int, tuple[int, int, int]] = {
        int(e["args"]["orderId"]): (
            int(e["args"]["filledWh"]),
            int(e["args"]["amount"]),
            int(e["args"]["fee"]),
        )
        for e in fetch_events(contracts.market, "OrderClaimed", start)
        if int(e["args"]["orderId"]) in orders
    }
    facts.volumes = {
        int(e["args"]["slot"]): int(e["args"]["volumeWh"])
        for e in fetch_events(contracts.market, "SlotCleared", start)
        if in_month(int(e["args"]["slot"]))
    }
    for order_id, (owner, slot, is_buy) in sorted(orders.items()):
        if order_id in cancelled or slot not in facts.volumes:
            continue
        if order_id in claimed:
            filled, amount, fee = claimed[order_id]
        else:
            filled, amount, fee, _refund = (
                int(v) for v in contracts.market.call("previewClaim", order_id)
            )
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
    facts.supply = {
        slot: int(contracts.token.call("totalSupply", slot)) for slot in supply_slots(facts)
    }
    facts.supply_source = "chain"
    return facts


def community_tariffs(community: Community) -> BillTariffs:
    """The config's tariffs as the market's grid has them (floor = feed-in, top = retail)."""
    grid = community.config.price_grid()
    return BillTariffs(
        retail=grid.price_top, feed_in=grid.price_floor, decimals=community.config.payment_decimals
    )


def meter_names(community: Community) -> dict[str, str]:
    """Meter id -> the operator's name, from the local inventory."""
    return {meter_id: entry.name for meter_id, entry in load_inventory(community).items()}


def monthly_bill(community: Community, month: str) -> Bill:
    """The bill of ``month`` from the chain; :class:`BillingError` when it holds no data."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    facts = chain_facts(contracts, deployment, community.config.slot_seconds, month)
    return compute_bill(facts, community_tariffs(community), meter_names(community))
