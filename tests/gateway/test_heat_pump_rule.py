"""The gateway's SG-Ready rule: boost on a PV surplus or on cheap hours of a day whose prices
really differ, lock in its dear hours."""

from __future__ import annotations

from devices.interface import SgReadyState
from gateway.execution import HouseholdControl

SPREAD_DAY = [0.20] * 30 + [0.30] * 36 + [0.40] * 30  # cheap quarter half the dear one
FLAT_DAY = [0.30] * 24 + [0.31] * 48 + [0.32] * 24  # 6 % apart: not worth the extra losses


def _state(price: float, day: list[float], surplus_w: float = 0.0) -> SgReadyState:
    return HouseholdControl.heat_pump_command(price, day, surplus_w).state


def test_a_pv_surplus_boosts_whatever_the_price() -> None:
    assert _state(0.40, SPREAD_DAY, surplus_w=2_000.0) == SgReadyState.BOOST


def test_a_day_with_a_real_spread_boosts_cheap_hours_and_locks_dear_ones() -> None:
    assert _state(0.20, SPREAD_DAY) == SgReadyState.BOOST
    assert _state(0.30, SPREAD_DAY) == SgReadyState.NORMAL
    assert _state(0.40, SPREAD_DAY) == SgReadyState.LOCKED


def test_a_flat_day_leaves_the_heat_pump_normal() -> None:
    assert _state(0.30, FLAT_DAY) == SgReadyState.NORMAL
    assert _state(0.32, FLAT_DAY) == SgReadyState.NORMAL
