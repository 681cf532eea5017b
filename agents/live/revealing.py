"""Revealing the live agent's sealed orders after gate closure, and ending the ones it could not.

In a sealed market (:mod:`agents.live.placing` commits) every ``committed`` order of a slot is
revealed in one ``revealOrders`` batch as soon as the slot's reveal window is open (after gate
closure, for ``revealSeconds``); a revealed order is ``placed`` and is claimed like any other. A
reveal some keeper sent first is found on chain (the order exists under the commitment's id).

A commitment still unrevealed when its window has passed (the agent was down the whole window)
forfeits its bond: the agent ends it (``reclaimCommitment``) so that the rest of the collateral
goes back to the owner's vault, and records it ``forfeited``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.live.link import SEND_ERRORS, ChainLink
from agents.live.placing import Send
from agents.live.reports import OrderAction, StepReport
from agents.live.state import AgentState, OrderEntry
from energychain.commitments import SealedOrder
from energychain.sealed_market import SealedMarket
from wallet.errors import TransactionRevertedError


@dataclass
class Revealer:
    """Reveals and ends the agent's commitments (see the module docstring)."""

    link: ChainLink
    state: AgentState
    send: Send

    @property
    def market(self) -> SealedMarket:
        market = self.link.market
        assert isinstance(market, SealedMarket)
        return market

    def step(self, now: int, report: StepReport) -> None:
        """Reveal what is due, end what can no longer be revealed."""
        due: list[tuple[int, OrderEntry]] = []
        late: list[tuple[int, OrderEntry]] = []
        for slot, plan in sorted(self.state.slots.items()):
            opens_after, closes_at = self.link.reveal_window(slot)
            for order in plan.orders:
                if order.status != "committed":
                    continue
                if opens_after < now <= closes_at:
                    due.append((slot, order))
                elif now > closes_at:
                    late.append((slot, order))
        if due:
            self._reveal(due, report)
        for slot, order in late:
            self._end(slot, order, report)

    def _sealed(self, slot: int, order: OrderEntry) -> SealedOrder:
        assert order.salt is not None
        return SealedOrder(
            slot, self.link.owner, order.is_buy, order.tick, order.qty_wh, bytes.fromhex(order.salt)
        )

    def _reveal(self, due: list[tuple[int, OrderEntry]], report: StepReport) -> None:
        requests = [(order.order_id or 0, self._sealed(slot, order)) for slot, order in due]
        ids = [commit for commit, _ in requests]
        try:
            receipts = [self.send(self.market.reveal_orders(requests))]
        except TransactionRevertedError as exc:
            # One refused reveal (an owner who narrowed the agent's price bounds since the
            # commit, say) reverts the batch: reveal one by one so the others still count.
            self.link.log("reveal_batch_reverted", commit_ids=ids, error=str(exc))
            receipts = self._reveal_each(requests, report)
        except SEND_ERRORS as exc:
            # Nothing is lost: the salts stay on disk and the next step reveals again.
            report.errors.append(f"reveal {ids}: {type(exc).__name__}: {exc}")
            self.link.log("reveal_error", commit_ids=ids, error=str(exc))
            return
        revealed = {
            int(e["args"]["commitId"])
            for receipt in receipts
            for e in self.market.events(receipt, "OrderRevealed")
        }
        for slot, order in due:
            assert order.order_id is not None
            if order.order_id not in revealed and self._order_on_chain(order) is False:
                continue  # neither revealed nor stored: left for the window's end
            order.status = "placed"
            report.revealed.append(
                OrderAction(slot, order.side, order.tick, order.qty_wh, order.order_id)
            )
        self.state.save()
        self.link.log("revealed", commit_ids=sorted(revealed))

    def _reveal_each(
        self, requests: list[tuple[int, SealedOrder]], report: StepReport
    ) -> list[Any]:
        """``revealOrder`` for each commitment alone; the receipts of those that went through."""
        receipts = []
        for commit, sealed in requests:
            try:
                receipts.append(self.send(self.market.reveal_order(commit, sealed)))
            except SEND_ERRORS as exc:
                report.errors.append(f"reveal {commit}: {type(exc).__name__}: {exc}")
                self.link.log("reveal_error", commit_id=commit, error=str(exc))
        return receipts

    def _order_on_chain(self, order: OrderEntry) -> bool:
        """Whether the order of a commitment rests in the book (a keeper revealed it)."""
        assert order.order_id is not None
        return self.link.read(lambda: self.market.order(order.order_id or 0)) is not None

    def _end(self, slot: int, order: OrderEntry, report: StepReport) -> None:
        """The reveal window passed: the order is in the book (revealed by someone) or the
        commitment forfeits its bond and the rest comes back."""
        assert order.order_id is not None
        if self._order_on_chain(order):
            order.status = "placed"
            self.state.save()
            return
        if self.link.read(lambda: self.market.commitment(order.order_id or 0)) is not None:
            try:
                self.send(self.market.reclaim_commitment(order.order_id))
            except SEND_ERRORS as exc:
                report.errors.append(f"reclaim {order.order_id}: {type(exc).__name__}: {exc}")
                return
        order.status, order.reason = "forfeited", "not revealed in the reveal window"
        self.state.save()
        report.forfeited.append(
            OrderAction(slot, order.side, order.tick, order.qty_wh, order.order_id)
        )
        self.link.log("forfeited", slot=slot, commit_id=order.order_id)
