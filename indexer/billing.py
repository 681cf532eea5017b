"""Billing facts from the indexer's database (SQLite or PostgreSQL), for :mod:`billing`.

The indexer stores every event the bill needs (``indexer/db/models.py``): meters,
readings, orders, cancels, claims, clearings, energy-token transfers (a redemption is a burn:
a transfer to the zero address; minting and redeeming are the token's only supply changes)
and, in a sealed market, commitments and how they ended (a forfeit: its bond to the treasury).
Unclaimed fills come from the clearing record through the reference rule
(:func:`indexer.queries.list_fills`), the Python twin of ``previewClaim``.

The token supply per slot, checked against minted - redeemed, is read from the chain when a
``supply`` reader is given (the API passes one when it knows a node), else summed from the
indexed transfers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, func, select

from billing.bill import (
    Bill,
    BillTariffs,
    Forfeit,
    MeteredReading,
    MonthFacts,
    Redemption,
    Settlement,
    compute_bill,
    slot_range,
    supply_slots,
)
from indexer import queries
from indexer.db.models import (
    Clearing,
    Commitment,
    CommitmentOutcome,
    Meter,
    Reading,
    TokenTransfer,
)
from indexer.market_info import MarketInfo

ZERO_ADDRESS = "0x" + "00" * 20
#: Fills read per query when paging through a slot's fills.
PAGE = 1_000

SupplyReader = Callable[[Sequence[int]], dict[int, int]]
"""Token supply per slot, read from somewhere other than the index (the chain)."""


def indexed_supply(conn: Connection, slots: Sequence[int]) -> dict[int, int]:
    """Minted - burned per slot, from the indexed ERC-1155 transfers."""
    if not slots:
        return {}
    t = TokenTransfer
    out: dict[int, int] = defaultdict(int)
    for slot, minted in conn.execute(
        select(t.slot, func.sum(t.amount_wh))
        .where(t.slot.in_(slots), t.from_address == ZERO_ADDRESS)
        .group_by(t.slot)
    ):
        out[int(slot)] += int(minted or 0)
    for slot, burned in conn.execute(
        select(t.slot, func.sum(t.amount_wh))
        .where(t.slot.in_(slots), t.to_address == ZERO_ADDRESS)
        .group_by(t.slot)
    ):
        out[int(slot)] -= int(burned or 0)
    return dict(out)


def forfeits(conn: Connection, first: int, last: int) -> list[Forfeit]:
    """The commitments of slots ``first..last`` that were forfeited, in commit-id order."""
    c, o = Commitment, CommitmentOutcome
    found = [
        Forfeit(str(r.commit_id), str(r.owner), int(r.slot), int(r.bond))
        for r in conn.execute(
            select(c.commit_id, c.owner, c.slot, o.bond)
            .join(o, o.commit_id == c.commit_id)
            .where(o.kind == "forfeited", c.slot >= first, c.slot <= last)
        )
    ]
    return sorted(found, key=lambda x: int(x.commit_id))


def indexer_facts(
    conn: Connection,
    info: MarketInfo,
    month: str,
    supply: SupplyReader | None = None,
    time_zone: str = "UTC",
) -> MonthFacts:
    """The facts of ``month`` (in ``time_zone``) from the indexer's tables."""
    first, last = slot_range(info.calendar, month, time_zone)
    owners = {str(r.meter_id).lower(): str(r.owner) for r in conn.execute(
        select(Meter.meter_id, Meter.owner))}  # fmt: skip
    facts = MonthFacts(
        month=month, slots=(first, last), meter_owners=owners, bond_amount=info.bond_amount
    )
    if last < first:
        return facts
    for r in conn.execute(
        select(Reading.meter_id, Reading.slot, Reading.import_delta_wh, Reading.export_delta_wh)
        .where(Reading.slot.is_not(None), Reading.slot >= first, Reading.slot <= last)
        .order_by(Reading.slot, Reading.meter_id, Reading.reading_time)
    ):
        facts.readings.append(
            MeteredReading(
                str(r.meter_id).lower(),
                int(r.slot),
                int(r.import_delta_wh),
                int(r.export_delta_wh),
            )
        )
    t = TokenTransfer
    for burn in conn.execute(
        select(t.from_address, t.slot, t.amount_wh)
        .where(t.to_address == ZERO_ADDRESS, t.slot >= first, t.slot <= last)
        .order_by(t.block_number, t.log_index, t.entry)
    ):
        facts.redemptions.append(
            Redemption(str(burn.from_address), int(burn.slot), int(burn.amount_wh))
        )
    facts.volumes = {
        int(slot): int(volume)
        for slot, volume in conn.execute(
            select(Clearing.slot, Clearing.volume_wh).where(
                Clearing.slot >= first, Clearing.slot <= last
            )
        )
    }
    for slot in sorted(s for s, v in facts.volumes.items() if v > 0):
        after: int | None = None
        while True:
            fills, after = queries.list_fills(conn, info=info, slot=slot, after=after, limit=PAGE)
            facts.settlements.extend(
                Settlement(
                    f.order_id,
                    f.owner,
                    f.slot,
                    f.side == "buy",
                    f.filled_wh,
                    f.amount,
                    f.fee,
                    claimed=f.claimed,
                )
                for f in fills
            )
            if after is None:
                break
    facts.settlements.sort(key=lambda s: int(s.order_id))
    facts.forfeits = forfeits(conn, first, last)
    wanted = supply_slots(facts)
    if supply is not None:
        facts.supply, facts.supply_source = supply(wanted), "chain"
    else:
        facts.supply, facts.supply_source = indexed_supply(conn, wanted), "index"
    return facts


def indexer_bill(
    conn: Connection,
    info: MarketInfo,
    month: str,
    tariffs: BillTariffs,
    *,
    meter_names: dict[str, str] | None = None,
    supply: SupplyReader | None = None,
    time_zone: str = "UTC",
) -> Bill:
    """The bill of ``month`` (in ``time_zone``) from the index; :class:`BillingError` when it
    holds no data."""
    facts = indexer_facts(conn, info, month, supply, time_zone)
    return compute_bill(facts, tariffs, meter_names)


def grid_tariffs(info: MarketInfo, decimals: int) -> BillTariffs:
    """The tariffs a community's market grid encodes: floor = feed-in, top = retail
    (``enerwise operator init`` builds the grid that way)."""
    return BillTariffs(retail=info.params.price_top, feed_in=info.price_floor, decimals=decimals)
