"""Deciding the next slot: forecast, policy, battery model, plans.

For the slot that starts after ``now`` (once its order window is open): forecast load, PV and
prices, ask the policy for a battery set-point and buy/sell prices, run the battery model, and
place a buy order for the expected import. An expected export becomes a *sell plan*: sell
orders need the slot's energy tokens in the owner's vault, which the meter mints after the slot,
so the plan is placed (up to what the vault holds) during the slot's settlement window.

**Book policies** decide in two steps, as the simulator's :class:`~agents.policies.mpc.BookMpc`:
in the last ``plan_lead_seconds`` before the slot starts the battery set-point is planned on
the forecasts with the chain's newest book (the orders of the slot
:data:`~agents.policies.mpc.BOOK_LAG_SLOTS` back, other owners' only, cancelled ones removed)
as the slot's market; the expected import becomes a *buy plan* like the sell plan. Both plans
are placed late (:mod:`agents.live.placing`). A policy that plans ahead (``mpc_book_ahead``)
also gets, for each slot after the one decided, the other owners' final book of the same slot
a day earlier; each such book is read from the chain once and kept for the day. A policy with
a learned book model (``mpc_book_learned``) also gets the books and PV of the two days behind
the decision (:mod:`agents.live.learned_market`), and its books are kept for two days. A book
policy that prices as the halfway rule (``pricing == "halfway"``: a sealed market's learned
planner) has its orders placed late all the same, at its decision's prices; one that prices on
scenarios (``pricing == "scenarios"``: ``scenario_response``) at the least mean cost over the
newest revealed books.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.community import BatterySpec, Decision, metered_wh
from agents.errors import PolicyError
from agents.live.forecasts import Forecaster, SlotForecast
from agents.live.link import ChainLink
from agents.live.placing import OrderDesk
from agents.live.policies import RuntimePolicy, SlotContext
from agents.live.reports import StepReport
from agents.live.state import AgentState, SlotPlan
from agents.policies.mpc import PRICING_BOOK, PRICING_HALFWAY
from energychain.records import Delegation
from market.clearing import MarketParams, Order

if TYPE_CHECKING:
    from agents.live.learned_market import LearnedBooks


@dataclass
class Decider:
    """Decides each slot once, and places what is placed at once (see the module docstring)."""

    link: ChainLink
    state: AgentState
    desk: OrderDesk
    policy: RuntimePolicy
    forecaster: Forecaster | None
    battery: BatterySpec | None
    plan_lead_seconds: int
    book_policy: bool = field(init=False)
    books_ahead: bool = field(init=False)
    pricing: str = field(init=False)
    learned: LearnedBooks | None = field(init=False, default=None)
    _final_books: dict[int, tuple[Order, ...]] = field(init=False, default_factory=dict)
    _params_now: MarketParams | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.book_policy = bool(getattr(self.policy, "book_policy", False))
        self.books_ahead = self.book_policy and bool(getattr(self.policy, "books_ahead", False))
        self.pricing = (
            str(getattr(self.policy, "pricing", PRICING_BOOK)) if self.book_policy else PRICING_BOOK
        )
        model = getattr(self.policy, "market_model", None) if self.books_ahead else None
        if model is not None:
            from agents.live.learned_market import SLOT_SECONDS, LearnedBooks

            calendar = self.link.calendar
            if calendar.slot_seconds != SLOT_SECONDS:
                raise PolicyError(
                    f"policy {self.policy.name}: its book model was trained on {SLOT_SECONDS} s "
                    f"slots, this chain's last {calendar.slot_seconds} s"
                )
            self.learned = LearnedBooks(
                model,
                self.link.plan_lag_slots(),
                calendar.start,
                self._final_book,
                self._grid,
                self.forecaster,
            )

    def decide(self, now: int, delegation: Delegation, report: StepReport) -> None:
        """Decide the next slot if it is time (and retry lost sends of a decided one)."""
        calendar = self.link.calendar
        slot = calendar.slot_of(now) + 1
        existing = self.state.slot(slot)
        if existing is not None:
            if not existing.book:  # a book policy's orders are placed late
                self.desk.retry_unsent(slot, existing, now, delegation, report)
            return
        start = calendar.start(slot)
        if now + self.link.params.open_ahead_seconds < start:
            return
        if self.book_policy and now < start - self.plan_lead_seconds:
            return  # plan as late as possible: the book two slots back is still filling
        forecast = self.forecaster.forecast(start) if self.forecaster is not None else None
        low, high = self.link.price_range(forecast)
        context = self._context(slot, start, forecast, low, high)
        decision = self.policy.decide(context)
        net_wh, power, soc_next = self.plan(decision, forecast, self.state.soc_kwh)
        buy_tick = self.link.tick_for(low + decision.buy_frac * (high - low))
        sell_tick = self.link.tick_for(low + decision.sell_frac * (high - low))
        plan = SlotPlan(decision, net_wh, power, max(-net_wh, 0), sell_tick, buy_tick=buy_tick)
        if self.book_policy:
            unit = self.link.unit()
            plan.book, plan.buy_plan_wh, plan.pricing = True, max(net_wh, 0), self.pricing
            plan.retail, plan.feed_in = high / unit, low / unit
        self.state.slots[slot] = plan
        self.state.soc_kwh = soc_next
        self.state.save()
        report.decided_slot, report.decision = slot, decision
        book: dict[str, object] = (
            {
                "recent_book": len(context.recent_book),
                "priced_at": "decision" if self.pricing == PRICING_HALFWAY else "gate_closure",
            }
            if self.book_policy
            else {}
        )
        if self.books_ahead:
            book["later_books"] = sum(1 for b in context.later_books if b)
        if self.learned is not None:
            book["later_market"] = "learned" if context.book_window is not None else "day_earlier"
        self.link.log(
            "decision",
            slot=slot,
            policy=self.policy.name,
            battery=decision.battery,
            buy_frac=decision.buy_frac,
            sell_frac=decision.sell_frac,
            net_wh=net_wh,
            soc_kwh=soc_next,
            buy_tick=buy_tick,
            sell_tick=sell_tick,
            **book,
        )
        if net_wh > 0 and not self.book_policy:
            self.desk.place(slot, plan, True, buy_tick, net_wh, now, delegation, report)

    def _context(
        self, slot: int, start: int, forecast: SlotForecast | None, low: float, high: float
    ) -> SlotContext:
        recent_book: tuple[Order, ...] = ()
        params_micro: MarketParams | None = None
        later_books: tuple[tuple[Order, ...], ...] = ()
        if self.book_policy:
            # the newest final book: two slots back in an open market, three in a sealed one
            recent_book = self.link.visible_book(slot - self.link.plan_lag_slots())
            params_micro = self._params_now = self.link.params_micro()
        if self.books_ahead:
            later_books = self._day_earlier_books(slot)
        window = self.learned.window(slot) if self.learned is not None else None
        return SlotContext(
            slot=slot,
            slot_start=start,
            soc_kwh=self.state.soc_kwh,
            battery=self.battery,
            forecast=forecast,
            market=self.link.market_snapshot(slot, low, high),
            recent_book=recent_book,
            params_micro=params_micro,
            later_books=later_books,
            book_window=window,
        )

    def _day_earlier_books(self, slot: int) -> tuple[tuple[Order, ...], ...]:
        """For each slot after ``slot`` whose book a day earlier is final now, that book (read
        once: a final book never changes)."""
        day = 86_400 // self.link.calendar.slot_seconds
        newest = slot - self.link.plan_lag_slots()
        kept = 2 * day if self.learned is not None else day  # a learned model reads two days
        for old in [s for s in self._final_books if s < slot - kept]:
            del self._final_books[old]
        return tuple(self._final_book(seen) for seen in range(slot + 1 - day, newest + 1))

    def _grid(self, _slot: int) -> MarketParams:
        """The chain's market for any slot's book (one grid for every slot on chain), as read
        for the decision being made: one chain read per decision, not one per summarised book."""
        if self._params_now is None:
            self._params_now = self.link.params_micro()
        return self._params_now

    def _final_book(self, slot: int) -> tuple[Order, ...]:
        """The other owners' final book of ``slot``, read from the chain once."""
        if slot not in self._final_books:
            self._final_books[slot] = self.link.visible_book(slot)
        return self._final_books[slot]

    def plan(
        self, decision: Decision, forecast: SlotForecast | None, soc: float
    ) -> tuple[int, float, float]:
        """``(net import Wh, battery kW, next state of charge)`` the decision implies."""
        if forecast is None:
            return 0, 0.0, soc
        surplus = forecast.pv_now - forecast.load_now
        power = 0.0
        if self.battery is not None:
            power = self.battery.power(decision.battery, surplus, soc)
            soc = self.battery.next_soc(soc, power)
        return metered_wh(power, surplus), float(power), float(soc)
