"""A community of households trading energy in 15-minute slots through the uniform-price rule.

Households are plain consumers, PV owners, or PV owners with a battery. Each slot, every
household's net demand after its battery (``load - pv + battery``) becomes one order in the
community's P2P market: a buy order when it imports, a sell order when it exports, at a tick its
strategy picks in ``0..max_tick`` of the slot's market (floor = feed-in, top = retail, see
:mod:`agents.tariffs`). The slot clears with :func:`market.clearing.settle`, the same code as the
on-chain contract's Python reference; what a buy order does not get comes from the grid at the
retail tariff, what a sell order does not sell is fed in at the feed-in tariff. Quantities are
settled on the metered net energy of the slot (whole Wh).

A battery follows a set-point ``a`` in ``[-1, 1]`` relative to self-consumption: ``a = 0`` charges
exactly the PV surplus and discharges exactly the deficit (within power and energy limits),
``a = 1`` charges at the highest feasible power, ``a = -1`` discharges at the highest feasible
power, values between interpolate linearly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agents.data.calendar import SLOT_HOURS, SLOTS_PER_DAY, slot_index
from agents.data.load import HouseholdLoadSpec, LoadProfile, household_load
from agents.data.prices import YEARS, day_ahead_prices
from agents.data.pv import PVSystemSpec, pv_power
from agents.errors import ConfigError
from agents.tariffs import MICRO_EUR, Tariffs, TariffSpec, tariffs_from_spot
from market.clearing import MarketParams, Order, Side, settle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """A home battery.

    Attributes:
        capacity_kwh: usable energy (> 0).
        power_kw: largest charge or discharge power (> 0).
        efficiency: one-way efficiency (0.5..1); a round trip keeps ``efficiency**2``.
        initial_soc: state of charge at the start of a run, as a fraction of capacity (0..1).
    """

    capacity_kwh: float
    power_kw: float
    efficiency: float = 0.95
    initial_soc: float = 0.5

    def __post_init__(self) -> None:
        if not self.capacity_kwh > 0 or not self.power_kw > 0:
            raise ConfigError("battery capacity_kwh and power_kw must be > 0")
        if not 0.5 <= self.efficiency <= 1.0:
            raise ConfigError(f"efficiency must be in 0.5..1, got {self.efficiency}")
        if not 0.0 <= self.initial_soc <= 1.0:
            raise ConfigError(f"initial_soc must be in 0..1, got {self.initial_soc}")

    def limits(self, soc_kwh: float) -> tuple[float, float]:
        """Largest feasible (charge, discharge) power in kW for one slot from ``soc_kwh``."""
        charge = min(self.power_kw, (self.capacity_kwh - soc_kwh) / (self.efficiency * SLOT_HOURS))
        discharge = min(self.power_kw, soc_kwh * self.efficiency / SLOT_HOURS)
        return max(charge, 0.0), max(discharge, 0.0)

    def power(self, setpoint: float, surplus_kw: float, soc_kwh: float) -> float:
        """Battery power in kW (positive = charging) for set-point ``setpoint`` in ``[-1, 1]``.

        ``surplus_kw`` is ``pv - load``; ``setpoint = 0`` is self-consumption.
        """
        charge, discharge = self.limits(soc_kwh)
        own = min(max(surplus_kw, -discharge), charge)
        a = min(max(float(setpoint), -1.0), 1.0)
        return own + a * (charge - own) if a >= 0 else own + a * (own + discharge)

    def setpoint_for(self, power_kw: float, surplus_kw: float, soc_kwh: float) -> float:
        """The set-point at which :meth:`power` gives ``power_kw`` (the inverse of
        :meth:`power`, clipped to ``[-1, 1]``; 0 where the battery has no room either way)."""
        charge, discharge = self.limits(soc_kwh)
        own = min(max(surplus_kw, -discharge), charge)
        room = charge - own if power_kw >= own else own + discharge
        return min(max((power_kw - own) / room, -1.0), 1.0) if room > 1e-9 else 0.0

    def next_soc(self, soc_kwh: float, power_kw: float) -> float:
        """State of charge after one slot at ``power_kw``."""
        if power_kw >= 0:
            soc = soc_kwh + power_kw * SLOT_HOURS * self.efficiency
        else:
            soc = soc_kwh + power_kw * SLOT_HOURS / self.efficiency
        return min(max(soc, 0.0), self.capacity_kwh)


def metered_wh(power_kw: float, surplus_kw: float) -> int:
    """A slot's metered net energy in whole Wh (positive = import) for battery power
    ``power_kw`` (positive = charging) and ``surplus_kw = pv - load``."""
    return round((power_kw - surplus_kw) * SLOT_HOURS * 1000.0)


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    """One member of the community.

    Attributes:
        id: unique id (used as the order id in the market).
        load: how its demand derives from a standard profile.
        pv: its PV array, if any.
        battery: its battery, if any (only PV owners get one).
    """

    id: str
    load: HouseholdLoadSpec
    pv: PVSystemSpec | None = None
    battery: BatterySpec | None = None

    @property
    def kind(self) -> str:
        """``consumer``, ``pv`` or ``pv+battery``."""
        if self.pv is None:
            return "consumer"
        return "pv+battery" if self.battery is not None else "pv"


@dataclass(frozen=True, slots=True)
class CommunityDraw:
    """How to draw a community (every draw is seeded, so a config is one community).

    Attributes:
        n_households: number of members (2..500).
        share_pv: fraction that own PV (0..1).
        share_battery: fraction that own PV and a battery (0..share_pv).
        year: simulated year (2015 or 2018: the years with shipped prices).
        seed: seed of every random draw.
        tariff: how tariffs derive from the spot price.
        regions: DWD TRY regions the households are spread over (each in 1..15).
    """

    n_households: int = 12
    share_pv: float = 0.5
    share_battery: float = 0.25
    year: int = 2018
    seed: int = 0
    tariff: TariffSpec = field(default_factory=TariffSpec)
    regions: tuple[int, ...] = (4,)

    def __post_init__(self) -> None:
        if not 2 <= self.n_households <= 500:
            raise ConfigError(f"n_households must be in 2..500, got {self.n_households}")
        if not 0.0 <= self.share_battery <= self.share_pv <= 1.0:
            raise ConfigError("need 0 <= share_battery <= share_pv <= 1")
        if self.year not in YEARS:
            raise ConfigError(f"year must be one of {YEARS} (shipped prices), got {self.year}")
        if not self.regions or any(not 1 <= r <= 15 for r in self.regions):
            raise ConfigError(f"regions must be DWD TRY regions 1..15, got {self.regions}")


def draw_households(config: CommunityDraw) -> list[HouseholdSpec]:
    """Draw the members of a community: documented ranges, one seeded generator.

    Annual demand is log-normal around 3000 kWh (clipped to 1200..7000), the profile H0 or H25
    (half each), a shift of -4..4 slots and log-noise sigma 0.2..0.4. PV: 3..10 kWp, tilt
    15..45°, azimuth 120..240° (east to west through south). Batteries: about 1 kWh per kWp
    (4..12 kWh) at 0.5 C.
    """
    rng = np.random.default_rng(config.seed)
    n = config.n_households
    n_battery = round(config.share_battery * n)
    n_pv = max(round(config.share_pv * n), n_battery)
    households = []
    for i in range(n):
        load = HouseholdLoadSpec(
            annual_kwh=float(np.clip(rng.lognormal(np.log(3000.0), 0.35), 1200.0, 7000.0)),
            profile=LoadProfile.H0 if i % 2 == 0 else LoadProfile.H25,
            shift_slots=int(rng.integers(-4, 5)),
            noise_sigma=float(rng.uniform(0.2, 0.4)),
            seed=int(rng.integers(0, 2**31 - 1)),
        )
        pv = battery = None
        if i < n_pv:
            kwp = float(np.round(rng.uniform(3.0, 10.0), 1))
            pv = PVSystemSpec(
                kwp=kwp,
                tilt=float(np.round(rng.uniform(15.0, 45.0))),
                azimuth=float(np.round(rng.uniform(120.0, 240.0))),
                region=int(rng.choice(config.regions)),
            )
            if i < n_battery:
                capacity = float(np.clip(np.round(kwp), 4.0, 12.0))
                battery = BatterySpec(capacity_kwh=capacity, power_kw=capacity / 2.0)
        households.append(HouseholdSpec(id=f"h{i:03d}", load=load, pv=pv, battery=battery))
    return households


@dataclass(frozen=True, slots=True)
class Community:
    """The data of a community for one year: every series per 15-minute slot.

    Attributes:
        config: how it was drawn.
        households: its members.
        load_kw: demand, shape (households, slots).
        pv_kw: PV output, shape (households, slots) (zeros for consumers).
        spot: day-ahead price per slot, EUR/MWh.
        tariffs: retail and feed-in per slot and the market range.
    """

    config: CommunityDraw
    households: tuple[HouseholdSpec, ...]
    load_kw: FloatArray
    pv_kw: FloatArray
    spot: FloatArray
    tariffs: Tariffs

    @property
    def n_slots(self) -> int:
        """Slots in the year (35040)."""
        return int(self.spot.size)

    def battery_households(self) -> list[int]:
        """Indices of the members with a battery."""
        return [i for i, h in enumerate(self.households) if h.battery is not None]

    def day_slots(self, month_from: int, month_to: int) -> tuple[int, int]:
        """``(start, end)`` slots covering months ``month_from..month_to`` (1..12, inclusive)."""
        if not 1 <= month_from <= month_to <= 12:
            raise ConfigError(f"bad month range {month_from}..{month_to}")
        months = slot_index(self.config.year).month
        inside = np.flatnonzero((months >= month_from) & (months <= month_to))
        return int(inside[0]), int(inside[-1]) + 1


def build_community(config: CommunityDraw | None = None) -> Community:
    """Draw a community and compute its load, PV and tariffs for the configured year."""
    config = config or CommunityDraw()
    households = draw_households(config)
    load = np.stack([household_load(h.load, config.year) for h in households])
    zeros = np.zeros(load.shape[1])
    pv = np.stack([pv_power(h.pv, config.year) if h.pv else zeros for h in households])
    spot = day_ahead_prices(config.year).per_slot()
    return Community(
        config=config,
        households=tuple(households),
        load_kw=load,
        pv_kw=pv,
        spot=spot,
        tariffs=tariffs_from_spot(spot, config.tariff),
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What a household's strategy decides for one slot.

    Attributes:
        battery: battery set-point in ``[-1, 1]`` (0 = self-consumption; ignored without one).
        buy_frac: buy price as a fraction of the slot's tick range (0 = feed-in, 1 = retail).
        sell_frac: sell price as a fraction of the slot's tick range.
    """

    battery: float = 0.0
    buy_frac: float = 1.0
    sell_frac: float = 0.0


TRUTHFUL = Decision()
"""Self-consumption, bid retail, ask feed-in: each household's own marginal values."""


def to_tick(frac: float, params: MarketParams) -> int:
    """The tick at fraction ``frac`` (clipped to 0..1) of ``params``' tick range."""
    return round(min(max(float(frac), 0.0), 1.0) * params.max_tick)


@dataclass(slots=True)
class MarketHistory:
    """Public results of past slots, as every household sees them.

    The book is public (on chain every order is), so after a slot everybody also knows the
    best unfilled bid and ask and how much demand and supply went unfilled.

    Attributes:
        tick_frac: clearing tick as a fraction of ``max_tick`` (NaN where nothing cleared).
        volume_kwh: cleared energy per slot.
        unfilled_bid: highest tick fraction of a buy order left (partly) unfilled (NaN: none).
        unfilled_ask: lowest tick fraction of a sell order left (partly) unfilled (NaN: none).
        imbalance_kwh: unfilled demand minus unfilled supply.
    """

    tick_frac: FloatArray
    volume_kwh: FloatArray
    unfilled_bid: FloatArray
    unfilled_ask: FloatArray
    imbalance_kwh: FloatArray

    @classmethod
    def empty(cls, n_slots: int) -> MarketHistory:
        """A history of ``n_slots`` slots where nothing cleared yet."""
        return cls(
            tick_frac=np.full(n_slots, np.nan),
            volume_kwh=np.zeros(n_slots),
            unfilled_bid=np.full(n_slots, np.nan),
            unfilled_ask=np.full(n_slots, np.nan),
            imbalance_kwh=np.zeros(n_slots),
        )

    def recent(self, slot: int, count: int) -> FloatArray:
        """Clearing fractions of the ``count`` slots before ``slot`` (-1 where none)."""
        out = np.full(count, -1.0)
        lo = max(0, slot - count)
        window = self.tick_frac[lo:slot]
        out[count - window.size :] = np.nan_to_num(window, nan=-1.0)
        return out


@dataclass(frozen=True, slots=True)
class SlotView:
    """What a strategy may look at when it decides a slot.

    Attributes:
        community: the community (data up to and including ``slot`` is fair game only for
            quantities known in advance: tariffs of published day-ahead hours).
        household: the household's index.
        slot: the slot being decided.
        soc_kwh: the battery's state of charge (0 without a battery).
        history: public clearing results of earlier slots.
    """

    community: Community
    household: int
    slot: int
    soc_kwh: float
    history: MarketHistory


@dataclass(frozen=True, slots=True)
class Fill:
    """A household's result of one slot.

    Attributes:
        net_wh: metered net demand after the battery (positive = import).
        p2p_wh: energy bought (positive) or sold (negative) in the P2P market.
        cost_eur: what the slot cost (negative = income).
        cleared_tick_frac: the slot's clearing tick fraction (NaN if nothing cleared).
    """

    net_wh: int
    p2p_wh: int
    cost_eur: float
    cleared_tick_frac: float


class Strategy(Protocol):
    """A household's behaviour: a battery set-point and order prices, slot by slot."""

    name: str

    def decide(self, view: SlotView) -> Decision:
        """The decision for ``view.slot``."""
        ...

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Learn from the slot's result (called after every slot, in time order)."""
        ...


def grid_cost(net_wh: int, retail: float, feed_in: float) -> float:
    """Cost in EUR of importing (``net_wh > 0``) or exporting ``|net_wh|`` with the grid."""
    return net_wh / 1000.0 * (retail if net_wh > 0 else feed_in)


def order_for(
    household_id: str, net_wh: int, decision: Decision, params: MarketParams
) -> Order | None:
    """The order a household places for its metered net energy (None when it is zero)."""
    if net_wh > 0:
        return Order(household_id, Side.BUY, to_tick(decision.buy_frac, params), net_wh)
    if net_wh < 0:
        return Order(household_id, Side.SELL, to_tick(decision.sell_frac, params), -net_wh)
    return None


def clear_and_cost(
    orders: Sequence[Order],
    nets: dict[str, int],
    params: MarketParams,
    retail: float,
    feed_in: float,
    record_in: tuple[MarketHistory, int] | None = None,
) -> tuple[dict[str, tuple[int, float]], float]:
    """Clear ``orders`` with :func:`market.clearing.settle` and cost every participant.

    Returns ``({id: (p2p_wh, cost_eur)}, clearing tick fraction or NaN)`` for every id in
    ``nets``; the unfilled rest of each order goes to the grid. ``record_in=(history, slot)``
    writes the slot's public results into ``history``.
    """
    record, outcomes = settle(orders, params) if orders else (None, [])
    result = {hid: (0, grid_cost(net, retail, feed_in)) for hid, net in nets.items()}
    if record_in is not None:
        history, slot = record_in
        bid = ask = -1
        short = 0
        for order, out in zip(orders, outcomes, strict=True):
            rest = order.qty_wh - out.filled_wh
            if rest <= 0:
                continue
            if order.side is Side.BUY:
                bid, short = max(bid, order.tick), short + rest
            else:
                ask = order.tick if ask < 0 else min(ask, order.tick)
                short -= rest
        history.unfilled_bid[slot] = bid / params.max_tick if bid >= 0 else np.nan
        history.unfilled_ask[slot] = ask / params.max_tick if ask >= 0 else np.nan
        history.imbalance_kwh[slot] = short / 1000.0
    for out in outcomes:
        net = nets[out.order_id]
        rest = net - out.filled_wh if out.side is Side.BUY else net + out.filled_wh
        money = (out.paid - out.received) / MICRO_EUR
        p2p = out.filled_wh if out.side is Side.BUY else -out.filled_wh
        result[out.order_id] = (p2p, money + grid_cost(rest, retail, feed_in))
    cleared = record is not None and record.cleared
    frac = record.clearing_tick / params.max_tick if record is not None and cleared else np.nan
    if record_in is not None:
        record_in[0].tick_frac[record_in[1]] = frac
        record_in[0].volume_kwh[record_in[1]] = record.volume_wh / 1000.0 if record else 0.0
    return result, float(frac)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Per-household, per-slot results of :func:`simulate` over ``[start, end)``.

    Attributes:
        start: first slot.
        end: slot after the last.
        cost_eur: cost, shape (households, slots).
        grid_only_eur: cost without battery and without the P2P market, same shape.
        import_kwh: energy bought from the grid, same shape.
        export_kwh: energy fed into the grid, same shape.
        p2p_kwh: energy bought (+) or sold (-) in the P2P market, same shape.
        soc_kwh: battery state of charge after each slot, same shape.
        order_side: +1 buy, -1 sell, 0 none, same shape (int).
        order_tick: tick of each order, same shape (int).
        order_wh: quantity of each order, same shape (int).
        history: the public clearing results.
    """

    start: int
    end: int
    cost_eur: FloatArray
    grid_only_eur: FloatArray
    import_kwh: FloatArray
    export_kwh: FloatArray
    p2p_kwh: FloatArray
    soc_kwh: FloatArray
    order_side: IntArray
    order_tick: IntArray
    order_wh: IntArray
    history: MarketHistory

    def savings_eur(self) -> FloatArray:
        """Money saved against grid-only, per household."""
        return np.asarray(self.grid_only_eur.sum(axis=1) - self.cost_eur.sum(axis=1))


def _settle_slot(
    out: dict[str, np.ndarray[Any, Any]],
    j: int,
    ids: Sequence[str],
    results: Mapping[str, tuple[int, float]],
    nets: Mapping[str, int],
) -> None:
    """Column ``j`` of the market members' costs, P2P energy and grid remainder."""
    for i, hid in enumerate(ids):
        if hid not in results:
            continue
        p2p_wh, cost = results[hid]
        rest = nets[hid] - p2p_wh
        out["cost"][i, j] = cost
        out["p2p"][i, j] = p2p_wh / 1000
        out["imp"][i, j], out["exp"][i, j] = max(rest, 0) / 1000, max(-rest, 0) / 1000


def simulate(
    community: Community,
    strategies: Sequence[Strategy],
    start: int,
    end: int,
    *,
    p2p: bool = True,
    in_market: Sequence[bool] | None = None,
) -> SimulationResult:
    """Run the community over slots ``[start, end)``, one strategy per household.

    Args:
        community: the community.
        strategies: one strategy per household, in household order.
        start: first slot.
        end: slot after the last.
        p2p: False runs without the P2P market (everything with the grid).
        in_market: per household, whether its orders go to the market (default all); the
            orders of households left out are still recorded (to replay them elsewhere).

    Raises:
        ConfigError: wrong number of strategies or a bad slot range.
    """
    n = len(community.households)
    if len(strategies) != n:
        raise ConfigError(f"need {n} strategies, got {len(strategies)}")
    if not 0 <= start < end <= community.n_slots:
        raise ConfigError(f"bad slot range {start}..{end}")
    member = list(in_market) if in_market is not None else [True] * n
    width = end - start
    shape = (n, width)
    out = {k: np.zeros(shape) for k in ("cost", "grid", "imp", "exp", "p2p", "soc")}
    side = np.zeros(shape, dtype=np.int64)
    tick = np.zeros(shape, dtype=np.int64)
    qty = np.zeros(shape, dtype=np.int64)
    history = MarketHistory.empty(community.n_slots)
    soc = [
        h.battery.initial_soc * h.battery.capacity_kwh if h.battery else 0.0
        for h in community.households
    ]
    ids = [h.id for h in community.households]
    for t in range(start, end):
        j = t - start
        params = community.tariffs.market_params(t)
        retail, feed_in = float(community.tariffs.retail[t]), float(community.tariffs.feed_in[t])
        views, nets, orders = [], {}, []
        for i, house in enumerate(community.households):
            view = SlotView(community, i, t, soc[i], history)
            views.append(view)
            decision = strategies[i].decide(view)
            surplus = float(community.pv_kw[i, t] - community.load_kw[i, t])
            power = 0.0
            if house.battery is not None:
                power = house.battery.power(decision.battery, surplus, soc[i])
                soc[i] = house.battery.next_soc(soc[i], power)
            net = metered_wh(power, surplus)
            order = order_for(ids[i], net, decision, params)
            if order is not None:
                side[i, j] = 1 if order.side is Side.BUY else -1
                tick[i, j], qty[i, j] = order.tick, order.qty_wh
                if member[i]:
                    orders.append(order)
            if member[i]:
                nets[ids[i]] = net
            out["soc"][i, j] = soc[i]
            base = metered_wh(0.0, surplus)
            out["grid"][i, j] = grid_cost(base, retail, feed_in)
            if not member[i]:
                out["cost"][i, j] = grid_cost(net, retail, feed_in)
                out["imp"][i, j], out["exp"][i, j] = max(net, 0) / 1000, max(-net, 0) / 1000
        results, frac = clear_and_cost(
            orders if p2p else [], nets, params, retail, feed_in, (history, t)
        )
        _settle_slot(out, j, ids, results, nets)
        for i, hid in enumerate(ids):
            p2p_wh, cost = results.get(hid, (0, out["cost"][i, j]))
            fill = Fill(
                net_wh=nets.get(hid, 0), p2p_wh=p2p_wh, cost_eur=cost, cleared_tick_frac=frac
            )
            strategies[i].observe(views[i], fill)
    return SimulationResult(
        start=start,
        end=end,
        cost_eur=out["cost"],
        grid_only_eur=out["grid"],
        import_kwh=out["imp"],
        export_kwh=out["exp"],
        p2p_kwh=out["p2p"],
        soc_kwh=out["soc"],
        order_side=side,
        order_tick=tick,
        order_wh=qty,
        history=history,
    )


def self_sufficiency(community: Community, result: SimulationResult) -> float:
    """Share of the community's demand not bought from the grid (0..1)."""
    demand = community.load_kw[:, result.start : result.end].sum() * SLOT_HOURS
    return float(1.0 - result.import_kwh.sum() / demand) if demand > 0 else 0.0


SLOTS_PER_WEEK = 7 * SLOTS_PER_DAY
