"""Price history per slot and OHLC candles per hour or day."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from indexer import queries
from indexer.api.deps import ClockDep, ConnDep, InfoDep, OptionalSlotQuery
from indexer.api.errors import check_window
from indexer.api.pagination import CursorQuery, PageQuery, page_of
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.prices import CandlePublic, CandlesPublic, PricePointPublic

router = APIRouter(prefix="/v1/prices", tags=["prices"])

INTERVALS = {"hour": 3_600, "day": 86_400}
MAX_CANDLES = 1_000
TimeQuery = Annotated[int | None, Query(ge=0, le=2**40, description="Unix seconds.")]


def price_page(
    cursor: CursorQuery = None, limit: Annotated[int, Query(ge=1, le=2_000)] = 500
) -> PageQuery:
    """A page of price points: a chart's worth, larger than other lists' pages."""
    return PageQuery(cursor, limit)


PricePageDep = Annotated[PageQuery, Depends(price_page)]


@router.get("", response_model=Page[PricePointPublic], responses=ERRORS)
def price_history(
    conn: ConnDep,
    info: InfoDep,
    page: PricePageDep,
    from_slot: OptionalSlotQuery = None,
    to_slot: OptionalSlotQuery = None,
) -> Page[PricePointPublic]:
    """Clearing price of every slot that traded, oldest first."""
    points, next_after = queries.price_history(
        conn,
        info=info,
        from_slot=from_slot,
        to_slot=to_slot,
        after=page.after,
        limit=page.limit,
    )
    return page_of(PricePointPublic, points, next_after)


@router.get("/ohlc", response_model=CandlesPublic, responses=ERRORS)
def candles(
    conn: ConnDep,
    info: InfoDep,
    clock: ClockDep,
    interval: Annotated[Literal["hour", "day"], Query()] = "hour",
    from_time: TimeQuery = None,
    to_time: TimeQuery = None,
) -> CandlesPublic:
    """Open/high/low/close of clearing prices per hour or day (default: the last 1000
    intervals up to the checkpoint time)."""
    seconds = INTERVALS[interval]
    end = to_time if to_time is not None else clock.block_time
    start = from_time if from_time is not None else max(0, end - seconds * MAX_CANDLES)
    check_window(start, end, "time", step=seconds, most=MAX_CANDLES, per=f"{interval}s per request")
    found = queries.ohlc(conn, info=info, interval_seconds=seconds, from_time=start, to_time=end)
    return CandlesPublic(interval=interval, candles=[CandlePublic.model_validate(c) for c in found])
