"""The community plan: every battery on its part of the social optimum's program over a
receding horizon, truthful prices; and the rule communities of ``agent eval-community``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from agents.community import Community, CommunityDraw, SimulationResult, Strategy, simulate
from agents.data.calendar import SLOTS_PER_HOUR
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts, household_forecasts
from agents.policies.baselines import Truthful
from agents.policies.community_plan import (
    PV_RATIO_FLOOR_KW,
    CommunityPlan,
    CommunityPlanStrategy,
    ForecastOutlook,
    PerfectOutlook,
)
from agents.policies.social import social_optimum, welfare_eur
from agents.rl.kinds import COMMUNITY_RULES
from agents.rl.multi import CommunityEvalConfig, evaluate_community
from agents.rl.setup import Period
from tests.in_process import run_command

SMALL = CommunityDraw(n_households=6, share_pv=0.5, share_battery=0.34, seed=1)


def run_plan(
    community: Community, plan: CommunityPlan, start: int, end: int, reach: float = 1.0
) -> SimulationResult:
    """The community with every battery household on ``plan``, the others truthful."""
    strategies: list[Strategy] = [Truthful() for _ in community.households]
    for h in community.battery_households():
        strategies[h] = CommunityPlanStrategy(plan, reach)
    return simulate(community, strategies, start, end)


def test_with_perfect_foresight_to_the_periods_end_the_plan_reaches_the_social_optimum(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    optimum = social_optimum(community, start, end).savings_eur
    plan = CommunityPlan(community, PerfectOutlook(community, end), terminal_value=0.0)
    welfare = welfare_eur(run_plan(community, plan, start, end))
    # Only the meters' whole-Wh rounding separates the two.
    assert welfare == pytest.approx(optimum, rel=2e-3)
    assert welfare <= optimum + 1e-9


def test_a_plan_followed_with_no_reach_is_self_consumption(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    plan = CommunityPlan(community, PerfectOutlook(community, end, horizon_slots=96))
    truthful = simulate(community, [Truthful() for _ in community.households], start, end)
    planned = run_plan(community, plan, start, end, reach=0.0)
    assert np.array_equal(planned.cost_eur, truthful.cost_eur)


def test_a_reach_outside_zero_to_one_is_refused(
    community: Community, june_week: tuple[int, int]
) -> None:
    plan = CommunityPlan(community, PerfectOutlook(community, june_week[1]))
    with pytest.raises(ConfigError, match=r"reach must be in 0\.\.1"):
        CommunityPlanStrategy(plan, 1.5)


def test_the_plan_is_solved_once_per_slot_for_all_battery_agents(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, _ = june_week
    end = start + 8
    plan = CommunityPlan(community, PerfectOutlook(community, end, horizon_slots=4))
    run_plan(community, plan, start, end)
    assert len(community.battery_households()) > 1
    assert plan.solves == end - start


def test_the_planned_community_never_buys_from_the_grid_what_a_member_feeds_in(
    community: Community,
    forecasts: dict[int, HouseholdForecasts],
    june_week: tuple[int, int],
) -> None:
    start, end = june_week
    total = household_forecasts(
        community.load_kw.sum(axis=0),
        community.pv_kw.sum(axis=0),
        community.spot,
        community.config.year,
    )
    plan = CommunityPlan(community, ForecastOutlook(community, total, forecasts))
    result = run_plan(community, plan, start, end)
    both = np.minimum(result.import_kwh.sum(axis=0), result.export_kwh.sum(axis=0))
    assert result.export_kwh.sum() > 0
    assert np.all(both < 1e-9)


def _flat_pv_forecast(forecasts: dict[int, HouseholdForecasts], kw: float) -> HouseholdForecasts:
    """The community's forecasts with ``kw`` of PV forecast for every hour from every origin."""
    spot = next(iter(forecasts.values())).spot
    return HouseholdForecasts(np.zeros_like(spot), np.full_like(spot, kw), spot)


def _noon(june_week: tuple[int, int]) -> int:
    """The hour (of the year) of the first June day's noon."""
    return (june_week[0] + 12 * SLOTS_PER_HOUR) // SLOTS_PER_HOUR


def test_the_next_hours_pv_forecast_takes_the_last_hours_measured_ratio_fading_per_hour(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    origin = _noon(june_week)
    first = origin * SLOTS_PER_HOUR
    measured = float(community.pv_kw[:, first : first + SLOTS_PER_HOUR].sum(axis=0).mean())
    assert measured > 2 * PV_RATIO_FLOOR_KW
    # forecast half of what the meters then measured: the ratio is 2
    total = _flat_pv_forecast(forecasts, measured / 2)
    outlook = ForecastOutlook(community, total, forecasts, pv_persistence=0.5)
    assert outlook.pv_kw(origin, 3) == pytest.approx(
        [measured, measured / 2 * 1.5, measured / 2 * 1.25]
    )


def test_without_pv_persistence_the_pv_forecast_is_read_as_issued(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    total = _flat_pv_forecast(forecasts, 1.0)
    outlook = ForecastOutlook(community, total, forecasts)
    assert outlook.pv_kw(_noon(june_week), 3).tolist() == [1.0, 1.0, 1.0]


def test_a_pv_forecast_below_the_floor_is_not_corrected_by_its_ratio(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    kw = PV_RATIO_FLOOR_KW / 2
    total = _flat_pv_forecast(forecasts, kw)
    outlook = ForecastOutlook(community, total, forecasts, pv_persistence=1.0)
    assert outlook.pv_kw(_noon(june_week), 2).tolist() == [kw, kw]


def test_a_pv_persistence_outside_zero_to_one_is_refused(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    total = _flat_pv_forecast(forecasts, 1.0)
    with pytest.raises(ConfigError, match=r"pv_persistence must be in 0\.\.1"):
        ForecastOutlook(community, total, forecasts, pv_persistence=1.5)


def test_a_plan_that_misses_a_batterys_charge_is_refused(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    first, second = community.battery_households()[:2]
    plan = CommunityPlan(community, PerfectOutlook(community, end))
    plan.report(second, start, 1.0)
    with pytest.raises(PolicyError, match=f"misses household {second}'s charge"):
        plan.power_kw(first, start + 2, 1.0)


def test_a_household_without_a_battery_gets_no_plan(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    consumer = next(i for i, h in enumerate(community.households) if h.battery is None)
    plan = CommunityPlan(community, PerfectOutlook(community, end))
    with pytest.raises(PolicyError, match="has no battery"):
        plan.power_kw(consumer, start, 0.0)


def test_an_unknown_community_rule_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown community rule.*nope.*community_plan"):
        CommunityEvalConfig(rules=("truthful", "nope"))


def test_an_evaluation_with_neither_rules_nor_policies_is_refused() -> None:
    with pytest.raises(ConfigError, match="nothing to evaluate"):
        CommunityEvalConfig(rules=())


def test_the_evaluation_runs_the_rule_communities_it_is_given() -> None:
    report = evaluate_community(
        CommunityEvalConfig(
            rules=("community_plan", "mpc"),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(6, 6, days=1),
            cache_dir=None,
            household_bounds=False,
        )
    )
    assert list(report["rules"]) == ["community_plan", "mpc"]
    assert report["shared"] is None
    assert report["rules"]["community_plan"]["kind"] == "coordination"
    assert all(row["pct_of_social_optimum"] <= 100.0 for row in report["rules"].values())


def test_the_command_line_refuses_an_unknown_rule_naming_it_and_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_command(
        monkeypatch, capsys, "agent", "eval-community", "--no-bounds", "--rules",
        "truthful, community_plan,nope",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:")
    assert "nope" in done.stderr and all(rule in done.stderr for rule in COMMUNITY_RULES)
    assert "Traceback" not in done.stderr


def _eval_region(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], regions: str
) -> dict[str, Any]:
    done = run_command(
        monkeypatch, capsys, "agent", "eval-community", "--json", "--no-bounds", "--rules",
        "truthful", "--forecast", "naive", "--days", "1", "--regions", regions,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_command_line_evaluates_the_community_under_another_regions_weather(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _eval_region(monkeypatch, capsys, "4")
    away = _eval_region(monkeypatch, capsys, "7")
    assert (home["regions"], away["regions"]) == ([4], [7])
    # the members and prices are the same: only the PV weather moved the optimum
    assert home["agents"] == away["agents"]
    assert home["social_optimum"]["savings_eur"] != away["social_optimum"]["savings_eur"]


@pytest.mark.parametrize("regions", ["16", "0", "4,x", ""])
def test_the_command_line_refuses_regions_that_are_not_try_regions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], regions: str
) -> None:
    done = run_command(
        monkeypatch, capsys, "agent", "eval-community", "--no-bounds", "--regions", regions
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:")
    assert "regions" in done.stderr
    assert "Traceback" not in done.stderr
