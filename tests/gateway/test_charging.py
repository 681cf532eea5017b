"""The charger's plan mode: departure time and target energy, on forecasts and prices."""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
import pytest

from agents.forecasting.base import HORIZON
from agents.live.forecasts import SlotForecast
from devices.charger.modes import ChargerLimits
from devices.household import PlanConfig
from devices.interface import ChargerState
from gateway.charging import ChargePlanner

T0 = 1_799_020_800  # 2027-01-04 00:00 UTC
LIMITS = ChargerLimits(4_000.0, 10_000.0)


class Hourly:
    """A forecaster with given hourly prices (from T0's hour) and PV surplus."""

    def __init__(self, retail: list[float], pv_kw: list[float] | None = None) -> None:
        self.retail = retail
        self.pv_kw = pv_kw or [0.0] * len(retail)

    def forecast(self, slot_start: int) -> SlotForecast:
        first = (slot_start - T0) // 3_600

        def window(values: list[float]) -> np.ndarray:
            padded = values + [values[-1]] * HORIZON
            return np.array(padded[first : first + HORIZON], dtype=float)

        return SlotForecast(
            load_kw=np.zeros(HORIZON),
            pv_kw=window(self.pv_kw),
            retail=window(self.retail),
            feed_in=np.full(HORIZON, 0.08),
        )


def _planner(retail: list[float], **kwargs: object) -> ChargePlanner:
    plan = PlanConfig(departure=time(4, 0), target_wh=10_000)
    return ChargePlanner(plan, LIMITS, Hourly(retail, **kwargs), time_zone="UTC")  # type: ignore[arg-type]


def _charging(energy_wh: float = 0.0) -> ChargerState:
    return ChargerState(True, "Charging", "tx-1", energy_wh, 0.0, None)


def _hourly_energy(planner: ChargePlanner, hours: int) -> list[float]:
    plan = planner.current
    assert plan is not None
    return [
        sum(plan.power_at(T0 + h * 3_600 + q * 900) * 0.25 for q in range(4)) for h in range(hours)
    ]


def test_the_departure_is_the_next_one_in_the_households_time_zone() -> None:
    plan = PlanConfig(departure=time(7, 30), target_wh=1_000)
    berlin = ChargePlanner(plan, LIMITS, Hourly([0.3]), time_zone="Europe/Berlin")
    evening = datetime(2027, 1, 4, 20, 0, tzinfo=UTC).timestamp()
    # 07:30 in Berlin is 06:30 UTC in winter, the next morning
    assert berlin.departure_after(evening) == datetime(2027, 1, 5, 6, 30, tzinfo=UTC).timestamp()


def test_the_plan_charges_the_cheapest_hour_before_departure() -> None:
    planner = _planner([0.40, 0.15, 0.35, 0.40, 0.05])
    planner.replan(T0, None)
    assert _hourly_energy(planner, 5) == [0.0, 10_000.0, 0.0, 0.0, 0.0]  # 04:00 is too late


def test_what_the_session_charged_counts_against_the_target() -> None:
    planner = _planner([0.40, 0.15, 0.35, 0.40])
    planner.replan(T0, _charging(energy_wh=6_000.0))
    assert sum(_hourly_energy(planner, 4)) == pytest.approx(4_000.0)
    assert planner.current is not None and planner.current.remaining_wh == 4_000.0


def test_forecast_pv_surplus_is_preferred_to_a_cheaper_grid_hour() -> None:
    planner = _planner([0.40, 0.15, 0.35, 0.40], pv_kw=[0.0, 0.0, 12.0, 0.0])
    planner.replan(T0, None)
    assert _hourly_energy(planner, 4) == [0.0, 0.0, 10_000.0, 0.0]


def test_a_local_market_price_below_the_tariff_makes_the_grid_hours_cheaper() -> None:
    # with PV at 0.08 (feed-in) in hour 2 the plan would charge there; a local market selling
    # at 0.06 makes every grid hour cheaper than giving up the feed-in, hour 0 first
    planner = _planner([0.40, 0.40, 0.35, 0.40], pv_kw=[0.0, 0.0, 12.0, 0.0])
    planner.local_price = lambda: 0.06
    planner.replan(T0, None)
    assert _hourly_energy(planner, 4)[0] == 10_000.0


def test_a_new_slot_or_a_new_transaction_asks_for_a_new_plan() -> None:
    planner = _planner([0.3])
    state = _charging()
    planner.replan(T0 + 60, state)
    assert not planner.needs_replan(T0 + 120, state)
    assert planner.needs_replan(T0 + 900, state)
    assert planner.needs_replan(T0 + 120, ChargerState(True, "Charging", "tx-2", 0, 0, None))


def test_the_profile_starts_each_following_slot_at_its_boundary() -> None:
    planner = _planner([0.40, 0.15, 0.35, 0.40])
    planner.replan(T0 + 3_000, None)  # 00:50
    command = planner.command(T0 + 3_000, valid_seconds=1_800)
    assert command.limit_w == 0.0
    assert command.schedule == ((600, 10_000.0), (1_500, 10_000.0))
