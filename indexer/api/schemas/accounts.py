"""Balances of an account."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel


class EnergyBalancePublic(ApiModel):
    slot: int
    wallet_wh: int = Field(description="Slot tokens held in the wallet (ERC-1155).")
    vault_wh: int = Field(description="Slot tokens in the market vault, not escrowed.")


class BalancesPublic(ApiModel):
    account: str
    vault_money: int = Field(description="Payment units in the market vault, not escrowed.")
    energy: list[EnergyBalancePublic]
