"""Health and indexer status."""

from __future__ import annotations

from pydantic import BaseModel


class HealthPublic(BaseModel):
    status: str
    database: bool
    checkpoint_block: int | None
    head_block: int | None
    lag_blocks: int | None
    seconds_since_update: float | None


class MarketPublic(BaseModel):
    chain_id: int
    addresses: dict[str, str]
    epoch: int
    slot_seconds: int
    price_floor: int
    tick_size: int
    max_tick: int
    settlement_seconds: int
    open_ahead_seconds: int
    min_order_wh: int
    fee_bps: int
    treasury: str


class StatusPublic(BaseModel):
    market: MarketPublic
    checkpoint_block: int
    checkpoint_time: int
    head_block: int
    current_slot: int
    timescaledb: bool
