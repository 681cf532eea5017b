"""Community KPIs."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel


class KpiPublic(ApiModel):
    from_slot: int | None
    to_slot: int | None
    slots_cleared: int
    traded_wh: int
    traded_value: int = Field(description="Payment units exchanged at clearing prices.")
    average_price: int | None = Field(description="Volume-weighted P2P price per kWh.")
    local_generation_wh: int
    local_consumption_wh: int
    locally_covered_wh: int = Field(description="Sum over slots of min(export, import).")
    local_coverage_share: float | None = Field(
        description="Share of local consumption covered by local generation in the same slot."
    )
    retail_tariff: int
    feed_in_tariff: int
    buyer_savings: int = Field(description="traded kWh x (retail - P2P price).")
    seller_gain: int = Field(description="traded kWh x (P2P price - feed-in tariff).")
    community_savings: int = Field(description="buyer_savings + seller_gain, vs grid only.")


class KpiReportPublic(ApiModel):
    total: KpiPublic
    daily: list[KpiPublic]
