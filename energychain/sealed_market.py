"""The SealedEnergyMarket: commit during the order window, reveal after gate closure.

Everything but order entry is the open market's (:class:`energychain.market.Market`: vault,
clearing, claims, agents, views). Orders enter the book only by :meth:`SealedMarket.commit_order`
(a hash and locked collateral, :mod:`energychain.commitments`) and, after gate closure, by
:meth:`SealedMarket.reveal_order`; a commitment never revealed is ended by
:meth:`SealedMarket.reclaim_commitment` (the bond to the treasury, the rest back). The revealed
order keeps the commitment's id, so claims and the indexer see an ordinary order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress

from energychain.abi import pick
from energychain.commitments import Collateral, SealedOrder
from energychain.market import Market
from energychain.units import BaseUnits, Wh
from wallet.transactions import TxRequest

_ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class StoredCommitment:
    """``SealedEnergyMarket.commitment(id)``: an unrevealed commitment (None when the id holds
    none: never committed, revealed or reclaimed)."""

    owner: ChecksumAddress
    agent: ChecksumAddress | None
    """The agent that committed it (None: the owner did)."""
    locked_money: BaseUnits
    locked_wh: Wh

    @classmethod
    def from_fields(cls, fields: Any) -> StoredCommitment | None:
        f = pick(fields, ["owner", "agent", "locked_money", "locked_wh"], "Commitment")
        if f["owner"] == _ZERO:
            return None
        return cls(
            owner=f["owner"],
            agent=None if f["agent"] == _ZERO else f["agent"],
            locked_money=BaseUnits(int(f["locked_money"])),
            locked_wh=Wh(int(f["locked_wh"])),
        )


#: ``(slot, commitment, locked_money, locked_wh)``, one commitment of ``commitOrders``.
CommitSpec = tuple[int, bytes, int, int]


class SealedMarket(Market):
    """A SealedEnergyMarket deployment (see the module docstring)."""

    # ------------------------------------------------------------------ reads
    def bond_amount(self) -> BaseUnits:
        """What every commitment locks in money and forfeits when it is never revealed."""
        return BaseUnits(int(self.call("bondAmount")))

    def reveal_seconds(self) -> int:
        return int(self.call("revealSeconds"))

    def reveal_window(self, slot: int) -> tuple[int, int]:
        """``(opens_after, closes_at)``: reveals when ``opens_after < now <= closes_at``."""
        opens_after, closes_at = self.call("revealWindow", slot)
        return int(opens_after), int(closes_at)

    def commitment_of(self, order: SealedOrder) -> bytes:
        """The contract's own hash of ``order`` (the client computes the same offline:
        :meth:`SealedOrder.commitment`)."""
        return bytes(
            self.call(
                "commitmentOf",
                order.owner,
                order.slot,
                order.is_buy,
                order.tick,
                order.qty_wh,
                order.salt,
            )
        )

    def commitment(self, commit_id: int) -> StoredCommitment | None:
        return StoredCommitment.from_fields(self.read("commitment", commit_id))

    # ------------------------------------------------------------------ writes
    def commit_order(
        self,
        order: SealedOrder,
        collateral: Collateral,
        chain_id: int,
        gas: int | None = None,
    ) -> TxRequest:
        """``commitOrder`` for ``order`` (sent by its owner or an agent of the owner)."""
        return self.request(
            "commitOrder",
            order.owner,
            order.slot,
            order.commitment(chain_id, self.address),
            collateral.money,
            collateral.energy_wh,
            gas=gas,
        )

    def commit_orders(
        self, owner: str, commits: Sequence[CommitSpec], gas: int | None = None
    ) -> TxRequest:
        """``commitOrders`` for ``(slot, commitment, locked_money, locked_wh)`` tuples."""
        return self.request("commitOrders", owner, [list(c) for c in commits], gas=gas)

    def reveal_order(self, commit_id: int, order: SealedOrder, gas: int | None = None) -> TxRequest:
        """``revealOrder``: anyone may send it, the commitment binds the owner."""
        return self.request(
            "revealOrder", commit_id, order.is_buy, order.tick, order.qty_wh, order.salt, gas=gas
        )

    def reveal_orders(
        self, reveals: Sequence[tuple[int, SealedOrder]], gas: int | None = None
    ) -> TxRequest:
        """``revealOrders`` for ``(commit_id, order)`` pairs (ids gone meanwhile are skipped)."""
        requests = [[i, o.is_buy, o.tick, o.qty_wh, o.salt] for i, o in reveals]
        return self.request("revealOrders", requests, gas=gas)

    def reclaim_commitment(self, commit_id: int, gas: int | None = None) -> TxRequest:
        """``reclaimCommitment``: end a commitment not revealed in its window."""
        return self.request("reclaimCommitment", commit_id, gas=gas)
