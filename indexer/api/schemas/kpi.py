"""Community KPIs."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class KpiPublic(ApiModel):
    from_slot: int | None
    to_slot: int | None
    slots_cleared: int
    traded_wh: Units
    traded_value: Units = Field(description="Payment units exchanged at clearing prices.")
    average_price: Units | None = Field(description="Volume-weighted P2P price per kWh.")
    local_generation_wh: Units
    local_consumption_wh: Units
    locally_covered_wh: Units = Field(description="Sum over slots of min(export, import).")
    local_coverage_share: float | None = Field(
        description="Share of local consumption covered by local generation in the same slot."
    )
    retail_tariff: Units
    feed_in_tariff: Units
    buyer_savings: Units = Field(description="traded kWh x (retail - P2P price).")
    seller_gain: Units = Field(description="traded kWh x (P2P price - feed-in tariff).")
    community_savings: Units = Field(description="buyer_savings + seller_gain, vs grid only.")


class KpiReportPublic(ApiModel):
    total: KpiPublic
    daily: list[KpiPublic]
