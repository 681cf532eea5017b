"""The city pool: its communities, grid fee and published transfer limits."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class GridFeePublic(ApiModel):
    fee_ticks_per_level: int = Field(description="Price ticks per network level crossed.")
    fee_per_level: Units = Field(
        description="The same in payment base units per kWh (ticks x the price grid's tick)."
    )
    recipient: str | None = Field(description="Who is paid the fee; null until it is first set.")
    block_number: int | None = Field(description="Block of the last GridFeeChanged (null: none).")
    tx_hash: str | None


class PoolPublic(ApiModel):
    address: str = Field(description="The CityPool contract.")
    community_count: int
    market_community_id: int | None = Field(
        description="The indexed market's community id in the pool (null: not one of them)."
    )
    grid_fee: GridFeePublic


class CommunityPublic(ApiModel):
    community_id: int = Field(description="Pool community id (0, 1, ... in order of addition).")
    market: str = Field(description="The community's market contract.")
    levels: int = Field(description="Network levels between the community and the pool (1-7).")
    block_number: int = Field(description="Block the community was added in.")
    block_time: int
    tx_hash: str


class CommunitiesPublic(ApiModel):
    items: list[CommunityPublic]


class CommunityLimitsPublic(ApiModel):
    community_id: int
    market: str
    published: bool = Field(
        description="False: no limits were published for this community and slot; they read "
        "as zero (the pool clears nothing across its boundary)."
    )
    import_wh: Units = Field(description="Most Wh the community may import from the pool.")
    export_wh: Units = Field(description="Most Wh the community may export to the pool.")
    block_number: int | None = Field(description="Block of the publication in force (null: none).")
    block_time: int | None
    tx_hash: str | None


class SlotLimitsPublic(ApiModel):
    slot: int
    gate_closure: int = Field(description="Limits are accepted (and revised) strictly before.")
    revisions: int = Field(description="Publications of the slot's limits (0: none yet).")
    communities: list[CommunityLimitsPublic]


class PoolLimitsPublic(ApiModel):
    items: list[SlotLimitsPublic]
