"""Price history and candles."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel


class PricePointPublic(ApiModel):
    slot: int
    start_time: int
    price: int = Field(description="Clearing price, base units per kWh.")
    clearing_tick: int
    volume_wh: int


class CandlePublic(ApiModel):
    start_time: int
    open: int
    high: int
    low: int
    close: int
    volume_wh: int
    slots: int = Field(description="Slots that traded in this interval.")
    vwap: int = Field(description="Volume-weighted average price.")


class CandlesPublic(ApiModel):
    interval: str
    candles: list[CandlePublic]
