"""Meters and their readings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indexer import community_queries
from indexer.api.deps import ConnDep, MeterIdPath, OptionalAddressQuery
from indexer.api.errors import not_found
from indexer.api.pagination import PageDep, page_of
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.meters import MeterPublic, ReadingPublic

router = APIRouter(prefix="/v1/meters", tags=["meters"])
TimeQuery = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Unix seconds.")]


@router.get("", response_model=Page[MeterPublic], responses=ERRORS)
def list_meters(
    conn: ConnDep,
    page: PageDep,
    owner: OptionalAddressQuery = None,
) -> Page[MeterPublic]:
    """Registered meters, in registration order."""
    views, next_after = community_queries.list_meters(
        conn, owner=owner, after=page.after, limit=page.limit
    )
    return page_of(MeterPublic, views, next_after)


@router.get("/{meter_id}", response_model=MeterPublic, responses=ERRORS)
def get_meter(conn: ConnDep, meter_id: MeterIdPath) -> MeterPublic:
    view = community_queries.get_meter(conn, meter_id=meter_id)
    if view is None:
        raise not_found(f"meter {meter_id}", "meter_not_found")
    return MeterPublic.model_validate(view)


@router.get("/{meter_id}/readings", response_model=Page[ReadingPublic], responses=ERRORS)
def list_readings(
    conn: ConnDep,
    meter_id: MeterIdPath,
    page: PageDep,
    from_time: TimeQuery = None,
    to_time: TimeQuery = None,
) -> Page[ReadingPublic]:
    """Accepted readings of a meter, oldest first (by reading time: a key rotation restarts the
    sequence numbers), with the archive CID of their batch."""
    if community_queries.get_meter(conn, meter_id=meter_id) is None:
        raise not_found(f"meter {meter_id}", "meter_not_found")
    views, next_after = community_queries.list_readings(
        conn,
        meter_id=meter_id,
        from_time=from_time,
        to_time=to_time,
        after=page.after,
        limit=page.limit,
    )
    return page_of(ReadingPublic, views, next_after)
