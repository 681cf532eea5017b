"""Read side of the city pool (issue 17): its communities, grid fee and published limits.

Rows come from the pool's events (``pool_communities``, ``pool_fee_changes``, ``pool_limits``,
append-only like every chain-derived table); what the contract holds now is derived here:

- a community is the row of its ``CommunityAdded`` (communities are never removed);
- a community is paused while its latest ``CommunityPaused``/``CommunityResumed`` is a pause;
- the grid fee is the latest ``GridFeeChanged`` (0 ticks, no recipient before the first);
- the limits of ``(slot, community)`` are those of the latest ``LimitsPublished`` of the slot
  that had an entry for the community. ``publishLimits`` rewrites the words of the communities
  it lists (all of them at the time) and no other, so this is the contract's ``limits(slot,
  id)``; a community without such an entry reads as not published, zero limits (the pool will
  clear nothing across its boundary in that slot: docs/contracts.md section 17);
- the pool's clearing of a slot is its ``PoolCleared`` (``pool_clearings``, one per slot) and
  the fills of every community (``pool_fills``). Community ``k``'s grid fee is ``levels_k *
  fee_ticks_per_level`` ticks: it pays ``price(p* + fee_k)`` per kWh imported and is paid
  ``price(p* - fee_k)`` per kWh exported (docs/pool.md, the rule);
- the settlement of a slot is its ``PoolSettled`` (``pool_settlements``, one per slot) and, when
  the indexed market is a pooled one, that market's ``PoolFillSettled``
  (``market_pool_settlements``).

The pool shares the indexed market's calendar (``addCommunity`` refuses a market on another
one), so a slot's gate closure is the market's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select

from indexer.db.models import (
    Clearing,
    MarketPoolSettlement,
    PoolClearingRow,
    PoolCommunity,
    PoolFeeChange,
    PoolFillRow,
    PoolLimit,
    PoolPause,
    PoolSettlement,
)
from indexer.events import ADDRESS_KEYS
from indexer.keyset import past, read_page, within
from indexer.market_info import MarketInfo
from indexer.rows import MarginalLevelsView, log_origin, marginal_levels

#: The key of the pool's address in the deployment's addresses (``indexer.events``).
POOL_KEY = ADDRESS_KEYS["pool"]


def pool_address(info: MarketInfo) -> str | None:
    """The indexed pool's address, None when the indexer follows no pool."""
    return info.addresses.get(POOL_KEY)


@dataclass(frozen=True)
class CommunityView:
    """A community of the pool, from its ``CommunityAdded``."""

    community_id: int
    market: str
    levels: int
    block_number: int
    block_time: int
    tx_hash: str
    paused: bool = False
    paused_block_number: int | None = None


@dataclass(frozen=True)
class GridFeeView:
    """The grid fee in force: ticks per level crossed, in price units per kWh, the recipient
    (None, and no block, before the grid operator first sets it)."""

    fee_ticks_per_level: int
    fee_per_level: int
    recipient: str | None
    block_number: int | None
    tx_hash: str | None


@dataclass(frozen=True)
class PoolView:
    address: str
    community_count: int
    market_community_id: int | None
    grid_fee: GridFeeView


@dataclass(frozen=True)
class CommunityLimitsView:
    """One community's limits of one slot (zero and ``published`` False when none apply)."""

    community_id: int
    market: str
    published: bool
    import_wh: int
    export_wh: int
    block_number: int | None
    block_time: int | None
    tx_hash: str | None


@dataclass(frozen=True)
class SlotLimitsView:
    """Every community's limits of one slot, and how often the slot's limits were published."""

    slot: int
    gate_closure: int
    revisions: int
    communities: list[CommunityLimitsView]


def list_communities(conn: Connection) -> list[CommunityView]:
    """Every community, in id order."""
    rows = conn.execute(
        select(
            PoolCommunity.community_id,
            PoolCommunity.market,
            PoolCommunity.levels,
            PoolCommunity.block_number,
            PoolCommunity.block_time,
            PoolCommunity.tx_hash,
        ).order_by(PoolCommunity.community_id)
    )
    pauses = pause_states(conn)
    views = []
    for r in rows:
        paused_at = pauses.get(int(r.community_id))
        views.append(
            CommunityView(
                int(r.community_id),
                str(r.market),
                int(r.levels),
                **log_origin(r),
                paused=paused_at is not None,
                paused_block_number=paused_at,
            )
        )
    return views


def pause_states(conn: Connection) -> dict[int, int]:
    """The communities paused now, with the block of the pause in force (the latest of their
    ``CommunityPaused``/``CommunityResumed`` is a pause)."""
    rows = conn.execute(
        select(PoolPause.community_id, PoolPause.paused, PoolPause.block_number).order_by(
            PoolPause.block_number, PoolPause.log_index
        )
    )
    latest: dict[int, tuple[bool, int]] = {}
    for row in rows:  # chain order: the last word wins
        latest[int(row.community_id)] = (bool(row.paused), int(row.block_number))
    return {c: block for c, (paused, block) in latest.items() if paused}


def grid_fee(conn: Connection, *, info: MarketInfo) -> GridFeeView:
    """The grid fee after the last indexed ``GridFeeChanged`` (0, no recipient before it)."""
    row = conn.execute(
        select(
            PoolFeeChange.fee_ticks_per_level,
            PoolFeeChange.recipient,
            PoolFeeChange.block_number,
            PoolFeeChange.tx_hash,
        )
        .order_by(PoolFeeChange.block_number.desc(), PoolFeeChange.log_index.desc())
        .limit(1)
    ).first()
    if row is None:
        return GridFeeView(0, 0, None, None, None)
    ticks = int(row.fee_ticks_per_level)
    return GridFeeView(
        ticks, ticks * info.tick_size, str(row.recipient), int(row.block_number), str(row.tx_hash)
    )


def get_pool(conn: Connection, *, info: MarketInfo, address: str) -> PoolView:
    count = conn.execute(select(func.count()).select_from(PoolCommunity)).scalar_one()
    market = info.addresses["market"].lower()
    own = conn.execute(
        select(PoolCommunity.community_id).where(func.lower(PoolCommunity.market) == market)
    ).first()
    return PoolView(
        address=address,
        community_count=int(count),
        market_community_id=int(own[0]) if own is not None else None,
        grid_fee=grid_fee(conn, info=info),
    )


def slot_limits(conn: Connection, *, info: MarketInfo, slots: list[int]) -> list[SlotLimitsView]:
    """The limits of each of ``slots`` (in the order given) for every community."""
    communities = list_communities(conn)
    latest: dict[tuple[int, int], Any] = {}
    publications: dict[int, set[tuple[int, int]]] = defaultdict(set)
    if slots:
        rows = conn.execute(
            select(
                PoolLimit.slot,
                PoolLimit.community_id,
                PoolLimit.import_wh,
                PoolLimit.export_wh,
                PoolLimit.block_number,
                PoolLimit.block_time,
                PoolLimit.tx_hash,
                PoolLimit.log_index,
            )
            .where(PoolLimit.slot.in_(slots))
            .order_by(PoolLimit.block_number, PoolLimit.log_index)
        )
        for limit in rows:  # chain order: a later publication replaces an earlier one
            latest[(int(limit.slot), int(limit.community_id))] = limit
            publications[int(limit.slot)].add((int(limit.block_number), int(limit.log_index)))
    views: list[SlotLimitsView] = []
    for slot in slots:
        entries: list[CommunityLimitsView] = []
        for community in communities:
            row = latest.get((slot, community.community_id))
            if row is None:
                entries.append(
                    CommunityLimitsView(
                        community.community_id, community.market, False, 0, 0, None, None, None
                    )
                )
                continue
            entries.append(
                CommunityLimitsView(
                    community.community_id,
                    community.market,
                    True,
                    int(row.import_wh),
                    int(row.export_wh),
                    **log_origin(row),
                )
            )
        views.append(
            SlotLimitsView(slot, info.gate_closure(slot), len(publications.get(slot, ())), entries)
        )
    return views


# ---------------------------------------------------------------------- the pool's clearings
@dataclass(frozen=True)
class PoolSettlementView:
    """A ``PoolSettled``: the pool moved the slot's energy and money and paid ``fees_paid``
    (grid fees and rounding, payment base units) to the grid fee recipient."""

    fees_paid: int
    block_number: int
    block_time: int
    tx_hash: str


@dataclass(frozen=True)
class MarketSettlementView:
    """The indexed market's ``PoolFillSettled``: the Wh it took from (``import_wh``) and gave to
    (``export_wh``) the pool, and the payment base units it paid the pool for its import."""

    import_wh: int
    export_wh: int
    paid_to_pool: int
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class PoolClearingView:
    """A ``PoolCleared``: V*, p* and its price (0 when nothing crossed), the marginal ticks in
    pool ticks, the grid fee per level in force (ticks and price units per kWh), and its
    settlement (None until the pool settled the slot)."""

    slot: int
    volume_wh: int
    clearing_tick: int
    price: int
    buy_marginal_tick: int
    sell_marginal_tick: int
    fee_ticks_per_level: int
    fee_per_level: int
    block_number: int
    block_time: int
    tx_hash: str
    settlement: PoolSettlementView | None


@dataclass(frozen=True)
class LocalClearingView:
    """A community market's own clearing of the slot (``SlotCleared``), as indexed."""

    volume_wh: int
    clearing_tick: int
    price: int | None


@dataclass(frozen=True)
class CommunityFillView(MarginalLevelsView):
    """One community's part in the pool's clearing of a slot.

    ``buy_price``/``sell_price`` are what its imports cost and its exports earn per kWh,
    ``price(p* + fee_ticks)`` and ``price(p* - fee_ticks)``: None when nothing crossed or the
    tick is off the price grid (then the community could not have traded on that side).
    ``local`` is its market's own clearing of the slot when the indexer follows that market and
    saw it clear (None otherwise); ``settled`` what that market exchanged with the pool when the
    pool settled the slot (None otherwise, or for a plain market). The marginal levels (the base
    class) are where its import and export ran out, in its own ticks."""

    community_id: int
    market: str | None
    levels: int | None
    fee_ticks: int | None
    import_wh: int
    export_wh: int
    buy_price: int | None
    sell_price: int | None
    local: LocalClearingView | None
    settled: MarketSettlementView | None


@dataclass(frozen=True)
class PoolClearingDetail(PoolClearingView):
    communities: list[CommunityFillView]


_CLEARING_COLUMNS = (
    PoolClearingRow.slot,
    PoolClearingRow.volume_wh,
    PoolClearingRow.clearing_tick,
    PoolClearingRow.price,
    PoolClearingRow.buy_marginal_tick,
    PoolClearingRow.sell_marginal_tick,
    PoolClearingRow.fee_ticks_per_level,
    PoolClearingRow.block_number,
    PoolClearingRow.block_time,
    PoolClearingRow.tx_hash,
    PoolSettlement.fees_paid.label("settled_fees_paid"),
    PoolSettlement.block_number.label("settled_block_number"),
    PoolSettlement.block_time.label("settled_block_time"),
    PoolSettlement.tx_hash.label("settled_tx_hash"),
)


def _clearings() -> Select[*tuple[Any, ...]]:
    """Every clearing row with its settlement's columns (null until settled)."""
    return (
        select(*_CLEARING_COLUMNS)
        .select_from(PoolClearingRow)
        .outerjoin(PoolSettlement, PoolSettlement.slot == PoolClearingRow.slot)
    )


def _clearing_view(info: MarketInfo, r: Any) -> PoolClearingView:
    fee = int(r.fee_ticks_per_level)
    return PoolClearingView(
        slot=int(r.slot),
        volume_wh=int(r.volume_wh),
        clearing_tick=int(r.clearing_tick),
        price=int(r.price),
        buy_marginal_tick=int(r.buy_marginal_tick),
        sell_marginal_tick=int(r.sell_marginal_tick),
        fee_ticks_per_level=fee,
        fee_per_level=fee * info.tick_size,
        **log_origin(r),
        settlement=None
        if r.settled_block_number is None
        else PoolSettlementView(
            int(r.settled_fees_paid),
            int(r.settled_block_number),
            int(r.settled_block_time),
            str(r.settled_tx_hash),
        ),
    )


def list_clearings(
    conn: Connection,
    *,
    info: MarketInfo,
    from_slot: int | None = None,
    to_slot: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[PoolClearingView], int | None]:
    """The pool's clearings, newest slot first, within ``from_slot..to_slot`` (inclusive),
    below the slot ``after`` (the cursor); and the cursor of the next page (None: last)."""
    slot = PoolClearingRow.slot
    query = _clearings().where(
        *within(slot, from_slot, to_slot), *past(slot, after, descending=True)
    )
    rows, next_after = read_page(
        conn, query.order_by(slot.desc()), limit=limit, key=lambda r: int(r.slot)
    )
    return [_clearing_view(info, r) for r in rows], next_after


def _price_on_grid(info: MarketInfo, tick: int) -> int | None:
    return info.price(tick) if 0 <= tick <= info.max_tick else None


def get_clearing(conn: Connection, *, info: MarketInfo, slot: int) -> PoolClearingDetail | None:
    """The pool's clearing of ``slot`` with every community's fill (None: not cleared, as far
    as the index knows)."""
    row = conn.execute(_clearings().where(PoolClearingRow.slot == slot)).first()
    if row is None:
        return None
    view = _clearing_view(info, row)
    communities = {c.community_id: c for c in list_communities(conn)}
    market = info.addresses["market"].lower()
    local_row = conn.execute(
        select(Clearing.volume_wh, Clearing.clearing_tick, Clearing.price).where(
            Clearing.slot == slot
        )
    ).first()
    settled_row = conn.execute(
        select(MarketPoolSettlement.__table__).where(MarketPoolSettlement.slot == slot)
    ).first()
    fills = conn.execute(
        select(PoolFillRow.__table__)
        .where(PoolFillRow.slot == slot, PoolFillRow.block_number == view.block_number)
        .order_by(PoolFillRow.community_id)
    ).all()
    entries: list[CommunityFillView] = []
    for fill in fills:
        community = communities.get(int(fill.community_id))
        levels = community.levels if community is not None else None
        fee = levels * view.fee_ticks_per_level if levels is not None else None
        crossed = view.volume_wh > 0 and fee is not None
        local = settled = None
        ours = community is not None and community.market.lower() == market
        if ours and local_row is not None:
            volume = int(local_row.volume_wh)
            local = LocalClearingView(
                volume, int(local_row.clearing_tick), int(local_row.price) if volume else None
            )
        if ours and settled_row is not None:
            settled = MarketSettlementView(
                int(settled_row.import_wh),
                int(settled_row.export_wh),
                int(settled_row.paid_to_pool),
                int(settled_row.block_number),
                str(settled_row.tx_hash),
            )
        entries.append(
            CommunityFillView(
                community_id=int(fill.community_id),
                market=community.market if community is not None else None,
                levels=levels,
                fee_ticks=fee,
                import_wh=int(fill.import_wh),
                export_wh=int(fill.export_wh),
                buy_price=_price_on_grid(info, view.clearing_tick + fee)
                if crossed and fee is not None
                else None,
                sell_price=_price_on_grid(info, view.clearing_tick - fee)
                if crossed and fee is not None
                else None,
                **marginal_levels(fill),
                local=local,
                settled=settled,
            )
        )
    return PoolClearingDetail(**view.__dict__, communities=entries)
