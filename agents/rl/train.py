"""``enerwise agent train``: train PPO or DQN on the training months, with checkpoints.

Hyper-parameters are stable-baselines3 defaults except where noted in :data:`PPO_KWARGS` and
:data:`DQN_KWARGS` (chosen on the training months only, never on held-out data).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from agents.envs.prosumer_env import EnvConfig, ProsumerEnv
from agents.errors import ConfigError
from agents.rl.algorithms import Algo, DiscreteActions, battery_reach
from agents.rl.setup import TRAIN, Period, SetupConfig, build_setup

PPO_KWARGS: dict[str, Any] = {
    "n_steps": 4096,
    "batch_size": 512,
    "gamma": 0.995,
    "gae_lambda": 0.95,
    "learning_rate": 3e-4,
    "policy_kwargs": {"net_arch": [128, 128], "log_std_init": -1.5},
}
"""PPO settings: longer rollouts and discount for a battery that plans a day ahead."""

DQN_KWARGS: dict[str, Any] = {
    "learning_rate": 5e-4,
    "buffer_size": 100_000,
    "learning_starts": 2_000,
    "batch_size": 128,
    "gamma": 0.995,
    "train_freq": 4,
    "target_update_interval": 2_000,
    "exploration_fraction": 0.3,
    "exploration_final_eps": 0.02,
    "policy_kwargs": {"net_arch": [128, 128]},
}
"""DQN settings."""

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """One training run.

    Attributes:
        algo: PPO or DQN.
        steps: environment steps (15-minute slots), >= 1000.
        seed: seed of the model, the environment and the community draw.
        out: output folder (model, checkpoints, metadata, optional TensorBoard logs).
        setup: community and forecasts.
        period: training period.
        checkpoint_every: steps between checkpoints (0: none).
        tensorboard: write TensorBoard logs to ``out/tb`` (needs the tensorboard package).
        overrides: algorithm keyword arguments replacing :data:`PPO_KWARGS`/:data:`DQN_KWARGS`
            entries (tests use small rollouts).
        env: episode settings.
        residual: train a residual policy on top of the visible-book planner
            (:class:`agents.envs.prosumer_env.ProsumerEnv` with ``planner=True``); PPO only,
            the default for PPO (the shipped PPO agent is one), None picks the default.
    """

    algo: Algo
    steps: int
    seed: int
    out: Path
    setup: SetupConfig = field(default_factory=SetupConfig)
    period: Period = TRAIN
    checkpoint_every: int = 100_000
    tensorboard: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    env: EnvConfig = field(default_factory=lambda: EnvConfig(subtract_baseline=True))
    residual: bool | None = None

    def __post_init__(self) -> None:
        if self.steps < 1000:
            raise ConfigError(f"steps must be >= 1000, got {self.steps}")
        if self.residual and self.algo is not Algo.PPO:
            raise ConfigError("only PPO trains a residual policy (DQN keeps its menu)")

    @property
    def trains_residual(self) -> bool:
        """Whether this run trains a residual policy."""
        return self.algo is Algo.PPO if self.residual is None else self.residual


class _Progress(BaseCallback):
    def __init__(self, report: ProgressFn, total: int) -> None:
        super().__init__()
        self._report = report
        self._total = total

    def _on_step(self) -> bool:
        if self.num_timesteps % 1000 == 0:
            self._report(self.num_timesteps, self._total)
        return True


@dataclass(frozen=True, slots=True)
class TrainResult:
    """Where the model went and how long it took.

    Attributes:
        model: the saved model (``.zip``).
        seconds: wall time of learning (without building the data).
        setup_seconds: wall time of building community, forecasts and books.
    """

    model: Path
    seconds: float
    setup_seconds: float


def train(config: TrainConfig, progress: ProgressFn | None = None) -> TrainResult:
    """Build the training environment and learn; writes ``<algo>.zip`` and ``train.json``."""
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    setup = build_setup(config.setup, config.period)
    env_config = replace(
        config.env,
        battery_reach=battery_reach(config.algo, config.trains_residual),
        planner=config.trains_residual,
    )
    env: Any = ProsumerEnv(
        setup.community, setup.books, setup.forecasts, setup.start, setup.end, env_config
    )
    setup_seconds = time.perf_counter() - t0
    config.out.mkdir(parents=True, exist_ok=True)
    log = str(config.out / "tb") if config.tensorboard else None
    if log is not None:
        try:
            import tensorboard  # noqa: F401
        except ImportError as exc:
            raise ConfigError("--tensorboard needs the tensorboard package installed") from exc
    algorithm: type[PPO] | type[DQN]
    if config.algo is Algo.PPO:
        algorithm, kwargs = PPO, PPO_KWARGS | config.overrides
        # Rewards are scaled by a running estimate of the return's spread (observations are
        # not normalised, so the saved policy needs no statistics at inference time).
        gamma = float(kwargs["gamma"])
        base = env
        env = VecNormalize(
            DummyVecEnv([lambda: base]), norm_obs=False, norm_reward=True, gamma=gamma
        )
    else:
        algorithm, kwargs = DQN, DQN_KWARGS | config.overrides
        env = DiscreteActions(env)
    model = algorithm(
        "MlpPolicy", env, seed=config.seed, device="cpu", tensorboard_log=log, verbose=0, **kwargs
    )
    callbacks: list[BaseCallback] = []
    if progress is not None:
        callbacks.append(_Progress(progress, config.steps))
    if config.checkpoint_every:
        callbacks.append(
            CheckpointCallback(
                config.checkpoint_every, str(config.out / "checkpoints"), config.algo.value
            )
        )
    t1 = time.perf_counter()
    model.learn(config.steps, callback=CallbackList(callbacks))
    seconds = time.perf_counter() - t1
    path = config.out / f"{config.algo.value}.zip"
    model.save(str(path))
    meta = {
        "algo": config.algo.value,
        "steps": config.steps,
        "seed": config.seed,
        "forecast": config.setup.forecast.value,
        "residual": config.trains_residual,
        "households": [setup.community.households[h].id for h in setup.households],
        "train_seconds": round(seconds, 1),
        "setup_seconds": round(setup_seconds, 1),
        "command": (
            f"enerwise agent train --algo {config.algo.value} --steps {config.steps} "
            f"--seed {config.seed} --out {config.out}"
            + ("" if config.trains_residual or config.algo is Algo.DQN else " --no-planner")
        ),
    }
    (config.out / "train.json").write_text(json.dumps(meta, indent=2))
    return TrainResult(model=path, seconds=seconds, setup_seconds=setup_seconds)
