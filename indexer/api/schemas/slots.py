"""Slots, their clearing records, order-book depth and fills."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units

SlotStatus = Literal["upcoming", "open", "closed", "cleared"]


class ClearingPublic(ApiModel):
    volume_wh: Units = Field(description="Energy traded, Wh (0: nothing traded, all refunded).")
    clearing_tick: int
    price: Units = Field(description="Uniform price, payment base units per kWh.")
    buy_marginal_tick: int
    buy_marginal_filled_wh: Units
    buy_marginal_total_wh: Units
    sell_marginal_tick: int
    sell_marginal_filled_wh: Units
    sell_marginal_total_wh: Units
    block_number: int
    block_time: int
    tx_hash: str


class SlotStatsPublic(ApiModel):
    order_count: int
    open_order_count: int
    buy_wh: Units = Field(description="Buy quantity not cancelled.")
    sell_wh: Units = Field(description="Sell quantity not cancelled.")
    minted_wh: Units = Field(description="Slot tokens minted from meter readings.")


class SlotPublic(ApiModel):
    slot: int
    start_time: int
    end_time: int
    opens_at: int = Field(description="Orders accepted from this time on.")
    gate_closure: int = Field(
        description="Orders (sealed market: commitments) accepted strictly before; open "
        "market: clear from then."
    )
    status: SlotStatus
    clearing: ClearingPublic | None
    reveal_ends: int | None = Field(
        description="Sealed market: last second of the reveal window (reveals while "
        "gate_closure < t <= reveal_ends; clear and reclaim unrevealed commitments after it). "
        "Null in open mode."
    )
    commitments: int | None = Field(
        description="Sealed market: commitments posted for the slot, whatever became of them "
        "(before gate closure the only thing known of its orders: a commitment hides side, "
        "price and quantity). Null in open mode."
    )
    revealed: int | None = Field(
        description="Sealed market: commitments revealed into the book (their orders are the "
        "slot's orders). Null in open mode."
    )
    forfeited: int | None = Field(
        description="Sealed market: commitments never revealed, whose bond went to the "
        "treasury (`commitments - revealed - forfeited` are still pending). Null in open mode."
    )


class SlotDetailPublic(SlotPublic):
    stats: SlotStatsPublic


class DepthLevelPublic(ApiModel):
    tick: int
    price: Units
    buy_wh: Units
    sell_wh: Units


class DepthPublic(ApiModel):
    slot: int
    status: SlotStatus
    levels: list[DepthLevelPublic]
    best_bid_tick: int | None
    best_ask_tick: int | None
    total_buy_wh: Units
    total_sell_wh: Units


class FillPublic(ApiModel):
    order_id: str
    owner: str
    slot: int
    side: Literal["buy", "sell"]
    tick: int
    qty_wh: Units
    filled_wh: Units
    price: Units = Field(
        description="The market's own clearing price, base units per kWh (0 when the order "
        "filled through the pool alone)."
    )
    amount: Units = Field(description="Buy: paid. Sell: received net of the fee.")
    fee: Units
    refund: Units = Field(description="Buy: payment returned. Sell: Wh returned.")
    claimed: bool
    pool_filled_wh: Units | None = Field(
        description="Of filled_wh, the Wh that came through the city pool (0 in a plain market; "
        "null until claimed: an unclaimed order's figures are its local fill alone)."
    )
