"""The community residual: a linear correction of the community plan every battery household
shares, its file, and the random search that learns it on the community's welfare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.community import Community, CommunityDraw, MarketHistory, SlotView, simulate
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts, household_forecasts
from agents.policies.community_plan import CommunityPlan, PerfectOutlook
from agents.policies.community_residual import (
    COMMUNITY_RESIDUAL_REACH,
    CommunityResidualStrategy,
    LinearResidual,
    residual_community,
)
from agents.policies.social import welfare_eur
from agents.prosumer import PLANNED_OBS_DIM
from agents.rl.community_search import SearchConfig, search_step, train_community_residual
from agents.rl.multi import CommunityEvalConfig, evaluate_community
from agents.rl.setup import Period
from tests.in_process import run_command

SMALL = CommunityDraw(n_households=6, share_pv=0.5, share_battery=0.34, seed=1)


def residual(bias: float = 0.0, **weights: float) -> LinearResidual:
    """A policy on unscaled observations: ``bias`` and nothing else unless named by index."""
    w = np.zeros(PLANNED_OBS_DIM + 1)
    w[-1] = bias
    for index, value in weights.items():
        w[int(index.removeprefix("w"))] = value
    return LinearResidual(np.zeros(PLANNED_OBS_DIM), np.ones(PLANNED_OBS_DIM), w)


def plan_for(community: Community, end: int) -> CommunityPlan:
    return CommunityPlan(community, PerfectOutlook(community, end, horizon_slots=8))


def all_forecasts(community: Community) -> dict[int, HouseholdForecasts]:
    return {
        h: household_forecasts(
            community.load_kw[h], community.pv_kw[h], community.spot, community.config.year
        )
        for h in community.battery_households()
    }


def test_a_residual_with_zero_weights_is_the_community_plan(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    forecasts = all_forecasts(community)
    planned = simulate(
        community, residual_community(community, plan_for(community, end), None, forecasts),
        start, end,
    )  # fmt: skip
    moved = simulate(
        community,
        residual_community(community, plan_for(community, end), residual(), forecasts),
        start, end,
    )  # fmt: skip
    assert welfare_eur(moved) == welfare_eur(planned)
    assert np.array_equal(moved.soc_kwh, planned.soc_kwh)


def test_the_residual_moves_the_plans_setpoint_by_at_most_its_reach(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    h = community.battery_households()[0]
    history = MarketHistory.empty(community.n_slots)
    view = SlotView(community, h, start + 40, 2.0, history)
    forecasts = all_forecasts(community)
    planned = CommunityResidualStrategy(plan_for(community, end), residual(), forecasts[h])
    pushed = CommunityResidualStrategy(plan_for(community, end), residual(9.0), forecasts[h])
    base, up = planned.decide(view).battery, pushed.decide(view).battery
    assert up == pytest.approx(min(base + COMMUNITY_RESIDUAL_REACH, 1.0))


def test_the_residual_reads_no_market_history(
    community: Community, june_week: tuple[int, int]
) -> None:
    """The last slot's book carries the hour's PV (the weather is hourly): withheld."""
    start, end = june_week
    h = community.battery_households()[0]
    traded = MarketHistory.empty(community.n_slots)
    traded.imbalance_kwh[start + 39] = 3.0
    traded.unfilled_bid[start + 39] = 0.8
    forecasts = all_forecasts(community)
    # every weight reads the observation, so any feature of the history would move the decision
    dense = LinearResidual(
        np.zeros(PLANNED_OBS_DIM), np.ones(PLANNED_OBS_DIM), np.full(PLANNED_OBS_DIM + 1, 0.05)
    )
    decisions = []
    for history in (MarketHistory.empty(community.n_slots), traded):
        strategy = CommunityResidualStrategy(plan_for(community, end), dense, forecasts[h])
        decisions.append(strategy.decide(SlotView(community, h, start + 40, 2.0, history)))
    assert decisions[0] == decisions[1]


def test_a_residual_file_reads_back_as_written(tmp_path: Path) -> None:
    policy = residual(0.3, w2=-0.4)
    back = LinearResidual.load(policy.save(tmp_path / "r.json"))
    assert np.array_equal(back.weights, policy.weights)
    assert np.array_equal(back.scale, policy.scale)
    assert back.reach == policy.reach


def _written(tmp_path: Path, **changes: Any) -> Path:
    path = residual(0.1).save(tmp_path / "r.json")
    data = json.loads(path.read_text()) | changes
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "book_model"}, "kind 'book_model'"),
        ({"market": "sealed"}, "sealed"),
        ({"obs_width": 49}, "takes 49 observation values"),
        ({"weights": [0.0] * 3}, "weights must hold"),
        ({"weights": [float("nan")] * (PLANNED_OBS_DIM + 1)}, "finite"),
        ({"scale": [0.0] * PLANNED_OBS_DIM}, "scale must be positive"),
    ],
)
def test_a_residual_file_that_does_not_fit_is_refused_naming_it(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        LinearResidual.load(_written(tmp_path, **changes))


def test_a_missing_or_garbled_residual_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"no community residual at .*gone\.json"):
        LinearResidual.load(tmp_path / "gone.json")
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json")
    with pytest.raises(PolicyError, match=r"garbled\.json: not a community residual"):
        LinearResidual.load(garbled)


def test_a_search_step_follows_the_direction_whose_run_scored_better() -> None:
    deltas = np.eye(3)
    # direction 0 helps (plus beats minus), direction 1 hurts, direction 2 does nothing
    moved = search_step(np.zeros(3), deltas, [5.0, 1.0, 2.0], [1.0, 5.0, 2.0], top=3, step=0.1)
    assert moved[0] > 0 > moved[1]
    assert moved[2] == 0.0


def test_a_search_step_follows_only_its_top_directions() -> None:
    moved = search_step(np.zeros(3), np.eye(3), [9.0, 3.0, 0.5], [1.0, 2.0, 0.0], top=1, step=0.1)
    assert moved[0] > 0 and moved[1] == 0.0 and moved[2] == 0.0


def test_a_search_step_without_spread_in_the_scores_stays() -> None:
    weights = np.array([0.2, -0.1])
    assert np.array_equal(search_step(weights, np.eye(2), [1.0, 1.0], [1.0, 1.0], 2, 0.1), weights)


def tiny_search(out: Path) -> SearchConfig:
    return SearchConfig(
        out=out, seeds=(0, 1), iterations=2, directions=2, top=1, window_days=1,
        years=(2015,), regions=(2,), community=SMALL, forecast=ForecastMethod.NAIVE,
        scale_samples=10, workers=1, cache_dir=None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two seeds of a tiny search (two iterations of two directions on one-day windows)."""
    return train_community_residual(tiny_search(tmp_path_factory.mktemp("search")))


def test_the_search_writes_one_policy_per_seed(trained: dict[str, Any]) -> None:
    assert [Path(run["model"]).name for run in trained["runs"]] == [
        "community-residual-seed0.json",
        "community-residual-seed1.json",
    ]
    policies = [LinearResidual.load(Path(run["model"])) for run in trained["runs"]]
    assert all(len(run["log"]) == 2 for run in trained["runs"])
    assert not np.array_equal(policies[0].weights, policies[1].weights)
    assert policies[0].meta == {
        "algo": "ars",
        "seed": 0,
        "iterations": 2,
        "seconds": pytest.approx(trained["runs"][0]["seconds"]),
    }


def test_the_search_is_repeatable_from_its_seed(trained: dict[str, Any], tmp_path: Path) -> None:
    again = train_community_residual(tiny_search(tmp_path))
    for first, second in zip(trained["runs"], again["runs"], strict=True):
        assert first["log"] == second["log"]
        weights = [LinearResidual.load(Path(run["model"])).weights for run in (first, second)]
        assert np.array_equal(*weights)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"top": 3}, "top must be in 1..2"),
        ({"iterations": 0}, "iterations must be >= 1"),
        ({"regions": (16,)}, "regions"),
        ({"noise": 0.0}, "positive"),
    ],
)
def test_a_search_configuration_out_of_range_is_refused(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    from dataclasses import asdict

    base = asdict(tiny_search(tmp_path)) | {"community": SMALL, "period": Period(1, 3, 8)}
    with pytest.raises(ConfigError, match=message):
        SearchConfig(**(base | changes))


def test_the_evaluation_reports_the_residual_across_seeds(trained: dict[str, Any]) -> None:
    report = evaluate_community(
        CommunityEvalConfig(
            rules=("community_plan",),
            residuals=tuple(Path(run["model"]) for run in trained["runs"]),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(1, 1, days=1, skip_days=8),
            cache_dir=None,
            household_bounds=False,
        )
    )
    section = report["community_residual"]
    assert section["kind"] == "learned"
    assert len(section["pct_of_social_optimum"]["seeds"]) == 2
    assert all(pct <= 100.0 for pct in section["pct_of_social_optimum"]["seeds"])


def test_with_zero_weights_the_evaluated_residual_scores_the_community_plan(
    tmp_path: Path,
) -> None:
    report = evaluate_community(
        CommunityEvalConfig(
            rules=("community_plan",),
            residuals=(residual().save(tmp_path / "zero.json"),),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(6, 6, days=1),
            cache_dir=None,
            household_bounds=False,
        )
    )
    plan = report["rules"]["community_plan"]["welfare_eur"]
    assert report["community_residual"]["welfare_eur"]["seeds"] == [plan]


def test_the_command_line_evaluates_a_residual_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = residual(0.2).save(tmp_path / "r.json")
    done = run_command(
        monkeypatch, capsys, "agent", "eval-community", "--no-bounds", "--rules", "",
        "--forecast", "naive", "--days", "1", "--community-residual", str(path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "community_residual" in done.stdout and "learned" in done.stdout


@pytest.mark.parametrize("name", ["gone.json", "garbled.json"])
def test_the_command_line_refuses_a_residual_file_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    (tmp_path / "garbled.json").write_text("[1, 2")
    done = run_command(
        monkeypatch, capsys, "agent", "eval-community", "--no-bounds", "--rules", "",
        "--community-residual", str(tmp_path / name),
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:")
    assert name in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_line_refuses_a_search_without_iterations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done = run_command(
        monkeypatch, capsys, "agent", "train", "--algo", "community_residual",
        "--iterations", "0", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert "iterations" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_shipped_community_residuals_are_three_seeds_of_the_search() -> None:
    shipped = Path(__file__).resolve().parents[2] / "agents" / "pretrained"
    policies = [LinearResidual.load(shipped / f"community-residual-seed{s}.json") for s in range(3)]
    assert [p.meta["seed"] for p in policies if p.meta] == [0, 1, 2]
    assert all(p.reach == COMMUNITY_RESIDUAL_REACH for p in policies)
    # the three seeds searched apart from one scale
    assert all(np.array_equal(p.scale, policies[0].scale) for p in policies)
    assert not np.array_equal(policies[0].weights, policies[1].weights)
    ensemble = LinearResidual.load(shipped / "community-residual-ensemble.json")
    assert np.array_equal(ensemble.weights, LinearResidual.ensemble(policies).weights)


def test_the_shipped_replication_is_the_mean_of_three_new_seeds() -> None:
    shipped = Path(__file__).resolve().parents[2] / "agents" / "pretrained"
    policies = [
        LinearResidual.load(shipped / f"community-residual-seed{s}.json") for s in (3, 4, 5)
    ]
    assert [p.meta["seed"] for p in policies if p.meta] == [3, 4, 5]
    ensemble = LinearResidual.load(shipped / "community-residual-ensemble-seeds345.json")
    assert np.array_equal(ensemble.weights, LinearResidual.ensemble(policies).weights)


def test_the_search_writes_the_mean_of_its_seeds_as_one_policy(trained: dict[str, Any]) -> None:
    seeds = [LinearResidual.load(Path(run["model"])) for run in trained["runs"]]
    ensemble = LinearResidual.load(Path(trained["ensemble"]))
    assert np.allclose(ensemble.weights, (seeds[0].weights + seeds[1].weights) / 2)
    assert ensemble.meta == {"ensemble_of_seeds": [0, 1]}


def test_policies_of_different_scaling_are_not_averaged() -> None:
    other = LinearResidual(np.ones(PLANNED_OBS_DIM), np.ones(PLANNED_OBS_DIM), residual().weights)
    with pytest.raises(PolicyError, match="one scaling"):
        LinearResidual.ensemble([residual(), other])
    with pytest.raises(PolicyError, match="no policies"):
        LinearResidual.ensemble([])


def test_the_command_line_refuses_search_options_for_another_algorithm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done = run_command(
        monkeypatch, capsys, "agent", "train", "--algo", "ppo", "--iterations", "5",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert "--iterations and --workers are read only with --algo community_residual" in done.stderr
    assert not any(tmp_path.iterdir())
