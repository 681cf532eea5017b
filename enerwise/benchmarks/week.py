"""A household's cost over a simulated week on real data, three ways of running its devices
(``enerwise bench week``).

The household: BDEW H0 demand (4,500 kWh a year), 8 kWp of PV on DWD test-reference weather
(region 4, pvlib), a 10 kWh / 5 kW battery (95 % one way), an 11 kW wallbox and a car that
comes home at 17:00 and leaves at 07:30 needing 15 kWh per night, and an SG-Ready heat pump
in a house that loses 200 W/K to the outdoor temperature of the same weather file. Prices:
SMARD day-ahead prices of the week through a dynamic tariff (``agents.tariffs``: spot plus
surcharges plus VAT to buy, the spot price to sell), or a fixed one (0.32 / 0.08 EUR/kWh).

Strategies, slot by slot (15 minutes):

- ``no_control``: every device on its own default: the battery covers the house from its
  own charge (self-consumption), the car charges at full power from arrival until it has
  its energy, the heat pump in SG-Ready state 2;
- ``evcc``: EVCC-style: the car in min+PV (at least 6 A, more with the PV surplus), the
  battery in self-consumption, the heat pump in state 2;
- ``agent``: this repository's gateway rules: the battery planned each hour by the
  model-predictive program of :mod:`agents.policies.bound` (24 h ahead, grid tariffs, loads
  and PV forecast as the day before's, the car's plan and the heat pump's yesterday),
  the charger in the plan mode (:func:`devices.charger.modes.plan_schedule`: cheapest slots
  before departure on prices and forecast PV), the heat pump by
  :meth:`gateway.execution.HouseholdControl.heat_pump_command` within the comfort limits.

The local market is not in this table: selling to neighbours needs a community (the demo and
``enerwise agent`` measure that); this is the devices' share alone, against the grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from agents.community import BatterySpec
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.policies.bound import BatteryProgram, Steps, solve_program
from devices.charger.modes import (
    ChargeMode,
    ChargerLimits,
    SlotForecast,
    mode_power,
    plan_schedule,
)
from devices.heatpump.comfort import ComfortLimits
from devices.heatpump.physics import HeatPumpPhysics, HouseThermal
from devices.interface import SgReadyState
from gateway.execution import HouseholdControl
from oracles.clock import VirtualClock

FloatArray = npt.NDArray[np.float64]
SLOT_S = 900
SLOT_H = 0.25
STRATEGIES = ("no_control", "evcc", "agent")
ZONE = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class WeekData:
    """The week's series per slot (and the day before it, for the naive forecasts)."""

    start: datetime
    load_kw: FloatArray
    pv_kw: FloatArray
    outdoor_c: FloatArray
    retail: FloatArray
    feed_in: FloatArray
    days: int

    @property
    def slots(self) -> int:
        return self.days * SLOTS_PER_DAY


@dataclass(frozen=True)
class Car:
    arrive_hour: float = 17.0
    depart_hour: float = 7.5
    target_wh: float = 15_000.0
    limits: ChargerLimits = field(default_factory=lambda: ChargerLimits(4_140.0, 11_000.0))

    def home(self, slot: int) -> bool:
        hour = (slot % SLOTS_PER_DAY) / 4
        return hour >= self.arrive_hour or hour < self.depart_hour

    def departure_slot(self, slot: int) -> int:
        """The slot the car leaves at after ``slot`` (while it is home)."""
        day = slot // SLOTS_PER_DAY + (1 if (slot % SLOTS_PER_DAY) / 4 >= self.arrive_hour else 0)
        return day * SLOTS_PER_DAY + round(self.depart_hour * 4)


@dataclass
class Outcome:
    """One strategy over the week."""

    cost_eur: float = 0.0
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    car_kwh: float = 0.0
    car_short_kwh: float = 0.0
    """Energy the car missed at its departures."""
    heat_pump_kwh: float = 0.0
    indoor_min_c: float = 99.0
    indoor_max_c: float = -99.0
    battery_cycles: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, float]:
        return {
            "cost_eur": round(float(self.cost_eur), 2),
            "import_kwh": round(float(self.import_kwh), 1),
            "export_kwh": round(float(self.export_kwh), 1),
            "car_kwh": round(float(self.car_kwh), 1),
            "car_short_kwh": round(float(self.car_short_kwh), 1),
            "heat_pump_kwh": round(float(self.heat_pump_kwh), 1),
            "indoor_min_c": round(float(self.indoor_min_c), 1),
            "indoor_max_c": round(float(self.indoor_max_c), 1),
            "battery_cycles": round(float(self.battery_cycles), 2),
        }


def check_week(first_day: date, days: int) -> int:
    """The data slot the run starts at (the day before ``first_day``), or
    :class:`ConfigError` when the run does not lie inside the year's data."""
    start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
    # the data's axis is fixed UTC+1 from 1 January
    jan1 = datetime(first_day.year, 1, 1, tzinfo=ZoneInfo("Etc/GMT-1"))
    first = int((start - jan1).total_seconds() // SLOT_S)
    if first < 0 or first + (days + 1) * SLOTS_PER_DAY > 365 * SLOTS_PER_DAY:
        raise ConfigError(f"the week must lie inside {first_day.year} (one day before it too)")
    return first


def load_week(first_day: date, days: int = 7, *, tariff: str = "dynamic") -> WeekData:
    """Real data for ``days`` days from ``first_day`` (2015 or 2018), one day before it too."""
    from agents.data.load import HouseholdLoadSpec, household_load
    from agents.data.prices import day_ahead_prices
    from agents.data.pv import PVSystemSpec, pv_power, read_try
    from agents.tariffs import tariffs_from_spot

    year = first_day.year
    first = check_week(first_day, days)
    n = (days + 1) * SLOTS_PER_DAY
    cut = slice(first, first + n)
    load = household_load(HouseholdLoadSpec(4_500.0, seed=7), year)[cut]
    pv = pv_power(PVSystemSpec(8.0), year)[cut]
    weather = read_try(4)
    outdoor = np.repeat(weather.temp_air, 4)[cut]
    if tariff == "dynamic":
        spot = day_ahead_prices(year).per_slot()[cut]
        prices = tariffs_from_spot(spot)
        retail, feed_in = np.asarray(prices.retail), np.asarray(prices.feed_in)
    elif tariff == "fixed":
        retail, feed_in = np.full(n, 0.32), np.full(n, 0.08)
    else:
        raise ConfigError(f"tariff must be dynamic or fixed, got {tariff!r}")
    start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
    return WeekData(start, load, pv, outdoor, retail, feed_in, days)


class _Household:
    """The devices' physics for one strategy (slot index counts from the day before)."""

    def __init__(self, data: WeekData, car: Car) -> None:
        self.data = data
        self.car = car
        self.battery = BatterySpec(10.0, 5.0, 0.95, 0.5)
        self.soc = 5.0
        self.clock = VirtualClock(0.0)
        self.heat = HeatPumpPhysics(
            HouseThermal(), clock=self.clock, indoor_c=21.0, step_seconds=60
        )
        self.comfort = ComfortLimits()
        self.locked_since: float | None = None
        self.session_wh = 0.0
        self.hp_kw = np.zeros(len(data.load_kw))
        self.car_kw = np.zeros(len(data.load_kw))

    def heat_pump(self, s: int, wanted: SgReadyState) -> float:
        """Run the heat pump over slot ``s`` in ``wanted`` (within comfort); its mean kW."""
        state = self.comfort.allowed(
            wanted,
            self.heat.indoor_c,
            0.0 if self.locked_since is None else (self.clock.now() - self.locked_since) / 60,
        )
        if state == SgReadyState.LOCKED:
            if self.locked_since is None:
                self.locked_since = self.clock.now()
        else:
            self.locked_since = None
        self.heat.house = replace(self.heat.house, outdoor_c=float(self.data.outdoor_c[s]))
        self.heat.set_state(state)
        before = self.heat.energy_wh
        self.clock.set(self.clock.now() + SLOT_S)
        self.heat.advance(self.clock.now())
        self.hp_kw[s] = (self.heat.energy_wh - before) / 1000 / SLOT_H
        return float(self.hp_kw[s])


Rule = Callable[[_Household, int], tuple[float, SgReadyState, float]]
"""Per slot: the car's power (W), the heat pump's wanted state, the battery's set-point
(:meth:`agents.community.BatterySpec.power`: 0 is self-consumption)."""


def _run(data: WeekData, car: Car, rule: Rule) -> Outcome:
    house = _Household(data, car)
    out = Outcome()
    d = data
    for s in range(len(d.load_kw)):
        counted = s >= SLOTS_PER_DAY  # the day before warms the house and the forecasts up
        # the car leaves: did it get its energy?
        if s % SLOTS_PER_DAY == round(car.depart_hour * 4):
            if counted:
                out.car_short_kwh += max(car.target_wh - house.session_wh, 0.0) / 1000
            house.session_wh = 0.0
        car_w, wanted, setpoint = rule(house, s)
        if not car.home(s):
            car_w = 0.0
        car_w = min(car_w, (car.target_wh - house.session_wh) / SLOT_H)
        house.car_kw[s] = car_w / 1000
        house.session_wh += car_w * SLOT_H
        hp = house.heat_pump(s, wanted)
        surplus = d.pv_kw[s] - d.load_kw[s] - hp - car_w / 1000
        battery_kw = house.battery.power(setpoint, surplus, house.soc)
        house.soc = house.battery.next_soc(house.soc, battery_kw)
        net = battery_kw - surplus  # kW at the grid point, import positive
        if not counted:
            continue
        energy = net * SLOT_H
        out.cost_eur += energy * (d.retail[s] if energy > 0 else d.feed_in[s])
        out.import_kwh += max(energy, 0.0)
        out.export_kwh += max(-energy, 0.0)
        out.car_kwh += car_w / 1000 * SLOT_H
        out.heat_pump_kwh += hp * SLOT_H
        out.battery_cycles += abs(battery_kw) * SLOT_H / 2 / house.battery.capacity_kwh
        indoor = house.heat.indoor_c
        out.indoor_min_c, out.indoor_max_c = (
            min(out.indoor_min_c, indoor),
            max(out.indoor_max_c, indoor),
        )
    return out


def _no_control(house: _Household, s: int) -> tuple[float, SgReadyState, float]:
    return house.car.limits.max_w, SgReadyState.NORMAL, 0.0


def _evcc(house: _Household, s: int) -> tuple[float, SgReadyState, float]:
    d = house.data
    prev = max(s - 1, 0)  # EVCC sees the surplus as the meters report it (the slot before)
    surplus_w = (d.pv_kw[prev] - d.load_kw[prev] - house.hp_kw[prev]) * 1000
    return mode_power(ChargeMode.MINPV, surplus_w, house.car.limits), SgReadyState.NORMAL, 0.0


class _Agent:
    """The gateway's rules with naive forecasts (the same slot the day before)."""

    def __init__(self) -> None:
        self.car_plan: dict[int, float] = {}
        self.battery_plan: dict[int, float] = {}

    def _forecast(self, house: _Household, s: int, n: int) -> tuple[FloatArray, FloatArray]:
        d = house.data
        idx = np.arange(s, s + n) - SLOTS_PER_DAY
        load = d.load_kw[idx] + house.hp_kw[idx]
        return load, d.pv_kw[idx]

    def _plan_car(self, house: _Household, s: int) -> None:
        d, car = house.data, house.car
        end = min(car.departure_slot(s), len(d.load_kw))
        load, pv = self._forecast(house, s, end - s)
        slots = [
            SlotForecast(
                float(i * SLOT_S),
                SLOT_S,
                float(d.retail[i]),
                float(d.feed_in[i]),
                float(pv[i - s] - load[i - s]) * 1000,
            )
            for i in range(s, end)
        ]
        power = plan_schedule(
            slots,
            departure=float(end * SLOT_S),
            target_wh=max(car.target_wh - house.session_wh, 0.0),
            limits=car.limits,
        )
        self.car_plan = {s + i: p for i, p in enumerate(power)}

    def _plan_battery(self, house: _Household, s: int) -> None:
        d = house.data
        n = min(SLOTS_PER_DAY, len(d.load_kw) - s)
        load, pv = self._forecast(house, s, n)
        load = load + np.array([self.car_plan.get(i, 0.0) / 1000 for i in range(s, s + n)])
        none = Steps(np.zeros(0), np.zeros(0))
        mid = float(np.mean(d.retail[s : s + n] + d.feed_in[s : s + n]) / 2)
        program = BatteryProgram(
            load_kw=load,
            pv_kw=pv,
            retail=d.retail[s : s + n],
            feed_in=d.feed_in[s : s + n],
            buys=[none] * n,
            sells=[none] * n,
            battery=house.battery,
            soc0_kwh=house.soc,
            terminal_eur_per_kwh=mid * house.battery.efficiency,
            one_side=False,
        )
        solution = solve_program(program)
        self.battery_plan = {s + i: float(p) for i, p in enumerate(solution.battery_kw[:4])}

    def __call__(self, house: _Household, s: int) -> tuple[float, SgReadyState, float]:
        d = house.data
        if s < SLOTS_PER_DAY:  # no history yet: the defaults
            return _evcc(house, s)
        car_home = house.car.home(s)
        if car_home and (s % 4 == 0 or s not in self.car_plan):
            self._plan_car(house, s)
        if s % 4 == 0 or s not in self.battery_plan:
            self._plan_battery(house, s)
        day_start = s - s % SLOTS_PER_DAY
        day = [float(p) for p in d.retail[day_start : day_start + SLOTS_PER_DAY]]
        prev = s - 1
        surplus_w = (d.pv_kw[prev] - d.load_kw[prev] - house.hp_kw[prev]) * 1000
        wanted = HouseholdControl.heat_pump_command(float(d.retail[s]), day, surplus_w).state
        car_w = self.car_plan.get(s, 0.0) if car_home else 0.0
        # the plan's power as a set-point on the forecast surplus (as agents.policies.mpc),
        # taken where it charges beyond the forecast surplus (from the grid, ahead of dear
        # hours) or holds through a forecast deficit (for dearer hours later); otherwise the
        # battery's own rule, which absorbs what the forecast got wrong
        load, pv = self._forecast(house, s, 1)
        forecast_kw = float(pv[0] - load[0]) - car_w / 1000
        planned = self.battery_plan.get(s, 0.0)
        later = float(np.max(d.retail[s : s + SLOTS_PER_DAY]))
        grid_charge = planned > max(forecast_kw, 0.0) + 0.1
        hold = forecast_kw < -0.1 and planned > forecast_kw + 0.1 and later > d.retail[s] * 1.2
        if not (grid_charge or hold):
            return car_w, wanted, 0.0
        return car_w, wanted, house.battery.setpoint_for(planned, forecast_kw, house.soc)


def week_costs(data: WeekData, car: Car | None = None) -> dict[str, Outcome]:
    """The week's outcome per strategy."""
    car = car or Car()
    rules: dict[str, Rule] = {"no_control": _no_control, "evcc": _evcc, "agent": _Agent()}
    return {name: _run(data, car, rules[name]) for name in STRATEGIES}


def run(
    first_day: date, *, days: int = 7, tariffs: tuple[str, ...] = ("dynamic", "fixed")
) -> dict[str, Any]:
    """The table: per tariff, per strategy, cost and energies; the agent's saving."""
    result: dict[str, Any] = {"first_day": first_day.isoformat(), "days": days, "tariffs": {}}
    for tariff in tariffs:
        outcomes = week_costs(load_week(first_day, days, tariff=tariff))
        rows = {name: o.row() for name, o in outcomes.items()}
        agent = outcomes["agent"].cost_eur
        for name in ("no_control", "evcc"):
            rows["agent"][f"saving_vs_{name}_eur"] = round(
                float(outcomes[name].cost_eur - agent), 2
            )
        result["tariffs"][tariff] = rows
    return result


def table(result: dict[str, Any]) -> str:
    """One markdown table of a :func:`run` result (the docs' table)."""
    lines = [
        f"Week from {result['first_day']} ({result['days']} days)",
        "",
        "| tariff | strategy | cost EUR | import kWh | export kWh | car kWh (short) "
        "| heat pump kWh | indoor °C | battery cycles |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for tariff, rows in result["tariffs"].items():
        for name, r in rows.items():
            lines.append(
                f"| {tariff} | {name} | {r['cost_eur']:.2f} | {r['import_kwh']:.1f} "
                f"| {r['export_kwh']:.1f} | {r['car_kwh']:.1f} ({r['car_short_kwh']:.1f}) "
                f"| {r['heat_pump_kwh']:.1f} | {r['indoor_min_c']:.1f}..{r['indoor_max_c']:.1f} "
                f"| {r['battery_cycles']:.2f} |"
            )
    return "\n".join(lines)
