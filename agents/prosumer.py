"""One prosumer in the community market, with the other members' orders replayed.

The other households' orders come from a run of the community without this household in the
market (:func:`others_book`); they do not react to it within a run. Each slot the prosumer's
order is cleared *together with* the others' orders by :func:`market.clearing.settle`, so its
tick moves the clearing price for everyone. The same slot function serves the gymnasium
environment, the rule-based baselines and the learned policies, so all are measured alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agents.community import (
    Community,
    Decision,
    Fill,
    FloatArray,
    IntArray,
    MarketHistory,
    SimulationResult,
    SlotView,
    Strategy,
    clear_and_cost,
    grid_cost,
    metered_wh,
    order_for,
    simulate,
)
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.forecasting.base import HORIZON
from agents.forecasting.provider import HouseholdForecasts
from market.clearing import Order, Side


@dataclass(frozen=True, slots=True)
class OthersBook:
    """The other members' orders per slot (recorded, replayed).

    Attributes:
        household: index of the prosumer the book leaves out.
        start: first recorded slot.
        ids: order ids of the other households.
        side: +1 buy / -1 sell / 0 none, shape (others, slots).
        tick: ticks, same shape.
        qty_wh: quantities, same shape.
    """

    household: int
    start: int
    ids: tuple[str, ...]
    side: IntArray
    tick: IntArray
    qty_wh: IntArray

    @classmethod
    def recorded(
        cls, community: Community, household: int, start: int, result: SimulationResult
    ) -> OthersBook:
        """The orders every member but ``household`` placed in ``result``, a run from slot
        ``start`` on: the book that household faced."""
        keep = [i for i in range(len(community.households)) if i != household]
        return cls(
            household=household,
            start=start,
            ids=tuple(community.households[i].id for i in keep),
            side=result.order_side[keep],
            tick=result.order_tick[keep],
            qty_wh=result.order_wh[keep],
        )

    @property
    def end(self) -> int:
        """Slot after the last recorded one."""
        return self.start + int(self.side.shape[1])

    def orders(self, slot: int) -> list[Order]:
        """The others' orders of ``slot``.

        Raises:
            ConfigError: ``slot`` was not recorded.
        """
        if not self.start <= slot < self.end:
            raise ConfigError(f"slot {slot} outside the recorded {self.start}..{self.end}")
        j = slot - self.start
        orders = []
        for k in np.flatnonzero(self.side[:, j]):
            side = Side.BUY if self.side[k, j] > 0 else Side.SELL
            orders.append(Order(self.ids[k], side, int(self.tick[k, j]), int(self.qty_wh[k, j])))
        return orders

    def visible(self, slot: int) -> list[Order]:
        """The others' orders of ``slot`` as an open market shows them just before gate closure:
        the final book (the replayed members never cancel).

        Raises:
            ConfigError: ``slot`` was not recorded.
        """
        return self.orders(slot)


def others_book(
    community: Community,
    household: int,
    strategies: Sequence[Strategy],
    start: int,
    end: int,
) -> OthersBook:
    """Run the community over ``[start, end)`` without ``household`` in the market and record the
    others' orders."""
    in_market = [i != household for i in range(len(community.households))]
    result = simulate(community, strategies, start, end, in_market=in_market)
    return OthersBook.recorded(community, household, start, result)


@dataclass(frozen=True, slots=True)
class SlotResult:
    """What one slot did for the prosumer.

    Attributes:
        fill: market result (net energy, P2P energy, cost).
        grid_only_eur: the slot's cost without battery and without the P2P market.
        soc_kwh: state of charge after the slot.
        battery_kw: battery power (positive = charging).
        others_gain_eur: what the other members gained from the P2P market in the slot (their
            cost with the grid alone minus their cost; 0 without the market).
    """

    fill: Fill
    grid_only_eur: float
    soc_kwh: float
    battery_kw: float
    others_gain_eur: float = 0.0


def prosumer_slot(
    community: Community,
    book: OthersBook,
    slot: int,
    soc_kwh: float,
    decision: Decision,
    *,
    p2p: bool = True,
    history: MarketHistory | None = None,
) -> SlotResult:
    """Apply ``decision`` for the book's household in ``slot`` and clear the market (recording
    the slot's public results into ``history`` when given)."""
    i = book.household
    house = community.households[i]
    surplus = float(community.pv_kw[i, slot] - community.load_kw[i, slot])
    power = 0.0
    if house.battery is not None:
        power = house.battery.power(decision.battery, surplus, soc_kwh)
        soc_kwh = house.battery.next_soc(soc_kwh, power)
    params = community.tariffs.market_params(slot)
    retail = float(community.tariffs.retail[slot])
    feed_in = float(community.tariffs.feed_in[slot])
    net = metered_wh(power, surplus)
    orders = book.orders(slot) if p2p else []
    own = order_for(house.id, net, decision, params) if p2p else None
    if own is not None:
        orders.append(own)
    nets = {o.id: (o.qty_wh if o.side is Side.BUY else -o.qty_wh) for o in orders}
    nets[house.id] = net
    record_in = (history, slot) if history is not None else None
    results, frac = clear_and_cost(orders, nets, params, retail, feed_in, record_in)
    p2p_wh, cost = results[house.id]
    base = metered_wh(0.0, surplus)
    others_gain = sum(
        grid_cost(nets[hid], retail, feed_in) - paid
        for hid, (_, paid) in results.items()
        if hid != house.id
    )
    return SlotResult(
        fill=Fill(net_wh=net, p2p_wh=p2p_wh, cost_eur=cost, cleared_tick_frac=frac),
        grid_only_eur=grid_cost(base, retail, feed_in),
        soc_kwh=soc_kwh,
        battery_kw=power,
        others_gain_eur=float(others_gain),
    )


@dataclass(frozen=True, slots=True)
class ProsumerRun:
    """Per-slot results of one prosumer over ``[start, end)``.

    Attributes:
        start: first slot.
        cost_eur: cost per slot.
        grid_only_eur: grid-only cost per slot.
        soc_kwh: state of charge after each slot.
        p2p_kwh: energy bought (+) / sold (-) in the market per slot.
        tick_frac: the slot's clearing tick fraction (NaN where nothing cleared).
        others_gain_eur: what the other members gained from the market per slot
            (:class:`SlotResult`).
    """

    start: int
    cost_eur: FloatArray
    grid_only_eur: FloatArray
    soc_kwh: FloatArray
    p2p_kwh: FloatArray
    tick_frac: FloatArray
    others_gain_eur: FloatArray

    @property
    def savings_eur(self) -> float:
        """Money saved against grid-only over the run."""
        return float(self.grid_only_eur.sum() - self.cost_eur.sum())


def run_prosumer(
    community: Community,
    book: OthersBook,
    strategy: Strategy,
    start: int,
    end: int,
    *,
    p2p: bool = True,
) -> ProsumerRun:
    """Run ``strategy`` for the book's household over ``[start, end)`` from its initial charge."""
    i = book.household
    battery = community.households[i].battery
    soc = battery.initial_soc * battery.capacity_kwh if battery else 0.0
    history = MarketHistory.empty(community.n_slots)
    width = end - start
    cost, base, socs, p2p_kwh, fracs, others = (np.zeros(width) for _ in range(6))
    for t in range(start, end):
        view = SlotView(community, i, t, soc, history)
        decision = strategy.decide(view)
        result = prosumer_slot(community, book, t, soc, decision, p2p=p2p, history=history)
        soc = result.soc_kwh
        strategy.observe(view, result.fill)
        j = t - start
        cost[j], base[j] = result.fill.cost_eur, result.grid_only_eur
        socs[j], p2p_kwh[j] = soc, result.fill.p2p_wh / 1000.0
        fracs[j], others[j] = result.fill.cleared_tick_frac, result.others_gain_eur
    return ProsumerRun(start, cost, base, socs, p2p_kwh, fracs, others)


ObsArray = npt.NDArray[np.float32]
"""An observation vector."""

RECENT_SLOTS = 4
"""Past clearing results in an observation."""

NEAR_HOURS = 6
"""Hours of load and PV forecast in an observation."""

OBS_DIM = 1 + 3 + 2 + HORIZON + 2 * NEAR_HOURS + 1 + RECENT_SLOTS + 3
"""Length of an observation vector."""

PLANNED_OBS_DIM = OBS_DIM + 1
"""Length of a residual policy's observation: :data:`OBS_DIM` and the planned set-point
(:func:`with_plan`)."""


def with_plan(obs: ObsArray, planned_setpoint: float) -> ObsArray:
    """A residual policy's observation: ``obs`` followed by the planner's battery set-point."""
    out: ObsArray = np.append(obs, np.float32(planned_setpoint)).astype(np.float32)
    return out


class ObservationBuilder:
    """Turns (slot, state of charge, market history) into the agent's observation vector.

    Layout (all roughly within [-3, 3]): state of charge / capacity; sin/cos time of day and a
    weekend flag (no day of year: training months never cover the held-out ones, and the
    forecasts already carry the season); retail / 0.3 - 1 and feed-in / 0.05; the next 24 hours'
    retail price (known day-ahead or forecast) minus the current retail, / 0.03; load and PV
    forecasts of the next 6 hours / battery power; the 24-hour PV-minus-load forecast / capacity;
    the last 4 clearing tick fractions (-1 where nothing cleared); from the last slot's public
    book the best unfilled bid and ask fractions (-1 where none) and the unfilled demand minus
    supply / battery power.

    Args:
        community: the community.
        household: the household observed (needs a battery).
        forecasts: its forecasts.
    """

    def __init__(self, community: Community, household: int, forecasts: HouseholdForecasts):
        battery = community.households[household].battery
        if battery is None:
            raise ConfigError(f"household {household} has no battery to control")
        self.community = community
        self.household = household
        self.forecasts = forecasts
        self.capacity = battery.capacity_kwh
        self.power = battery.power_kw
        slots = np.arange(community.n_slots)
        day = (slots % SLOTS_PER_DAY) / SLOTS_PER_DAY
        weekday = np.asarray(
            (np.arange(community.n_slots) // SLOTS_PER_DAY + _weekday_of_jan1(community)) % 7
        )
        self._time = np.column_stack(
            [
                np.sin(2 * np.pi * day),
                np.cos(2 * np.pi * day),
                (weekday >= 5).astype(np.float64),
            ]
        )

    def __call__(self, slot: int, soc_kwh: float, history: MarketHistory) -> ObsArray:
        """The observation at ``slot``."""
        tariffs = self.community.tariffs
        retail = float(tariffs.retail[slot])
        origin = max(slot // 4 - 1, 0)
        fc = self.forecasts
        spec = tariffs.spec
        imbalance = history.imbalance_kwh[slot - 1] if slot > 0 else 0.0
        return observation_vector(
            soc_kwh=soc_kwh,
            capacity_kwh=self.capacity,
            power_kw=self.power,
            time_features=self._time[slot],
            retail=retail,
            feed_in=float(tariffs.feed_in[slot]),
            retail_24h=(fc.spot[origin] / 1000.0 + spec.surcharges) * (1.0 + spec.vat),
            load_kw=fc.load_kw[origin],
            pv_kw=fc.pv_kw[origin],
            recent=history.recent(slot, RECENT_SLOTS),
            unfilled_bid=_last(history.unfilled_bid, slot),
            unfilled_ask=_last(history.unfilled_ask, slot),
            imbalance_kwh=float(imbalance),
        )


def observation_vector(
    *,
    soc_kwh: float,
    capacity_kwh: float,
    power_kw: float,
    time_features: Sequence[float] | FloatArray,
    retail: float,
    feed_in: float,
    retail_24h: FloatArray,
    load_kw: FloatArray,
    pv_kw: FloatArray,
    recent: FloatArray,
    unfilled_bid: float,
    unfilled_ask: float,
    imbalance_kwh: float,
) -> ObsArray:
    """The observation layout of :class:`ObservationBuilder` from plain values.

    Shared by the simulator and the on-chain runtime (:mod:`agents.live`), so a policy sees
    the same features in both. ``retail_24h``, ``load_kw`` and ``pv_kw`` are the next 24
    hours (EUR/kWh, kW); ``recent`` the last :data:`RECENT_SLOTS` clearing tick fractions (-1
    where none); ``unfilled_bid``/``unfilled_ask`` tick fractions of the last slot's book (-1
    where none); ``time_features`` sin/cos time of day and a weekend flag.
    """
    balance = float(np.sum(pv_kw) - np.sum(load_kw))
    obs = np.concatenate(
        [
            [soc_kwh / capacity_kwh],
            np.asarray(time_features, dtype=np.float64),
            [retail / 0.3 - 1.0, feed_in / 0.05],
            (np.asarray(retail_24h, dtype=np.float64) - retail) / 0.03,
            np.asarray(load_kw[:NEAR_HOURS], dtype=np.float64) / power_kw,
            np.asarray(pv_kw[:NEAR_HOURS], dtype=np.float64) / power_kw,
            [balance / capacity_kwh],
            np.asarray(recent, dtype=np.float64),
            [unfilled_bid, unfilled_ask, imbalance_kwh / (power_kw * 0.25)],
        ]
    )
    if obs.size != OBS_DIM:
        raise ConfigError(f"observation has {obs.size} values, the policy expects {OBS_DIM}")
    out: ObsArray = np.clip(obs, -10.0, 10.0).astype(np.float32)
    return out


def _last(values: FloatArray, slot: int) -> float:
    """``values[slot - 1]`` with -1 for NaN or before the first slot."""
    if slot <= 0 or np.isnan(values[slot - 1]):
        return -1.0
    return float(values[slot - 1])


def _weekday_of_jan1(community: Community) -> int:
    import datetime

    return datetime.date(community.config.year, 1, 1).weekday()
