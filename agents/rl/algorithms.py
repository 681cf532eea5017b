"""The learned agents: PPO with continuous prices and battery, DQN with a discrete menu.

* PPO: Schulman, Wolski, Dhariwal, Radford & Klimov, "Proximal Policy Optimization Algorithms",
  arXiv:1707.06347, 2017 (stable-baselines3 implementation).
* DQN: Mnih et al., "Human-level control through deep reinforcement learning", Nature 518,
  2015 (stable-baselines3 implementation), acting on :data:`DQN_ACTIONS`: five battery
  set-points times three price postures.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.actions import action_to_decision, market_anchors, residual_setpoint
from agents.community import Decision, Fill, SlotView
from agents.errors import PolicyError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.mpc import BookMpc
from agents.prosumer import ObservationBuilder, with_plan
from agents.rl.kinds import (
    DQN_ACTIONS,
    PPO_BATTERY_REACH,
    RESIDUAL_REACH,
    Algo,
    battery_reach,
)

__all__ = ["DQN_ACTIONS", "PPO_BATTERY_REACH", "RESIDUAL_REACH", "Algo", "battery_reach"]


def is_residual(model: Any) -> bool:
    """Whether a loaded model is a residual policy (one action value on top of the planner)."""
    shape = getattr(model.action_space, "shape", None)
    return shape is not None and tuple(shape) == (1,)


class DiscreteActions(gym.ActionWrapper[Any, np.int64, Any]):
    """Expose :data:`DQN_ACTIONS` as a ``Discrete`` action space."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.action_space = spaces.Discrete(len(DQN_ACTIONS))

    def action(self, action: np.int64) -> Any:
        """Row ``action`` of the menu."""
        return DQN_ACTIONS[int(action)]


class PolicyStrategy:
    """A trained stable-baselines3 model acting as a household strategy (deterministic).

    Args:
        model: a PPO or DQN model (anything with ``predict(obs, deterministic=True)`` and an
            ``action_space``).
        algo: which algorithm (DQN actions index :data:`DQN_ACTIONS`).
        forecasts: the household's forecasts, for its observations.
        planner: the planner a residual policy corrects (:func:`is_residual`); needed for one.

    Raises:
        PolicyError: a residual policy without a planner.
    """

    def __init__(
        self,
        model: Any,
        algo: Algo,
        forecasts: HouseholdForecasts,
        planner: BookMpc | None = None,
    ) -> None:
        self.model = model
        self.algo = algo
        self.name = algo.value
        self.forecasts = forecasts
        self.residual = is_residual(model)
        if self.residual and planner is None:
            raise PolicyError(f"the {algo.value} policy is residual: it needs a planner")
        self.planner = planner if self.residual else None
        self._builder: ObservationBuilder | None = None

    def decide(self, view: SlotView) -> Decision:
        """Observe, predict, map to a decision."""
        if self._builder is None or self._builder.household != view.household:
            self._builder = ObservationBuilder(view.community, view.household, self.forecasts)
        obs = self._builder(view.slot, view.soc_kwh, view.history)
        if self.planner is not None:
            planned = self.planner.setpoint(view)
            action, _ = self.model.predict(with_plan(obs, planned), deterministic=True)
            reach = battery_reach(self.algo, residual=True)
            return self.planner.priced(view, residual_setpoint(action, planned, reach))
        action, _ = self.model.predict(obs, deterministic=True)
        if self.algo is Algo.DQN:
            action = DQN_ACTIONS[int(np.asarray(action).reshape(-1)[0])]
        anchors = market_anchors(view.history, view.slot)
        return action_to_decision(action, anchors, battery_reach(self.algo))

    def observe(self, view: SlotView, fill: Fill) -> None:
        """Nothing to learn at evaluation time."""


def load_model(path: str, algo: Algo) -> Any:
    """Load a saved stable-baselines3 model (on CPU).

    Raises:
        PolicyError: the file is missing or not a model of ``algo``.
    """
    from stable_baselines3 import DQN, PPO

    cls = PPO if algo is Algo.PPO else DQN
    try:
        return cls.load(path, device="cpu")
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise PolicyError(f"cannot load a {algo.value} model from {path}: {exc}") from exc
