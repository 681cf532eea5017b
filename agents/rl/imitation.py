"""A residual policy learned from hindsight: behaviour cloning of the perfect-foresight program's
set-points (Pomerleau, "ALVINN", NIPS 1988; with states drawn beyond the expert's own path, as
DAgger argues one must: Ross, Gordon & Bagnell, AISTATS 2011).

The residual PPO learned its correction of :class:`~agents.policies.mpc.BookMpc` from returns and
lost money doing so (docs/agents.md). This one learns from a denser signal. For a state (a slot
of the training months and a state of charge) the *expert* solves the bound's program
(:class:`~agents.policies.bound.BatteryProgram`) over the next 24 hours with the actual load, PV,
tariffs and the other members' actual orders of every slot (hindsight no household has); its
first set-point is the label. The learner sees only what the household sees (the residual
observation: :data:`~agents.prosumer.PLANNED_OBS_DIM` values, the planned set-point last) and
regresses the expert's correction of the plan, in units of the residual reach
(:data:`~agents.rl.algorithms.RESIDUAL_REACH`), clipped to ``[-1, 1]``: an estimate of the
hindsight correction's mean given what the household knows. It is exported with a *gain*
(chosen on validation data, never on the held-out quarter) that scales the correction.

States are drawn at random (slot uniform over the period, state of charge uniform in 5..95 %),
not along one path: a policy that corrects the plan leaves the planner's path, and a cloned
policy is only as good as its labels on the states it visits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from agents.community import TRUTHFUL, Community, MarketHistory, SlotView
from agents.errors import ConfigError, PolicyError
from agents.policies.bound import BatteryProgram, Steps, market_steps, solve_program
from agents.policies.mpc import BookMpc
from agents.prosumer import (
    PLANNED_OBS_DIM,
    ObservationBuilder,
    OthersBook,
    prosumer_slot,
    with_plan,
)
from agents.rl.algorithms import RESIDUAL_REACH
from agents.rl.export import write_onnx
from agents.rl.setup import Setup

Progress = Callable[[str], None]

EXPERT_HORIZON_SLOTS = 96
"""Slots the hindsight expert plans ahead (a day, as the planner)."""


class HindsightExpert:
    """The bound's program over the next :data:`EXPERT_HORIZON_SLOTS` slots on the actual data
    (the LP relaxation: it may buy and sell in one slot; solved in milliseconds).

    Args:
        community: the community.
        book: the other members' orders (every slot of the horizon is read: hindsight).
        terminal_value: weight of the energy left at the horizon's end, as the planner's.
    """

    def __init__(self, community: Community, book: OthersBook, terminal_value: float = 1.0):
        battery = community.households[book.household].battery
        if battery is None:
            raise ConfigError(f"household {book.household} has no battery")
        self.community, self.book, self.battery = community, book, battery
        self.terminal_value = terminal_value
        self._steps: dict[int, tuple[Steps, Steps]] = {}

    def _market(self, slot: int) -> tuple[Steps, Steps]:
        cached = self._steps.get(slot)
        if cached is None:
            if self.book.start <= slot < self.book.end:
                params = self.community.tariffs.market_params(slot)
                cached = market_steps(self.book.orders(slot), params)
            else:
                cached = (Steps(np.zeros(0), np.zeros(0)), Steps(np.zeros(0), np.zeros(0)))
            self._steps[slot] = cached
        return cached

    def setpoint(self, slot: int, soc_kwh: float) -> float:
        """The hindsight-optimal set-point of ``slot`` from charge ``soc_kwh``."""
        c, i = self.community, self.book.household
        end = min(slot + EXPERT_HORIZON_SLOTS, c.n_slots)
        markets = [self._market(t) for t in range(slot, end)]
        retail, feed_in = c.tariffs.retail[slot:end], c.tariffs.feed_in[slot:end]
        mid = float(np.mean(retail + feed_in) / 2.0)
        program = BatteryProgram(
            load_kw=c.load_kw[i, slot:end],
            pv_kw=c.pv_kw[i, slot:end],
            retail=retail,
            feed_in=feed_in,
            buys=[m[0] for m in markets],
            sells=[m[1] for m in markets],
            battery=self.battery,
            soc0_kwh=soc_kwh,
            terminal_eur_per_kwh=self.terminal_value * mid * self.battery.efficiency,
            one_side=False,
        )
        power = float(solve_program(program).battery_kw[0])
        surplus = float(c.pv_kw[i, slot] - c.load_kw[i, slot])
        return self.battery.setpoint_for(power, surplus, soc_kwh)


@dataclass(frozen=True, slots=True)
class Demonstrations:
    """Observations and the expert's residual labels.

    Attributes:
        obs: ``(n, PLANNED_OBS_DIM)`` residual observations.
        target: ``(n,)`` the expert's correction of the plan in units of the reach, in [-1, 1].
        household: ``(n,)`` the household index of each row.
    """

    obs: npt.NDArray[np.float32]
    target: npt.NDArray[np.float32]
    household: npt.NDArray[np.int64]

    def __add__(self, other: Demonstrations) -> Demonstrations:
        return Demonstrations(
            np.concatenate([self.obs, other.obs]),
            np.concatenate([self.target, other.target]),
            np.concatenate([self.household, other.household]),
        )

    def save(self, path: Path) -> None:
        """Write as ``.npz``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, obs=self.obs, target=self.target, household=self.household)

    @classmethod
    def load(cls, path: Path) -> Demonstrations:
        """Read a file written by :meth:`save`.

        Raises:
            PolicyError: missing, or rows of another observation width.
        """
        if not path.is_file():
            raise PolicyError(f"no demonstrations at {path}")
        data = np.load(path)
        if data["obs"].ndim != 2 or data["obs"].shape[1] != PLANNED_OBS_DIM:
            raise PolicyError(
                f"{path}: observations are {data['obs'].shape[1:]} wide, "
                f"the residual policy takes {PLANNED_OBS_DIM}"
            )
        return cls(data["obs"], data["target"], data["household"])


def reference_history(
    community: Community, book: OthersBook, start: int, end: int
) -> MarketHistory:
    """The public market results of ``[start, end)`` with the household bidding truthfully in
    self-consumption: the history a sampled state's observation reads (a policy's own orders
    move it a little; the sampled states ignore that)."""
    history = MarketHistory.empty(community.n_slots)
    battery = community.households[book.household].battery
    soc = battery.initial_soc * battery.capacity_kwh if battery else 0.0
    for t in range(start, end):
        soc = prosumer_slot(community, book, t, soc, TRUTHFUL, history=history).soc_kwh
    return history


def collect(
    setup: Setup,
    samples: int,
    *,
    seed: int = 0,
    reach: float = RESIDUAL_REACH,
    progress: Progress | None = None,
) -> Demonstrations:
    """Label ``samples`` sampled states per household: a slot of the setup's period drawn
    uniformly and a state of charge drawn uniformly in 5..95 % of the capacity (the states a
    policy may reach, not only the planner's), each with the planner's set-point, the residual
    observation and the expert's correction.

    Args:
        setup: community, books, forecasts and period.
        samples: states per household (at most the period's slots).
        seed: seed of the draws.
        reach: the residual's reach (labels are in its units).
        progress: called with a message now and then.
    """
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    obs_rows: list[npt.NDArray[np.float32]] = []
    targets: list[float] = []
    houses: list[int] = []
    community = setup.community
    for k, h in enumerate(setup.households):
        book, forecasts = setup.books[k], setup.forecasts[k]
        battery = community.households[h].battery
        assert battery is not None  # build_setup picks battery households
        planner = BookMpc(community, h, forecasts, book)
        builder = ObservationBuilder(community, h, forecasts)
        expert = HindsightExpert(community, book)
        say(f"{community.households[h].id}: public history")
        history = reference_history(community, book, setup.start, setup.end)
        n = min(samples, setup.end - setup.start)
        slots = np.sort(rng.choice(np.arange(setup.start, setup.end), n, replace=False))
        socs = rng.uniform(0.05, 0.95, n) * battery.capacity_kwh
        for j, (t, soc) in enumerate(zip(slots.tolist(), socs.tolist(), strict=True)):
            if j % 500 == 0:
                say(f"{community.households[h].id}: {j}/{n} states")
            planned = planner.setpoint(SlotView(community, h, t, soc, history))
            obs_rows.append(with_plan(builder(t, soc, history), planned))
            label = (expert.setpoint(t, soc) - planned) / reach
            targets.append(float(np.clip(label, -1.0, 1.0)))
            houses.append(h)
    return Demonstrations(
        np.asarray(obs_rows, dtype=np.float32),
        np.asarray(targets, dtype=np.float32),
        np.asarray(houses, dtype=np.int64),
    )


class ResidualNet(nn.Module):
    """Observation -> correction in ``[-1, 1]``: standardised inputs (the training mean and
    spread are buffers, so the exported graph takes raw observations), an MLP, ``tanh``, times
    ``gain`` (clipped to ``[-1, 1]``)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, hidden: Sequence[int]) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.gain: torch.Tensor
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("gain", torch.ones(1))
        layers: list[nn.Module] = []
        width = int(mean.numel())
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        z = (obs - self.mean) / self.std
        return torch.clamp(torch.tanh(self.mlp(z)) * self.gain, -1.0, 1.0)


@dataclass(frozen=True, slots=True)
class FitConfig:
    """How the residual network is fitted.

    Attributes:
        hidden: hidden layer sizes.
        epochs: passes over the demonstrations.
        batch_size: rows per step.
        learning_rate: Adam step size.
        weight_decay: L2 penalty (AdamW).
        seed: torch seed (initialisation and batch order).
    """

    hidden: tuple[int, ...] = (128, 128)
    epochs: int = 30
    batch_size: int = 512
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


def fit(demos: Demonstrations, config: FitConfig | None = None) -> ResidualNet:
    """Regress the labels on the observations (mean squared error).

    Raises:
        PolicyError: no rows, or a label or observation that is not finite.
    """
    config = config or FitConfig()
    if demos.obs.shape[0] == 0:
        raise PolicyError("no demonstrations to fit")
    if not (np.isfinite(demos.obs).all() and np.isfinite(demos.target).all()):
        raise PolicyError("demonstrations hold NaN or infinite values")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x = torch.as_tensor(demos.obs)
    y = torch.as_tensor(demos.target)[:, None]
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-3)
    net = ResidualNet(mean, std, config.hidden)
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    loss_fn = nn.MSELoss()
    for _ in range(config.epochs):
        order = rng.permutation(x.shape[0])
        for lo in range(0, order.size, config.batch_size):
            batch = torch.as_tensor(order[lo : lo + config.batch_size])
            optimiser.zero_grad()
            loss = loss_fn(torch.tanh(net.mlp((x[batch] - mean) / std)), y[batch])
            loss.backward()
            optimiser.step()
    return net.eval()


MARKET_MODE = "open"
"""The market the policies here are trained in: every order of the slot is visible before the
household's own (the last mover). Recorded in the exported file."""


def export(net: ResidualNet, gain: float, out: Path, meta: dict[str, Any]) -> Path:
    """Write ``net`` with ``gain`` as ONNX (input ``obs``, output ``out``) and its metadata
    (kind, reach, gain, market mode, observation width) into the file's metadata.

    Raises:
        PolicyError: the export fails.
    """
    import onnx

    net.gain.fill_(gain)
    write_onnx(net, PLANNED_OBS_DIM, out)
    model = onnx.load(str(out))
    props = {
        "enerwise.kind": "residual",
        "enerwise.market": MARKET_MODE,
        "enerwise.obs_width": str(PLANNED_OBS_DIM),
        "enerwise.reach": str(RESIDUAL_REACH),
        "enerwise.gain": str(gain),
    } | {f"enerwise.{k}": json.dumps(v) for k, v in meta.items()}
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))
    return out


@dataclass(frozen=True, slots=True)
class ImitationConfig:
    """One imitation training run (``enerwise agent train --algo imitation``).

    Attributes:
        out: output folder.
        samples: labelled states per household.
        seeds: one network per seed (the demonstrations are shared).
        gain: the exported gain (chosen on validation data).
        fit: network and optimiser settings (``seed`` is replaced per seed).
        demos: reuse demonstrations from this file instead of collecting.
    """

    out: Path
    samples: int = 4000
    seeds: tuple[int, ...] = (0, 1, 2)
    gain: float = 1.0
    fit: FitConfig = field(default_factory=FitConfig)
    demos: Path | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("need at least one seed")
        if self.samples < 1:
            raise ConfigError(f"samples must be >= 1, got {self.samples}")
        if not 0.0 <= self.gain <= 4.0:
            raise ConfigError(f"gain must be in 0..4, got {self.gain}")


def train_imitation(
    setup: Setup | None, config: ImitationConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """Collect (or reuse: ``config.demos``, then ``setup`` may be None) demonstrations, fit one
    network per seed, export each as ``imitation-seed<N>.onnx``; returns the run's metadata
    (also written as ``train.json``).

    Raises:
        ConfigError: neither a setup nor demonstrations to reuse.
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    if config.demos is not None:
        demos = Demonstrations.load(config.demos)
    elif setup is None:
        raise ConfigError("need a setup to collect demonstrations (or a demos file to reuse)")
    else:
        demos = collect(setup, config.samples, progress=say)
        demos.save(config.out / "demos.npz")
    collect_s = time.perf_counter() - t0
    written = []
    for seed in config.seeds:
        say(f"fitting seed {seed}")
        net = fit(demos, FitConfig(**{**_fields(config.fit), "seed": seed}))
        path = config.out / f"imitation-seed{seed}.onnx"
        export(net, config.gain, path, {"seed": seed})
        written.append(str(path))
    meta = {
        "algo": "imitation",
        "seeds": list(config.seeds),
        "samples_per_household": config.samples,
        "gain": config.gain,
        "rows": int(demos.obs.shape[0]),
        "label_mean_abs": round(float(np.mean(np.abs(demos.target))), 4),
        "label_clipped_share": round(float(np.mean(np.abs(demos.target) >= 1.0)), 4),
        "demos": str(config.demos or config.out / "demos.npz"),
        "models": written,
        "collect_seconds": round(collect_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (config.out / "train.json").write_text(json.dumps(meta, indent=2))
    return meta


def _fields(config: FitConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in FitConfig.__dataclass_fields__}
