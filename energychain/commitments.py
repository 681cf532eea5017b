"""Sealed orders: what a commitment binds, its hash, and the collateral it locks.

In a sealed market (``SealedEnergyMarket``, issue 15) an order is first *committed*: only
``keccak256(abi.encode(chainId, market, slot, owner, isBuy, tick, qtyWh, salt))`` goes on chain,
with collateral locked from the vault (money, and slot tokens for a sell) in an amount the trader
chooses, at least what the revealed order will need. After gate closure the order is *revealed*
(the fields and the salt); the contract recomputes the hash. Binding the chain id and the market
makes a commitment useless on another deployment; binding the owner makes it useless for anyone
else; the 32-byte random salt makes the fields impossible to guess from the hash (a tick and a
quantity alone would be a few million candidates to try).

The salt is the one secret of a sealed order: without it the order cannot be revealed and the
commitment forfeits its bond. :class:`energychain.commitment_journal.CommitmentJournal` writes
it to disk before the commitment is sent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from web3 import Web3

from energychain.errors import EnergyChainError
from market.clearing import MarketParams

SALT_BYTES = 32
_COMMITMENT_TYPES = [
    "uint256",
    "address",
    "uint64",
    "address",
    "bool",
    "uint16",
    "uint64",
    "bytes32",
]


class CommitmentError(EnergyChainError, ValueError):
    """A sealed order or its collateral is malformed (salt, quantity, tick, collateral)."""


def new_salt() -> bytes:
    """32 bytes from the operating system's cryptographic random source."""
    return secrets.token_bytes(SALT_BYTES)


@dataclass(frozen=True, slots=True)
class SealedOrder:
    """An order as a commitment binds it (see the module docstring)."""

    slot: int
    owner: ChecksumAddress
    is_buy: bool
    tick: int
    qty_wh: int
    salt: bytes

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_BYTES:
            raise CommitmentError(f"a salt is {SALT_BYTES} bytes, not {len(self.salt)}")
        if not 0 <= self.tick < 2**16:
            raise CommitmentError(f"tick {self.tick} is not a uint16")
        if not 0 < self.qty_wh < 2**64:
            raise CommitmentError(f"quantity {self.qty_wh} Wh is not a positive uint64")
        if not 0 <= self.slot < 2**64:
            raise CommitmentError(f"slot {self.slot} is not a uint64")
        object.__setattr__(self, "owner", Web3.to_checksum_address(self.owner))

    @property
    def side(self) -> str:
        return "buy" if self.is_buy else "sell"

    def commitment(self, chain_id: int, market: str) -> bytes:
        """The hash the market stores and checks the reveal against (``commitmentOf``)."""
        return Web3.keccak(
            encode(
                _COMMITMENT_TYPES,
                [
                    chain_id,
                    Web3.to_checksum_address(market),
                    self.slot,
                    self.owner,
                    self.is_buy,
                    self.tick,
                    self.qty_wh,
                    self.salt,
                ],
            )
        )


@dataclass(frozen=True, slots=True)
class Collateral:
    """What a commitment locks in the vault: payment base units and Wh of the order's slot."""

    money: int
    energy_wh: int


def minimum_collateral(order: SealedOrder, params: MarketParams, bond: int) -> Collateral:
    """The least a commitment of ``order`` must lock: the bond in money (forfeited if the order
    is never revealed), a buy's escrow at its limit, a sell's Wh."""
    if order.is_buy:
        return Collateral(max(bond, params.buy_escrow(order.qty_wh, order.tick)), 0)
    return Collateral(bond, order.qty_wh)


def hiding_collateral(
    order: SealedOrder, params: MarketParams, bond: int, *, money: int = 0, energy_wh: int = 0
) -> Collateral:
    """The collateral to lock when the trader wants to hide more than the minimum shows: at least
    :func:`minimum_collateral`, and at least ``money`` and ``energy_wh`` (for example the same
    round amounts on every commitment, so that sizes and sides look alike on chain)."""
    least = minimum_collateral(order, params, bond)
    return Collateral(max(least.money, money), max(least.energy_wh, energy_wh))
