"""A PettingZoo parallel environment: every battery household of the community learns at once.

Each step is one slot. Every agent (a household with a battery) sends the same action as in
:class:`agents.envs.prosumer_env.ProsumerEnv`; the other members are ZIP traders acting live;
all orders of the slot clear together with :func:`market.clearing.settle`. Each agent's reward
is its money saved in the slot against grid-only, times ``reward_scale``. Episodes last
``episode_days`` days from a random day of ``[start, end)``; all agents truncate together.
With ``reward="community"`` every agent is rewarded instead with the whole community's savings
in the slot (all members, divided by the number of agents): a cooperative reward whose sum over
agents is the community's welfare. The other members are ZIP traders (``others="zip"``) or bid
truthfully (``others="truthful"``);
``battery_reach`` scales the battery action as in :func:`agents.actions.action_to_decision`.
:class:`agents.rl.multi.SharedVecEnv` turns it into a vector environment for one policy that
every agent shares (``enerwise agent train --algo shared``).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from agents.actions import action_to_decision, market_anchors
from agents.community import (
    Community,
    Decision,
    Fill,
    MarketHistory,
    SlotView,
    Strategy,
    clear_and_cost,
    grid_cost,
    metered_wh,
    order_for,
)
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import ZIP, Truthful
from agents.prosumer import OBS_DIM, ObservationBuilder

ObsArray = np.ndarray[Any, np.dtype[np.float32]]

OTHERS = ("zip", "truthful")
"""How the members without a battery trade in :class:`CommunityParallelEnv`."""

REWARDS = ("own", "community")
"""What :class:`CommunityParallelEnv` rewards each agent with."""


class CommunityParallelEnv(ParallelEnv[str, ObsArray, ObsArray]):  # type: ignore[misc]
    """All battery households of ``community`` as learning agents.

    Args:
        community: the community.
        forecasts: forecasts per household index (needed for every battery household).
        start: first slot.
        end: slot after the last.
        episode_days: days per episode.
        reward_scale: EUR to reward units.
        seed: seed of the ZIP traders and of the episodes' start days.
        others: ``zip`` or ``truthful``: how the members without a battery trade.
        battery_reach: scale of the battery action (0: self-consumption only).
        reward: ``own`` (each agent's money) or ``community`` (module docstring).
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "enerwise_community_v0", "render_modes": []}

    def __init__(
        self,
        community: Community,
        forecasts: dict[int, HouseholdForecasts],
        start: int,
        end: int,
        episode_days: int = 1,
        reward_scale: float = 10.0,
        seed: int = 0,
        others: str = "zip",
        battery_reach: float = 1.0,
        reward: str = "own",
    ) -> None:
        if reward not in REWARDS:
            raise ConfigError(f"reward must be one of {', '.join(REWARDS)}, got {reward!r}")
        self.reward = reward
        if others not in OTHERS:
            raise ConfigError(f"others must be one of {', '.join(OTHERS)}, got {others!r}")
        if not 0.0 <= battery_reach <= 1.0:
            raise ConfigError(f"battery_reach must be in 0..1, got {battery_reach}")
        self.others = others
        self.battery_reach = battery_reach
        self.community = community
        self.learners = community.battery_households()
        if not self.learners:
            raise ConfigError("the community has no battery household")
        missing = [h for h in self.learners if h not in forecasts]
        if missing:
            raise ConfigError(f"no forecasts for households {missing}")
        self.length = episode_days * SLOTS_PER_DAY
        if end - start < self.length:
            raise ConfigError("period shorter than one episode")
        self.start, self.end = start, end
        self.reward_scale = reward_scale
        self.zip_seed = seed
        self.possible_agents = [community.households[h].id for h in self.learners]
        self.agents: list[str] = []
        self._index = dict(zip(self.possible_agents, self.learners, strict=True))
        self._builders = {h: ObservationBuilder(community, h, forecasts[h]) for h in self.learners}
        self._rng = np.random.default_rng(seed)
        self._slot = start
        self._stop = start + self.length
        self._soc: list[float] = []
        self._others: list[Strategy | None] = []
        self._history = MarketHistory.empty(community.n_slots)

    @functools.cache  # noqa: B019 - PettingZoo's documented pattern
    def observation_space(self, agent: str) -> spaces.Box:
        """Same box for every agent."""
        return spaces.Box(-10.0, 10.0, shape=(OBS_DIM,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Box:
        """Battery set-point, buy price, sell price in ``[-1, 1]``."""
        return spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)

    def _observations(self) -> dict[str, ObsArray]:
        return {
            a: self._builders[self._index[a]](self._slot, self._soc[self._index[a]], self._history)
            for a in self.agents
        }

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, ObsArray], dict[str, dict[str, Any]]]:
        """Start an episode at a random day; batteries at their initial charge."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        days = (self.end - self.start - self.length) // SLOTS_PER_DAY
        self._slot = self.start + int(self._rng.integers(days + 1)) * SLOTS_PER_DAY
        self._stop = self._slot + self.length
        self.agents = list(self.possible_agents)
        self._soc = [
            h.battery.initial_soc * h.battery.capacity_kwh if h.battery else 0.0
            for h in self.community.households
        ]
        self._others = [
            None if i in self.learners else self._other(i)
            for i in range(len(self.community.households))
        ]
        self._history = MarketHistory.empty(self.community.n_slots)
        return self._observations(), {a: {"slot": self._slot} for a in self.agents}

    def _other(self, i: int) -> Strategy:
        return ZIP(seed=self.zip_seed + i) if self.others == "zip" else Truthful()

    def step(
        self, actions: dict[str, ObsArray]
    ) -> tuple[
        dict[str, ObsArray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Clear one slot with every agent's and every ZIP trader's order."""
        c, t = self.community, self._slot
        params = c.tariffs.market_params(t)
        retail, feed_in = float(c.tariffs.retail[t]), float(c.tariffs.feed_in[t])
        decisions: dict[int, Decision] = {}
        for a, h in self._index.items():
            anchors = market_anchors(self._history, t)
            decisions[h] = action_to_decision(
                actions.get(a, np.zeros(3)), anchors, self.battery_reach
            )
        views: dict[int, SlotView] = {}
        for i, other in enumerate(self._others):
            if other is not None:
                views[i] = SlotView(c, i, t, self._soc[i], self._history)
                decisions[i] = other.decide(views[i])
        orders, nets, base = [], {}, {}
        for i, house in enumerate(c.households):
            surplus = float(c.pv_kw[i, t] - c.load_kw[i, t])
            power = 0.0
            if house.battery is not None:
                power = house.battery.power(decisions[i].battery, surplus, self._soc[i])
                self._soc[i] = house.battery.next_soc(self._soc[i], power)
            net = metered_wh(power, surplus)
            nets[house.id] = net
            base[house.id] = grid_cost(metered_wh(0.0, surplus), retail, feed_in)
            order = order_for(house.id, net, decisions[i], params)
            if order is not None:
                orders.append(order)
        results, frac = clear_and_cost(orders, nets, params, retail, feed_in, (self._history, t))
        for i, other in enumerate(self._others):
            if other is not None:
                hid = c.households[i].id
                other.observe(views[i], Fill(nets[hid], results[hid][0], results[hid][1], frac))
        rewards = {a: float((base[a] - results[a][1]) * self.reward_scale) for a in self.agents}
        if self.reward == "community":
            shared = sum(base[h] - results[h][1] for h in base) * self.reward_scale / len(rewards)
            rewards = {a: float(shared) for a in rewards}
        infos = {a: {"cost_eur": results[a][1], "grid_only_eur": base[a]} for a in self.agents}
        self._slot += 1
        done = self._slot >= self._stop
        if done:
            self._slot -= 1
        observations = self._observations()
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


def make_community_env(
    community: Community,
    forecasts: dict[int, HouseholdForecasts],
    start: int,
    end: int,
    **kwargs: Any,
) -> CommunityParallelEnv:
    """Build the parallel environment (a factory for PettingZoo's test helpers)."""
    return CommunityParallelEnv(community, forecasts, start, end, **kwargs)
