"""Commitments of a sealed market."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units

CommitmentStatus = Literal["committed", "revealed", "forfeited"]


class CommitmentPublic(ApiModel):
    """One commitment of a sealed market: what is on chain of it (never the order it hides
    before the reveal) and how it ended."""

    commit_id: str = Field(
        description="uint256 commit id, decimal; the revealed order keeps it as its order id."
    )
    owner: str
    slot: int
    locked_money: Units = Field(description="Payment units locked from the vault at commit.")
    locked_wh: Units = Field(description="Wh of the slot locked from the vault at commit.")
    status: CommitmentStatus = Field(
        description="committed (neither revealed nor forfeited yet), revealed (its order "
        "joined the book), forfeited (not revealed in the reveal window: the bond went to the "
        "treasury, the rest back to the vault)."
    )
    order_id: str | None = Field(description="The revealed order's id (null unless revealed).")
    bond: Units | None = Field(
        description="Payment units forfeited to the treasury (0 when revealed; null while "
        "committed)."
    )
    refund_money: Units | None = Field(
        description="Payment units that went back to the vault: a reveal returns what the "
        "order's escrow does not take (the bond included), a forfeit all but the bond (null "
        "while committed)."
    )
    refund_wh: Units | None = Field(
        description="Wh that went back to the vault: a reveal returns what a sell does not "
        "escrow, a forfeit all of them (null while committed)."
    )
    block_number: int
    block_time: int
    tx_hash: str = Field(description="The commit's transaction.")
    log_index: int
    ended_block_number: int | None = Field(
        description="Block of the reveal or forfeit (null while committed)."
    )
    ended_tx_hash: str | None = Field(
        description="Transaction of the reveal or forfeit (null while committed)."
    )
