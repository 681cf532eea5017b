"""Price history and candles."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class PricePointPublic(ApiModel):
    slot: int
    start_time: int
    price: Units = Field(description="Clearing price, base units per kWh.")
    clearing_tick: int
    volume_wh: Units


class CandlePublic(ApiModel):
    start_time: int
    open: Units
    high: Units
    low: Units
    close: Units
    volume_wh: Units
    slots: int = Field(description="Slots that traded in this interval.")
    vwap: Units = Field(description="Volume-weighted average price.")


class CandlesPublic(ApiModel):
    interval: str
    candles: list[CandlePublic]
