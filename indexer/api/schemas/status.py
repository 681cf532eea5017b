"""Health and indexer status."""

from __future__ import annotations

from pydantic import BaseModel

from indexer.market_info import MarketInfo


class HealthPublic(BaseModel):
    status: str
    database: bool
    checkpoint_block: int | None
    head_block: int | None
    lag_blocks: int | None
    seconds_since_update: float | None


class StatusPublic(BaseModel):
    market: MarketInfo
    """The deployment facts (one declaration: the indexer's ``MarketInfo``)."""
    checkpoint_block: int
    checkpoint_time: int
    head_block: int
    current_slot: int
    timescaledb: bool
