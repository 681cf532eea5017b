"""Slots: list, detail, order-book depth, fills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from indexer import queries
from indexer.api.caching import json_response
from indexer.api.deps import ClockDep, ConnDep, InfoDep, OptionalSlotQuery, SlotPath
from indexer.api.errors import not_found
from indexer.api.pagination import PageDep, page_of
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.slots import (
    DepthPublic,
    FillPublic,
    SlotDetailPublic,
    SlotPublic,
    SlotStatsPublic,
    SlotStatus,
)

router = APIRouter(prefix="/v1/slots", tags=["slots"])


@router.get("", response_model=Page[SlotPublic], responses=ERRORS)
def list_slots(
    conn: ConnDep,
    info: InfoDep,
    clock: ClockDep,
    page: PageDep,
    status: Annotated[SlotStatus | None, Query()] = None,
    from_slot: OptionalSlotQuery = None,
    to_slot: OptionalSlotQuery = None,
) -> Page[SlotPublic]:
    """Slots with indexed activity, newest first (in a sealed market with their commitment
    counts)."""
    views, next_after = queries.list_slots(
        conn,
        info=info,
        now=clock.block_time,
        status=status,
        from_slot=from_slot,
        to_slot=to_slot,
        after=page.after,
        limit=page.limit,
    )
    return page_of(SlotPublic, views, next_after)


def _slot(conn: ConnDep, info: InfoDep, clock: ClockDep, slot: int) -> queries.SlotView:
    view = queries.get_slot(conn, info=info, slot=slot, now=clock.block_time)
    if view is None:
        raise not_found(f"slot {slot}", "slot_not_found")
    return view


@router.get("/{slot}", response_model=SlotDetailPublic, responses=ERRORS)
def get_slot(
    request: Request, conn: ConnDep, info: InfoDep, clock: ClockDep, slot: SlotPath
) -> Response:
    """Status, gate closure, clearing record and order statistics of one slot (in a sealed
    market also its reveal window and how many commitments were posted, revealed and
    forfeited)."""
    view = _slot(conn, info, clock, slot)
    detail = SlotDetailPublic(
        **SlotPublic.model_validate(view).model_dump(),
        stats=SlotStatsPublic.model_validate(queries.slot_stats(conn, slot=slot)),
    )
    return json_response(request, detail, final=view.final)


@router.get("/{slot}/depth", response_model=DepthPublic, responses=ERRORS)
def get_depth(
    request: Request, conn: ConnDep, info: InfoDep, clock: ClockDep, slot: SlotPath
) -> Response:
    """Order-book depth by tick: Wh resting (or resting at gate closure) per side. A sealed
    market's book is empty until its commitments are revealed after gate closure."""
    view = _slot(conn, info, clock, slot)
    book = queries.depth(conn, info=info, slot=slot)
    body = DepthPublic.model_validate({**book.__dict__, "status": view.status})
    return json_response(request, body, final=view.status == "cleared")


@router.get("/{slot}/fills", response_model=Page[FillPublic], responses=ERRORS)
def get_fills(
    request: Request,
    conn: ConnDep,
    info: InfoDep,
    clock: ClockDep,
    slot: SlotPath,
    page: PageDep,
) -> Response:
    """The slot's trades: every order that filled, at the uniform clearing price."""
    view = _slot(conn, info, clock, slot)
    fills, next_after = queries.list_fills(
        conn, info=info, slot=slot, after=page.after, limit=page.limit
    )
    body = page_of(FillPublic, fills, next_after)
    all_claimed = all(f.claimed for f in fills)
    return json_response(request, body, final=view.status == "cleared" and all_claimed)
