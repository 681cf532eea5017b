"""Transfer limits are safe at the limit (alone and all at once), nearly tight, and published
as whole Wh; a diverged forecast keeps the last good limits; schedules are checked."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from grid.check import ViolationKind
from grid.errors import LimitsError
from grid.layout import HouseholdMap
from grid.limits import (
    Direction,
    ForecastScaled,
    LimitsKept,
    PowerFlowDiverged,
    TransferLimits,
)
from grid.operator import WH_PER_KW, GridOperator, SearchSettings
from tests.grid.conftest import pv_noon


def at_limits(
    operator: GridOperator, forecast_wh: np.ndarray, moves: dict[int, float]
) -> np.ndarray:
    """Household net Wh with communities moved to exchange ``moves`` (Wh, + = export)."""
    kw = operator.at_exchange(forecast_wh / WH_PER_KW, {k: v / WH_PER_KW for k, v in moves.items()})
    return kw * WH_PER_KW


@pytest.fixture
def city(placed: Callable[[str, int, int], HouseholdMap]) -> GridOperator:
    return GridOperator(placed("cigre-mv-kerber-small", 3, 20))


def test_each_community_at_its_limit_alone_breaks_no_bound(city: GridOperator) -> None:
    forecast = pv_noon(len(city.households), 1200.0)
    limits = city.limits(40, forecast)
    for k, published in enumerate(limits.limits):
        for exchange in (published.export_limit_wh, -published.import_limit_wh):
            report = city.check(40, at_limits(city, forecast, {k: exchange}))
            assert report.converged and report.violations == ()


def test_all_communities_at_their_limits_at_once_break_no_bound(city: GridOperator) -> None:
    forecast = pv_noon(len(city.households), 1200.0)
    limits = city.limits(40, forecast)
    corners = (
        {k: x.export_limit_wh for k, x in enumerate(limits.limits)},
        {k: -x.import_limit_wh for k, x in enumerate(limits.limits)},
    )
    for corner in corners:
        assert city.check(40, at_limits(city, forecast, corner), limits).ok


def test_any_mix_of_exchanges_within_the_limits_breaks_no_bound(city: GridOperator) -> None:
    forecast = pv_noon(len(city.households), 1200.0)
    limits = city.limits(40, forecast)
    rng = np.random.default_rng(11)
    for _ in range(25):
        mix = {
            k: rng.uniform(-x.import_limit_wh, x.export_limit_wh)
            for k, x in enumerate(limits.limits)
        }
        assert city.check(40, at_limits(city, forecast, mix), limits).ok


def test_a_single_community_limit_is_tight(placed: Callable[[str, int, int], HouseholdMap]) -> None:
    operator = GridOperator(placed("kerber-landnetz-kabel-1", 1, 16))
    forecast = pv_noon(16, 400.0)
    export = operator.limits(50, forecast).limits[0].export_limit_wh
    beyond = export + 3 * operator.settings.tolerance_kw * WH_PER_KW
    assert operator.check(50, at_limits(operator, forecast, {0: export})).violations == ()
    assert operator.check(50, at_limits(operator, forecast, {0: beyond})).violations != ()


def test_an_overloading_forecast_is_repaired_by_the_limits(city: GridOperator) -> None:
    forecast = pv_noon(len(city.households), 4000.0)  # 16 kW of PV export per household
    naive = city.check(12, forecast)
    assert any(v.kind is ViolationKind.TRAFO_OVERLOAD for v in naive.violations)
    limits = city.limits(12, forecast)
    schedule = city.schedule_within(forecast, limits)
    report = city.check(12, schedule, limits)
    assert report.ok
    exchanges = city.exchange_kw(schedule / WH_PER_KW) * WH_PER_KW
    assert all(
        x <= lim.export_limit_wh + 1e-6 for x, lim in zip(exchanges, limits.limits, strict=True)
    )


def test_limits_are_whole_wh_and_never_negative(city: GridOperator) -> None:
    limits = city.limits(3, pv_noon(len(city.households), -300.0))  # evening: everyone imports
    for published in limits.limits:
        assert isinstance(published.import_limit_wh, int) and published.import_limit_wh >= 0
        assert isinstance(published.export_limit_wh, int) and published.export_limit_wh >= 0


def test_a_diverged_forecast_keeps_the_last_good_limits(city: GridOperator) -> None:
    n = len(city.households)
    good = city.limits(7, pv_noon(n, 800.0))
    kept = city.limits(8, np.full(n, 2_000_000.0))  # 8 MW per household: no power flow
    assert kept.events[0] == PowerFlowDiverged(8, "forecast")
    assert [e for e in kept.events if isinstance(e, LimitsKept)] == [
        LimitsKept(8, c.id, 7) for c in city.communities
    ]
    assert [(x.import_limit_wh, x.export_limit_wh) for x in kept.limits] == [
        (x.import_limit_wh, x.export_limit_wh) for x in good.limits
    ]
    assert all(x.slot == 8 for x in kept.limits)


def test_a_diverged_first_slot_publishes_zero_limits(city: GridOperator) -> None:
    kept = city.limits(0, np.full(len(city.households), 2_000_000.0))
    assert all(x.import_limit_wh == x.export_limit_wh == 0 for x in kept.limits)
    assert LimitsKept(0, "c01", None) in kept.events


def test_the_check_names_overloads_and_voltage_band_violations(city: GridOperator) -> None:
    report = city.check(5, pv_noon(len(city.households), 4000.0))
    kinds = {v.kind for v in report.violations}
    assert ViolationKind.TRAFO_OVERLOAD in kinds and ViolationKind.OVERVOLTAGE in kinds
    worst = next(v for v in report.violations if v.kind is ViolationKind.OVERVOLTAGE)
    assert worst.value > 1.1 and worst.bound == 1.1 and worst.name
    assert not report.ok


def test_the_check_reports_communities_beyond_their_limits(city: GridOperator) -> None:
    forecast = pv_noon(len(city.households), 1200.0)
    limits = city.limits(40, forecast)
    beyond = at_limits(city, forecast, {0: limits.limits[0].export_limit_wh + 5000})
    breaches = city.check(40, beyond, limits).breaches
    assert [(b.community_id, b.direction) for b in breaches] == [("c01", Direction.EXPORT)]


def test_both_engines_publish_nearly_the_same_limits(
    placed: Callable[[str, int, int], HouseholdMap],
) -> None:
    forecast = pv_noon(16, 400.0)
    fast = GridOperator(placed("kerber-landnetz-kabel-1", 2, 8))
    reference = GridOperator(placed("kerber-landnetz-kabel-1", 2, 8), engine="pandapower")
    a, b = fast.limits(1, forecast), reference.limits(1, forecast)
    tolerance_wh = 2 * SearchSettings().tolerance_kw * WH_PER_KW
    for x, y in zip(a.limits, b.limits, strict=True):
        assert abs(x.export_limit_wh - y.export_limit_wh) <= tolerance_wh
        assert abs(x.import_limit_wh - y.import_limit_wh) <= tolerance_wh


@pytest.mark.parametrize(
    "fields",
    [
        {"import_limit_wh": -1, "export_limit_wh": 0},
        {"import_limit_wh": 0, "export_limit_wh": 1.5},
        {"import_limit_wh": True, "export_limit_wh": 0},
    ],
)
def test_limits_that_cannot_be_published_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(LimitsError):
        TransferLimits(slot=1, community_id="c01", **fields)  # type: ignore[arg-type]


def test_clipped_forecasts_that_break_a_bound_together_move_the_joint_start_back(
    city: GridOperator,
) -> None:
    forecast = pv_noon(len(city.households), -2000.0)  # every household draws 8 kW at once
    limits = city.limits(70, forecast)
    assert any(isinstance(e, ForecastScaled) for e in limits.events)
    corners = (
        {k: x.export_limit_wh for k, x in enumerate(limits.limits)},
        {k: -x.import_limit_wh for k, x in enumerate(limits.limits)},
    )
    for corner in corners:
        assert city.check(70, at_limits(city, forecast, corner), limits).ok
    assert city.check(70, city.schedule_within(forecast, limits), limits).ok
