"""Redoing a slot's plan on what the devices really do, so the orders follow the devices.

The runtime plans a slot's battery power from the policy; the device that carries it out may
do less (a limit, a refusal, an offline battery that stays in self-consumption). The gateway
reports the power the battery will actually run at (:meth:`Replanner.follow`); the slot's
expected net energy is redone with it (the forecast surplus stays what it was) and the
slot's buy follows:

- a smaller need: the open buys of the slot are cancelled through the agent key and one buy
  of the new size is placed at the old tick (before the market's cancel cut-off only: from there
  the slot's orders are firm and the buys stay);
- a larger need: a buy of the difference is added at the old tick (at the decision's tick
  when no buy was placed yet);
- a book policy's buy plan is placed late anyway: only its size changes.

A cancel follows the durable-intent rule of :mod:`agents.live.placing`: the order is marked
``cancelling`` before the cancel is sent and ``cancelled`` once the receipt is in; an
unsettled ``cancelling`` order is looked up on chain by :meth:`Replanner.reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.data.calendar import SLOT_HOURS
from agents.live.link import SEND_ERRORS, ChainLink
from agents.live.placing import OrderDesk, Send
from agents.live.reports import OrderAction, StepReport
from agents.live.state import AgentState, OrderEntry, SlotPlan
from energychain.records import Delegation
from wallet.errors import TransactionRevertedError


@dataclass
class Replanner:
    """Follows the devices (see the module docstring)."""

    link: ChainLink
    state: AgentState
    desk: OrderDesk
    send: Send

    def follow(
        self, slot: int, battery_kw: float, now: int, delegation: Delegation, report: StepReport
    ) -> bool:
        """Redo ``slot``'s plan for an actual battery power of ``battery_kw`` (positive:
        charging); True when the plan changed."""
        plan = self.state.slot(slot)
        if plan is None or now >= self.link.calendar.gate_closure(slot):
            return False
        delta = round((battery_kw - plan.battery_kw) * SLOT_HOURS * 1000.0)
        changed = abs(delta) >= self.link.params.min_order_wh
        if changed:
            before = plan.net_wh
            plan.net_wh += delta
            plan.battery_kw = float(battery_kw)
            plan.sell_plan_wh = max(-plan.net_wh, 0)
            plan.replanned += 1
            if plan.book:
                plan.buy_plan_wh = max(plan.net_wh, 0)
            self.state.save()
            self.link.log(
                "replanned",
                slot=slot,
                battery_kw=battery_kw,
                net_wh_before=before,
                net_wh=plan.net_wh,
            )
            report.replanned.append(slot)
        if not plan.book:  # also completes a follow-up a crash interrupted
            self._follow_buys(slot, plan, now, delegation, report)
        return changed

    def _buy_tick(self, plan: SlotPlan) -> int:
        ticks = [o.tick for o in plan.orders if o.is_buy and o.status in ("placed", "claimed")]
        if ticks:
            return ticks[0]
        return plan.buy_tick if plan.buy_tick is not None else plan.sell_tick

    def _follow_buys(
        self, slot: int, plan: SlotPlan, now: int, delegation: Delegation, report: StepReport
    ) -> None:
        want = max(plan.net_wh, 0)
        offered = plan.offered_wh("buy")
        minimum = self.link.params.min_order_wh
        tick = self._buy_tick(plan)
        # From the cancel cut-off the slot's orders are firm: a smaller need keeps its buys.
        if offered - want >= minimum and now < self.link.calendar.cancel_cutoff(slot):
            for order in [o for o in plan.orders if o.is_buy and o.status == "placed"]:
                self._cancel(slot, order, report)
            offered = plan.offered_wh("buy")
        if want - offered >= minimum:
            self.desk.place(slot, plan, True, tick, want - offered, now, delegation, report)

    def _cancel(self, slot: int, order: OrderEntry, report: StepReport) -> None:
        assert order.order_id is not None
        order.status = "cancelling"
        self.state.save()  # durable before the cancel is sent
        self.link.log("cancelling", slot=slot, order_id=order.order_id)
        try:
            self.send(self.link.market.cancel_order(order.order_id))
        except TransactionRevertedError as exc:
            report.errors.append(f"slot {slot} cancel {order.order_id}: {exc}")
            self._settle(slot, order)
            return
        except SEND_ERRORS as exc:
            report.errors.append(f"slot {slot} cancel {order.order_id}: {type(exc).__name__}")
            return  # reconcile() settles it
        order.status = "cancelled"
        self.state.save()
        report.cancelled.append(
            OrderAction(slot, order.side, order.tick, order.qty_wh, order.order_id)
        )
        self.link.log("cancelled", slot=slot, order_id=order.order_id)

    def _settle(self, slot: int, order: OrderEntry) -> None:
        """A ``cancelling`` order: cancelled when the market no longer holds it, else placed."""
        assert order.order_id is not None
        held = self.link.read(lambda: self.link.market.order(order.order_id or 0))
        order.status = "placed" if held is not None else "cancelled"
        self.state.save()
        self.link.log("reconciled_cancel", slot=slot, order_id=order.order_id, status=order.status)

    def reconcile(self) -> None:
        """Settle every ``cancelling`` order whose outcome is not recorded."""
        for slot, plan in self.state.slots.items():
            for order in plan.orders:
                if order.status == "cancelling" and not self.link.pending_txs():
                    self._settle(slot, order)
