"""The city pool: communities, grid fee, published transfer limits, clearings (issue 17)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indexer import pool_queries
from indexer.api.deps import MAX_SLOT, ClockDep, ConnDep, InfoDep, OptionalSlotQuery, SlotPath
from indexer.api.errors import ApiError, not_found
from indexer.api.pagination import PageDep, page_of
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.pool import (
    CommunitiesPublic,
    PoolClearingDetailPublic,
    PoolClearingPublic,
    PoolLimitsPublic,
    PoolPublic,
    SlotLimitsPublic,
)
from indexer.market_info import MarketInfo

router = APIRouter(prefix="/v1/pool", tags=["pool"])

#: Most slots one `/v1/pool/limits` answer covers (a day of 15-minute slots).
MAX_LIMIT_SLOTS = 96

SlotCountQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT_SLOTS, description="How many consecutive slots.")
]


def _pool(info: MarketInfo) -> str:
    address = pool_queries.pool_address(info)
    if address is None:
        raise ApiError(
            404,
            "pool_not_indexed",
            "the indexer follows no city pool (give it the pool's address: "
            f"`{pool_queries.POOL_KEY}` in the deployment record or --pool)",
        )
    return address


@router.get("", response_model=PoolPublic, responses=ERRORS)
def get_pool(conn: ConnDep, info: InfoDep) -> PoolPublic:
    """The city pool: its address, how many communities share it, the grid fee in force, and
    the indexed market's community id. 404 `pool_not_indexed` when the indexer follows none."""
    view = pool_queries.get_pool(conn, info=info, address=_pool(info))
    return PoolPublic.model_validate(view)


@router.get("/communities", response_model=CommunitiesPublic, responses=ERRORS)
def list_communities(conn: ConnDep, info: InfoDep) -> CommunitiesPublic:
    """The pool's communities in id order (at most 64; never removed), and which are paused."""
    _pool(info)
    return CommunitiesPublic.model_validate({"items": pool_queries.list_communities(conn)})


@router.get("/limits", response_model=PoolLimitsPublic, responses=ERRORS)
def list_limits(
    conn: ConnDep,
    info: InfoDep,
    clock: ClockDep,
    from_slot: OptionalSlotQuery = None,
    slots: SlotCountQuery = 8,
) -> PoolLimitsPublic:
    """Transfer limits of `slots` consecutive slots from `from_slot` (default: the slot
    now running on the indexed chain), every community of each: the latest publication's, or
    `published` false and zero where none applies."""
    _pool(info)
    first = info.slot_of(clock.block_time) if from_slot is None else from_slot
    first = max(first, 0)
    last = min(first + slots - 1, MAX_SLOT)
    views = pool_queries.slot_limits(conn, info=info, slots=list(range(first, last + 1)))
    return PoolLimitsPublic.model_validate({"items": views})


@router.get("/limits/{slot}", response_model=SlotLimitsPublic, responses=ERRORS)
def get_limits(conn: ConnDep, info: InfoDep, slot: SlotPath) -> SlotLimitsPublic:
    """Transfer limits of one slot for every community (see `/v1/pool/limits`)."""
    _pool(info)
    (view,) = pool_queries.slot_limits(conn, info=info, slots=[slot])
    return SlotLimitsPublic.model_validate(view)


@router.get("/clearings", response_model=Page[PoolClearingPublic], responses=ERRORS)
def list_clearings(
    conn: ConnDep,
    info: InfoDep,
    page: PageDep,
    from_slot: OptionalSlotQuery = None,
    to_slot: OptionalSlotQuery = None,
) -> Page[PoolClearingPublic]:
    """The pool's clearings, newest slot first, optionally within `from_slot..to_slot`
    (inclusive): V*, p* and its price, the marginal ticks and the grid fee in force."""
    _pool(info)
    if from_slot is not None and to_slot is not None and from_slot > to_slot:
        raise ApiError(422, "invalid_range", f"from_slot {from_slot} is after to_slot {to_slot}")
    views, next_after = pool_queries.list_clearings(
        conn,
        info=info,
        from_slot=from_slot,
        to_slot=to_slot,
        after=page.after,
        limit=page.limit,
    )
    return page_of(PoolClearingPublic, views, next_after)


@router.get("/clearings/{slot}", response_model=PoolClearingDetailPublic, responses=ERRORS)
def get_clearing(conn: ConnDep, info: InfoDep, slot: SlotPath) -> PoolClearingDetailPublic:
    """The pool's clearing of one slot and every community's part in it: import and export
    Wh, its buy price `price(p* + fee)` and sell price `price(p* - fee)` per kWh, and beside
    them its market's own clearing when the indexer follows that market. 404
    `pool_clearing_not_found` when the pool has not cleared the slot (as far as indexed)."""
    _pool(info)
    view = pool_queries.get_clearing(conn, info=info, slot=slot)
    if view is None:
        raise not_found(f"the pool's clearing of slot {slot}", "pool_clearing_not_found")
    return PoolClearingDetailPublic.model_validate(view)
