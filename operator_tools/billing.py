"""Monthly bills per household from the chain's events (``eth_getLogs``, no indexer needed).

For every household (the owner address of meters and orders) and one calendar month (UTC,
by delivery slot start):

- metered import and export: ``ReadingAccepted`` deltas attributed to the month's slots;
- P2P energy bought and sold with the money paid and received and the fees: ``OrderClaimed``
  of orders placed for the month's slots (orders of cleared slots not claimed yet are included
  from ``previewClaim`` and counted in ``unclaimed_orders``);
- tokens redeemed against import: ``Redeemed``;
- the grid remainder: import not covered by redeemed tokens at the retail tariff, export not
  sold on the market at the feed-in tariff.

Totals are reconciled with the chain: per slot, Wh bought = Wh sold = the cleared volume; money
paid by buyers = money received by sellers + fees + rounding kept by the contract; per slot, the
energy token's supply = minted (export) - redeemed. :attr:`Bill.differences` lists every check
that failed (empty: the bill reconciles). ``market/indexer`` will serve the same events from its
database once it is deployed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from chain.deploy import Deployment
from operator_tools.context import Community
from operator_tools.errors import BillingError
from operator_tools.events import fetch_events
from operator_tools.meters import load_inventory

NO_SLOT = 2**256 - 1


@dataclass
class HouseholdBill:
    household: str
    meters: str = ""
    """Names of the household's meters (from the operator's inventory), space separated."""
    import_wh: int = 0
    export_wh: int = 0
    bought_wh: int = 0
    paid: int = 0
    sold_wh: int = 0
    received: int = 0
    fees: int = 0
    redeemed_wh: int = 0

    @property
    def grid_import_wh(self) -> int:
        return max(self.import_wh - self.redeemed_wh, 0)

    @property
    def grid_export_wh(self) -> int:
        return max(self.export_wh - self.sold_wh, 0)


@dataclass
class Bill:
    month: str
    households: list[HouseholdBill]
    decimals: int
    retail_eur_per_kwh: Decimal
    feed_in_eur_per_kwh: Decimal
    slots: tuple[int, int]
    """First and last delivery slot of the month."""
    cleared_volume_wh: int = 0
    rounding_dust: int = 0
    """Payment units buyers paid beyond what sellers received plus fees (kept by the market)."""
    unclaimed_orders: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return not self.differences

    def eur(self, base_units: int) -> Decimal:
        return Decimal(base_units).scaleb(-self.decimals)

    def grid_import_eur(self, h: HouseholdBill) -> Decimal:
        return (Decimal(h.grid_import_wh) * self.retail_eur_per_kwh / 1000).quantize(
            Decimal("0.01")
        )

    def grid_export_eur(self, h: HouseholdBill) -> Decimal:
        return (Decimal(h.grid_export_wh) * self.feed_in_eur_per_kwh / 1000).quantize(
            Decimal("0.01")
        )

    def rows(self) -> list[dict[str, str]]:
        """One row per household plus a TOTAL row; money in EUR, energy in Wh."""
        out = []
        total = HouseholdBill("TOTAL")
        for h in [*self.households, total]:
            if h is not total:
                for name in (
                    "import_wh", "export_wh", "bought_wh", "paid", "sold_wh", "received",
                    "fees", "redeemed_wh",
                ):  # fmt: skip
                    setattr(total, name, getattr(total, name) + getattr(h, name))
            grid_in, grid_out = self.grid_import_eur(h), self.grid_export_eur(h)
            net = self.eur(h.paid) - self.eur(h.received) + grid_in - grid_out
            out.append(
                {
                    "household": h.household,
                    "meters": h.meters,
                    "import_wh": str(h.import_wh),
                    "export_wh": str(h.export_wh),
                    "p2p_bought_wh": str(h.bought_wh),
                    "p2p_paid_eur": str(self.eur(h.paid)),
                    "p2p_sold_wh": str(h.sold_wh),
                    "p2p_received_eur": str(self.eur(h.received)),
                    "fees_eur": str(self.eur(h.fees)),
                    "redeemed_wh": str(h.redeemed_wh),
                    "grid_import_wh": str(h.grid_import_wh),
                    "grid_import_eur": str(grid_in),
                    "grid_export_wh": str(h.grid_export_wh),
                    "grid_export_eur": str(grid_out),
                    "net_eur": str(net),
                }
            )
        return out

    def to_csv(self) -> str:
        rows = self.rows()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()


def month_bounds(month: str) -> tuple[int, int]:
    """Unix seconds of the first instant of ``YYYY-MM`` and of the next month (UTC)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BillingError(f"month: {month!r} is not YYYY-MM")
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()), int(end.timestamp())


def slot_range(deployment: Deployment, slot_seconds: int, month: str) -> tuple[int, int]:
    """Slots whose start lies in ``month``: ``[first, last]`` (last < first when none)."""
    start, end = month_bounds(month)
    epoch = deployment.epoch
    first = max(-(-(start - epoch) // slot_seconds), 0)
    last = -(-(end - epoch) // slot_seconds) - 1
    return first, last


def monthly_bill(community: Community, month: str) -> Bill:
    """The bill of ``month``; :class:`BillingError` when the month holds no data."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    config = community.config
    first, last = slot_range(deployment, config.slot_seconds, month)
    start = deployment.block_number

    def in_month(slot: int) -> bool:
        return first <= slot <= last

    households: dict[str, HouseholdBill] = {}

    def bill(address: str) -> HouseholdBill:
        return households.setdefault(address, HouseholdBill(address))

    owners = {
        bytes(e["args"]["meterId"]): str(e["args"]["owner"])
        for e in fetch_events(contracts.registry, "MeterRegistered", start)
    }
    minted: dict[int, int] = defaultdict(int)
    for e in fetch_events(contracts.registry, "ReadingAccepted", start):
        slot = int(e["args"]["slot"])
        if slot == NO_SLOT or not in_month(slot):
            continue
        h = bill(owners[bytes(e["args"]["meterId"])])
        h.import_wh += int(e["args"]["importDeltaWh"])
        h.export_wh += int(e["args"]["exportDeltaWh"])
        minted[slot] += int(e["args"]["exportDeltaWh"])

    redeemed: dict[int, int] = defaultdict(int)
    for e in fetch_events(contracts.token, "Redeemed", start):
        slot = int(e["args"]["slot"])
        if in_month(slot):
            bill(str(e["args"]["holder"])).redeemed_wh += int(e["args"]["amountWh"])
            redeemed[slot] += int(e["args"]["amountWh"])

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
    settled: dict[int, tuple[int, int, int]] = {
        int(e["args"]["orderId"]): (
            int(e["args"]["filledWh"]),
            int(e["args"]["amount"]),
            int(e["args"]["fee"]),
        )
        for e in fetch_events(contracts.market, "OrderClaimed", start)
        if int(e["args"]["orderId"]) in orders
    }
    volumes = {
        int(e["args"]["slot"]): int(e["args"]["volumeWh"])
        for e in fetch_events(contracts.market, "SlotCleared", start)
        if in_month(int(e["args"]["slot"]))
    }
    unclaimed = 0
    for order_id, (_, slot, _) in orders.items():
        if order_id in settled or order_id in cancelled or slot not in volumes:
            continue
        filled, amount, fee, _refund = contracts.market.call("previewClaim", order_id)
        settled[order_id] = (int(filled), int(amount), int(fee))
        unclaimed += 1

    bought: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    paid_total = received_total = fee_total = 0
    for order_id, (filled, amount, fee) in settled.items():
        owner, slot, is_buy = orders[order_id]
        h = bill(owner)
        if is_buy:
            h.bought_wh += filled
            h.paid += amount
            bought[slot] += filled
            paid_total += amount
        else:
            h.sold_wh += filled
            h.received += amount
            h.fees += fee
            sold[slot] += filled
            received_total += amount
            fee_total += fee

    names: dict[str, list[str]] = defaultdict(list)
    for entry in load_inventory(community).values():
        names[entry.owner].append(entry.name)
    for h in households.values():
        h.meters = " ".join(sorted(names.get(h.household, [])))

    if not households and not volumes:
        raise BillingError(
            f"no data for {month}: no meter readings, orders or redemptions in slots "
            f"{first}..{last} of this deployment"
        )

    differences: list[str] = []
    for slot in sorted(set(volumes) | set(bought) | set(sold)):
        volume = volumes.get(slot, 0)
        if not bought[slot] == sold[slot] == volume:
            differences.append(
                f"slot {slot}: bought {bought[slot]} Wh, sold {sold[slot]} Wh, "
                f"cleared volume {volume} Wh"
            )
    dust = paid_total - received_total - fee_total
    if dust < 0 or dust > max(len(settled), 1):
        differences.append(
            f"money: buyers paid {paid_total}, sellers received {received_total} + fees "
            f"{fee_total} (difference {dust} base units)"
        )
    for slot in sorted(set(minted) | set(redeemed)):
        supply = int(contracts.token.call("totalSupply", slot))
        if supply != minted[slot] - redeemed[slot]:
            differences.append(
                f"slot {slot}: token supply {supply} Wh, minted {minted[slot]} - redeemed "
                f"{redeemed[slot]} Wh"
            )
    return Bill(
        month=month,
        households=sorted(households.values(), key=lambda h: h.household),
        decimals=config.payment_decimals,
        retail_eur_per_kwh=config.tariffs.retail_eur_per_kwh,
        feed_in_eur_per_kwh=config.tariffs.feed_in_eur_per_kwh,
        slots=(first, last),
        cleared_volume_wh=sum(volumes.values()),
        rounding_dust=dust,
        unclaimed_orders=unclaimed,
        differences=differences,
    )
