"""Placing the live agent's orders: the contract's rules checked first, the intent made durable
before anything is sent.

Before sending anything the desk checks what the contract would reject, with one clear reason:
the order window, the owner's price bounds (a buy above ``maxBuyTick`` is lowered to it, a sell
below ``minSellTick`` raised to it: a stricter price is still the owner's rule), the day's budget
and the owner's vault balance (a buy that does not fit is cut to what does, or refused), the
market's smallest order. A send is never retried blindly (the node may have taken it): the
intent stays open and reconciliation (:mod:`agents.live.claiming`) settles it.

In a sealed market the order is committed instead (:mod:`energychain.commitments`): a fresh
32-byte salt, the order and the id the commitment will get are written to the state file
(fsynced) before ``commitOrder`` is sent, with the least collateral the order needs (a buy's
escrow, a sell's Wh, and the bond in money either way). :mod:`agents.live.revealing` reveals it
after gate closure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.community import to_tick
from agents.live.link import SEND_ERRORS, ChainLink
from agents.live.reports import OrderAction, StepReport
from agents.live.state import AgentState, OrderEntry, Side, SlotPlan
from agents.policies.mpc import PRICING_HALFWAY, PRICING_PREDICTED, PRICING_SCENARIOS
from energychain.commitments import SealedOrder, commit_id, minimum_collateral, new_salt
from energychain.records import Delegation
from energychain.sealed_market import SealedMarket
from market.clearing import WH_PER_KWH, buy_escrow
from wallet.errors import TransactionRevertedError
from wallet.transactions import TxRequest

if TYPE_CHECKING:
    from agents.policies.tick_model import TickModel

Send = Callable[[TxRequest], Any]
"""Sends a request and returns its receipt (the runtime's hook: tests interpose a crash)."""


@dataclass
class Checked:
    """An order after the contract's rules: possibly adjusted, or refused with a reason."""

    tick: int
    qty: int
    refusal: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class OrderDesk:
    """Checks and places orders for the owner through the agent key (see the module docstring)."""

    link: ChainLink
    state: AgentState
    send: Send
    late_seconds: int
    _ticks: TickModel | None = field(init=False, default=None, repr=False)

    # ------------------------------------------------------------------ checks
    def check(
        self, slot: int, is_buy: bool, tick: int, qty: int, now: int, d: Delegation
    ) -> Checked:
        """The order under the contract's rules (see the module docstring)."""
        closure = self.link.calendar.gate_closure(slot)
        out = Checked(tick, qty)
        if now >= closure:
            out.refusal = f"slot {slot} closed at {closure}"
            return out
        if is_buy and out.tick > d.max_buy_tick:
            out.notes.append(
                f"buy tick {out.tick} lowered to the owner's max buy tick {d.max_buy_tick}"
            )
            out.tick = d.max_buy_tick
        if not is_buy and out.tick < d.min_sell_tick:
            out.notes.append(
                f"sell tick {out.tick} raised to the owner's min sell tick {d.min_sell_tick}"
            )
            out.tick = d.min_sell_tick
        max_tick = self.link.params.max_tick
        if out.tick > max_tick:
            out.refusal = f"tick {out.tick} above the market's max tick {max_tick}"
            return out
        if is_buy:
            self._fit_budget(out, d)
        else:
            self._fit_sell_limit(out, d)
        if out.refusal is not None:
            return out
        minimum = self.link.params.min_order_wh
        if out.qty < minimum:
            out.refusal = f"{out.qty} Wh is below the market's minimum {minimum}"
        return out

    def _fit_sell_limit(self, out: Checked, d: Delegation) -> None:
        """Cut a sell to what the rolling sell limit allows now (or refuse it)."""
        remaining = d.sell_remaining()
        if out.qty <= remaining:
            return
        if remaining < self.link.params.min_order_wh:
            out.refusal = (
                f"sell limit: {out.qty} Wh offered, {remaining} of {d.sell_wh_per_day} left"
            )
            return
        out.notes.append(f"quantity cut from {out.qty} to {remaining} Wh to fit the sell limit")
        out.qty = int(remaining)

    def _fit_budget(self, out: Checked, d: Delegation) -> None:
        """Cut a buy to what the rolling budget and the owner's vault allow (or refuse it)."""
        price = self.link.params.price(out.tick)
        remaining = d.remaining()
        balance = self.link.read(lambda: self.link.market.balance_of(self.link.owner))
        affordable = min(remaining, balance)
        needed = buy_escrow(out.qty, price)
        if needed <= affordable:
            return
        fit = affordable * WH_PER_KWH // price if price else out.qty
        while fit > 0 and buy_escrow(fit, price) > affordable:
            fit -= 1
        if fit < self.link.params.min_order_wh:
            out.refusal = (
                f"budget: {needed} needed, {remaining} of {d.budget_per_day} left now"
                if remaining <= balance
                else f"owner's vault holds {balance}, {needed} needed"
            )
            return
        out.notes.append(f"quantity cut from {out.qty} to {fit} Wh to fit the budget/balance")
        out.qty = int(fit)

    # ------------------------------------------------------------------ placing
    def place(
        self,
        slot: int,
        plan: SlotPlan,
        is_buy: bool,
        tick: int,
        qty: int,
        now: int,
        d: Delegation,
        report: StepReport,
    ) -> None:
        """Check, record the intent, send ``placeOrder``, record the outcome."""
        side: Side = "buy" if is_buy else "sell"
        checked = self.check(slot, is_buy, tick, qty, now, d)
        tick, qty = checked.tick, checked.qty
        for note in checked.notes:
            self.link.log("adjusted", slot=slot, side=side, note=note)
        if checked.refusal is not None:
            self._refuse(slot, plan, OrderEntry(side, tick, qty, "intent"), checked.refusal, report)
            return
        block = int(self.link.read(lambda: self.link.w3.eth.block_number))
        order = OrderEntry(side, tick, qty, "intent", block=block)
        if self.link.sealed:
            self._commit(slot, plan, order, d, report)
            return
        request = self.link.market.place_order(self.link.owner, slot, is_buy, tick, qty)
        self._send_intent(slot, plan, order, request, report)

    def _commit(
        self, slot: int, plan: SlotPlan, order: OrderEntry, d: Delegation, report: StepReport
    ) -> None:
        """Sealed market: record the order with its salt and predicted commit id, then send the
        commitment (see the module docstring)."""
        market = self.link.market
        assert isinstance(market, SealedMarket)
        sealed = SealedOrder(
            slot, self.link.owner, order.is_buy, order.tick, order.qty_wh, new_salt()
        )
        collateral = minimum_collateral(sealed, self.link.params, self.link.bond())
        affordable = min(d.remaining(), self.link.read(lambda: market.balance_of(self.link.owner)))
        if collateral.money > affordable:
            reason = (
                f"collateral {collateral.money} above what budget and vault allow ({affordable})"
            )
            self._refuse(slot, plan, order, reason, report)
            return
        chain_id = self.link.sender.chain_id
        fee_bps = self.link.read(lambda: market.params().fee_bps)
        order.salt = sealed.salt.hex()
        order.order_id = commit_id(sealed, chain_id, market.address, fee_bps)
        self._send_intent(
            slot, plan, order, market.commit_order(sealed, collateral, chain_id), report
        )

    def _refuse(
        self, slot: int, plan: SlotPlan, order: OrderEntry, reason: str, report: StepReport
    ) -> None:
        """Record ``order`` as refused before sending (decided once, not retried)."""
        order.status, order.reason = "refused", reason
        plan.orders.append(order)
        self.state.save()
        report.refused.append(
            OrderAction(slot, order.side, order.tick, order.qty_wh, reason=reason)
        )
        self.link.log("refused", slot=slot, reason=reason, **order.summary())

    def _send_intent(
        self, slot: int, plan: SlotPlan, order: OrderEntry, request: TxRequest, report: StepReport
    ) -> None:
        """Make ``order`` durable as an intent (a sealed order with its salt and predicted id),
        send ``request`` (``placeOrder`` or ``commitOrder``), record what came of it. A send that
        may or may not have reached the node leaves the intent for reconciliation."""
        plan.orders.append(order)
        self.state.save()  # the intent is durable before anything is sent
        self.link.log("intent", slot=slot, order_id=order.order_id, **order.summary())
        try:
            receipt = self.send(request)
        except TransactionRevertedError as exc:
            order.status, order.reason = "failed", str(exc)
            self.state.save()
            report.errors.append(f"slot {slot} {order.side}: {exc}")
            self.link.log("failed", slot=slot, side=order.side, error=str(exc))
            return
        except SEND_ERRORS as exc:
            report.errors.append(f"slot {slot} {order.side}: {type(exc).__name__}: {exc}")
            self.link.log(
                "send_error", slot=slot, side=order.side, error=f"{type(exc).__name__}: {exc}"
            )
            return
        # the open market's OrderPlaced, or the sealed market's OrderCommitted (its id: commitId)
        if order.salt is None:
            status, placed = "placed", self.link.market.events(receipt, "OrderPlaced")[0]
            order.order_id = int(placed["args"]["orderId"])
        else:
            status, committed = "committed", self.link.market.events(receipt, "OrderCommitted")[0]
            order.order_id = int(committed["args"]["commitId"])
        order.status, order.tx = status, receipt["transactionHash"].to_0x_hex()
        self.state.save()
        report.placed.append(
            OrderAction(slot, order.side, order.tick, order.qty_wh, order_id=order.order_id)
        )
        self.link.log(status, slot=slot, order_id=order.order_id, tx=order.tx, **order.summary())

    def retry_unsent(
        self, slot: int, plan: SlotPlan, now: int, d: Delegation, report: StepReport
    ) -> None:
        """Place again the orders whose send was lost (reconciliation found them missing)."""
        for order in list(plan.orders):
            if order.status == "unsent":
                order.status = "retried"
                self.place(slot, plan, order.is_buy, order.tick, order.qty_wh, now, d, report)

    # ------------------------------------------------------------------ late orders
    def late(self, slot: int, now: int) -> bool:
        """Whether ``now`` is in ``slot``'s late window (book policies' orders)."""
        closure = self.link.calendar.gate_closure(slot)
        return closure - self.late_seconds <= now < closure

    def best_response_tick(self, slot: int, plan: SlotPlan, net_wh: int, now: int) -> int:
        """The tick of the best response for ``net_wh`` (positive: buy) to ``slot``'s visible
        book (or, for a plan priced on scenarios, the tick with the least mean cost over the
        books :meth:`~agents.live.link.ChainLink.pricing_scenarios` reads, with the tick
        model's books for a plan priced ``predicted``), on the slot's tariffs as decided."""
        from agents.policies.best_response import best_response_frac, expected_best_response_frac

        params = self.link.params_micro()
        retail, feed_in = float(plan.retail or 0.0), float(plan.feed_in or 0.0)
        scenarios: dict[str, int] = {}
        if plan.pricing in (PRICING_SCENARIOS, PRICING_PREDICTED):
            books = self.link.pricing_scenarios(slot, self._tick_model(plan.pricing))
            frac = expected_best_response_frac(books, "own", net_wh, params, retail, feed_in)
            orders = sum(len(book) for book in books)
            scenarios["scenarios"] = len(books)
        else:
            book = self.link.pricing_book(slot)
            frac = best_response_frac(book, "own", net_wh, params, retail, feed_in)
            orders = len(book)
        tick = to_tick(frac, params)
        self.link.log(
            "priced",
            slot=slot,
            side="buy" if net_wh > 0 else "sell",
            qty_wh=abs(net_wh),
            book_orders=orders,
            **scenarios,
            frac=frac,
            tick=tick,
            seconds_to_gate_closure=self.link.calendar.gate_closure(slot) - now,
        )
        return tick

    def _tick_model(self, pricing: str) -> TickModel | None:
        """The shipped tick model for a plan priced on its books (``predicted``), read once."""
        if pricing != PRICING_PREDICTED:
            return None
        if self._ticks is None:
            from agents.policies.tick_model import TickModel

            self._ticks = TickModel.load()
        return self._ticks

    def late_tick(self, slot: int, plan: SlotPlan, net_wh: int, now: int) -> int:
        """The tick of a book policy's late order for ``net_wh`` (positive: buy): the best
        response or its scenario variant (:meth:`best_response_tick`), or the decision's tick
        for a plan priced as the halfway rule (``plan.pricing``)."""
        if plan.pricing != PRICING_HALFWAY:
            return self.best_response_tick(slot, plan, net_wh, now)
        tick = plan.buy_tick if net_wh > 0 else plan.sell_tick
        assert tick is not None  # every decision records its ticks
        return tick

    def place_late_buys(self, now: int, delegation: Delegation, report: StepReport) -> None:
        """Place book policies' buy plans in the late window, at the best response (or at the
        decision's tick: :meth:`late_tick`)."""
        minimum = self.link.params.min_order_wh
        for slot, plan in list(self.state.slots.items()):
            if not plan.book or plan.buy_plan_wh <= 0 or not self.late(slot, now):
                continue
            if plan.gave_up("buy"):
                continue  # decided once: not retried every step
            offered = plan.offered_wh("buy")
            qty = plan.buy_plan_wh - offered
            if qty <= 0 or (offered and qty < minimum):
                continue
            tick = self.late_tick(slot, plan, qty, now)
            self.place(slot, plan, True, tick, qty, now, delegation, report)

    def place_sells(self, now: int, report: StepReport) -> None:
        """Offer planned exports of ended slots whose tokens the vault now holds (book
        policies: in the late window, at :meth:`late_tick`)."""
        current = self.link.calendar.slot_of(now)
        delegation: Delegation | None = None
        for slot, plan in list(self.state.slots.items()):
            if plan.sell_plan_wh <= 0 or slot >= current:
                continue
            if now >= self.link.calendar.gate_closure(slot):
                continue
            if plan.book and not self.late(slot, now):
                continue
            offered = plan.offered_wh("sell")
            if offered >= plan.sell_plan_wh:
                continue
            held = self.link.read(
                lambda s=slot: self.link.market.energy_balance_of(  # type: ignore[misc]
                    self.link.owner, s
                )
            )
            qty = min(plan.sell_plan_wh - offered, held)
            if qty < self.link.params.min_order_wh:
                continue
            delegation = delegation or self.link.delegation(now)
            tick = self.late_tick(slot, plan, -qty, now) if plan.book else plan.sell_tick
            self.place(slot, plan, False, tick, qty, now, delegation, report)
