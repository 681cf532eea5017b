"""Charging modes: now, min+PV, PV only, and the plan (departure time and target energy)."""

from __future__ import annotations

import pytest

from devices.charger.modes import ChargeMode, ChargerLimits, SlotForecast, mode_power, plan_schedule
from devices.errors import DeviceConfigError

LIMITS = ChargerLimits(min_w=4_140.0, max_w=11_000.0)
T0 = 1_800_000_000.0


def test_now_charges_at_full_power_whatever_the_sun() -> None:
    assert mode_power(ChargeMode.NOW, 0.0, LIMITS) == 11_000.0


def test_min_pv_charges_at_least_the_minimum_and_follows_a_larger_surplus() -> None:
    assert mode_power(ChargeMode.MINPV, 1_000.0, LIMITS) == 4_140.0
    assert mode_power(ChargeMode.MINPV, 6_500.0, LIMITS) == 6_500.0
    assert mode_power(ChargeMode.MINPV, 20_000.0, LIMITS) == 11_000.0


def test_pv_only_waits_until_the_surplus_reaches_the_minimum() -> None:
    assert mode_power(ChargeMode.PV, 4_000.0, LIMITS) == 0.0
    assert mode_power(ChargeMode.PV, 5_000.0, LIMITS) == 5_000.0


def _slots(prices: list[float], surplus: list[float] | None = None) -> list[SlotForecast]:
    surplus = surplus or [0.0] * len(prices)
    return [
        SlotForecast(T0 + 3_600 * i, 3_600, p, 0.08, s)
        for i, (p, s) in enumerate(zip(prices, surplus, strict=True))
    ]


def test_a_plan_fills_the_cheapest_hours_before_departure() -> None:
    slots = _slots([0.40, 0.20, 0.35, 0.15, 0.10])
    power = plan_schedule(slots, departure=T0 + 4 * 3_600, target_wh=16_000, limits=LIMITS)
    # hour 4 (0.10) is after departure; hours 3 (0.15) and 1 (0.20) take the energy
    assert power == [0.0, 5_000.0, 0.0, 11_000.0, 0.0]


def test_a_plan_prefers_hours_where_the_forecast_pv_covers_the_car() -> None:
    slots = _slots([0.30, 0.30, 0.30], surplus=[0.0, 11_000.0, 0.0])
    power = plan_schedule(slots, departure=T0 + 3 * 3_600, target_wh=11_000, limits=LIMITS)
    assert power == [0.0, 11_000.0, 0.0]


def test_a_plan_that_cannot_reach_its_target_charges_every_hour_at_full_power() -> None:
    power = plan_schedule(
        _slots([0.3, 0.2]), departure=T0 + 2 * 3_600, target_wh=50_000, limits=LIMITS
    )
    assert power == [11_000.0, 11_000.0]


def test_a_small_rest_is_charged_at_the_minimum_power() -> None:
    power = plan_schedule(
        _slots([0.3, 0.2]), departure=T0 + 2 * 3_600, target_wh=12_000, limits=LIMITS
    )
    assert power == [4_140.0, 11_000.0]


def test_impossible_limits_are_refused() -> None:
    with pytest.raises(DeviceConfigError, match="need 0 < min_w <= max_w"):
        ChargerLimits(min_w=12_000, max_w=11_000)
