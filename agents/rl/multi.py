"""Agents that learn together: one policy shared by every battery household of the community
(parameter sharing, Gupta, Egorov & Kochenderfer, "Cooperative Multi-agent Control Using Deep
Reinforcement Learning", AAMAS 2017 workshops), trained with PPO on the PettingZoo environment
:class:`~agents.envs.community_env.CommunityParallelEnv`, and evaluated in two communities:

* ``truthful``: one household runs the policy, every other member bids truthfully (the others'
  orders do not react to it, so its perfect-foresight bound is the usual one);
* ``all_agents``: every battery household runs the policy at once, the other members bid
  truthfully; each household's bound is taken against the orders the others actually placed in
  that run.

Each household's savings are reported as a share of its bound, and the community's welfare
(savings of all members against grid-only) as a share of the social optimum
(:mod:`agents.policies.social`). Each agent is rewarded with its own money: nothing in the
reward asks it to care for the community.

The policy is a plain one (the observation of :data:`~agents.prosumer.OBS_DIM` values, three
actions: battery set-point times ``battery_reach``, buy and sell price anchored on the last
slot's public book); every agent orders at once, so no agent sees the others' orders of its slot
before ordering, which is what a planner-based residual would need.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from agents.actions import action_to_decision, market_anchors
from agents.community import (
    Community,
    CommunityDraw,
    Decision,
    Fill,
    SlotView,
    Strategy,
    build_community,
    simulate,
)
from agents.envs.community_env import OTHERS, CommunityParallelEnv
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts, household_forecasts
from agents.policies.baselines import Halfway, Truthful
from agents.policies.bound import perfect_foresight
from agents.policies.community_plan import shipped_plan
from agents.policies.community_residual import LinearResidual, residual_community
from agents.policies.mpc import MpcBattery, MpcStrategy
from agents.policies.social import social_optimum, welfare_eur
from agents.prosumer import OBS_DIM, ObservationBuilder, OthersBook
from agents.rl.kinds import COMMUNITY_RULES, EVERY_MEMBER_RULES
from agents.rl.onnx_policy import MARKET_OPEN, OnnxModel
from agents.rl.setup import DEFAULT_CACHE, TRAIN, Period

Progress = Callable[[str], None]

SHARED_REACH = 0.5
"""Default battery reach of the shared policy (the ``--reach`` of ``agent train --algo
shared``)."""


class SharedVecEnv(VecEnv):
    """A parallel PettingZoo environment as a stable-baselines3 vector environment: agent
    ``k`` is sub-environment ``k``, so one policy acts for (and learns from) every agent.

    All agents of :class:`CommunityParallelEnv` truncate together; the episode then restarts
    at once (the last observation goes to ``infos[k]["terminal_observation"]``).
    """

    def __init__(self, env: CommunityParallelEnv) -> None:
        self.env = env
        self.names = list(env.possible_agents)
        first = self.names[0]
        super().__init__(len(self.names), env.observation_space(first), env.action_space(first))
        self._actions: np.ndarray[Any, Any] = np.zeros((self.num_envs, 3), dtype=np.float32)

    def _stack(self, observations: dict[str, np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        return np.stack([observations[a] for a in self.names]).astype(np.float32)

    def reset(self) -> np.ndarray[Any, Any]:
        """Start an episode (the seed given to :meth:`seed`, if any, seeds its start day)."""
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        observations, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        return self._stack(observations)

    def step_async(self, actions: np.ndarray[Any, Any]) -> None:
        """Remember the agents' actions."""
        self._actions = np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1)

    def step_wait(self) -> tuple[Any, np.ndarray[Any, Any], np.ndarray[Any, Any], list[Any]]:
        """Step every agent at once."""
        actions = {a: self._actions[k] for k, a in enumerate(self.names)}
        observations, rewards, _, truncations, infos = self.env.step(actions)
        obs = self._stack(observations)
        reward = np.array([rewards[a] for a in self.names], dtype=np.float32)
        done = bool(truncations[self.names[0]])
        info_list: list[dict[str, Any]] = [dict(infos[a]) for a in self.names]
        if done:
            for k in range(self.num_envs):
                info_list[k]["terminal_observation"] = obs[k]
                info_list[k]["TimeLimit.truncated"] = True
            obs = self.reset()
        return obs, reward, np.full(self.num_envs, done), info_list

    def close(self) -> None:
        """Nothing to release."""

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The wrapped environment's attribute, once per agent (``render_mode``: None, it does
        not render)."""
        value = None if attr_name == "render_mode" else getattr(self.env, attr_name)
        return [value] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set an attribute of the wrapped environment."""
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the wrapped environment (once)."""
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """No gymnasium wrappers here."""
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)


class SharedStrategy:
    """The shared policy acting for one household (deterministic).

    Args:
        model: anything with ``predict(obs, deterministic=True)`` (a PPO model or an exported
            :class:`~agents.rl.onnx_policy.OnnxModel` of the plain width).
        forecasts: the household's forecasts.
        battery_reach: the reach the policy was trained with.
        name: the method's name in reports.

    Raises:
        PolicyError: the model takes another observation width than :data:`OBS_DIM`.
    """

    def __init__(
        self, model: Any, forecasts: HouseholdForecasts, battery_reach: float, name: str = "shared"
    ) -> None:
        width = int(model.observation_space.shape[0])
        if width != OBS_DIM:
            where = getattr(model, "path", "the model")
            raise PolicyError(
                f"{where}: takes {width} observation values, a shared policy {OBS_DIM}"
            )
        self.model, self.forecasts, self.reach, self.name = model, forecasts, battery_reach, name
        self._builder: ObservationBuilder | None = None

    def decide(self, view: SlotView) -> Decision:
        """Observe, predict, map to a decision."""
        if self._builder is None:
            self._builder = ObservationBuilder(view.community, view.household, self.forecasts)
        obs = self._builder(view.slot, view.soc_kwh, view.history)
        action, _ = self.model.predict(obs, deterministic=True)
        return action_to_decision(action, market_anchors(view.history, view.slot), self.reach)

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn at evaluation time."""


@dataclass(frozen=True, slots=True)
class SharedConfig:
    """One multi-agent training run (``enerwise agent train --algo shared``).

    Attributes:
        out: output folder.
        steps: community slots per seed (each slot is one step of every agent).
        seeds: one policy per seed.
        community: the community (every battery household learns).
        forecast: forecasts the agents see.
        period: training months.
        others: how the members without a battery trade while the agents learn.
        battery_reach: scale of the battery action.
        episode_days: days per episode.
        reward: ``own`` money or the ``community``'s savings per agent
            (:class:`~agents.envs.community_env.CommunityParallelEnv`).
        overrides: PPO keyword arguments replacing :data:`SHARED_PPO` entries.
        cache_dir: forecast cache.
    """

    out: Path
    steps: int = 60_000
    seeds: tuple[int, ...] = (0, 1, 2)
    community: CommunityDraw = field(default_factory=CommunityDraw)
    forecast: ForecastMethod = ForecastMethod.VALIDATED
    period: Period = TRAIN
    others: str = "truthful"
    battery_reach: float = SHARED_REACH
    episode_days: int = 2
    reward: str = "own"
    overrides: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = DEFAULT_CACHE

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("need at least one seed")
        if self.steps < 100:
            raise ConfigError(f"steps must be >= 100, got {self.steps}")
        if self.others not in OTHERS:
            raise ConfigError(f"others must be one of {', '.join(OTHERS)}, got {self.others!r}")
        if not 0.0 <= self.battery_reach <= 1.0:
            raise ConfigError(f"battery reach must be in 0..1, got {self.battery_reach}")


SHARED_PPO: dict[str, Any] = {
    "n_steps": 1024,
    "batch_size": 512,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "learning_rate": 3e-4,
    "policy_kwargs": {"net_arch": [128, 128], "log_std_init": -1.0},
}
"""PPO settings of the shared policy (``n_steps`` per agent: a rollout holds ``n_steps`` times
the number of agents samples)."""


def member_forecasts(
    community: Community, household: int, method: ForecastMethod, cache_dir: Path | None
) -> HouseholdForecasts:
    """One member's forecasts of its own meter (load, PV) and of the day-ahead price."""
    return household_forecasts(
        community.load_kw[household],
        community.pv_kw[household],
        community.spot,
        community.config.year,
        method,
        cache_dir=cache_dir,
    )


def community_forecasts(
    community: Community, method: ForecastMethod, cache_dir: Path | None
) -> dict[int, HouseholdForecasts]:
    """Forecasts of every battery household."""
    return {
        h: member_forecasts(community, h, method, cache_dir) for h in community.battery_households()
    }


def total_forecasts(
    community: Community, method: ForecastMethod, cache_dir: Path | None
) -> HouseholdForecasts:
    """The community's summed load and PV forecasts: every member's own forecasts (each on its
    own meter, as the forecasters were chosen), added up; the members share them for the
    community plan's outlook (:class:`~agents.policies.community_plan.ForecastOutlook`)."""
    members = [
        member_forecasts(community, h, method, cache_dir) for h in range(len(community.households))
    ]
    return HouseholdForecasts(
        load_kw=np.sum([f.load_kw for f in members], axis=0),
        pv_kw=np.sum([f.pv_kw for f in members], axis=0),
        spot=members[0].spot,
    )


def train_shared(config: SharedConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Train one shared policy per seed; writes ``shared-seed<N>.zip`` and ``.onnx`` (with the
    battery reach and market mode in its metadata) and ``train.json``; returns the metadata."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from agents.rl.algorithms import Algo
    from agents.rl.export import export_onnx

    torch.set_num_threads(1)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    community = build_community(config.community)
    forecasts = community_forecasts(community, config.forecast, config.cache_dir)
    start, end = config.period.slots(community)
    setup_s = time.perf_counter() - t0
    config.out.mkdir(parents=True, exist_ok=True)
    kwargs = SHARED_PPO | config.overrides
    runs = []
    for seed in config.seeds:
        t1 = time.perf_counter()
        env = CommunityParallelEnv(
            community,
            forecasts,
            start,
            end,
            episode_days=config.episode_days,
            seed=seed,
            others=config.others,
            battery_reach=config.battery_reach,
            reward=config.reward,
        )
        vec = VecNormalize(
            SharedVecEnv(env), norm_obs=False, norm_reward=True, gamma=float(kwargs["gamma"])
        )
        model = PPO("MlpPolicy", vec, seed=seed, device="cpu", verbose=0, **kwargs)
        say(f"seed {seed}: learning {config.steps} slots x {vec.num_envs} agents")
        model.learn(config.steps * vec.num_envs)
        path = config.out / f"shared-seed{seed}.zip"
        model.save(str(path))
        onnx_path = export_onnx(path, Algo.PPO, config.out / f"shared-seed{seed}.onnx")
        _stamp(
            onnx_path,
            {
                "enerwise.kind": "shared",
                "enerwise.market": MARKET_OPEN,
                "enerwise.obs_width": str(OBS_DIM),
                "enerwise.battery_reach": str(config.battery_reach),
                "enerwise.reward": config.reward,
                "enerwise.seed": str(seed),
            },
        )
        runs.append(
            {"seed": seed, "model": str(onnx_path), "seconds": round(time.perf_counter() - t1, 1)}
        )
    meta = {
        "algo": "shared",
        "steps_per_seed": config.steps,
        "agents": [community.households[h].id for h in community.battery_households()],
        "others": config.others,
        "battery_reach": config.battery_reach,
        "reward": config.reward,
        "year": config.community.year,
        "months": [config.period.first, config.period.last],
        "runs": runs,
        "setup_seconds": round(setup_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (config.out / "train.json").write_text(json.dumps(meta, indent=2))
    return meta


def _stamp(path: Path, props: dict[str, str]) -> None:
    """Write ``props`` into the ONNX file's metadata."""
    import onnx

    model = onnx.load(str(path))
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def load_shared(path: Path, market: str = MARKET_OPEN) -> tuple[OnnxModel, float]:
    """An exported shared policy and its battery reach.

    Raises:
        PolicyError: missing or unreadable, another observation width, another market mode,
            or not a shared policy (no battery reach in its metadata).
    """
    model = OnnxModel(path, market)
    if model.policy.obs_width != OBS_DIM:
        raise PolicyError(
            f"{path}: takes {model.policy.obs_width} observation values, a shared policy {OBS_DIM}"
        )
    reach = model.policy.metadata.get("enerwise.battery_reach")
    if model.policy.metadata.get("enerwise.kind") != "shared" or reach is None:
        raise PolicyError(f"{path}: not a shared community policy (agent train --algo shared)")
    return model, float(reach)


def book_of(result: Any, community: Community, household: int) -> OthersBook:
    """The orders every member but ``household`` placed in a simulated run: the book that
    household faced (its bound is taken against it)."""
    return OthersBook.recorded(community, household, result.start, result)


@dataclass(frozen=True, slots=True)
class CommunityEvalConfig:
    """What ``agent eval-community`` measures.

    Attributes:
        models: the shared policy's files, one per training seed (none: rules only).
        rules: the rule communities to run (:data:`~agents.rl.kinds.COMMUNITY_RULES`).
        community: the community.
        forecast: forecasts the agents see.
        period: the evaluation period.
        cache_dir: forecast and bound cache.
        household_bounds: solve every household's perfect-foresight bound (a MILP per
            household and community: minutes on a quarter); False reports money only.
        mip_gap: relative gap of the households' bounds (their dual bound is used: still upper
            bounds).
        time_limit: seconds per bound (at the limit HiGHS's dual bound is used: still an upper
            bound, only looser).
        market: the market mode (only ``open`` exists; a file for another one is refused).
        residuals: the community residual's files, one per training seed
            (:mod:`agents.policies.community_residual`; every battery household on it, the
            other members truthful).
    """

    models: tuple[Path, ...] = ()
    rules: tuple[str, ...] = EVERY_MEMBER_RULES
    community: CommunityDraw = field(default_factory=CommunityDraw)
    forecast: ForecastMethod = ForecastMethod.VALIDATED
    period: Period = field(default_factory=lambda: Period(10, 12))
    cache_dir: Path | None = DEFAULT_CACHE
    household_bounds: bool = True
    mip_gap: float = 1e-3
    time_limit: float = 300.0
    market: str = MARKET_OPEN
    residuals: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in COMMUNITY_RULES]
        if unknown:
            raise ConfigError(
                f"unknown community rule(s) {', '.join(unknown)}; known: "
                f"{', '.join(COMMUNITY_RULES)}"
            )
        if not self.rules and not self.models and not self.residuals:
            raise ConfigError(
                "nothing to evaluate: name a rule, a shared policy or a community residual"
            )


def _pct(value: float, of: float | None) -> float | None:
    return round(100.0 * value / of, 2) if of else None


def _summary(values: list[float | None]) -> dict[str, Any]:
    """Mean, Student-t 95 % interval and the per-seed figures (None where not measured)."""
    from agents.rl.evaluate import mean_ci95

    seeds = [None if v is None else round(v, 2) for v in values]
    known = [v for v in values if v is not None]
    if not known:
        return {"mean": None, "ci95": None, "seeds": seeds}
    mean, ci = mean_ci95(known)
    return {"mean": round(mean, 2), "ci95": ci, "seeds": seeds}


class _Bounds:
    """Households' bounds against the books they faced, cached on disk by the book."""

    def __init__(self, community: Community, config: CommunityEvalConfig, start: int, end: int):
        self.community, self.config, self.start, self.end = community, config, start, end

    def __call__(self, book: OthersBook) -> float | None:
        if not self.config.household_bounds:
            return None
        import hashlib

        key = hashlib.sha256(
            repr((self.community.config, book.household, self.start, self.end)).encode()
            + book.side.tobytes()
            + book.tick.tobytes()
            + book.qty_wh.tobytes()
            + repr((self.config.mip_gap, self.config.time_limit)).encode()
        ).hexdigest()[:20]
        path = self.config.cache_dir / f"bound-book-{key}.json" if self.config.cache_dir else None
        if path is not None and path.is_file():
            return float(json.loads(path.read_text())["savings_eur"])
        bound = perfect_foresight(
            self.community,
            book,
            self.start,
            self.end,
            mip_gap=self.config.mip_gap,
            time_limit=self.config.time_limit,
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"savings_eur": bound.savings_eur}))
        return bound.savings_eur


def community_rule(
    name: str,
    community: Community,
    config: CommunityEvalConfig,
    forecasts: dict[int, HouseholdForecasts],
) -> list[Strategy]:
    """Every member's strategy in the rule community ``name``
    (:data:`~agents.rl.kinds.COMMUNITY_RULES`): ``truthful`` or ``halfway`` for every member;
    ``mpc`` or ``community_plan`` for every battery household (``forecasts``: theirs), the other
    members truthful. The community plan is one, shared by the battery agents; it forecasts the
    community's load and PV as the sum of every member's ``config.forecast`` forecasts
    (:func:`total_forecasts`: the members share them), its PV corrected by the hour the meters
    just measured (:data:`~agents.policies.community_plan.COMMUNITY_PLAN_PV_PERSISTENCE`), and
    the batteries follow :data:`~agents.policies.community_plan.COMMUNITY_PLAN_REACH` of its
    :data:`~agents.policies.community_plan.COMMUNITY_PLAN_HORIZON_HOURS` plan.

    Raises:
        ConfigError: an unknown rule.
    """
    n = len(community.households)
    if name == "truthful":
        return [Truthful() for _ in range(n)]
    if name == "halfway":
        return [Halfway() for _ in range(n)]
    strategies: list[Strategy] = [Truthful() for _ in range(n)]
    if name == "mpc":
        for h in community.battery_households():
            strategies[h] = MpcStrategy(MpcBattery(community, h, forecasts[h]), Halfway(), "mpc")
        return strategies
    if name == "community_plan":
        total = total_forecasts(community, config.forecast, config.cache_dir)
        return residual_community(
            community, shipped_plan(community, total, forecasts), None, forecasts
        )
    raise ConfigError(f"unknown community rule {name!r}; known: {', '.join(COMMUNITY_RULES)}")


def evaluate_community(
    config: CommunityEvalConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """Every household's money and share of its bound, and the community's share of the social
    optimum, with the shared policy in the ``truthful`` and ``all_agents`` communities (one
    figure per training seed; ``shared`` is None without models) and in the rule communities
    ``config.rules`` (:func:`community_rule`; the default: every member truthful or halfway).

    Raises:
        PolicyError: a model file is missing, of another width, market mode or kind.
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    loaded = [load_shared(path, config.market) for path in config.models]
    residuals = [LinearResidual.load(path) for path in config.residuals]
    community = build_community(config.community)
    start, end = config.period.slots(community)
    forecasts = community_forecasts(community, config.forecast, config.cache_dir)
    agents = community.battery_households()
    ids = [community.households[h].id for h in agents]
    n = len(community.households)
    say("social optimum")
    optimum = social_optimum(community, start, end).savings_eur
    bound_of = _Bounds(community, config, start, end)

    def run(strategies: Sequence[Strategy]) -> Any:
        return simulate(community, strategies, start, end)

    def shared(h: int, model: OnnxModel, reach: float) -> Strategy:
        return SharedStrategy(model, forecasts[h], reach)

    def agents_run(result: Any, label: str, among: str) -> dict[str, Any]:
        """Each battery household's money and bound, and the welfare, of a run with every
        battery household on one method."""
        per = result.savings_eur()
        bounds: dict[str, float | None] = {}
        for k, h in enumerate(agents):
            say(f"{label}: {ids[k]} bound among {among}")
            bounds[ids[k]] = bound_of(book_of(result, community, h))
        return {
            "savings": {ids[k]: float(per[h]) for k, h in enumerate(agents)},
            "bounds": bounds,
            "welfare_eur": welfare_eur(result),
        }

    rules: dict[str, Any] = {}
    alone_bounds: dict[int, float | None] = {h: None for h in agents}
    for name in config.rules:
        every = name in EVERY_MEMBER_RULES
        say(f"community: {'every member' if every else 'every battery household'} {name}")
        result = run(community_rule(name, community, config, forecasts))
        per = result.savings_eur()
        if name == "truthful":
            for h in agents:
                say(f"{community.households[h].id}: bound among truthful members")
                alone_bounds[h] = bound_of(book_of(result, community, h))
        faced = dict(alone_bounds)
        if not every:
            for h in agents:
                say(f"{name}: {community.households[h].id} bound among the others")
                faced[h] = bound_of(book_of(result, community, h))
        rules[name] = {
            "kind": "coordination" if name == "community_plan" else "rule",
            "members": "every member" if every else "battery households (others truthful)",
            "welfare_eur": round(welfare_eur(result), 2),
            "pct_of_social_optimum": _pct(welfare_eur(result), optimum),
            "savings_eur": {ids[k]: round(float(per[h]), 2) for k, h in enumerate(agents)},
            "pct_of_bound": {ids[k]: _pct(float(per[h]), faced[h]) for k, h in enumerate(agents)},
        }
    alone: list[dict[str, float]] = []
    together: list[dict[str, Any]] = []
    for j, (model, reach) in enumerate(loaded):
        say(f"model {j}: one agent among truthful members")
        saved_alone: dict[str, float] = {}
        for k, h in enumerate(agents):
            strategies: list[Strategy] = [Truthful() for _ in range(n)]
            strategies[h] = shared(h, model, reach)
            saved_alone[ids[k]] = float(run(strategies).savings_eur()[h])
        alone.append(saved_alone)
        say(f"model {j}: every battery household an agent")
        strategies = [Truthful() for _ in range(n)]
        for h in agents:
            strategies[h] = shared(h, model, reach)
        together.append(agents_run(run(strategies), f"model {j}", "the agents"))
    residual_runs: list[dict[str, Any]] = []
    total = total_forecasts(community, config.forecast, config.cache_dir) if residuals else None
    for j, policy in enumerate(residuals):
        assert total is not None  # computed when there are residuals
        say(f"community residual {j}: every battery household on it")
        plan = shipped_plan(community, total, forecasts)
        result = run(residual_community(community, plan, policy, forecasts))
        residual_runs.append(agents_run(result, f"community residual {j}", "the others"))
    report: dict[str, Any] = {
        "period": f"{community.config.year}-{config.period.first:02d}..{config.period.last:02d}"
        + (f" ({config.period.days} days)" if config.period.days else ""),
        "regions": list(community.config.regions),
        "market_mode": config.market,
        "agents": ids,
        "models": [str(p) for p in config.models],
        "social_optimum": {
            "savings_eur": round(optimum, 2),
            "solver": "HiGHS LP (scipy.optimize.linprog), the community as one meter",
        },
        "rules": rules,
        "shared": _shared_report(ids, agents, alone, alone_bounds, together, optimum)
        if loaded
        else None,
        "community_residual": _residual_report(
            ids, [str(p) for p in config.residuals], residual_runs, optimum
        )
        if residual_runs
        else None,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return report


def _shared_report(
    ids: list[str],
    agents: list[int],
    alone: list[dict[str, float]],
    alone_bounds: dict[int, float | None],
    together: list[dict[str, Any]],
    optimum: float,
) -> dict[str, Any]:
    """The shared policy's figures, a summary across its training seeds each: as one agent among
    truthful members (``alone``, against ``alone_bounds``) and with every battery household an
    agent (``together``, against the bounds among the agents and the social ``optimum``)."""
    known = [b for b in alone_bounds.values() if b is not None]
    alone_total = sum(known) if len(known) == len(alone_bounds) else None
    return {
        "kind": "learned",
        "truthful": {
            "savings_eur": {hid: _summary([s[hid] for s in alone]) for hid in ids},
            "pct_of_bound": {
                hid: _summary([_pct(s[hid], alone_bounds[h]) for s in alone])
                for h, hid in zip(agents, ids, strict=True)
            },
            "pct_of_bound_total": _summary([_pct(sum(s.values()), alone_total) for s in alone]),
        },
        "all_agents": {
            "savings_eur": {hid: _summary([s["savings"][hid] for s in together]) for hid in ids},
            "pct_of_bound": {
                hid: _summary([_pct(s["savings"][hid], s["bounds"][hid]) for s in together])
                for hid in ids
            },
            "welfare_eur": _summary([s["welfare_eur"] for s in together]),
            "pct_of_social_optimum": _summary([_pct(s["welfare_eur"], optimum) for s in together]),
        },
    }


def _residual_report(
    ids: list[str], files: list[str], runs: list[dict[str, Any]], optimum: float
) -> dict[str, Any]:
    """The community residual's figures, a summary across its training seeds each (every
    battery household on it, the other members truthful)."""
    return {
        "kind": "learned",
        "members": "battery households (others truthful)",
        "models": files,
        "savings_eur": {hid: _summary([r["savings"][hid] for r in runs]) for hid in ids},
        "pct_of_bound": {
            hid: _summary([_pct(r["savings"][hid], r["bounds"][hid]) for r in runs]) for hid in ids
        },
        "welfare_eur": _summary([r["welfare_eur"] for r in runs]),
        "pct_of_social_optimum": _summary([_pct(r["welfare_eur"], optimum) for r in runs]),
    }
