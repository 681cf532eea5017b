"""Operator endpoints (Sign-In with Ethereum + on-chain role): exports, meter-registration
requests, KPI reports."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, insert, select

from indexer import community_queries
from indexer.api.deps import (
    AdminDep,
    ConnDep,
    InfoDep,
    MeterAdminDep,
    OperatorDep,
    OptionalSlotQuery,
    SessionDep,
    StateDep,
)
from indexer.api.errors import check_window
from indexer.api.pagination import PageDep, page_of
from indexer.api.routes import operator_billing
from indexer.api.schemas.common import AUTH_ERRORS, Page
from indexer.api.schemas.kpi import KpiPublic, KpiReportPublic
from indexer.api.schemas.meters import (
    MeterRequestCreate,
    MeterRequestPublic,
)
from indexer.db.models import Clearing, MeterRequest, Order, Reading, VaultEntry
from indexer.keyset import past, within

router = APIRouter(prefix="/v1/operator", tags=["operator"])
router.include_router(operator_billing.router)  # GET /v1/operator/billing

Dataset = Literal["orders", "clearings", "readings", "ledger"]
_EXPORTS: dict[str, tuple[Any, Any, Any]] = {
    # table, slot column, order key
    "orders": (Order.__table__, Order.slot, Order.id),
    "clearings": (Clearing.__table__, Clearing.slot, Clearing.id),
    "readings": (Reading.__table__, Reading.slot, Reading.id),
    "ledger": (VaultEntry.__table__, VaultEntry.slot, VaultEntry.id),
}
MAX_REPORT_DAYS = 366


def _csv_rows(
    engine: Engine, dataset: str, from_slot: int | None, to_slot: int | None
) -> Iterator[str]:
    table, slot_col, key = _EXPORTS[dataset]
    columns = [c.name for c in table.columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    yield out.getvalue()
    last: int | None = None
    while True:
        query = select(table).where(*within(slot_col, from_slot, to_slot), *past(key, last))
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(key).limit(5_000)).all()
        if not rows:
            return
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([row._mapping[c] for c in columns])
        last = int(row._mapping["id"])
        yield out.getvalue()


@router.get(
    "/exports/{dataset}",
    responses={**AUTH_ERRORS, 200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def export(
    state: StateDep,
    session: OperatorDep,
    dataset: Annotated[Dataset, Path()],
    from_slot: OptionalSlotQuery = None,
    to_slot: OptionalSlotQuery = None,
) -> StreamingResponse:
    """A CSV export of one dataset over a slot range (streams, any size)."""
    return StreamingResponse(
        _csv_rows(state.engine, dataset, from_slot, to_slot),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{dataset}.csv"'},
    )


@router.post(
    "/meter-requests", response_model=MeterRequestPublic, status_code=201, responses=AUTH_ERRORS
)
def request_meter(
    body: MeterRequestCreate, session: SessionDep, conn: ConnDep
) -> MeterRequestPublic:
    """File a request that an operator registers a meter (any signed-in member)."""
    row: dict[str, Any] = {
        "requester": session.address,
        "owner": body.owner,
        "signer": body.signer,
        "capacity_wh_per_slot": body.capacity_wh_per_slot,
        "note": body.note,
        "status": "pending",
        "created_at": time.time(),
    }
    result = conn.execute(insert(MeterRequest).returning(MeterRequest.id), row)
    new_id = int(result.scalar_one())
    conn.commit()
    return MeterRequestPublic.model_validate({"id": new_id, **row})


@router.get("/meter-requests", response_model=Page[MeterRequestPublic], responses=AUTH_ERRORS)
def meter_requests(
    session: MeterAdminDep,
    conn: ConnDep,
    page: PageDep,
    status: Annotated[Literal["pending"] | None, Query()] = None,
) -> Page[MeterRequestPublic]:
    """Meter-registration requests, oldest first (meter admins)."""
    items, next_after = community_queries.list_meter_requests(
        conn, status=status, after=page.after, limit=page.limit
    )
    return page_of(MeterRequestPublic, items, next_after)


@router.get("/reports/kpi", response_model=KpiReportPublic, responses=AUTH_ERRORS)
def kpi_report(
    state: StateDep,
    session: AdminDep,
    conn: ConnDep,
    info: InfoDep,
    from_slot: Annotated[int, Query(ge=0, le=2**40)],
    to_slot: Annotated[int, Query(ge=0, le=2**40)],
) -> KpiReportPublic:
    """KPIs over a slot range with a per-day breakdown (administrators)."""
    per_day = max(1, 86_400 // info.slot_seconds)
    check_window(
        from_slot, to_slot, "slot", step=per_day, most=MAX_REPORT_DAYS, per="days per report"
    )
    tariffs = state.config.tariffs
    total = community_queries.kpis(conn, tariffs=tariffs, from_slot=from_slot, to_slot=to_slot)
    daily = []
    first_day_slot = from_slot - (info.slot_start(from_slot) % 86_400) // info.slot_seconds
    day = max(first_day_slot, 0)
    while day <= to_slot:
        start, end = max(day, from_slot), min(day + per_day - 1, to_slot)
        daily.append(
            KpiPublic.model_validate(
                community_queries.kpis(conn, tariffs=tariffs, from_slot=start, to_slot=end)
            )
        )
        day += per_day
    return KpiReportPublic(total=KpiPublic.model_validate(total), daily=daily)
