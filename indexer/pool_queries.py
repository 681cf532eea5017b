"""Read side of the city pool (issue 17): its communities, grid fee and published limits.

Rows come from the pool's events (``pool_communities``, ``pool_fee_changes``, ``pool_limits``,
append-only like every chain-derived table); what the contract holds now is derived here:

- a community is the row of its ``CommunityAdded`` (communities are never removed);
- the grid fee is the latest ``GridFeeChanged`` (0 ticks, no recipient before the first);
- the limits of ``(slot, community)`` are those of the latest ``LimitsPublished`` of the slot
  that had an entry for the community. ``publishLimits`` rewrites the words of the communities
  it lists (all of them at the time) and no other, so this is the contract's ``limits(slot,
  id)``; a community without such an entry reads as not published, zero limits (the pool will
  clear nothing across its boundary in that slot: docs/contracts.md section 17).

The pool shares the indexed market's calendar (``addCommunity`` refuses a market on another
one), so a slot's gate closure is the market's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from indexer.db.models import PoolCommunity, PoolFeeChange, PoolLimit
from indexer.events import ADDRESS_KEYS
from indexer.market_info import MarketInfo

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
    return [
        CommunityView(
            int(r.community_id),
            str(r.market),
            int(r.levels),
            int(r.block_number),
            int(r.block_time),
            str(r.tx_hash),
        )
        for r in rows
    ]


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
                    int(row.block_number),
                    int(row.block_time),
                    str(row.tx_hash),
                )
            )
        views.append(
            SlotLimitsView(slot, info.gate_closure(slot), len(publications.get(slot, ())), entries)
        )
    return views
