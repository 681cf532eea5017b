"""A community plan: every battery follows its part of the social optimum's program, solved on
forecasts over a receding horizon.

This is coordination, not competition. It assumes that the members pool what they know: every
member shares its load and PV forecasts (:mod:`agents.forecasting.provider`, each on its own
meter) and an operator (or the members' agents among themselves) adds them up, knows every
battery's state of charge at the start of each slot, solves the community's program
(:class:`~agents.policies.social.CommunityProgram`, the social optimum's linear program) over
the next ``horizon_hours`` on those forecasts, and publishes each battery's planned power for
the slot. Each battery household then

1. follows its planned power, as a set-point relative to self-consumption on its own forecast
   surplus (:meth:`~agents.community.BatterySpec.setpoint_for`; the realised surplus moves it,
   as for the single-household planner :class:`~agents.policies.mpc.MpcBattery`), and
2. bids truthfully: buys at retail and asks feed-in. Truthful members' orders all cross (every
   buy price is the top of the range, every ask the floor), so everything one member sells, a
   neighbour who buys gets, and no member buys from the grid what another feeds in: the
   community's grid exchange is its one-meter exchange, which is what the program prices. Any
   other price could leave crossing energy unmatched and cost welfare; the price within the
   range only moves money between members.

The plan is solved once per slot and shared by the battery agents (:class:`CommunityPlan`);
the same program on the actual data over the whole period is the social optimum, so with
perfect foresight (:class:`PerfectOutlook`) and a horizon to the period's end the plan
reaches it (up to the meters' whole-Wh rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agents.community import (
    TRUTHFUL,
    Community,
    Decision,
    Fill,
    FloatArray,
    SlotView,
)
from agents.data.calendar import SLOT_HOURS, SLOTS_PER_HOUR
from agents.errors import ConfigError, PolicyError
from agents.forecasting.base import HORIZON
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.mpc import hourly_to_slots
from agents.policies.social import CommunityProgram, solve_community
from agents.tariffs import tariffs_from_spot

COMMUNITY_PLAN_REACH = 0.3
"""The share of the plan's set-point the rule ``community_plan`` follows (relative to
self-consumption; :class:`CommunityPlanStrategy`), with :data:`COMMUNITY_PLAN_HORIZON_HOURS`.
Chosen on validation (Oct..Dec 2015, the shipped forecasts; docs/agents.md): the plan on
forecasts leans the batteries well, followed fully it loses to self-consumption, mostly
through the PV forecasts' errors."""

COMMUNITY_PLAN_HORIZON_HOURS = 2
"""Hours the rule ``community_plan`` plans ahead. Chosen on validation with
:data:`COMMUNITY_PLAN_REACH` (24 h: 88.08 % of the social optimum at reach 0.2; 6 h: 89.16;
3 h: 89.12; 2 h, reach 0.2 / 0.3 / 0.4: 89.48 / 89.65 / 89.53): the PV forecasts beyond the
next hours mislead more than they inform."""


COMMUNITY_PLAN_PV_PERSISTENCE = 0.15
"""How the rule ``community_plan`` corrects the PV forecast by the hour just measured: the
community's PV of the last complete hour over what was forecast for it scales the next hour's
forecast, and that correction fades by this factor per hour ahead (:class:`ForecastOutlook`).
The day-ahead PV forecast misses clouds; the meters have seen the last hour's. Chosen on
validation (Oct..Dec 2015, with the 2 h horizon and reach 0.3; % of the social optimum): 0 (no
correction) 89.65, 0.15 90.49, 0.3 90.40, 0.5 90.34, 0.7 90.12, 0.9 90.15, 1 90.13
(docs/agents.md)."""

PV_RATIO_FLOOR_KW = 0.3
"""Below this forecast of the community's PV for the last hour (kW) its measured ratio is not
read: at dawn and dusk a ratio of two small numbers is noise."""

PV_RATIO_CAP = 3.0
"""The largest measured-over-forecast PV ratio read (a forecast far too low at dawn)."""


@dataclass(frozen=True, slots=True)
class Outlook:
    """What the plan expects from a slot on (one value per slot).

    Attributes:
        net_kw: the community's net demand without batteries (load - PV, kW).
        retail: retail price (EUR/kWh).
        feed_in: feed-in price (EUR/kWh).
    """

    net_kw: FloatArray
    retail: FloatArray
    feed_in: FloatArray


class OutlookSource(Protocol):
    """Where the plan's expectations come from."""

    def outlook(self, slot: int) -> Outlook:
        """The community's expected net demand and prices from ``slot`` on."""
        ...

    def surplus_kw(self, household: int, slot: int) -> float:
        """The household's expected PV surplus (PV - load, kW) in ``slot``."""
        ...


@dataclass(frozen=True, slots=True)
class ForecastOutlook:
    """Forecasts, as a household's planner has them: the community's total load and PV forecast
    from the last complete hour over ``horizon_hours``, the day-ahead price where published and
    its forecast elsewhere (the slot's own price is published), and each battery household's own
    forecasts for its surplus. With ``pv_persistence`` the PV forecast is corrected by the hour
    the members' meters have just measured (:data:`COMMUNITY_PLAN_PV_PERSISTENCE`).

    Args:
        community: the community (tariff rule, the slot's own published prices, and the PV its
            meters measured in past hours).
        total: forecasts of the community's summed load and PV.
        households: each battery household's forecasts, by index.
        horizon_hours: hours ahead (1..24).
        pv_persistence: how much of the last hour's measured-over-forecast PV ratio carries to
            each further hour ahead (0: no correction; 1: the whole ratio at every hour).
    """

    community: Community
    total: HouseholdForecasts
    households: Mapping[int, HouseholdForecasts]
    horizon_hours: int = HORIZON
    pv_persistence: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_hours <= HORIZON:
            raise ConfigError(f"horizon_hours must be in 1..{HORIZON}, got {self.horizon_hours}")
        if not 0.0 <= self.pv_persistence <= 1.0:
            raise ConfigError(f"pv_persistence must be in 0..1, got {self.pv_persistence}")

    def pv_kw(self, origin: int, hours: int) -> FloatArray:
        """The community's PV forecast issued at the end of hour ``origin`` for the next
        ``hours`` hours, corrected by hour ``origin``'s measured PV over its forecast (the
        forecast issued an hour earlier) faded by ``pv_persistence`` per hour ahead."""
        pv = self.total.pv_kw[origin, :hours]
        if self.pv_persistence == 0.0 or origin == 0:
            return pv
        expected = float(self.total.pv_kw[origin - 1, 0])
        if expected < PV_RATIO_FLOOR_KW:
            return pv
        first = origin * SLOTS_PER_HOUR
        measured = float(self.community.pv_kw[:, first : first + SLOTS_PER_HOUR].sum(axis=0).mean())
        ratio = min(measured / expected, PV_RATIO_CAP)
        fade = self.pv_persistence ** np.arange(hours)
        return pv * (1.0 + (ratio - 1.0) * fade)

    def outlook(self, slot: int) -> Outlook:
        """The forecast outlook from ``slot`` (as :class:`~agents.policies.mpc.BookMpc` reads
        its forecasts)."""
        community, f = self.community, self.total
        hour, quarter = divmod(slot, SLOTS_PER_HOUR)
        origin = max(hour - 1, 0)
        hours = min(self.horizon_hours, (community.n_slots - slot) // SLOTS_PER_HOUR + 1)
        net = hourly_to_slots(f.load_kw[origin, :hours] - self.pv_kw(origin, hours), quarter)
        spot = hourly_to_slots(f.spot[origin, :hours], quarter)
        tariffs = tariffs_from_spot(spot, community.tariffs.spec)
        retail, feed_in = tariffs.retail.copy(), tariffs.feed_in.copy()
        retail[0], feed_in[0] = community.tariffs.retail[slot], community.tariffs.feed_in[slot]
        return Outlook(net, retail, feed_in)

    def surplus_kw(self, household: int, slot: int) -> float:
        """The household's forecast surplus for ``slot``'s hour."""
        f = self.households.get(household)
        if f is None:
            raise PolicyError(f"household {household} has no forecasts for the community plan")
        origin = max(slot // SLOTS_PER_HOUR - 1, 0)
        return float(f.pv_kw[origin, 0] - f.load_kw[origin, 0])


@dataclass(frozen=True, slots=True)
class PerfectOutlook:
    """The actual data up to slot ``end`` (hindsight): the reference the forecasts are measured
    against, and with ``end`` the period's end the social optimum's own inputs.

    Args:
        community: the community.
        end: the last slot the outlook reaches (exclusive).
        horizon_slots: at most this many slots ahead (None: to ``end``).
    """

    community: Community
    end: int
    horizon_slots: int | None = None

    def outlook(self, slot: int) -> Outlook:
        """The actual net demand and tariffs of ``slot..end``."""
        if not 0 <= slot < self.end <= self.community.n_slots:
            raise PolicyError(f"slot {slot} outside the outlook's 0..{self.end}")
        c = self.community
        last = self.end if self.horizon_slots is None else min(self.end, slot + self.horizon_slots)
        net = (c.load_kw - c.pv_kw)[:, slot:last].sum(axis=0)
        return Outlook(net, c.tariffs.retail[slot:last], c.tariffs.feed_in[slot:last])

    def surplus_kw(self, household: int, slot: int) -> float:
        """The household's actual surplus in ``slot``."""
        c = self.community
        return float(c.pv_kw[household, slot] - c.load_kw[household, slot])


@dataclass
class CommunityPlan:
    """The community's receding-horizon plan, solved once per slot and shared by its battery
    agents (module docstring).

    Each agent reports its battery's charge when it decides a slot and, after the slot, the
    charge its battery then has (:class:`CommunityPlanStrategy` does both), so the plan of a slot
    starts from every battery's actual charge whatever order the agents decide in.

    Args:
        community: the community.
        source: the outlook (:class:`ForecastOutlook` or :class:`PerfectOutlook`).
        terminal_value: weight of the energy left at the horizon's end, as for the single
            household planner (:class:`~agents.policies.mpc.MpcConfig`): ``terminal_value``
            times the horizon's mean feed-in-to-retail midpoint times the one-way efficiency per
            kWh; 0 values it at nothing (the social optimum).
    """

    community: Community
    source: OutlookSource
    terminal_value: float = 1.0
    _soc: dict[int, tuple[int, float]] = field(default_factory=dict, repr=False)
    _slot: int = field(default=-1, repr=False)
    _power: dict[int, float] = field(default_factory=dict, repr=False)
    solves: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.terminal_value <= 2.0:
            raise ConfigError(f"terminal_value must be in 0..2, got {self.terminal_value}")
        self._households = self.community.battery_households()

    def report(self, household: int, slot: int, soc_kwh: float) -> None:
        """Household ``household``'s battery holds ``soc_kwh`` at the start of ``slot``."""
        self._soc[household] = (slot, soc_kwh)

    def power_kw(self, household: int, slot: int, soc_kwh: float) -> float:
        """The planned power (kW, positive = charging) of ``household``'s battery in ``slot``,
        whose battery holds ``soc_kwh`` now.

        Raises:
            PolicyError: ``household`` has no battery, or another battery's charge at the start
                of ``slot`` is unknown (its agent skipped a slot).
        """
        if household not in self._households:
            raise PolicyError(f"household {household} has no battery in the community plan")
        self.report(household, slot, soc_kwh)
        if slot != self._slot:
            self._power = self._solve(slot)
            self._slot = slot
        return self._power[household]

    def _solve(self, slot: int) -> dict[int, float]:
        socs = []
        for h in self._households:
            seen = self._soc.get(h)
            battery = self.community.households[h].battery
            assert battery is not None  # battery_households
            if seen is None:
                socs.append(battery.initial_soc * battery.capacity_kwh)
            elif seen[0] == slot:
                socs.append(seen[1])
            else:
                raise PolicyError(
                    f"the community plan of slot {slot} misses household {h}'s charge "
                    f"(last reported for slot {seen[0]})"
                )
        expected = self.source.outlook(slot)
        batteries = tuple(self.community.households[h].battery for h in self._households)
        eff = float(np.mean([b.efficiency for b in batteries if b is not None] or [1.0]))
        mid = float(np.mean(expected.feed_in + expected.retail) / 2.0)
        schedule = solve_community(
            CommunityProgram(
                net_kwh=expected.net_kw * SLOT_HOURS,
                retail=expected.retail,
                feed_in=expected.feed_in,
                batteries=tuple(b for b in batteries if b is not None),
                soc0_kwh=tuple(socs),
                terminal_eur_per_kwh=self.terminal_value * mid * eff,
            )
        )
        self.solves += 1
        return {h: float(schedule.battery_kw[k, 0]) for k, h in enumerate(self._households)}


def shipped_plan(
    community: Community,
    total: HouseholdForecasts,
    households: Mapping[int, HouseholdForecasts],
) -> CommunityPlan:
    """The plan of the rule ``community_plan``: :data:`COMMUNITY_PLAN_HORIZON_HOURS` ahead on the
    members' pooled forecasts (``total``; each battery household's own in ``households``), its
    PV corrected by the hour just measured (:data:`COMMUNITY_PLAN_PV_PERSISTENCE`)."""
    outlook = ForecastOutlook(
        community,
        total,
        households,
        COMMUNITY_PLAN_HORIZON_HOURS,
        pv_persistence=COMMUNITY_PLAN_PV_PERSISTENCE,
    )
    return CommunityPlan(community, outlook)


class CommunityPlanStrategy:
    """A battery household following the community plan, bidding truthfully (module
    docstring).

    Args:
        plan: the plan shared by every battery agent of the community.
        reach: the share of the plan's set-point the battery follows (0..1; the set-point is
            relative to self-consumption, so 0 is self-consumption and 1 the plan).
        name: the method's name in reports.

    Raises:
        ConfigError: ``reach`` outside 0..1.
    """

    def __init__(
        self, plan: CommunityPlan, reach: float = 1.0, name: str = "community_plan"
    ) -> None:
        if not 0.0 <= reach <= 1.0:
            raise ConfigError(f"reach must be in 0..1, got {reach}")
        self.plan, self.reach, self.name = plan, reach, name
        self._setpoint = 0.0

    def decide(self, view: SlotView) -> Decision:
        """The plan's power as a set-point, truthful prices."""
        battery = view.community.households[view.household].battery
        if battery is None:
            raise PolicyError(f"household {view.household} has no battery to plan")
        power = self.plan.power_kw(view.household, view.slot, view.soc_kwh)
        surplus = self.plan.source.surplus_kw(view.household, view.slot)
        self._setpoint = self.reach * battery.setpoint_for(power, surplus, view.soc_kwh)
        return Decision(
            battery=self._setpoint, buy_frac=TRUTHFUL.buy_frac, sell_frac=TRUTHFUL.sell_frac
        )

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Report the battery's charge after the slot (from the household's own meter: the slot
        is over) to the plan."""
        c, i = view.community, view.household
        battery = c.households[i].battery
        assert battery is not None  # decide
        surplus = float(c.pv_kw[i, view.slot] - c.load_kw[i, view.slot])
        power = battery.power(self._setpoint, surplus, view.soc_kwh)
        self.plan.report(i, view.slot + 1, battery.next_soc(view.soc_kwh, power))
