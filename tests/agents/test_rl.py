"""Tiny training runs (a few hundred steps), learned strategies, and ONNX parity with torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.community import CommunityDraw
from agents.envs import EnvConfig
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod
from agents.policies.mpc import BookMpc
from agents.prosumer import OBS_DIM, PLANNED_OBS_DIM, run_prosumer
from agents.rl.algorithms import DQN_ACTIONS, Algo, PolicyStrategy, is_residual, load_model
from agents.rl.export import OnnxPolicy, export_onnx, obs_width, torch_module
from agents.rl.setup import Period, Setup, SetupConfig, build_setup
from agents.rl.train import TrainConfig, TrainResult, train

SETUP = SetupConfig(
    community=CommunityDraw(n_households=4, share_pv=0.5, share_battery=0.25, seed=2),
    forecast=ForecastMethod.NAIVE,
    max_households=1,
    cache_dir=None,
)
PERIOD = Period(6, 6, days=3)
TINY = {
    Algo.PPO: {"n_steps": 256, "batch_size": 64, "n_epochs": 2},
    Algo.DQN: {"learning_starts": 100, "buffer_size": 2000, "target_update_interval": 200},
}


@pytest.fixture(
    scope="module",
    params=[(Algo.PPO, True), (Algo.PPO, False), (Algo.DQN, False)],
    ids=["ppo-residual", "ppo-plain", "dqn"],
)
def trained(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> TrainResult:
    algo, residual = request.param
    config = TrainConfig(
        algo=algo,
        steps=1000,
        seed=0,
        residual=residual,
        out=tmp_path_factory.mktemp(algo.value),
        setup=SETUP,
        period=PERIOD,
        checkpoint_every=500,
        overrides=TINY[algo],
        env=EnvConfig(episode_days=1),
    )
    return train(config)


def _algo(result: TrainResult) -> Algo:
    return Algo(result.model.stem)


@pytest.fixture(scope="module")
def exported(trained: TrainResult) -> Path:
    """The trained policy exported to ONNX once (an export takes seconds): both parity tests
    read this file."""
    return export_onnx(trained.model, _algo(trained), trained.model.parent / "policy.onnx")


def test_training_saves_a_model_checkpoints_and_metadata(trained: TrainResult) -> None:
    assert trained.model.is_file()
    assert any((trained.model.parent / "checkpoints").iterdir())
    meta = json.loads((trained.model.parent / "train.json").read_text())
    assert meta["steps"] == 1000 and meta["command"].startswith("enerwise agent train")


def _planner(setup: Setup) -> BookMpc:
    h = setup.households[0]
    return BookMpc(setup.community, h, setup.forecasts[0], setup.books[0])


def test_a_trained_model_acts_as_a_household_strategy(trained: TrainResult) -> None:
    setup = build_setup(SETUP, PERIOD)
    algo = _algo(trained)
    model = load_model(str(trained.model), algo)
    strategy = PolicyStrategy(model, algo, setup.forecasts[0], _planner(setup))
    run = run_prosumer(setup.community, setup.books[0], strategy, setup.start, setup.start + 96)
    assert np.isfinite(run.savings_eur)


def test_the_shipped_kind_of_ppo_agent_is_a_residual_policy(trained: TrainResult) -> None:
    meta = json.loads((trained.model.parent / "train.json").read_text())
    model = load_model(str(trained.model), _algo(trained))
    assert is_residual(model) == meta["residual"]
    assert obs_width(model) == (PLANNED_OBS_DIM if meta["residual"] else OBS_DIM)


def test_a_residual_policy_needs_its_planner_and_a_plain_one_ignores_it(
    trained: TrainResult,
) -> None:
    setup = build_setup(SETUP, PERIOD)
    algo = _algo(trained)
    model = load_model(str(trained.model), algo)
    if is_residual(model):
        with pytest.raises(PolicyError, match="needs a planner"):
            PolicyStrategy(model, algo, setup.forecasts[0])
    else:
        assert PolicyStrategy(model, algo, setup.forecasts[0], _planner(setup)).planner is None


def test_onnx_export_matches_torch(trained: TrainResult, exported: Path) -> None:
    algo = _algo(trained)
    model = load_model(str(trained.model), algo)
    obs = np.random.default_rng(0).uniform(-3, 3, (32, obs_width(model))).astype(np.float32)
    with torch.no_grad():
        expected = torch_module(model, algo)(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(OnnxPolicy(exported, algo).raw(obs), expected, atol=1e-5)


def test_onnx_actions_equal_the_models_deterministic_actions(
    trained: TrainResult, exported: Path
) -> None:
    algo = _algo(trained)
    model = load_model(str(trained.model), algo)
    obs = np.random.default_rng(1).uniform(-3, 3, (16, obs_width(model))).astype(np.float32)
    actions, _ = model.predict(obs, deterministic=True)
    if algo is Algo.DQN:
        actions = DQN_ACTIONS[actions]
    onnx = OnnxPolicy(exported, algo)
    np.testing.assert_allclose(onnx.predict(obs), actions, atol=1e-5)


def test_loading_a_missing_model_raises_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_model(str(tmp_path / "none.zip"), Algo.PPO)


def test_only_ppo_trains_a_residual_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only PPO"):
        TrainConfig(algo=Algo.DQN, steps=1000, seed=0, out=tmp_path, residual=True)
