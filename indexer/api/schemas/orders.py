"""Orders."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class OrderPublic(ApiModel):
    order_id: str = Field(description="uint256 order id, decimal.")
    nonce: int
    owner: str
    slot: int
    side: Literal["buy", "sell"]
    tick: int
    price: Units = Field(description="Limit price, base units per kWh.")
    qty_wh: Units
    escrow: Units = Field(description="Buy: payment units locked. Sell: Wh locked.")
    fee_bps: int
    status: Literal["open", "cancelled", "claimed"]
    block_number: int
    block_time: int
    tx_hash: str
