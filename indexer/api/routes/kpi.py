"""Community KPIs."""

from __future__ import annotations

from fastapi import APIRouter

from indexer import community_queries
from indexer.api.deps import ConnDep, OptionalSlotQuery, StateDep
from indexer.api.errors import ApiError
from indexer.api.schemas.common import ERRORS
from indexer.api.schemas.kpi import KpiPublic

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get("", response_model=KpiPublic, responses=ERRORS)
def community_kpis(
    state: StateDep,
    conn: ConnDep,
    from_slot: OptionalSlotQuery = None,
    to_slot: OptionalSlotQuery = None,
) -> KpiPublic:
    """Traded energy, local coverage, average P2P price vs the tariffs, money saved vs grid."""
    if from_slot is not None and to_slot is not None and from_slot > to_slot:
        raise ApiError(422, "invalid_range", "from_slot is after to_slot")
    tariffs = state.config.tariffs
    view = community_queries.kpis(conn, tariffs=tariffs, from_slot=from_slot, to_slot=to_slot)
    return KpiPublic.model_validate(view)
