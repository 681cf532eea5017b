"""The city pool: its communities, grid fee, published transfer limits and clearings."""

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
    paused: bool = Field(
        description="Paused by the city admin: left out of every slot the pool clears until "
        "it is resumed."
    )
    paused_block_number: int | None = Field(
        description="Block of the pause in force (null: not paused)."
    )


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


class PoolSettlementPublic(ApiModel):
    fees_paid: Units = Field(
        description="Grid fees and rounding the pool paid to the grid fee recipient, payment "
        "base units."
    )
    block_number: int = Field(description="Block of the PoolSettled.")
    block_time: int
    tx_hash: str


class MarketSettlementPublic(ApiModel):
    import_wh: Units = Field(description="Wh the pool delivered to the market.")
    export_wh: Units = Field(description="Wh the market delivered to the pool.")
    paid_to_pool: Units = Field(
        description="Payment base units the market paid the pool for its import."
    )
    block_number: int = Field(description="Block of the market's PoolFillSettled.")
    tx_hash: str


class PoolClearingPublic(ApiModel):
    slot: int
    volume_wh: Units = Field(
        description="V*: Wh that crossed community boundaries (imports = exports = V*; 0: "
        "nothing crossed)."
    )
    clearing_tick: int = Field(description="p*, the pool's clearing tick (0 when nothing crossed).")
    price: Units = Field(
        description="price(p*), payment base units per kWh, before grid fees (0 when nothing "
        "crossed)."
    )
    buy_marginal_tick: int = Field(description="m_b in pool (fee-shifted) ticks.")
    sell_marginal_tick: int = Field(description="m_s in pool (fee-shifted) ticks.")
    fee_ticks_per_level: int = Field(description="Grid fee per network level at the clearing.")
    fee_per_level: Units = Field(description="The same in payment base units per kWh.")
    block_number: int
    block_time: int
    tx_hash: str
    settlement: PoolSettlementPublic | None = Field(
        description="The pool's settlement of the slot: energy and money moved between the pool "
        "and the communities, whose traders' claims then include their pool fills (null: not "
        "settled yet)."
    )


class LocalClearingPublic(ApiModel):
    volume_wh: Units = Field(description="Wh the community's market traded on its own.")
    clearing_tick: int
    price: Units | None = Field(
        description="Its own uniform price, base units per kWh (null: nothing traded)."
    )


class CommunityFillPublic(ApiModel):
    community_id: int
    market: str | None = Field(description="The community's market (null: not indexed yet).")
    levels: int | None
    fee_ticks: int | None = Field(description="Its grid fee: levels x fee ticks per level.")
    import_wh: Units = Field(description="Wh the community took from the pool.")
    export_wh: Units = Field(description="Wh the community gave to the pool.")
    buy_price: Units | None = Field(
        description="What its imports cost, price(p* + fee_ticks), base units per kWh (null: "
        "nothing crossed, or off the price grid)."
    )
    sell_price: Units | None = Field(
        description="What its exports earn, price(p* - fee_ticks), base units per kWh (null: "
        "nothing crossed, or off the price grid)."
    )
    buy_marginal_tick: int = Field(description="Where its import ran out (its own ticks).")
    buy_marginal_filled_wh: Units
    buy_marginal_total_wh: Units
    sell_marginal_tick: int = Field(description="Where its export ran out (its own ticks).")
    sell_marginal_filled_wh: Units
    sell_marginal_total_wh: Units
    local: LocalClearingPublic | None = Field(
        description="Its market's own clearing of the slot, when the indexer follows that "
        "market and saw it clear (null otherwise)."
    )
    settled: MarketSettlementPublic | None = Field(
        description="What its market exchanged with the pool at settlement, when the indexer "
        "follows that market and it is a pooled one (null otherwise, or not settled yet)."
    )


class PoolClearingDetailPublic(PoolClearingPublic):
    communities: list[CommunityFillPublic] = Field(
        description="One entry per community in id order (all zero for a paused one)."
    )
