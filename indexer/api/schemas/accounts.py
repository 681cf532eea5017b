"""Balances of an account."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class EnergyBalancePublic(ApiModel):
    slot: int
    wallet_wh: Units = Field(description="Slot tokens held in the wallet (ERC-1155).")
    vault_wh: Units = Field(description="Slot tokens in the market vault, not escrowed.")


class BalancesPublic(ApiModel):
    account: str
    vault_money: Units = Field(description="Payment units in the market vault, not escrowed.")
    energy: list[EnergyBalancePublic]


HistoryKind = Literal[
    "deposit", "withdraw", "order", "cancel", "claim", "refund", "fee",
    "commit", "reveal", "forfeit", "bond",
    "minted", "redeemed", "received", "sent",
]  # fmt: skip


class HistoryItemPublic(ApiModel):
    """One movement of an account's money or energy, and the transaction that made it."""

    kind: HistoryKind = Field(
        description="Vault: deposit, withdraw, order (escrow locked), cancel (escrow back), "
        "claim (energy bought or money received), refund, fee (to the treasury); sealed "
        "market: commit (collateral locked), reveal (the collateral the order's escrow does not "
        "take, back), forfeit (an unrevealed commitment's collateral back, less the bond), "
        "bond (to the treasury). Wallet energy "
        "tokens: minted (from the account's meter readings), redeemed (burnt against import), "
        "received and sent (transfers other than to and from the market's vault)."
    )
    asset: Literal["money", "energy"]
    amount: Units = Field(
        description="Signed change for the account: payment base units (money) or Wh (energy)."
    )
    slot: int | None = Field(description="Delivery slot of energy or of the order (null: none).")
    counterparty: str | None = Field(description="The other address of a token transfer.")
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
