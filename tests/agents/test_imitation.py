"""The imitation residual: hindsight labels, the fitted network, its ONNX file and the checks a
policy file must pass before it acts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.community import CommunityDraw
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod
from agents.policies.mpc import BookMpc
from agents.prosumer import PLANNED_OBS_DIM, run_prosumer
from agents.rl.algorithms import Algo, PolicyStrategy
from agents.rl.evaluate import AgentEvalConfig, mean_ci95
from agents.rl.export import OnnxModel, OnnxPolicy
from agents.rl.imitation import (
    Demonstrations,
    FitConfig,
    HindsightExpert,
    collect,
    export,
    fit,
)
from agents.rl.setup import Period, Setup, SetupConfig, build_setup

SETUP = SetupConfig(
    community=CommunityDraw(n_households=4, share_pv=0.5, share_battery=0.25, seed=2),
    forecast=ForecastMethod.NAIVE,
    max_households=1,
    cache_dir=None,
)


@pytest.fixture(scope="module")
def setup() -> Setup:
    return build_setup(SETUP, Period(6, 6, days=2))


@pytest.fixture(scope="module")
def demos(setup: Setup) -> Demonstrations:
    return collect(setup, 24, seed=0)


def test_labels_are_corrections_in_units_of_the_reach(demos: Demonstrations) -> None:
    assert demos.obs.shape == (24, PLANNED_OBS_DIM)
    assert np.all(np.abs(demos.target) <= 1.0) and np.isfinite(demos.target).all()


def test_the_expert_uses_the_battery_where_hindsight_pays(setup: Setup) -> None:
    expert = HindsightExpert(setup.community, setup.books[0])
    battery = setup.community.households[setup.households[0]].battery
    assert battery is not None
    setpoints = [
        expert.setpoint(t, 0.5 * battery.capacity_kwh)
        for t in range(setup.start, setup.start + 96, 8)
    ]
    assert all(-1.0 <= s <= 1.0 for s in setpoints)
    assert any(abs(s) > 1e-6 for s in setpoints)  # it does not just self-consume


def test_demonstrations_round_trip_and_refuse_another_width(
    demos: Demonstrations, tmp_path: Path
) -> None:
    demos.save(tmp_path / "d.npz")
    np.testing.assert_array_equal(Demonstrations.load(tmp_path / "d.npz").target, demos.target)
    np.savez(tmp_path / "bad.npz", obs=np.zeros((2, 7)), target=np.zeros(2), household=np.zeros(2))
    with pytest.raises(PolicyError, match=r"bad.npz.*7"):
        Demonstrations.load(tmp_path / "bad.npz")


def test_fitting_refuses_nan_labels(demos: Demonstrations) -> None:
    target = demos.target.copy()
    target[0] = np.nan
    with pytest.raises(PolicyError, match="NaN"):
        fit(Demonstrations(demos.obs, target, demos.household), FitConfig(epochs=1))


def test_the_network_fits_its_labels_better_than_zero(demos: Demonstrations) -> None:
    net = fit(demos, FitConfig(epochs=200, hidden=(32,), weight_decay=0.0))
    with torch.no_grad():
        out = net(torch.as_tensor(demos.obs))[:, 0].numpy()
    assert np.mean((out - demos.target) ** 2) < np.mean(demos.target**2)


@pytest.fixture(scope="module")
def zero_gain_file(demos: Demonstrations, tmp_path_factory: pytest.TempPathFactory) -> Path:
    net = fit(demos, FitConfig(epochs=2))
    return export(net, 0.0, tmp_path_factory.mktemp("onnx") / "imitation.onnx", {"seed": 0})


def test_a_zero_gain_policy_acts_exactly_as_its_planner(setup: Setup, zero_gain_file: Path) -> None:
    h, book = setup.households[0], setup.books[0]
    planner = BookMpc(setup.community, h, setup.forecasts[0], book)
    learned = PolicyStrategy(OnnxModel(zero_gain_file), Algo.PPO, setup.forecasts[0], planner)
    end = setup.start + 48
    a = run_prosumer(setup.community, book, learned, setup.start, end)
    b = run_prosumer(setup.community, book, planner, setup.start, end)
    np.testing.assert_allclose(a.cost_eur, b.cost_eur)


def test_the_exported_file_names_its_market_and_width(zero_gain_file: Path) -> None:
    policy = OnnxPolicy(zero_gain_file, Algo.PPO)
    assert policy.residual and policy.metadata["enerwise.market"] == "open"
    assert policy.metadata["enerwise.obs_width"] == str(PLANNED_OBS_DIM)


def test_a_policy_for_another_market_mode_is_refused_with_its_file_named(
    zero_gain_file: Path,
) -> None:
    with pytest.raises(PolicyError, match=r"imitation.onnx.*'open' market, not the 'sealed'"):
        OnnxPolicy(zero_gain_file, Algo.PPO, market="sealed")


def test_a_policy_for_another_observation_width_is_refused_with_its_file_named(
    tmp_path: Path,
) -> None:
    path = tmp_path / "narrow.onnx"
    torch.onnx.export(
        torch.nn.Linear(7, 1).eval(),
        (torch.zeros(1, 7),),
        str(path),
        input_names=["obs"],
        output_names=["out"],
        dynamo=True,
        external_data=False,
    )
    with pytest.raises(PolicyError, match=r"narrow.onnx.*7 observation values"):
        OnnxPolicy(path, Algo.PPO)


def test_a_nan_observation_is_refused_not_acted_on(zero_gain_file: Path) -> None:
    obs = np.zeros(PLANNED_OBS_DIM, dtype=np.float32)
    obs[3] = np.nan
    with pytest.raises(PolicyError, match=r"imitation.onnx: observation values \[3\]"):
        OnnxModel(zero_gain_file).predict(obs)


def test_the_interval_across_seeds_is_a_student_t_interval() -> None:
    mean, interval = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and interval == [
        pytest.approx(-0.48, abs=0.01),
        pytest.approx(4.48, abs=0.01),
    ]
    assert mean_ci95([5.0]) == (5.0, None)


def test_the_evaluation_rejects_an_unknown_method() -> None:
    with pytest.raises(ConfigError, match="unknown method"):
        AgentEvalConfig(rules=("truthful", "oracle"))


def test_the_runtime_loads_the_exported_file_as_a_residual_book_policy(
    zero_gain_file: Path,
) -> None:
    from agents.live.policies import load_policy

    policy = load_policy(zero_gain_file)
    assert getattr(policy, "residual", False) and getattr(policy, "book_policy", False)
