"""Settling what the live agent sent: reconciling open intents, claiming cleared orders.

**Reconcile.** An order whose intent was written but whose outcome is not known (a crash or an
RPC error between writing the intent and recording the receipt) is looked up in the market's
``OrderPlaced`` logs for the owner and slot, sent from the agent's address; an order still
pending in the node's pool is waited for. So a restart never places an order twice.

**Claim.** Every placed order of a slot past gate closure is claimed once the slot is cleared
(``claimBatch``: claims pay the owner, anyone may send them). With ``clear_slots`` a slot
nobody cleared is cleared first (permissionless on the contract).

**Refund.** A slot nobody cleared within the market's clear window is void (``voidAt``): it never
clears, and its orders are cancelled (``cancelOrders``) so their escrow goes back to the owner's
vault. The orders are marked ``cancelling`` before the send, as a re-plan's cancel is, so a crash
in between is settled from the chain on the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.live.link import SEND_ERRORS, ChainLink
from agents.live.placing import Send
from agents.live.reports import OrderAction, StepReport
from agents.live.state import AgentState, OrderEntry
from wallet.errors import TransactionRevertedError


@dataclass
class Settlement:
    """Reconciles intents and claims orders (see the module docstring)."""

    link: ChainLink
    state: AgentState
    send: Send
    clear_slots: bool
    _void_times: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ reconcile
    def reconcile(self, report: StepReport) -> None:
        """Settle every order intent whose outcome is not recorded."""
        for slot, plan in self.state.slots.items():
            for order in plan.orders:
                if order.status != "intent":
                    continue
                found = self.link.find_order(slot, order, self.state.known_order_ids())
                if found is not None:
                    order.status, order.order_id = "placed", found
                    self.link.log("reconciled", slot=slot, order_id=found, found=True)
                    report.placed.append(
                        OrderAction(slot, order.side, order.tick, order.qty_wh, found)
                    )
                elif self.link.pending_txs():
                    report.errors.append(f"slot {slot}: a transaction is still pending; waiting")
                    continue
                else:
                    order.status = "unsent"
                    self.link.log("reconciled", slot=slot, found=False, **order.summary())
                self.state.save()

    # ------------------------------------------------------------------ claims
    def claim(self, now: int, report: StepReport) -> None:
        """Claim the placed orders of every slot past gate closure that is cleared."""
        due = {
            slot: [o for o in plan.orders if o.status == "placed"]
            for slot, plan in self.state.slots.items()
            if now >= self.link.calendar.gate_closure(slot)
        }
        orders: dict[int, OrderEntry] = {}
        for slot, placed in sorted(due.items()):
            if not placed:
                continue
            if not self.link.clearing(slot).cleared:
                if now >= self._void_at(slot):
                    self._refund(slot, placed, report)
                    continue
                if not self._clear(slot, report):
                    continue
            for order in placed:
                assert order.order_id is not None
                orders[order.order_id] = order
        if not orders:
            return
        ids = list(orders)
        try:
            receipt = self.send(self.link.market.claim_batch(ids))
        except SEND_ERRORS as exc:
            report.errors.append(f"claim {ids}: {type(exc).__name__}: {exc}")
            self.link.log("claim_error", order_ids=ids, error=str(exc))
            self._mark_claimed_elsewhere(orders)
            return
        for event in self.link.market.events(receipt, "OrderClaimed"):
            args = event["args"]
            order = orders[int(args["orderId"])]
            order.status = "claimed"
            order.filled_wh, order.amount = int(args["filledWh"]), int(args["amount"])
            order.refund = int(args["refund"])
            report.claimed.append(
                (int(args["orderId"]), order.filled_wh, order.amount, order.refund)
            )
            self.link.log(
                "claimed",
                order_id=int(args["orderId"]),
                filled_wh=order.filled_wh,
                amount=order.amount,
                refund=order.refund,
            )
        # claimBatch skips orders no longer stored (claimed by someone else meanwhile)
        claimed = {order_id for order_id, *_ in report.claimed}
        self._mark_claimed_elsewhere({i: o for i, o in orders.items() if i not in claimed})
        self.state.save()

    def _void_at(self, slot: int) -> int:
        """When ``slot`` becomes void if not cleared (a constant per slot: read once)."""
        if slot not in self._void_times:
            self._void_times[slot] = self.link.read(lambda: self.link.market.void_at(slot))
        return self._void_times[slot]

    def _refund(self, slot: int, placed: list[OrderEntry], report: StepReport) -> None:
        """Cancel the placed orders of the void ``slot``: their escrow goes back to the owner."""
        for order in placed:
            order.status = "cancelling"
        self.state.save()  # durable before the cancel is sent
        ids = [order.order_id for order in placed if order.order_id is not None]
        self.link.log("refunding_void", slot=slot, order_ids=ids)
        try:
            self.send(self.link.market.cancel_orders(ids))
        except SEND_ERRORS as exc:
            # Someone else may have refunded some of them first (all or none): the next step's
            # reconciliation settles each order from the chain.
            report.errors.append(f"refund of void slot {slot}: {type(exc).__name__}: {exc}")
            return
        for order in placed:
            order.status = "cancelled"
            assert order.order_id is not None
            report.cancelled.append(
                OrderAction(slot, order.side, order.tick, order.qty_wh, order.order_id)
            )
        self.state.save()
        self.link.log("refunded_void", slot=slot, order_ids=ids)

    def _clear(self, slot: int, report: StepReport) -> bool:
        """Clear the uncleared ``slot`` when asked to; whether it is cleared now."""
        if not self.clear_slots:
            return False
        try:
            self.send(self.link.market.clear(slot))
            report.cleared.append(slot)
            self.link.log("cleared", slot=slot)
        except TransactionRevertedError as exc:
            if "AlreadyCleared" not in str(exc):
                report.errors.append(f"clear {slot}: {exc}")
                return False
        except SEND_ERRORS as exc:
            report.errors.append(f"clear {slot}: {type(exc).__name__}: {exc}")
            return False
        return True

    def _mark_claimed_elsewhere(self, orders: dict[int, OrderEntry]) -> None:
        """Orders someone else claimed (the contract deleted them) are done, not retried."""
        changed = False
        for order_id, order in orders.items():
            if self.link.read(lambda i=order_id: self.link.market.order(i)) is None:  # type: ignore[misc]
                order.status = "claimed"
                changed = True
        if changed:
            self.state.save()
