"""Liveness/readiness, Prometheus metrics, indexer status."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from indexer import queries
from indexer.api.deps import ClockDep, InfoDep, StateDep
from indexer.api.schemas.common import ERRORS
from indexer.api.schemas.status import HealthPublic, StatusPublic
from indexer.db.migrate import timescale_enabled

router = APIRouter()


def _no_checkpoint(status: str, *, database: bool) -> HealthPublic:
    """The health of an index without a checkpoint to measure (database down or nothing
    indexed yet)."""
    return HealthPublic(
        status=status,
        database=database,
        checkpoint_block=None,
        head_block=None,
        lag_blocks=None,
        seconds_since_update=None,
    )


@router.get("/health", response_model=HealthPublic, tags=["health"])
def health(state: StateDep, response: Response) -> HealthPublic:
    """Is the database reachable, and how far behind the head is the index."""
    try:
        with state.engine.connect() as conn:
            clock = queries.chain_clock(conn)
    except SQLAlchemyError:
        response.status_code = 503
        return _no_checkpoint("unavailable", database=False)
    if clock is None:
        return _no_checkpoint("starting", database=True)
    return HealthPublic(
        status="ok",
        database=True,
        checkpoint_block=clock.block_number,
        head_block=clock.head_block,
        lag_blocks=max(0, clock.head_block - clock.block_number),
        seconds_since_update=round(max(0.0, time.time() - clock.updated_at), 3),
    )


@router.get(
    "/metrics",
    tags=["health"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def prometheus_metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/status", response_model=StatusPublic, tags=["status"], responses=ERRORS)
def status(state: StateDep, info: InfoDep, clock: ClockDep) -> StatusPublic:
    """The indexed deployment, its market parameters and the checkpoint."""
    return StatusPublic(
        market=info,
        checkpoint_block=clock.block_number,
        checkpoint_time=clock.block_time,
        head_block=clock.head_block,
        current_slot=info.slot_of(clock.block_time),
        timescaledb=timescale_enabled(state.engine),
    )
