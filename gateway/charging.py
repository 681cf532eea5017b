"""The charger's plan mode in the gateway: a departure time and a target energy, charged in the
cheapest slots before departure on the household's forecasts and the local market's prices.

At every slot boundary, and whenever a car starts a new transaction, :class:`ChargePlanner`
plans the session again (:func:`devices.charger.modes.plan_schedule`):

- the energy still to charge: the target minus what the running transaction has charged
  (the charger's energy register);
- the slots from now to the next departure (``modes.plan.departure`` in its time zone);
- per slot, what a kWh costs: where the grid supplies the car, the tariff's import price, or
  the local market's price when that is lower (the agent buys there); where the forecast PV
  surplus covers it, the tariff's export price, or the local market's when that is higher (what
  the PV would have earned selling locally);
- the PV surplus per slot from the household's own history (PV minus demand, as the agent's
  forecaster sees it).

The plan is a power per slot; :meth:`ChargePlanner.command` turns it into a charging profile
whose periods start at the next slots' boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agents.live.forecasts import Forecaster
from devices.charger.modes import ChargerLimits, SlotForecast, plan_schedule
from devices.household import PlanConfig
from devices.interface import ChargerCommand, ChargerState

HOUR = 3_600
LocalPrice = Callable[[], float | None]
"""The local market's recent price (EUR/kWh), None when it has not traded lately."""


@dataclass
class ChargePlan:
    """One session's plan: power per slot from ``first_start`` (W)."""

    first_start: float
    slot_seconds: float
    power_w: list[float]
    departure: float
    remaining_wh: float
    transaction_id: str | None = None

    def power_at(self, t: float) -> float:
        index = int((t - self.first_start) // self.slot_seconds)
        return self.power_w[index] if 0 <= index < len(self.power_w) else 0.0


@dataclass
class ChargePlanner:
    """Plans the charger's session (see the module docstring).

    Args:
        plan: the household's departure and target.
        limits: the charger's minimum and maximum power.
        forecaster: demand, PV and tariff per hour from a slot on (the agent's forecaster).
        time_zone: the household's time zone (the departure is local time).
        local_price: the local market's recent price, if known.
        slot_seconds: the market's slot length.
    """

    plan: PlanConfig
    limits: ChargerLimits
    forecaster: Forecaster
    time_zone: str = "Europe/Berlin"
    local_price: LocalPrice = lambda: None
    slot_seconds: float = 900.0
    current: ChargePlan | None = None
    replans: int = field(default=0)

    def departure_after(self, now: float) -> float:
        """The next departure (unix s) after ``now``."""
        zone = ZoneInfo(self.time_zone)
        local = datetime.fromtimestamp(now, zone)
        candidate = datetime.combine(local.date(), self.plan.departure, tzinfo=zone)
        if candidate.timestamp() <= now:
            candidate = datetime.combine(
                local.date() + timedelta(days=1), self.plan.departure, tzinfo=zone
            )
        return candidate.timestamp()

    def slots(self, now: float, departure: float) -> list[SlotForecast]:
        """The slots from the running one to departure, with their prices and surplus."""
        first = now - now % self.slot_seconds
        count = max(1, math.ceil((departure - first) / self.slot_seconds))
        forecast = self.forecaster.forecast(int(first))
        hour0 = first - first % HOUR
        local = self.local_price()
        out: list[SlotForecast] = []
        for i in range(count):
            start = first + i * self.slot_seconds
            h = min(int((start - hour0) // HOUR), len(forecast.retail) - 1)
            retail, feed_in = float(forecast.retail[h]), float(forecast.feed_in[h])
            if local is not None:
                retail, feed_in = min(retail, local), max(feed_in, local)
            surplus_kw = float(forecast.pv_kw[h]) - float(forecast.load_kw[h])
            out.append(SlotForecast(start, self.slot_seconds, retail, feed_in, surplus_kw * 1000))
        return out

    def replan(self, now: float, state: ChargerState | None) -> ChargePlan:
        """Plan the session from ``now`` on the charger's state (its energy register)."""
        departure = self.departure_after(now)
        delivered = state.energy_wh if state is not None and state.transaction_id else 0.0
        remaining = max(self.plan.target_wh - delivered, 0.0)
        slots = self.slots(now, departure)
        # the running slot has already begun: only its rest can charge
        rest = slots[0].start + slots[0].seconds - now
        if rest < slots[0].seconds:
            head = slots[0]
            slots[0] = SlotForecast(
                now, rest, head.import_eur_kwh, head.export_eur_kwh, head.surplus_w
            )
        power = plan_schedule(slots, departure=departure, target_wh=remaining, limits=self.limits)
        self.current = ChargePlan(
            first_start=now - now % self.slot_seconds,
            slot_seconds=self.slot_seconds,
            power_w=power,
            departure=departure,
            remaining_wh=remaining,
            transaction_id=state.transaction_id if state is not None else None,
        )
        self.replans += 1
        return self.current

    def needs_replan(self, now: float, state: ChargerState | None) -> bool:
        """At a new slot, or when the car's transaction changed."""
        plan = self.current
        if plan is None:
            return True
        slot_start = now - now % self.slot_seconds
        transaction = state.transaction_id if state is not None else None
        return slot_start != plan.first_start or transaction != plan.transaction_id

    def command(self, now: float, *, valid_seconds: int) -> ChargerCommand:
        """The running plan as a charging profile: the slot's power now, then one period per
        following slot within the profile's validity."""
        plan = self.current
        if plan is None:
            return ChargerCommand(0.0, valid_seconds=valid_seconds)
        periods: list[tuple[int, float]] = []
        start = plan.first_start + plan.slot_seconds
        while start - now < valid_seconds:
            periods.append((round(start - now), plan.power_at(start)))
            start += plan.slot_seconds
        return ChargerCommand(
            plan.power_at(now), schedule=tuple(periods), valid_seconds=valid_seconds
        )
