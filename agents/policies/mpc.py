"""Model-predictive battery control: the bound's program, solved on forecasts, every hour.

Each hour the controller solves :class:`~agents.policies.bound.BatteryProgram` over the next
``horizon_hours`` with what the household can know at that moment:

* load and PV: its forecasts from the last complete hour (:mod:`agents.forecasting.provider`);
* tariffs: the day-ahead price where published, its forecast elsewhere;
* with ``MpcConfig(market=True)`` (off by default, see :class:`MpcConfig`), the market: the
  others' public orders of the same slot one day earlier (every order is on chain), as the
  price steps a single order could have got then (:func:`~agents.policies.bound.market_steps`),
  moved onto the planned slot's tariff range;
* the battery's state of charge now, and a value for the energy left at the horizon's end
  (``terminal_value`` times the horizon's mean feed-in-to-retail midpoint, times the one-way
  efficiency: stored energy later displaces a purchase, minus the loss of taking it out).

It follows the plan's battery power for the hour's slots, as a set-point relative to
self-consumption on the forecast surplus (the realised surplus moves it, as it would a real
inverter in self-consumption mode), and plans again at the next hour from the charge it then
has. Orders' prices are not its business: :class:`MpcStrategy` takes them from another strategy
(the halfway rule in ``agent eval``). Without a battery the set-point is 0.

:class:`BookMpc` plans every slot instead, with a recent book as the slot's market, and prices
its orders at the best response to the slot's visible book (the last mover with a plan; the
shipped PPO is a residual policy on top of it).

Plans are cached per (hour, state of charge): the battery path does not depend on the prices
(the battery follows set-point and realised surplus only), so strategies that share a
controller plan once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agents.community import (
    BatterySpec,
    Community,
    Decision,
    Fill,
    FloatArray,
    SlotView,
    Strategy,
    metered_wh,
)
from agents.data.calendar import SLOTS_PER_DAY, SLOTS_PER_HOUR
from agents.errors import ConfigError
from agents.forecasting.base import HORIZON
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import Halfway
from agents.policies.best_response import best_response_frac, expected_best_response_frac
from agents.policies.bound import BatteryProgram, Steps, market_steps, solve_program
from agents.policies.tick_model import TickModel
from agents.policies.visible import (
    MARKET_OPEN,
    MARKET_SEALED,
    OPEN_PLAN_LAG_SLOTS,
    Book,
    check_market,
    plan_lag_slots,
    pricing_book,
    pricing_scenarios,
    recent_book,
)
from agents.prosumer import OthersBook
from agents.tariffs import tariffs_from_spot
from market.clearing import MarketParams, Order

_NO_STEPS = Steps(np.zeros(0), np.zeros(0))


@dataclass(frozen=True, slots=True)
class MpcConfig:
    """How the controller plans.

    Attributes:
        horizon_hours: hours planned ahead (1..24: the forecasts' horizon).
        terminal_value: weight of the energy left at the horizon's end (module docstring).
        market: plan the slots after the first with a market model as well as the grid
            tariffs: each slot's book one day earlier (:class:`DayEarlierMarket`). Off by
            default. For :class:`MpcBattery` (hourly plans, halfway prices) it cost money: on
            held-out Oct..Dec 2018 (3 households) 57.0 % of the perfect-foresight bound even
            with exact load, PV and price forecasts, against 67.0 % for the grid-only plan on
            LightGBM forecasts. :class:`BookMpc` with it is the rule ``mpc_book_ahead``
            (docs/agents.md).
    """

    horizon_hours: int = HORIZON
    terminal_value: float = 1.0
    market: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_hours <= HORIZON:
            raise ConfigError(f"horizon_hours must be in 1..{HORIZON}, got {self.horizon_hours}")
        if not 0.0 <= self.terminal_value <= 2.0:
            raise ConfigError(f"terminal_value must be in 0..2, got {self.terminal_value}")


@dataclass
class DayEarlierMarket:
    """The market a planner expects in a later slot: the others' final book of the same slot
    one day earlier (seasonal naive on the book), as the price steps a single order could have
    got then (:func:`~agents.policies.bound.market_steps`), each price kept at its share of that
    day's feed-in..retail range and moved onto the range the planner expects for the slot.

    The caller asks only for slots whose book a day earlier is already final: :class:`BookMpc`
    asks for every slot of a day's plan but the last
    :func:`~agents.policies.visible.plan_lag_slots` ones and leaves those to the grid.

    Args:
        community: the community (each slot's tariffs).
        book: the other members' orders.
    """

    community: Community
    book: Book
    _steps: dict[int, tuple[Steps, Steps]] = field(default_factory=dict, repr=False)

    def steps(self, slot: int, feed_in: float, retail: float) -> tuple[Steps, Steps]:
        """``(buy, sell)`` steps of ``slot`` on the range ``feed_in..retail`` (EUR/kWh); no steps
        (the grid) before the book's first slot."""
        seen = slot - SLOTS_PER_DAY
        if seen < self.book.start:
            return _NO_STEPS, _NO_STEPS
        shares = self._steps.get(seen)
        if shares is None:
            tariffs = self.community.tariffs
            lo, hi = float(tariffs.feed_in[seen]), float(tariffs.retail[seen])
            buy, sell = market_steps(self.book.orders(seen), tariffs.market_params(seen))
            span = max(hi - lo, 1e-9)
            shares = (
                Steps(buy.widths, (buy.prices - lo) / span),
                Steps(sell.widths, (sell.prices - lo) / span),
            )
            self._steps[seen] = shares
        span = retail - feed_in
        buy, sell = shares
        return (
            Steps(buy.widths, feed_in + np.clip(buy.prices, 0.0, 1.0) * span),
            Steps(sell.widths, feed_in + np.clip(sell.prices, 0.0, 1.0) * span),
        )

    def later(
        self, decided: int, feed_in: FloatArray, retail: FloatArray
    ) -> list[tuple[Steps, Steps]]:
        """The market of slots ``decided + 1 ..``, one per ``feed_in``/``retail`` entry (the
        planned range of each)."""
        return [
            self.steps(decided + 1 + k, float(feed_in[k]), float(retail[k]))
            for k in range(len(feed_in))
        ]


@dataclass
class MpcBattery:
    """The battery controller of one household (module docstring).

    Args:
        community: the community.
        household: the household's index.
        forecasts: its forecasts.
        book: the other members' orders (only slots before the one planned are read).
        config: how to plan.
    """

    community: Community
    household: int
    forecasts: HouseholdForecasts
    book: OthersBook | None = None
    config: MpcConfig = field(default_factory=MpcConfig)
    _plans: dict[tuple[int, float], FloatArray] = field(default_factory=dict, repr=False)
    _hour: int = field(default=-1, repr=False)
    _current: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False)
    _market: DayEarlierMarket | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.config.market and self.book is not None:
            self._market = DayEarlierMarket(self.community, self.book)

    def setpoint(self, slot: int, soc_kwh: float) -> float:
        """The battery set-point for ``slot`` from charge ``soc_kwh``."""
        battery = self.community.households[self.household].battery
        if battery is None:
            return 0.0
        hour, quarter = divmod(slot, SLOTS_PER_HOUR)
        origin = max(hour - 1, 0)
        if quarter == 0 or self._hour != hour:
            key = (hour, round(soc_kwh, 9))
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._plan(hour * SLOTS_PER_HOUR, origin, soc_kwh)
            self._hour, self._current = hour, plan
        power = float(self._current[quarter]) if quarter < self._current.size else 0.0
        surplus = float(self.forecasts.pv_kw[origin, 0] - self.forecasts.load_kw[origin, 0])
        return battery.setpoint_for(power, surplus, soc_kwh)

    def _plan(self, first: int, origin: int, soc_kwh: float) -> FloatArray:
        """Battery power (kW) planned for the slots of the hour starting at slot ``first``."""
        community, f = self.community, self.forecasts
        hours = min(self.config.horizon_hours, (community.n_slots - first) // SLOTS_PER_HOUR)
        if hours <= 0:
            return np.zeros(SLOTS_PER_HOUR)
        load = hourly_to_slots(f.load_kw[origin, :hours])
        pv = hourly_to_slots(f.pv_kw[origin, :hours])
        tariffs = tariffs_from_spot(hourly_to_slots(f.spot[origin, :hours]), community.tariffs.spec)
        slots = range(first, first + hours * SLOTS_PER_HOUR)
        buys, sells = [], []
        for j, t in enumerate(slots):
            if self._market is None:
                b, s = _NO_STEPS, _NO_STEPS
            else:
                b, s = self._market.steps(t, float(tariffs.feed_in[j]), float(tariffs.retail[j]))
            buys.append(b)
            sells.append(s)
        battery = community.households[self.household].battery
        eff = battery.efficiency if battery else 1.0
        mid = float(np.mean(tariffs.feed_in + tariffs.retail) / 2.0)
        program = BatteryProgram(
            load_kw=load,
            pv_kw=pv,
            retail=tariffs.retail,
            feed_in=tariffs.feed_in,
            buys=buys,
            sells=sells,
            battery=battery,
            soc0_kwh=soc_kwh,
            terminal_eur_per_kwh=self.config.terminal_value * mid * eff,
            one_side=False,
        )
        return solve_program(program).battery_kw[:SLOTS_PER_HOUR]


class MpcStrategy:
    """The MPC battery with another strategy's order prices.

    Args:
        battery: the controller.
        prices: the strategy whose buy and sell prices are used (its battery is ignored).
        name: the method's name in reports.
    """

    def __init__(self, battery: MpcBattery, prices: Strategy, name: str) -> None:
        self.battery = battery
        self.prices = prices
        self.name = name

    def decide(self, view: SlotView) -> Decision:
        """Prices from :attr:`prices`, the set-point from the plan."""
        priced = self.prices.decide(view)
        return Decision(
            battery=self.battery.setpoint(view.slot, view.soc_kwh),
            buy_frac=priced.buy_frac,
            sell_frac=priced.sell_frac,
        )

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Pass the result on to the price strategy."""
        self.prices.observe(view, fill)


def hourly_to_slots(hourly: npt.ArrayLike, first_quarter: int = 0) -> FloatArray:
    """Hourly values as per-slot values (each hour's four quarters), without the first
    ``first_quarter`` quarters of the first hour (a plan that starts mid-hour)."""
    slots: FloatArray = np.repeat(np.asarray(hourly, dtype=np.float64), SLOTS_PER_HOUR)
    return slots[first_quarter:]


def plan_with_book(
    *,
    load_kw: FloatArray,
    pv_kw: FloatArray,
    retail: FloatArray,
    feed_in: FloatArray,
    others: Sequence[Order],
    params: MarketParams,
    battery: BatterySpec,
    soc_kwh: float,
    terminal_value: float = 1.0,
    later: Sequence[tuple[Steps, Steps]] = (),
) -> float:
    """Battery power (kW, positive = charging) for the first of the slots given, planned with
    ``others`` as that slot's market, ``later[k - 1]`` (buy and sell steps) as the market of
    slot ``k`` after it where given, and the grid tariffs alone elsewhere.

    The arrays hold one value per slot from the slot being decided on (load and PV forecasts,
    retail and feed-in prices in EUR/kWh); ``others`` are orders the slot's market is expected
    to hold (:class:`BookMpc` passes a recent final book), ``params`` its market (prices in
    micro-EUR per kWh, :data:`agents.tariffs.MICRO_EUR`). Energy left at the end is valued as in
    :class:`MpcBattery`.
    """
    n = len(load_kw)
    buy, sell = market_steps(list(others), params)
    later = list(later)[: n - 1]
    rest = [*later, *[(_NO_STEPS, _NO_STEPS)] * (n - 1 - len(later))]
    mid = float(np.mean(np.asarray(feed_in) + np.asarray(retail)) / 2.0)
    program = BatteryProgram(
        load_kw=np.asarray(load_kw, dtype=np.float64),
        pv_kw=np.asarray(pv_kw, dtype=np.float64),
        retail=np.asarray(retail, dtype=np.float64),
        feed_in=np.asarray(feed_in, dtype=np.float64),
        buys=[buy, *(b for b, _ in rest)],
        sells=[sell, *(s for _, s in rest)],
        battery=battery,
        soc0_kwh=soc_kwh,
        terminal_eur_per_kwh=terminal_value * mid * battery.efficiency,
        one_side=False,
    )
    return float(solve_program(program).battery_kw[0])


PRICING_BOOK = "book"
""":class:`BookMpc` step 2: the best response to the book it can read (the default)."""

PRICING_HALFWAY = "halfway"
""":class:`BookMpc` step 2: the halfway rule's prices (:class:`~agents.policies.baselines.Halfway`:
halfway between truthful and the last slot's public quotes), the same in both market modes.
Made for a sealed market, where the book step 2 could read is a slot old."""

PRICING_SCENARIOS = "scenarios"
""":class:`BookMpc` step 2: the tick that costs least on average over the books it can read
(:func:`~agents.policies.visible.pricing_scenarios`: a sealed market's newest revealed books;
an open market's visible book alone), on a grid of 5 % of the slot's range
(:func:`~agents.policies.best_response.expected_best_response_frac`)."""

PRICING_PREDICTED = "predicted"
""":class:`BookMpc` step 2: as :data:`PRICING_SCENARIOS`, but in a sealed market over the books a
learned model of the others' next ticks expects for the slot
(:meth:`~agents.policies.tick_model.TickModel.scenarios`; the revealed books while its history
is shorter); on chain :meth:`~agents.live.link.ChainLink.pricing_scenarios` with the model."""

PRICINGS = (PRICING_BOOK, PRICING_HALFWAY, PRICING_SCENARIOS, PRICING_PREDICTED)
"""How :class:`BookMpc` may price its orders, the default first."""


def check_pricing(pricing: str) -> str:
    """``pricing`` if it is one of :data:`PRICINGS`.

    Raises:
        ConfigError: any other value.
    """
    if pricing not in PRICINGS:
        raise ConfigError(f"unknown pricing {pricing!r}; known: {', '.join(PRICINGS)}")
    return pricing


BOOK_LAG_SLOTS = OPEN_PLAN_LAG_SLOTS
"""The newest book that is final when a slot starts in an open market: the slot two before it
(:data:`agents.policies.visible.OPEN_PLAN_LAG_SLOTS`; a sealed market's is
:data:`~agents.policies.visible.SEALED_PLAN_LAG_SLOTS`). (The on-chain runtime plans in the last
``plan_lead_seconds`` before the start, when the very last sells of that book may still be
missing.)"""


@dataclass
class BookMpc:
    """The last mover with a plan, in two steps that a household on chain can take:

    1. when the slot starts, the battery set-point from :func:`plan_with_book` on the forecasts,
       with the newest final book (:func:`~agents.policies.visible.plan_lag_slots` back: two
       slots in an open market, three in a sealed one; moved onto the slot's range) as the
       slot's market and the grid after it;
    2. just before gate closure, the order for the slot's metered net energy at the best
       response (:func:`~agents.policies.best_response.best_response_frac`) to the book it can
       read then (:func:`~agents.policies.visible.pricing_book`): in an open market every order
       of the slot is on chain; in a sealed one none is, and the newest revealed book (the slot
       before) stands in for it. With ``pricing="halfway"`` (:data:`PRICING_HALFWAY`) step 2
       reads no book at all: the orders carry the halfway rule's prices (halfway between
       truthful and the last slot's public quotes) and only the battery is the planner's.

    Where :class:`MpcBattery` plans once an hour on the grid tariffs, this one plans every slot
    with a recent book: it charges from offers like those just seen and discharges into such
    bids, which is where the perfect-foresight bound makes its market money (docs/agents.md).
    With ``MpcConfig(market=True)`` (the rule ``mpc_book_ahead``) the slots after the first are
    not left to the grid either: each gets the same slot's book one day earlier
    (:class:`DayEarlierMarket`), so the plan also keeps room for the trades of later hours.

    Args:
        community: the community.
        household: the household's index (needs a battery).
        forecasts: its forecasts.
        book: the other members' orders (in an open market step 2 reads the slot's own: that
            is the point).
        config: horizon, terminal value, and ``market``: the later slots' market model.
        name: the method's name in reports.
        market: the market mode (:data:`~agents.policies.visible.MARKET_MODES`).
        later_market: the later slots' market model instead of the day-earlier book (the
            learned :class:`~agents.policies.book_model.LearnedMarket` of
            ``mpc_book_learned``); implies planning the later slots.
        pricing: how step 2 prices the orders (:data:`PRICINGS`): ``book`` (the best response,
            the default), ``scenarios`` (the cheapest tick on average over the books it can
            read) or ``halfway`` (the rule ``mpc_book_ahead_halfway`` with
            ``MpcConfig(market=True)``).
        battery_reach: the share of the plan's set-point the battery follows (0..1; the
            set-point is relative to self-consumption, so 0 is self-consumption and 1, the
            default, the plan). Below 1 the plan only leans the battery off self-consumption:
            the rule ``halfway_ahead`` (halfway's prices, a quarter of the plan) for a sealed
            market, where a plan on forecasts and revealed books overrates its fills.
    """

    community: Community
    household: int
    forecasts: HouseholdForecasts
    book: Book
    config: MpcConfig = field(default_factory=MpcConfig)
    name: str = "mpc_book"
    market: str = MARKET_OPEN
    later_market: DayEarlierMarket | None = None
    pricing: str = PRICING_BOOK
    battery_reach: float = 1.0
    tick_model: TickModel | None = None

    _later: DayEarlierMarket | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.community.households[self.household].battery is None:
            raise ConfigError(f"household {self.household} has no battery to plan")
        check_market(self.market)
        check_pricing(self.pricing)
        if self.pricing == PRICING_PREDICTED and self.tick_model is None:
            self.tick_model = TickModel.load()  # the shipped one
        if not 0.0 <= self.battery_reach <= 1.0:
            raise ConfigError(f"battery_reach must be in 0..1, got {self.battery_reach}")
        if self.later_market is not None:
            self._later = self.later_market
        elif self.config.market:
            self._later = DayEarlierMarket(self.community, self.book)

    def setpoint(self, view: SlotView) -> float:
        """The planned battery set-point for ``view``'s slot (step 1)."""
        community, t, f = self.community, view.slot, self.forecasts
        battery = community.households[self.household].battery
        assert battery is not None  # __post_init__
        hour, quarter = divmod(t, SLOTS_PER_HOUR)
        origin = max(hour - 1, 0)
        hours = min(self.config.horizon_hours, (community.n_slots - t) // SLOTS_PER_HOUR + 1)
        load = hourly_to_slots(f.load_kw[origin, :hours], quarter)
        pv = hourly_to_slots(f.pv_kw[origin, :hours], quarter)
        spot = hourly_to_slots(f.spot[origin, :hours], quarter)
        tariffs = tariffs_from_spot(spot, community.tariffs.spec)
        # The slot's own prices are published (day-ahead), not forecast.
        retail, feed_in = tariffs.retail.copy(), tariffs.feed_in.copy()
        retail[0], feed_in[0] = community.tariffs.retail[t], community.tariffs.feed_in[t]
        params = community.tariffs.market_params(t)
        lag = plan_lag_slots(self.market)
        others = recent_book(community, self.book, t, lag)
        later = []
        if self._later is not None:
            # A day earlier is final up to the slot ``lag`` before this one.
            n = min(len(load), SLOTS_PER_DAY - lag + 1)
            later = self._later.later(t, feed_in[1:n], retail[1:n])
        power = plan_with_book(
            load_kw=load,
            pv_kw=pv,
            retail=retail,
            feed_in=feed_in,
            others=others,
            params=params,
            battery=battery,
            soc_kwh=view.soc_kwh,
            terminal_value=self.config.terminal_value,
            later=later,
        )
        return battery.setpoint_for(power, float(pv[0] - load[0]), view.soc_kwh)

    def priced(self, view: SlotView, setpoint: float) -> Decision:
        """``setpoint`` with the best-response price for the net energy it leads to (step 2),
        its scenario variants (``pricing="scenarios"`` or ``"predicted"``), or the halfway
        rule's prices (``pricing="halfway"``)."""
        if self.pricing == PRICING_HALFWAY:
            halfway = Halfway().decide(view)  # its battery (self-consumption) is ignored
            return Decision(
                battery=setpoint, buy_frac=halfway.buy_frac, sell_frac=halfway.sell_frac
            )
        community, t, i = self.community, view.slot, self.household
        house = community.households[i]
        assert house.battery is not None  # __post_init__
        surplus = float(community.pv_kw[i, t] - community.load_kw[i, t])
        net = metered_wh(house.battery.power(setpoint, surplus, view.soc_kwh), surplus)
        market = (
            community.tariffs.market_params(t),
            float(community.tariffs.retail[t]),
            float(community.tariffs.feed_in[t]),
        )
        if self.pricing in (PRICING_SCENARIOS, PRICING_PREDICTED):
            scenarios = []
            if self.tick_model is not None and self.market == MARKET_SEALED:
                scenarios = self.tick_model.scenarios(community, self.book, t)
            if not scenarios:
                scenarios = pricing_scenarios(community, self.book, t, self.market)
            frac = expected_best_response_frac(scenarios, house.id, net, *market)
        else:
            frac = best_response_frac(
                pricing_book(community, self.book, t, self.market), house.id, net, *market
            )
        return Decision(battery=setpoint, buy_frac=frac, sell_frac=frac)

    def decide(self, view: SlotView) -> Decision:
        """The planned set-point (times :attr:`battery_reach`) at the step-2 price."""
        setpoint = self.setpoint(view)
        if self.battery_reach != 1.0:
            setpoint *= self.battery_reach
        return self.priced(view, setpoint)

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn."""
