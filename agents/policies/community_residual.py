"""A learned correction of the community plan: one linear policy every battery agent shares.

The community plan (:mod:`agents.policies.community_plan`) leans each battery
:data:`~agents.policies.community_plan.COMMUNITY_PLAN_REACH` of the way to its part of the
community's plan, a lean chosen once for every hour and season. A :class:`LinearResidual`
moves that set-point by up to :data:`COMMUNITY_RESIDUAL_REACH`, by a linear function of what
the household knows when it decides: its observation (:class:`~agents.prosumer.ObservationBuilder`:
charge, time, prices, the forecasts issued at the last complete hour) and the plan's set-point.
Its weights are learned by random search on the community's welfare
(:mod:`agents.rl.community_search`); zero weights are the community plan itself. Prices stay
truthful, as the plan's.

The observation is built on an *empty* market history: the clearing results of the last slots
are withheld. The shipped weather is hourly, repeated over an hour's four slots (docs/agents.md,
Data), so within an hour the last slot's book carries the members' current PV exactly, which no
roof would give; a policy that read it would learn the artefact.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agents.community import Community, Decision, MarketHistory, SlotView, Strategy
from agents.errors import PolicyError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import Truthful
from agents.policies.community_plan import (
    COMMUNITY_PLAN_REACH,
    CommunityPlan,
    CommunityPlanStrategy,
)
from agents.policies.visible import MARKET_OPEN
from agents.prosumer import PLANNED_OBS_DIM, ObservationBuilder, with_plan

COMMUNITY_RESIDUAL_REACH = 0.5
"""The largest move of a battery set-point (in ``[-1, 1]`` units) the learned correction makes
away from the community plan's."""

KIND = "community_residual"
"""The ``kind`` of a :class:`LinearResidual` file."""

FloatVector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LinearResidual:
    """``clip(weights . [(obs - mean) / scale, 1], -1, 1)``: the correction of the plan's
    set-point in units of ``reach``, for the residual observation (:data:`PLANNED_OBS_DIM`
    values, the plan's set-point last).

    Attributes:
        mean: the observations' mean in the training communities.
        scale: their spread (at least 1e-3; features without spread are zero after scaling).
        weights: :data:`PLANNED_OBS_DIM` weights and a bias.
        reach: the largest set-point move (:data:`COMMUNITY_RESIDUAL_REACH`).
        meta: how the weights were learned (written into the file).

    Raises:
        PolicyError: arrays of the wrong length or values that are not finite.
    """

    mean: FloatVector
    scale: FloatVector
    weights: FloatVector
    reach: float = COMMUNITY_RESIDUAL_REACH
    meta: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name, size in (("mean", PLANNED_OBS_DIM), ("scale", PLANNED_OBS_DIM)):
            if np.shape(getattr(self, name)) != (size,):
                raise PolicyError(
                    f"{name} must hold {size} values, got {np.shape(getattr(self, name))}"
                )
        if np.shape(self.weights) != (PLANNED_OBS_DIM + 1,):
            raise PolicyError(
                f"weights must hold {PLANNED_OBS_DIM + 1} values (the residual observation and a "
                f"bias), got {np.shape(self.weights)}"
            )
        arrays = (self.mean, self.scale, self.weights)
        if not all(np.isfinite(a).all() for a in arrays) or not math.isfinite(self.reach):
            raise PolicyError("weights, mean and scale must be finite numbers")
        if (self.scale <= 0).any():
            raise PolicyError("scale must be positive")
        if not 0.0 <= self.reach <= 1.0:
            raise PolicyError(f"reach must be in 0..1, got {self.reach}")

    @classmethod
    def zero(cls, mean: FloatVector, scale: FloatVector) -> LinearResidual:
        """No correction: the community plan."""
        return cls(mean, scale, np.zeros(PLANNED_OBS_DIM + 1))

    def with_weights(self, weights: FloatVector) -> LinearResidual:
        """The same scaling with other weights."""
        return LinearResidual(self.mean, self.scale, weights, self.reach, self.meta)

    @classmethod
    def ensemble(cls, policies: Sequence[LinearResidual]) -> LinearResidual:
        """One policy with the mean of ``policies``' weights (searched seeds: each seed's
        weights carry its own noise, which the mean averages away).

        Raises:
            PolicyError: no policies, or policies of different scaling or reach.
        """
        if not policies:
            raise PolicyError("no policies to average")
        first = policies[0]
        for other in policies[1:]:
            same = np.array_equal(other.mean, first.mean) and np.array_equal(
                other.scale, first.scale
            )
            if not same or other.reach != first.reach:
                raise PolicyError("only policies of one scaling and reach can be averaged")
        seeds = [p.meta.get("seed") for p in policies if p.meta]
        weights: FloatVector = np.mean([p.weights for p in policies], axis=0)
        return cls(first.mean, first.scale, weights, first.reach, {"ensemble_of_seeds": seeds})

    def features(self, obs: npt.NDArray[np.floating[Any]]) -> FloatVector:
        """The scaled observation and the bias's 1."""
        return np.append((np.asarray(obs, dtype=np.float64) - self.mean) / self.scale, 1.0)

    def correction(self, obs: npt.NDArray[np.floating[Any]]) -> float:
        """The set-point move for a residual observation (in set-point units)."""
        return self.reach * float(np.clip(self.weights @ self.features(obs), -1.0, 1.0))

    def save(self, path: Path) -> Path:
        """Write as JSON (kind, market mode, observation width, the arrays, ``meta``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "kind": KIND,
                    "market": MARKET_OPEN,
                    "obs_width": PLANNED_OBS_DIM,
                    "reach": self.reach,
                    "mean": self.mean.tolist(),
                    "scale": self.scale.tolist(),
                    "weights": self.weights.tolist(),
                    "meta": self.meta or {},
                },
                indent=1,
            )
        )
        return path

    @classmethod
    def load(cls, path: Path) -> LinearResidual:
        """Read a file written by :meth:`save`.

        Raises:
            PolicyError: missing, not JSON, another kind, market mode or observation width, or
                values that are not finite numbers (the message names the file).
        """
        if not path.is_file():
            raise PolicyError(f"no community residual at {path}")
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PolicyError(f"{path}: not a community residual file (not JSON: {exc})") from exc
        if not isinstance(data, dict) or data.get("kind") != KIND:
            kind = data.get("kind") if isinstance(data, dict) else None
            raise PolicyError(f"{path}: kind {kind!r}, expected {KIND!r}")
        if data.get("market") != MARKET_OPEN:
            raise PolicyError(f"{path}: trained in the {data.get('market')!r} market, not open")
        if data.get("obs_width") != PLANNED_OBS_DIM:
            raise PolicyError(
                f"{path}: takes {data.get('obs_width')} observation values, this code builds "
                f"{PLANNED_OBS_DIM}"
            )
        try:
            return cls(
                np.asarray(data["mean"], dtype=np.float64),
                np.asarray(data["scale"], dtype=np.float64),
                np.asarray(data["weights"], dtype=np.float64),
                float(data["reach"]),
                dict(data.get("meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"{path}: {exc}") from exc


class CommunityResidualStrategy(CommunityPlanStrategy):
    """A battery household on the community plan, its set-point moved by ``policy`` (module
    docstring); truthful prices.

    Args:
        plan: the plan shared by every battery agent of the community.
        policy: the learned correction.
        forecasts: the household's own forecasts (its observation).
        name: the method's name in reports.
    """

    def __init__(
        self,
        plan: CommunityPlan,
        policy: LinearResidual,
        forecasts: HouseholdForecasts,
        name: str = KIND,
    ) -> None:
        super().__init__(plan, COMMUNITY_PLAN_REACH, name)
        self.policy, self.forecasts = policy, forecasts
        self._builder: ObservationBuilder | None = None
        self._no_history: MarketHistory | None = None

    def observation(self, view: SlotView, planned: float) -> npt.NDArray[np.float32]:
        """The residual observation, on an empty market history (module docstring)."""
        if self._builder is None or self._no_history is None:
            self._builder = ObservationBuilder(view.community, view.household, self.forecasts)
            self._no_history = MarketHistory.empty(view.community.n_slots)
        return with_plan(self._builder(view.slot, view.soc_kwh, self._no_history), planned)

    def decide(self, view: SlotView) -> Decision:
        """The plan's set-point, moved by the policy; truthful prices."""
        planned = super().decide(view)
        move = self.policy.correction(self.observation(view, planned.battery))
        self._setpoint = min(max(planned.battery + move, -1.0), 1.0)
        return Decision(self._setpoint, planned.buy_frac, planned.sell_frac)


def residual_community(
    community: Community,
    plan: CommunityPlan,
    policy: LinearResidual | None,
    forecasts: dict[int, HouseholdForecasts],
) -> list[Strategy]:
    """Every battery household on ``plan`` moved by ``policy`` (None: the plan alone), the
    other members truthful."""
    strategies: list[Strategy] = [Truthful() for _ in community.households]
    for h in community.battery_households():
        strategies[h] = (
            CommunityPlanStrategy(plan, COMMUNITY_PLAN_REACH)
            if policy is None
            else CommunityResidualStrategy(plan, policy, forecasts[h])
        )
    return strategies
