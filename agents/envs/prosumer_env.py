"""A gymnasium environment for one prosumer (PV + battery) in the community market.

Observation: :class:`agents.prosumer.ObservationBuilder` (own load/PV/price forecasts, state of
charge, time features, recent clearing prices). Action, three values in ``[-1, 1]``: the battery
set-point relative to self-consumption, the buy price and the sell price (mapped onto the
slot's tick range by :func:`action_to_decision`, anchored on the last slot's public book).
With ``EnvConfig(planner=True)`` the agent is a *residual* policy on top of
:class:`agents.policies.mpc.BookMpc`: the action is one value in ``[-1, 1]`` that moves the
planner's battery set-point (:func:`~agents.actions.residual_setpoint`), the order is priced at
the best response to the slot's visible book, and the observation ends with the planned
set-point (:data:`~agents.prosumer.PLANNED_OBS_DIM` values); the zero action is the planner.
Reward: money saved in the slot against grid-only (no battery, no market), times
``reward_scale``. An episode is ``episode_days`` days from a random day of the training period
(or one fixed run in ``evaluation`` mode), with the other members' orders replayed from
:func:`others_book`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.actions import action_to_decision, market_anchors, residual_setpoint
from agents.community import Community, MarketHistory, SlotView
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import Truthful
from agents.policies.mpc import BookMpc
from agents.prosumer import (
    OBS_DIM,
    PLANNED_OBS_DIM,
    ObservationBuilder,
    OthersBook,
    prosumer_slot,
    run_prosumer,
    with_plan,
)

ObsType = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True, slots=True)
class EnvConfig:
    """Episode settings.

    Attributes:
        episode_days: days per episode (>= 1).
        reward_scale: factor from EUR to reward units.
        random_soc: start episodes at a random state of charge (else the battery's initial).
        evaluation: one deterministic episode over the whole period (for measuring a policy).
        battery_reach: scale of the battery action (see :func:`action_to_decision` and
            :func:`~agents.actions.residual_setpoint`), 0..1.
        planner: the residual mode of the module docstring.
        shaping_gamma: add the potential-based shaping term ``gamma * phi(s') - phi(s)`` (Ng,
            Harada & Russell, ICML 1999) with ``phi`` = stored kWh times the slot's
            feed-in-to-retail midpoint times the one-way efficiency (what the planner values
            stored energy at). With ``gamma`` the learner's discount the best policy stays the
            same, but a slot that drains the battery no longer looks like pure savings: the
            energy's value leaves the reward at once instead of slots later (None: off).
        subtract_baseline: subtract, slot by slot, what truthful bidding with self-consumption
            saved along its own run over the same period. That run does not depend on the
            agent, so every episode's return moves by a constant and the best policy stays the
            same, but the reward no longer carries the weather and demand noise that no action
            changes (a variance reduction for training; off by default).
    """

    episode_days: int = 7
    reward_scale: float = 10.0
    random_soc: bool = True
    evaluation: bool = False
    subtract_baseline: bool = False
    battery_reach: float = 1.0
    planner: bool = False
    shaping_gamma: float | None = None

    def __post_init__(self) -> None:
        if self.episode_days < 1:
            raise ConfigError(f"episode_days must be >= 1, got {self.episode_days}")
        if not 0.0 <= self.battery_reach <= 1.0:
            raise ConfigError(f"battery_reach must be in 0..1, got {self.battery_reach}")
        if self.shaping_gamma is not None and not 0.0 < self.shaping_gamma <= 1.0:
            raise ConfigError(f"shaping_gamma must be in (0, 1], got {self.shaping_gamma}")


class ProsumerEnv(gym.Env[ObsType, np.ndarray[Any, np.dtype[np.float32]]]):
    """One prosumer of ``community``; each episode picks one of the given books' households.

    Args:
        community: the community.
        books: the others' orders, one book per controllable household.
        forecasts: the households' forecasts, same order as ``books``.
        start: first slot episodes may use (inside every book).
        end: slot after the last.
        config: episode settings.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium declares it

    def __init__(
        self,
        community: Community,
        books: Sequence[OthersBook],
        forecasts: Sequence[HouseholdForecasts],
        start: int,
        end: int,
        config: EnvConfig | None = None,
    ) -> None:
        super().__init__()
        if not books or len(books) != len(forecasts):
            raise ConfigError("need one forecast per book and at least one book")
        self.config = config or EnvConfig()
        length = self.config.episode_days * SLOTS_PER_DAY
        if any(b.start > start or b.end < end for b in books):
            raise ConfigError("every book must cover the slots start..end")
        if end - start < length:
            raise ConfigError(f"period {start}..{end} shorter than one episode ({length} slots)")
        self.community = community
        self.books = list(books)
        self.builders = [
            ObservationBuilder(community, b.household, f)
            for b, f in zip(books, forecasts, strict=True)
        ]
        self.start, self.end, self.length = start, end, length
        self.planners = (
            [BookMpc(community, b.household, f, b) for b, f in zip(books, forecasts, strict=True)]
            if self.config.planner
            else []
        )
        width, actions = (PLANNED_OBS_DIM, 1) if self.config.planner else (OBS_DIM, 3)
        self.observation_space = spaces.Box(-10.0, 10.0, shape=(width,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(actions,), dtype=np.float32)
        self._planned = 0.0
        self._k = 0
        self._slot = start
        self._stop = start + length
        self._soc = 0.0
        self._history = MarketHistory.empty(community.n_slots)
        self._baselines: list[np.ndarray[Any, np.dtype[np.float64]]] = []
        if self.config.subtract_baseline:
            for book in self.books:
                run = run_prosumer(community, book, Truthful(), start, end)
                self._baselines.append(run.grid_only_eur - run.cost_eur)

    def _potential(self, slot: int, soc_kwh: float) -> float:
        """The shaping potential: stored energy at the slot's mid tariff, after efficiency."""
        tariffs = self.community.tariffs
        t = min(slot, self.community.n_slots - 1)
        battery = self.community.households[self.books[self._k].household].battery
        assert battery is not None  # ObservationBuilder checked it
        mid = (float(tariffs.retail[t]) + float(tariffs.feed_in[t])) / 2.0
        return soc_kwh * mid * battery.efficiency

    def _view(self) -> SlotView:
        household = self.books[self._k].household
        return SlotView(self.community, household, self._slot, self._soc, self._history)

    def _obs(self) -> ObsType:
        obs = self.builders[self._k](self._slot, self._soc, self._history)
        if not self.planners:
            return obs
        self._planned = self.planners[self._k].setpoint(self._view())
        return with_plan(obs, self._planned)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Start an episode (``options={"household": k}`` picks the book)."""
        super().reset(seed=seed)
        rng = self.np_random
        options = options or {}
        self._k = int(options.get("household", rng.integers(len(self.books))))
        house = self.community.households[self.books[self._k].household]
        assert house.battery is not None  # ObservationBuilder checked it
        if self.config.evaluation:
            self._slot, self._stop = self.start, self.end
            self._soc = house.battery.initial_soc * house.battery.capacity_kwh
        else:
            days = (self.end - self.start - self.length) // SLOTS_PER_DAY
            self._slot = self.start + int(rng.integers(days + 1)) * SLOTS_PER_DAY
            self._stop = self._slot + self.length
            frac = rng.uniform(0.1, 0.9) if self.config.random_soc else house.battery.initial_soc
            self._soc = float(frac) * house.battery.capacity_kwh
        self._history = MarketHistory.empty(self.community.n_slots)
        return self._obs(), {"household": self.books[self._k].household, "slot": self._slot}

    def step(
        self, action: np.ndarray[Any, Any]
    ) -> tuple[ObsType, float, bool, bool, dict[str, Any]]:
        """Apply one slot's action; the episode truncates at its last slot."""
        reach = self.config.battery_reach
        soc_before = self._soc
        if self.planners:
            setpoint = residual_setpoint(action, self._planned, reach)
            decision = self.planners[self._k].priced(self._view(), setpoint)
        else:
            decision = action_to_decision(action, market_anchors(self._history, self._slot), reach)
        result = prosumer_slot(
            self.community,
            self.books[self._k],
            self._slot,
            self._soc,
            decision,
            history=self._history,
        )
        self._soc = result.soc_kwh
        saved = result.grid_only_eur - result.fill.cost_eur
        reward = saved
        if self.config.shaping_gamma is not None:
            reward += self.config.shaping_gamma * self._potential(
                self._slot + 1, result.soc_kwh
            ) - self._potential(self._slot, soc_before)
        if self._baselines:
            reward -= float(self._baselines[self._k][self._slot - self.start])
        info = {
            "cost_eur": result.fill.cost_eur,
            "grid_only_eur": result.grid_only_eur,
            "savings_eur": saved,
            "slot": self._slot,
        }
        self._slot += 1
        truncated = self._slot >= self._stop
        if not truncated:
            obs = self._obs()
        else:
            obs = self.builders[self._k](self._slot - 1, self._soc, self._history)
            if self.planners:
                obs = with_plan(obs, self._planned)
        return obs, float(reward * self.config.reward_scale), False, truncated, info
