"""Rule-based strategies: truthful bidding, zero-intelligence-plus traders, a threshold battery.

* :class:`Truthful` bids each household's own marginal values (retail to buy, feed-in to sell)
  and runs its battery in self-consumption mode.
* :class:`ZIP` adapts its bid and ask prices to the market's clearing prices with the
  zero-intelligence-plus rule of Cliff, "Minimal-intelligence agents for bargaining behaviors in
  market-based environments", HP Labs Technical Report HPL-97-91, 1997, adapted to a call
  market (battery in self-consumption mode).
* :class:`Threshold` charges its battery at full power in the cheapest 30 % of each day's
  (published day-ahead) retail prices, runs self-consumption in the dearest 30 % and holds its
  charge in between (still storing PV surplus); it bids truthfully.
* :class:`Halfway` is the learned agents' zero action as a rule.
* :class:`BookResponse` orders last: it prices against the other members' orders of its own
  slot, public on chain before gate closure in an open market (docs/contracts.md, section 8);
  in a sealed market, against the newest revealed book (:mod:`agents.policies.visible`).
"""

from __future__ import annotations

import numpy as np

from agents.actions import action_to_decision, market_anchors
from agents.community import TRUTHFUL, Decision, Fill, SlotView, metered_wh
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.policies.best_response import best_response_frac, expected_best_response_frac
from agents.policies.visible import (
    MARKET_OPEN,
    Book,
    check_market,
    pricing_book,
    pricing_scenarios,
)
from market.clearing import MarketParams


class Truthful:
    """Bid retail, ask feed-in, battery in self-consumption mode."""

    name = "truthful"

    def decide(self, view: SlotView) -> Decision:
        """Always the truthful decision."""
        return TRUTHFUL

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn."""


class ZIP:
    """Zero-intelligence-plus trader (Cliff 1997) in tick-fraction space.

    The buy price ``b`` and ask ``s`` are fractions of the slot's tick range (0 = feed-in,
    1 = retail), so the limit prices are ``b <= 1`` and ``s >= 0``. After each slot with clearing
    fraction ``q``, each price moves towards a target ``tau`` with the Widrow-Hoff rule with
    momentum: ``G <- gamma * G + (1 - gamma) * beta * (tau - p)``, ``p <- p + G``.

    * Seller: if ``s <= q`` (it would have traded) raise towards ``tau = R_up * q + A_up``,
      otherwise lower towards ``tau = R_down * q - A_down``.
    * Buyer: if ``b >= q`` lower towards ``tau = R_down * q - A_down``, otherwise raise towards
      ``R_up * q + A_up``.
    * If nothing cleared, sellers lower towards ``R_down * s - A_down`` and buyers raise towards
      ``R_up * b + A_up``.

    ``R_up ~ U(1, 1.05)``, ``R_down ~ U(0.95, 1)``, ``A ~ U(0, 0.05)`` are drawn per update; the
    learning rate ``beta ~ U(0.1, 0.5)`` and momentum ``gamma ~ U(0, 0.1)`` once per trader, as
    in the original paper.

    Args:
        seed: seed of the trader's random draws.
    """

    name = "zip"

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self.beta = float(self._rng.uniform(0.1, 0.5))
        self.gamma = float(self._rng.uniform(0.0, 0.1))
        self.bid = float(self._rng.uniform(0.5, 1.0))
        self.ask = float(self._rng.uniform(0.0, 0.5))
        self._bid_momentum = 0.0
        self._ask_momentum = 0.0

    def decide(self, view: SlotView) -> Decision:
        """Self-consumption battery; current adaptive bid and ask."""
        return Decision(battery=0.0, buy_frac=self.bid, sell_frac=self.ask)

    def _up(self, price: float) -> float:
        return float(self._rng.uniform(1.0, 1.05) * price + self._rng.uniform(0.0, 0.05))

    def _down(self, price: float) -> float:
        return float(self._rng.uniform(0.95, 1.0) * price - self._rng.uniform(0.0, 0.05))

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Move bid and ask towards the targets the last clearing suggests."""
        q = fill.cleared_tick_frac
        if np.isnan(q):
            ask_target, bid_target = self._down(self.ask), self._up(self.bid)
        else:
            ask_target = self._up(q) if self.ask <= q else self._down(q)
            bid_target = self._down(q) if self.bid >= q else self._up(q)
        self._ask_momentum = self.gamma * self._ask_momentum + (1 - self.gamma) * self.beta * (
            ask_target - self.ask
        )
        self._bid_momentum = self.gamma * self._bid_momentum + (1 - self.gamma) * self.beta * (
            bid_target - self.bid
        )
        self.ask = min(max(self.ask + self._ask_momentum, 0.0), 1.0)
        self.bid = min(max(self.bid + self._bid_momentum, 0.0), 1.0)


class Threshold:
    """Per-day price thresholds for the battery, truthful bids.

    Args:
        low: quantile of the day's retail prices at or below which the battery charges (0..1).
        high: quantile at or above which it runs self-consumption (low..1).
    """

    name = "threshold"

    def __init__(self, low: float = 0.3, high: float = 0.7) -> None:
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigError(f"need 0 <= low <= high <= 1, got {low}, {high}")
        self.low = low
        self.high = high

    def decide(self, view: SlotView) -> Decision:
        """Charge when cheap, self-consume when dear, otherwise hold (store PV surplus only)."""
        community, t, i = view.community, view.slot, view.household
        day = t - t % SLOTS_PER_DAY
        prices = community.tariffs.retail[day : day + SLOTS_PER_DAY]
        price = community.tariffs.retail[t]
        if price <= np.quantile(prices, self.low):
            return Decision(battery=1.0)
        if price >= np.quantile(prices, self.high):
            return TRUTHFUL
        battery = community.households[i].battery
        if battery is None:
            return TRUTHFUL
        surplus = float(community.pv_kw[i, t] - community.load_kw[i, t])
        if surplus >= 0:
            return TRUTHFUL
        return Decision(battery=battery.setpoint_for(0.0, surplus, view.soc_kwh))  # hold

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn."""


class Halfway:
    """Prices halfway between truthful and the last slot's public quotes; self-consumption.

    The zero action of the learned agents' price space
    (:func:`agents.actions.action_to_decision`): what a policy does before it learns.
    """

    name = "halfway"

    def decide(self, view: SlotView) -> Decision:
        """The zero action on the last slot's anchors."""
        anchors = market_anchors(view.history, view.slot)
        return action_to_decision((0.0, 0.0, 0.0), anchors, battery_reach=0.0)

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn."""


def _slot_market(view: SlotView) -> tuple[MarketParams, float, float]:
    """The decided slot's market and tariffs (retail, feed-in), as the pricing functions take
    them."""
    tariffs, t = view.community.tariffs, view.slot
    return tariffs.market_params(t), float(tariffs.retail[t]), float(tariffs.feed_in[t])


class BookResponse:
    """The last mover: the best tick against the slot's visible book; self-consumption.

    Every order is public on chain the moment it is mined, so a household that places its
    order just before gate closure sees the others' orders of that slot. This one tries the
    ticks where the outcome can change (each of the others' ticks and its neighbours, the
    floor and the top) and keeps the cheapest for its own metered net energy, as the other
    strategies' orders carry it (:func:`~agents.policies.best_response.best_response_frac`).
    It is not learned; it measures what seeing the book is worth for pricing alone. In a
    sealed market no order of the slot is readable before gate closure: it runs its no-book
    variant, the best response to the newest revealed book moved onto the slot's range
    (:func:`~agents.policies.visible.pricing_book`).

    Args:
        book: the other members' orders (in an open market the slot being decided is read:
            that is the point).
        market: the market mode (:data:`~agents.policies.visible.MARKET_MODES`).
    """

    name = "book_response"

    def __init__(self, book: Book, market: str = MARKET_OPEN) -> None:
        self.book = book
        self.market = check_market(market)

    def decide(self, view: SlotView) -> Decision:
        """Self-consumption, and the tick with the lowest cost for the slot's net energy."""
        community, t, i = view.community, view.slot, view.household
        house = community.households[i]
        surplus = float(community.pv_kw[i, t] - community.load_kw[i, t])
        power = house.battery.power(0.0, surplus, view.soc_kwh) if house.battery else 0.0
        frac = self.frac(view, metered_wh(power, surplus))
        return Decision(buy_frac=frac, sell_frac=frac)

    def frac(self, view: SlotView, net_wh: int) -> float:
        """The tick fraction of the order for ``net_wh`` (positive: buy)."""
        community, t = view.community, view.slot
        return best_response_frac(
            pricing_book(community, self.book, t, self.market),
            community.households[view.household].id,
            net_wh,
            *_slot_market(view),
        )

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn."""


class ScenarioResponse(BookResponse):
    """The book response of a trader who cannot see the slot's book: the tick that costs least
    on average over the books it can read (self-consumption).

    In a sealed market those are the newest revealed books, each moved onto the slot's range
    (:func:`~agents.policies.visible.pricing_scenarios`), and the tick is one of a grid of 5 %
    of the range (:func:`~agents.policies.best_response.expected_best_response_frac`): one
    stale book's marginal ticks are not the slot's. In an open market its one scenario is the
    slot's visible book (the book response on the grid).
    """

    name = "scenario_response"

    def frac(self, view: SlotView, net_wh: int) -> float:
        """The tick fraction with the least mean cost over the scenarios."""
        community, t = view.community, view.slot
        return expected_best_response_frac(
            pricing_scenarios(community, self.book, t, self.market),
            community.households[view.household].id,
            net_wh,
            *_slot_market(view),
        )
