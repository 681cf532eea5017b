"""A household's own monthly bill (Sign-In with Ethereum: one's own account only).

``GET /v1/accounts/{address}/bill?month=YYYY-MM`` gives the household's row of the operator's
bill (:func:`billing.bill.compute_bill`, the same computation as ``enerwise operator
billing`` and ``GET /v1/operator/billing``) in payment base units, its savings against the grid
tariffs, and the same figures for every day of the month. Months and days run in the
community's time zone (``ApiConfig.time_zone``). In a sealed market a commitment never revealed
counts, with the bond it forfeited to the treasury, in the month and on the day of its slot.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter

from billing.bill import (
    Bill,
    BillTariffs,
    HouseholdBill,
    MonthFacts,
    compute_bill,
    zone,
)
from billing.errors import BillingError
from indexer.api.deps import AddressPath, ConnDep, InfoDep, SessionDep, StateDep
from indexer.api.errors import ApiError
from indexer.api.routes.operator_billing import MonthQuery, chain_readers
from indexer.api.schemas.bill import BillAmountsPublic, BillDayPublic, HouseholdBillPublic
from indexer.api.schemas.common import AUTH_ERRORS
from indexer.billing import grid_tariffs, indexer_facts
from indexer.market_info import MarketInfo
from market.clearing import WH_PER_KWH

router = APIRouter(prefix="/v1", tags=["accounts"])


def _base_units(eur: Decimal, decimals: int) -> int:
    return int(eur.scaleb(decimals))


def _amounts(bill: Bill, h: HouseholdBill) -> dict[str, int]:
    """``h``'s figures in base units; grid money as the operator's bill rounds it (cents)."""
    t = bill.tariffs
    grid_in = _base_units(bill.grid_import_eur(h), t.decimals)
    grid_out = _base_units(bill.grid_export_eur(h), t.decimals)
    grid_value = h.bought_wh * t.retail - h.sold_wh * t.feed_in
    return {
        "import_wh": h.import_wh,
        "export_wh": h.export_wh,
        "bought_wh": h.bought_wh,
        "paid": h.paid,
        "sold_wh": h.sold_wh,
        "received": h.received,
        "fees": h.fees,
        "forfeited_commitments": h.forfeited_commitments,
        "forfeited_bonds": h.forfeited_bonds,
        "redeemed_wh": h.redeemed_wh,
        "grid_import_wh": h.grid_import_wh,
        "grid_import_cost": grid_in,
        "grid_export_wh": h.grid_export_wh,
        "grid_export_revenue": grid_out,
        "net": bill.market_net(h) + grid_in - grid_out,
        "savings": grid_value // WH_PER_KWH - bill.market_net(h),
    }


def _own_facts(facts: MonthFacts, account: str) -> MonthFacts:
    """Only ``account``'s readings, redemptions, trades and forfeits (no clearing volumes)."""
    me = account.lower()
    return MonthFacts(
        month=facts.month,
        slots=facts.slots,
        meter_owners=facts.meter_owners,
        readings=[r for r in facts.readings if facts.meter_owners[r.meter_id].lower() == me],
        redemptions=[x for x in facts.redemptions if x.holder.lower() == me],
        settlements=[s for s in facts.settlements if s.owner.lower() == me],
        supply_source=facts.supply_source,
        forfeits=[x for x in facts.forfeits if x.owner.lower() == me],
        bond_amount=facts.bond_amount,
    )


def _household(
    facts: MonthFacts, tariffs: BillTariffs, account: str
) -> tuple[Bill, HouseholdBill] | None:
    """The bill of ``facts`` and ``account``'s row in it (None: the account has no data)."""
    try:
        bill = compute_bill(facts, tariffs)
    except BillingError:
        return None
    for h in bill.households:
        if h.household.lower() == account.lower():
            return bill, h
    return None


def _by_day(facts: MonthFacts, info: MarketInfo, time_zone: str) -> dict[date, MonthFacts]:
    """``facts`` split by the day (in ``time_zone``) their slot starts."""
    tz = zone(time_zone)

    def day(slot: int) -> date:
        return datetime.fromtimestamp(info.slot_start(slot), tz).date()

    days: dict[date, MonthFacts] = {}

    def of(slot: int) -> MonthFacts:
        return days.setdefault(
            day(slot),
            MonthFacts(facts.month, facts.slots, facts.meter_owners, bond_amount=facts.bond_amount),
        )

    for r in facts.readings:
        of(r.slot).readings.append(r)
    for x in facts.redemptions:
        of(x.slot).redemptions.append(x)
    for s in facts.settlements:
        of(s.slot).settlements.append(s)
    for forfeit in facts.forfeits:
        of(forfeit.slot).forfeits.append(forfeit)
    return days


@router.get("/accounts/{address}/bill", response_model=HouseholdBillPublic, responses=AUTH_ERRORS)
def household_bill(
    state: StateDep,
    session: SessionDep,
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    month: MonthQuery,
) -> HouseholdBillPublic:
    """The signed-in household's bill of a month, in total and per day (own account only).

    A month in which the account has no readings, trades, redemptions or forfeited
    commitments is an empty bill
    (``has_data: false``, every amount 0: a month is never missing, only empty); another
    account's bill is a 403.
    """
    if session.address.lower() != address.lower():
        raise ApiError(403, "forbidden", "a household may read only its own bill")
    time_zone = state.config.time_zone
    decimals, supply = chain_readers(state.config.rpc_url, info)
    tariffs = grid_tariffs(info, decimals)
    try:
        facts = indexer_facts(conn, info, month, supply, time_zone)
    except BillingError as exc:
        raise ApiError(422, "invalid_month", str(exc)) from None
    found = _household(facts, tariffs, address)
    empty = Bill(month, [], tariffs, facts.slots)
    community_bill, total = found if found is not None else (empty, HouseholdBill(address))
    mine = _own_facts(facts, address)
    daily = _by_day(mine, info, time_zone)
    year, mon = (int(part) for part in month.split("-"))
    days: list[BillDayPublic] = []
    for number in range(1, calendar.monthrange(year, mon)[1] + 1):
        day = date(year, mon, number)
        row = _household(daily[day], tariffs, address) if day in daily else None
        amounts = _amounts(*row) if row else _amounts(community_bill, HouseholdBill(address))
        days.append(BillDayPublic(date=day.isoformat(), **amounts))
    return HouseholdBillPublic(
        account=address,
        month=month,
        time_zone=time_zone,
        first_slot=facts.slots[0],
        last_slot=facts.slots[1],
        payment_decimals=decimals,
        retail_tariff=tariffs.retail,
        feed_in_tariff=tariffs.feed_in,
        meters=sorted(m for m, o in facts.meter_owners.items() if o.lower() == address.lower()),
        total=BillAmountsPublic(**_amounts(community_bill, total)),
        days=days,
        unclaimed_orders=sum(1 for s in mine.settlements if not s.claimed),
        reconciles=community_bill.reconciles,
        has_data=found is not None,
    )
