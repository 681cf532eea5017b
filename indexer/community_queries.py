"""Read models of the API about the community: vault balances, meters and their readings,
KPIs, operator requests (keyword-only functions returning dataclasses, like
:mod:`indexer.queries` for slots, orders and prices).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, func, select

from indexer.db.models import (
    Clearing,
    Meter,
    MeterRequest,
    MeterUpdate,
    Reading,
    TokenTransfer,
    VaultEntry,
)
from indexer.keyset import past, read_page, within
from market.clearing import WH_PER_KWH


# ---------------------------------------------------------------------- balances
@dataclass(frozen=True)
class EnergyBalance:
    slot: int
    wallet_wh: int
    vault_wh: int


@dataclass(frozen=True)
class BalancesView:
    account: str
    vault_money: int
    energy: list[EnergyBalance] = field(default_factory=list)


def balances(conn: Connection, *, account: str, slot: int | None = None) -> BalancesView:
    """Vault money, and per slot the energy tokens in the wallet and in the market vault."""
    money = conn.execute(
        select(func.sum(VaultEntry.delta)).where(
            VaultEntry.account == account, VaultEntry.asset == "money"
        )
    ).scalar()
    energy: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    vault_q = select(VaultEntry.slot, func.sum(VaultEntry.delta)).where(
        VaultEntry.account == account, VaultEntry.asset == "energy"
    )
    incoming = select(TokenTransfer.slot, func.sum(TokenTransfer.amount_wh)).where(
        TokenTransfer.to_address == account
    )
    outgoing = select(TokenTransfer.slot, func.sum(TokenTransfer.amount_wh)).where(
        TokenTransfer.from_address == account
    )
    if slot is not None:
        vault_q = vault_q.where(VaultEntry.slot == slot)
        incoming = incoming.where(TokenTransfer.slot == slot)
        outgoing = outgoing.where(TokenTransfer.slot == slot)
    for s, total in conn.execute(vault_q.group_by(VaultEntry.slot)):
        energy[int(s or 0)][1] += int(total or 0)
    for s, total in conn.execute(incoming.group_by(TokenTransfer.slot)):
        energy[int(s)][0] += int(total or 0)
    for s, total in conn.execute(outgoing.group_by(TokenTransfer.slot)):
        energy[int(s)][0] -= int(total or 0)
    return BalancesView(
        account=account,
        vault_money=int(money or 0),
        energy=[EnergyBalance(s, w, v) for s, (w, v) in sorted(energy.items()) if w or v],
    )


# ---------------------------------------------------------------------- meters
@dataclass(frozen=True)
class MeterView:
    meter_id: str
    owner: str
    signer: str
    capacity_wh_per_slot: int
    active: bool
    registered_block: int
    registered_time: int
    reading_count: int
    last_seq: int | None
    """The seq of the latest reading (a rotation of the signer restarts the sequence)."""
    last_reading_time: int | None


@dataclass(frozen=True)
class ReadingView:
    meter_id: str
    seq: int
    reading_time: int
    slot: int | None
    import_delta_wh: int
    export_delta_wh: int
    archive_cid: str | None
    block_number: int
    tx_hash: str


def _meter_views(conn: Connection, rows: Sequence[Any]) -> list[MeterView]:
    ids = [r.meter_id for r in rows]
    if not ids:
        return []
    updates: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for u in conn.execute(
        select(MeterUpdate.meter_id, MeterUpdate.kind, MeterUpdate.signer)
        .where(MeterUpdate.meter_id.in_(ids))
        .order_by(MeterUpdate.block_number, MeterUpdate.log_index)
    ):
        updates[u.meter_id].append((u.kind, u.signer))
    grouped = (
        select(
            Reading.meter_id,
            func.count(Reading.id).label("n"),
            func.max(Reading.reading_time).label("last_time"),
        )
        .where(Reading.meter_id.in_(ids))
        .group_by(Reading.meter_id)
        .subquery()
    )
    # The seq of the latest reading, not the highest seq: a rotation of the meter's signer
    # restarts its sequence, and reading times grow strictly across rotations.
    stats = {
        r.meter_id: r
        for r in conn.execute(
            select(grouped.c.meter_id, grouped.c.n, grouped.c.last_time, Reading.seq).join(
                Reading,
                (Reading.meter_id == grouped.c.meter_id)
                & (Reading.reading_time == grouped.c.last_time),
            )
        )
    }
    views = []
    for r in rows:
        signer, active = str(r.signer), True
        for kind, new_signer in updates.get(r.meter_id, []):
            if kind == "rotated" and new_signer:
                signer = new_signer
            elif kind == "deactivated":
                active = False
        s = stats.get(r.meter_id)
        views.append(
            MeterView(
                meter_id=str(r.meter_id),
                owner=str(r.owner),
                signer=signer,
                capacity_wh_per_slot=int(r.capacity_wh_per_slot),
                active=active,
                registered_block=int(r.block_number),
                registered_time=int(r.block_time),
                reading_count=int(s.n) if s else 0,
                last_seq=int(s.seq) if s else None,
                last_reading_time=int(s.last_time) if s else None,
            )
        )
    return views


def _meter_query() -> Select[int, str, str, str, int, int, int]:
    """The registration columns of meters that :func:`_meter_views` completes."""
    return select(
        Meter.id,
        Meter.meter_id,
        Meter.owner,
        Meter.signer,
        Meter.capacity_wh_per_slot,
        Meter.block_number,
        Meter.block_time,
    )


def list_meters(
    conn: Connection,
    *,
    owner: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[MeterView], int | None]:
    query = _meter_query()
    if owner is not None:
        query = query.where(Meter.owner == owner)
    query = query.where(*past(Meter.id, after)).order_by(Meter.id)
    rows, next_after = read_page(conn, query, limit=limit, key=lambda r: int(r.id))
    return _meter_views(conn, rows), next_after


def get_meter(conn: Connection, *, meter_id: str) -> MeterView | None:
    rows = conn.execute(_meter_query().where(Meter.meter_id == meter_id)).all()
    views = _meter_views(conn, rows)
    return views[0] if views else None


def list_readings(
    conn: Connection,
    *,
    meter_id: str,
    from_time: int | None = None,
    to_time: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[ReadingView], int | None]:
    """Readings of a meter, oldest first; ``after`` is the reading time of the last one seen.

    Ordered and paged by reading time, not seq: rotating a meter's signer restarts its sequence
    (the new key's seq 1..n repeat the old key's), while a meter's reading times grow strictly
    across rotations too (the registry keeps the last one as a floor).
    """
    query = select(Reading).where(
        Reading.meter_id == meter_id,
        *within(Reading.reading_time, from_time, to_time),
        *past(Reading.reading_time, after),
    )
    rows, next_after = read_page(
        conn, query.order_by(Reading.reading_time), limit=limit, key=lambda r: int(r.reading_time)
    )
    views = [
        ReadingView(
            meter_id=str(r.meter_id),
            seq=int(r.seq),
            reading_time=int(r.reading_time),
            slot=int(r.slot) if r.slot is not None else None,
            import_delta_wh=int(r.import_delta_wh),
            export_delta_wh=int(r.export_delta_wh),
            archive_cid=r.archive_cid,
            block_number=int(r.block_number),
            tx_hash=str(r.tx_hash),
        )
        for r in rows
    ]
    return views, next_after


# ---------------------------------------------------------------------- KPIs
@dataclass(frozen=True)
class Tariffs:
    """Grid tariffs to compare with, payment base units per kWh."""

    retail: int
    feed_in: int


@dataclass(frozen=True)
class KpiView:
    from_slot: int | None
    to_slot: int | None
    slots_cleared: int
    traded_wh: int
    traded_value: int
    average_price: int | None
    local_generation_wh: int
    local_consumption_wh: int
    locally_covered_wh: int
    local_coverage_share: float | None
    retail_tariff: int
    feed_in_tariff: int
    buyer_savings: int
    seller_gain: int
    community_savings: int


def kpis(
    conn: Connection,
    *,
    tariffs: Tariffs,
    from_slot: int | None = None,
    to_slot: int | None = None,
) -> KpiView:
    """Community figures over a slot range.

    - traded: cleared volume; its value at the clearing prices; the volume-weighted price;
    - local coverage: per slot, ``min(metered export, metered import)`` of the community's
      meters, summed, over the metered import (the share of local consumption that local
      generation could cover in the same slot);
    - savings vs grid only: buyers pay the P2P price instead of the retail tariff, sellers get
      it instead of the feed-in tariff: ``traded kWh x (retail - price)`` and
      ``traded kWh x (price - feed-in)``, summed per slot at that slot's price.
    """
    where: list[Any] = [Clearing.volume_wh > 0]
    reading_where: list[Any] = [Reading.slot.is_not(None)]
    where.extend(within(Clearing.slot, from_slot, to_slot))
    reading_where.extend(within(Reading.slot, from_slot, to_slot))
    traded_wh = traded_value = buyer = seller = count = 0
    for volume, price in conn.execute(select(Clearing.volume_wh, Clearing.price).where(*where)):
        volume, price = int(volume), int(price)
        count += 1
        traded_wh += volume
        traded_value += volume * price // WH_PER_KWH
        buyer += volume * (tariffs.retail - price) // WH_PER_KWH
        seller += volume * (price - tariffs.feed_in) // WH_PER_KWH
    generation = consumption = covered = 0
    for _, exported, imported in conn.execute(
        select(Reading.slot, func.sum(Reading.export_delta_wh), func.sum(Reading.import_delta_wh))
        .where(*reading_where)
        .group_by(Reading.slot)
    ):
        exported, imported = int(exported or 0), int(imported or 0)
        generation += exported
        consumption += imported
        covered += min(exported, imported)
    return KpiView(
        from_slot=from_slot,
        to_slot=to_slot,
        slots_cleared=count,
        traded_wh=traded_wh,
        traded_value=traded_value,
        average_price=traded_value * WH_PER_KWH // traded_wh if traded_wh else None,
        local_generation_wh=generation,
        local_consumption_wh=consumption,
        locally_covered_wh=covered,
        local_coverage_share=round(covered / consumption, 6) if consumption else None,
        retail_tariff=tariffs.retail,
        feed_in_tariff=tariffs.feed_in,
        buyer_savings=buyer,
        seller_gain=seller,
        community_savings=buyer + seller,
    )


# ---------------------------------------------------------------------- operator data
def list_meter_requests(
    conn: Connection,
    *,
    status: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    query = select(MeterRequest.__table__)
    if status is not None:
        query = query.where(MeterRequest.status == status)
    query = query.where(*past(MeterRequest.id, after)).order_by(MeterRequest.id)
    rows, next_after = read_page(conn, query, limit=limit, key=lambda r: int(r.id))
    return [dict(r._mapping) for r in rows], next_after
