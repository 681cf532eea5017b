"""Monthly bills per household: one computation, fed by the chain or by the indexer's database.

For every household (the owner address of meters and orders) and one calendar month (in the
community's time zone, ``time_zone`` in community.yaml, UTC by default; by delivery slot start):

- metered import and export: ``ReadingAccepted`` deltas attributed to the month's slots;
- P2P energy bought and sold with the money paid and received and the fees: the claims of
  orders placed for the month's slots; orders of cleared slots not claimed yet count with what
  the clearing gives them (``previewClaim`` on chain, the reference rule on the index) and are
  counted in ``unclaimed_orders``;
- tokens redeemed against import: ``Redeemed`` (an energy-token burn);
- in a sealed market, commitments for the month's slots never revealed and reclaimed:
  ``CommitmentForfeited``, whose bond went to the treasury (money the household lost; 0 in an
  open market);
- the grid remainder: import not covered by redeemed tokens at the retail tariff, export not
  sold on the market at the feed-in tariff.

The sources only gather facts (:class:`MonthFacts`): :mod:`billing.chain_facts` from the
chain's events and views, ``indexer.billing`` from the indexer's tables.
:func:`compute_bill` turns facts into a :class:`Bill` and reconciles its totals: per slot,
Wh bought = Wh sold = the cleared volume; money paid by buyers = money received by sellers +
fees + rounding kept by the contract (at most one base unit per filled order); every forfeited
bond = the market's bond (none in an open market), so the treasury's bond income = the
households' forfeited bonds; per slot, the energy token's supply = minted (export) - redeemed.
:attr:`Bill.differences` lists every check that failed (empty: the bill reconciles).

A household's net = paid - received + forfeited bonds + grid import - grid export: every euro
it paid to the market or the treasury, less every euro it received.

This module imports nothing of the chain or a database (only the slot calendar and the
clearing rule's units), so both sources, the CLI and the API share it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing.errors import BillingError
from energychain.calendar import SlotCalendar
from market.clearing import WH_PER_KWH

#: Columns of a bill row, in order (CSV header, JSON keys, API).
COLUMNS: tuple[str, ...] = (
    "household",
    "meters",
    "import_wh",
    "export_wh",
    "p2p_bought_wh",
    "p2p_paid_eur",
    "p2p_sold_wh",
    "p2p_received_eur",
    "fees_eur",
    "forfeited_commitments",
    "forfeited_bonds_eur",
    "redeemed_wh",
    "grid_import_wh",
    "grid_import_eur",
    "grid_export_wh",
    "grid_export_eur",
    "net_eur",
)


# ---------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class MeteredReading:
    """One accepted reading attributed to a slot of the month."""

    meter_id: str
    """``0x`` + 64 hex digits, lower case."""
    slot: int
    import_wh: int
    export_wh: int


@dataclass(frozen=True)
class Redemption:
    holder: str
    slot: int
    amount_wh: int


@dataclass(frozen=True)
class Settlement:
    """What one order of a cleared slot of the month traded (claimed, or what a claim gives)."""

    order_id: str
    owner: str
    slot: int
    is_buy: bool
    filled_wh: int
    amount: int
    """Paid (buy) or received net of the fee (sell), payment base units."""
    fee: int
    claimed: bool


@dataclass(frozen=True)
class Forfeit:
    """A sealed market's commitment for a slot of the month, never revealed and reclaimed: its
    bond went from its owner's collateral to the treasury (the rest back to the owner)."""

    commit_id: str
    owner: str
    slot: int
    bond: int
    """Payment base units paid to the treasury."""


@dataclass
class MonthFacts:
    """Everything a bill is computed from; a source fills it for the month's slot range."""

    month: str
    slots: tuple[int, int]
    meter_owners: dict[str, str]
    """Meter id -> owner, every registered meter."""
    readings: list[MeteredReading] = field(default_factory=list)
    redemptions: list[Redemption] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)
    """Orders of the month's cleared slots that traded (``filled_wh > 0``), not cancelled."""
    volumes: dict[int, int] = field(default_factory=dict)
    """Cleared volume per cleared slot of the month."""
    supply: dict[int, int] = field(default_factory=dict)
    """Energy-token supply per slot, for every slot with mints or redemptions in the facts."""
    supply_source: str = "chain"
    """Where :attr:`supply` comes from: ``chain`` (``totalSupply``) or ``index`` (transfers)."""
    forfeits: list[Forfeit] = field(default_factory=list)
    """Commitments of the month's slots forfeited (sealed market; empty in an open one), in
    commit-id order."""
    bond_amount: int | None = None
    """The sealed market's bond (payment base units); None in an open market."""


@dataclass(frozen=True)
class BillTariffs:
    """Grid tariffs in payment base units per kWh, and the payment token's decimals."""

    retail: int
    feed_in: int
    decimals: int

    @property
    def retail_eur_per_kwh(self) -> Decimal:
        return Decimal(self.retail).scaleb(-self.decimals)

    @property
    def feed_in_eur_per_kwh(self) -> Decimal:
        return Decimal(self.feed_in).scaleb(-self.decimals)


# ---------------------------------------------------------------------------- bill
@dataclass
class HouseholdBill:
    household: str
    meters: str = ""
    """The household's meters, space separated: the operator's names where known, else ids."""
    import_wh: int = 0
    export_wh: int = 0
    bought_wh: int = 0
    paid: int = 0
    sold_wh: int = 0
    received: int = 0
    fees: int = 0
    forfeited_commitments: int = 0
    """Its commitments never revealed (sealed market), each forfeiting the bond."""
    forfeited_bonds: int = 0
    """The bonds they forfeited to the treasury, payment base units."""
    redeemed_wh: int = 0

    @property
    def grid_import_wh(self) -> int:
        return max(self.import_wh - self.redeemed_wh, 0)

    @property
    def grid_export_wh(self) -> int:
        return max(self.export_wh - self.sold_wh, 0)


_SUMMED = ("import_wh", "export_wh", "bought_wh", "paid", "sold_wh", "received", "fees",
           "forfeited_commitments", "forfeited_bonds", "redeemed_wh")  # fmt: skip


@dataclass
class Bill:
    month: str
    households: list[HouseholdBill]
    tariffs: BillTariffs
    slots: tuple[int, int]
    """First and last delivery slot of the month."""
    cleared_volume_wh: int = 0
    rounding_dust: int = 0
    """Payment units buyers paid beyond what sellers received plus fees (kept by the market)."""
    unclaimed_orders: int = 0
    """Filled orders not claimed yet (counted with what their claim will give)."""
    supply_source: str = "chain"
    bond_amount: int | None = None
    """The sealed market's bond, payment base units (None: an open market)."""
    differences: list[str] = field(default_factory=list)

    @property
    def decimals(self) -> int:
        return self.tariffs.decimals

    @property
    def reconciles(self) -> bool:
        return not self.differences

    def eur(self, base_units: int) -> Decimal:
        return Decimal(base_units).scaleb(-self.decimals)

    def grid_import_eur(self, h: HouseholdBill) -> Decimal:
        return (Decimal(h.grid_import_wh) * self.tariffs.retail_eur_per_kwh / WH_PER_KWH).quantize(
            Decimal("0.01")
        )

    def grid_export_eur(self, h: HouseholdBill) -> Decimal:
        return (Decimal(h.grid_export_wh) * self.tariffs.feed_in_eur_per_kwh / WH_PER_KWH).quantize(
            Decimal("0.01")
        )

    def total(self) -> HouseholdBill:
        total = HouseholdBill("TOTAL")
        for h in self.households:
            for name in _SUMMED:
                setattr(total, name, getattr(total, name) + getattr(h, name))
        return total

    def market_net(self, h: HouseholdBill) -> int:
        """What ``h`` paid to the market and the treasury less what it received, base units:
        paid - received + forfeited bonds."""
        return h.paid - h.received + h.forfeited_bonds

    def row(self, h: HouseholdBill) -> dict[str, str]:
        grid_in, grid_out = self.grid_import_eur(h), self.grid_export_eur(h)
        net = self.eur(self.market_net(h)) + grid_in - grid_out
        return {
            "household": h.household,
            "meters": h.meters,
            "import_wh": str(h.import_wh),
            "export_wh": str(h.export_wh),
            "p2p_bought_wh": str(h.bought_wh),
            "p2p_paid_eur": str(self.eur(h.paid)),
            "p2p_sold_wh": str(h.sold_wh),
            "p2p_received_eur": str(self.eur(h.received)),
            "fees_eur": str(self.eur(h.fees)),
            "forfeited_commitments": str(h.forfeited_commitments),
            "forfeited_bonds_eur": str(self.eur(h.forfeited_bonds)),
            "redeemed_wh": str(h.redeemed_wh),
            "grid_import_wh": str(h.grid_import_wh),
            "grid_import_eur": str(grid_in),
            "grid_export_wh": str(h.grid_export_wh),
            "grid_export_eur": str(grid_out),
            "net_eur": str(net),
        }

    def rows(self) -> list[dict[str, str]]:
        """One row per household plus a TOTAL row; money in EUR, energy in Wh."""
        return [self.row(h) for h in [*self.households, self.total()]]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buffer.getvalue()

    def document(self) -> dict[str, Any]:
        """The bill as one JSON object (``--format json`` and the API)."""
        rows = self.rows()
        return {
            "month": self.month,
            "slots": list(self.slots),
            "columns": list(COLUMNS),
            "households": rows[:-1],
            "total": rows[-1],
            "retail_eur_per_kwh": str(self.tariffs.retail_eur_per_kwh),
            "feed_in_eur_per_kwh": str(self.tariffs.feed_in_eur_per_kwh),
            "payment_decimals": self.decimals,
            "cleared_volume_wh": self.cleared_volume_wh,
            "reconciles": self.reconciles,
            "differences": self.differences,
            "rounding_dust": self.rounding_dust,
            "unclaimed_orders": self.unclaimed_orders,
            "supply_source": self.supply_source,
            "bond_eur": None if self.bond_amount is None else str(self.eur(self.bond_amount)),
        }


# ---------------------------------------------------------------------------- the month
def zone(time_zone: str) -> ZoneInfo:
    """The IANA time zone ``time_zone`` (``Europe/Berlin``); :class:`BillingError` if unknown."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BillingError(f"time_zone: {time_zone!r} is not an IANA time zone") from None


def month_bounds(month: str, time_zone: str = "UTC") -> tuple[int, int]:
    """Unix seconds of the first instant of ``YYYY-MM`` and of the next month, midnight in
    ``time_zone`` (the community's)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise BillingError(f"month: {month!r} is not YYYY-MM")
    year, mon = int(match.group(1)), int(match.group(2))
    tz = zone(time_zone)
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp())


def slot_range(calendar: SlotCalendar, month: str, time_zone: str = "UTC") -> tuple[int, int]:
    """Slots whose start lies in ``month`` (in ``time_zone``): ``[first, last]`` (last < first
    when none)."""
    return calendar.slots_starting_in(*month_bounds(month, time_zone))


def meter_label(meter_id: str, names: dict[str, str]) -> str:
    """The operator's name of a meter where known, else its id."""
    return names.get(meter_id.lower(), meter_id.lower())


def compute_bill(
    facts: MonthFacts, tariffs: BillTariffs, meter_names: dict[str, str] | None = None
) -> Bill:
    """The bill of ``facts``; :class:`BillingError` when the month holds no data.

    ``meter_names`` maps meter ids (lower-case hex) to the operator's names (off chain).
    """
    names = {k.lower(): v for k, v in (meter_names or {}).items()}
    households: dict[str, HouseholdBill] = {}

    def bill(address: str) -> HouseholdBill:
        return households.setdefault(address, HouseholdBill(address))

    minted: dict[int, int] = defaultdict(int)
    for r in facts.readings:
        h = bill(facts.meter_owners[r.meter_id])
        h.import_wh += r.import_wh
        h.export_wh += r.export_wh
        minted[r.slot] += r.export_wh
    for forfeit in facts.forfeits:
        h = bill(forfeit.owner)
        h.forfeited_commitments += 1
        h.forfeited_bonds += forfeit.bond
    redeemed: dict[int, int] = defaultdict(int)
    for x in facts.redemptions:
        bill(x.holder).redeemed_wh += x.amount_wh
        redeemed[x.slot] += x.amount_wh
    bought: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    paid_total = received_total = fee_total = 0
    for s in facts.settlements:
        h = bill(s.owner)
        if s.is_buy:
            h.bought_wh += s.filled_wh
            h.paid += s.amount
            bought[s.slot] += s.filled_wh
            paid_total += s.amount
        else:
            h.sold_wh += s.filled_wh
            h.received += s.amount
            h.fees += s.fee
            sold[s.slot] += s.filled_wh
            received_total += s.amount
            fee_total += s.fee

    first, last = facts.slots
    if not households and not facts.volumes:
        raise BillingError(
            f"no data for {facts.month}: no meter readings, orders, redemptions or forfeited "
            f"commitments in slots {first}..{last} of this deployment"
        )
    owned: dict[str, list[str]] = defaultdict(list)
    for meter_id, owner in facts.meter_owners.items():
        owned[owner].append(meter_label(meter_id, names))
    for h in households.values():
        h.meters = " ".join(sorted(owned.get(h.household, [])))

    differences: list[str] = []
    for slot in sorted(set(facts.volumes) | set(bought) | set(sold)):
        volume = facts.volumes.get(slot, 0)
        if not bought[slot] == sold[slot] == volume:
            differences.append(
                f"slot {slot}: bought {bought[slot]} Wh, sold {sold[slot]} Wh, "
                f"cleared volume {volume} Wh"
            )
    dust = paid_total - received_total - fee_total
    if dust < 0 or dust > max(len(facts.settlements), 1):
        differences.append(
            f"money: buyers paid {paid_total}, sellers received {received_total} + fees "
            f"{fee_total} (difference {dust} base units)"
        )
    differences.extend(_bond_differences(facts))
    for slot in sorted(set(minted) | set(redeemed)):
        supply = facts.supply.get(slot, 0)
        if supply != minted[slot] - redeemed[slot]:
            differences.append(
                f"slot {slot}: token supply {supply} Wh ({facts.supply_source}), minted "
                f"{minted[slot]} - redeemed {redeemed[slot]} Wh"
            )
    return Bill(
        month=facts.month,
        households=sorted(households.values(), key=lambda h: h.household),
        tariffs=tariffs,
        slots=facts.slots,
        cleared_volume_wh=sum(facts.volumes.values()),
        rounding_dust=dust,
        unclaimed_orders=sum(1 for s in facts.settlements if not s.claimed),
        supply_source=facts.supply_source,
        bond_amount=facts.bond_amount,
        differences=differences,
    )


def _bond_differences(facts: MonthFacts) -> list[str]:
    """Every forfeit must have paid the market's bond to the treasury, no more and no less, so
    the treasury's bond income is the households' forfeited bonds; an open market has none."""
    if facts.forfeits and facts.bond_amount is None:
        return [f"bonds: {len(facts.forfeits)} forfeited commitment(s) in an open market"]
    return [
        f"commitment {x.commit_id}: forfeited {x.bond} base units, the market's bond is "
        f"{facts.bond_amount}"
        for x in facts.forfeits
        if x.bond != facts.bond_amount
    ]


def supply_slots(facts: MonthFacts) -> list[int]:
    """Slots whose token supply a source must report (minted or redeemed in the facts)."""
    return sorted({r.slot for r in facts.readings if r.export_wh} | {
        x.slot for x in facts.redemptions
    })  # fmt: skip
