"""A gymnasium environment for one prosumer (PV + battery) in the community market.

Observation: :class:`agents.prosumer.ObservationBuilder` (own load/PV/price forecasts, state of
charge, time features, recent clearing prices). Action, three values in ``[-1, 1]``: the battery
set-point relative to self-consumption, the buy price and the sell price (mapped onto the
slot's tick range by :func:`action_to_decision`, anchored on the last slot's public book).
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

from agents.community import Community, Decision, MarketHistory
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import Truthful
from agents.prosumer import OBS_DIM, ObservationBuilder, OthersBook, prosumer_slot, run_prosumer

ObsType = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True, slots=True)
class EnvConfig:
    """Episode settings.

    Attributes:
        episode_days: days per episode (>= 1).
        reward_scale: factor from EUR to reward units.
        random_soc: start episodes at a random state of charge (else the battery's initial).
        evaluation: one deterministic episode over the whole period (for measuring a policy).
        battery_reach: scale of the battery action (see :func:`action_to_decision`), 0..1.
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

    def __post_init__(self) -> None:
        if self.episode_days < 1:
            raise ConfigError(f"episode_days must be >= 1, got {self.episode_days}")
        if not 0.0 <= self.battery_reach <= 1.0:
            raise ConfigError(f"battery_reach must be in 0..1, got {self.battery_reach}")


def market_anchors(history: MarketHistory, slot: int) -> tuple[float, float]:
    """``(buy, sell)`` price fractions the last slot's public book suggests.

    Buy: the lowest unfilled ask (supply was left over: a bid there would have been served at
    that price), else the clearing price, else retail (1). Sell: the highest unfilled bid, else
    the clearing price, else feed-in (0).
    """
    if slot <= 0:
        return 1.0, 0.0
    ask, bid = history.unfilled_ask[slot - 1], history.unfilled_bid[slot - 1]
    cleared = history.tick_frac[slot - 1]
    buy = ask if not np.isnan(ask) else (cleared if not np.isnan(cleared) else 1.0)
    sell = bid if not np.isnan(bid) else (cleared if not np.isnan(cleared) else 0.0)
    return float(buy), float(sell)


PRICE_CENTRE = 0.5
"""Where the zero price action sits between truthful (0) and the market anchor (1)."""


def action_to_decision(
    action: Sequence[float] | np.ndarray[Any, Any],
    anchors: tuple[float, float] = (0.0, 1.0),
    battery_reach: float = 1.0,
) -> Decision:
    """Map an action in ``[-1, 1]^3`` to a decision.

    ``a[0]`` times ``battery_reach`` is the battery set-point relative to self-consumption
    (0); a reach below 1 keeps a policy near self-consumption, whose exploration would
    otherwise drain or overfill the battery on noise. The prices are anchored
    on the last slot's public book (``anchors``: ``(buy, sell)`` fractions, see
    :func:`market_anchors`): the buy price fraction is ``retail + reach * (buy anchor -
    retail)`` and the sell price fraction ``reach * sell anchor``, each reach running linearly
    from truthful (``reach = 0``: ``a[1] = 1`` to buy, ``a[2] = -1`` to sell) through halfway
    (:data:`PRICE_CENTRE`, the zero action, where a fresh policy starts) to the anchor itself
    (``reach = 1``: ``a[1] = -1``, ``a[2] = 1``). Halfway to the quotes is the strongest
    constant posture measured on the training months; the policy learns when to move off it.
    With the default anchors ``(0, 1)`` the full tick range is reachable.
    """
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
    buy_anchor, sell_anchor = anchors
    reach_buy = _reach(-float(a[1]))
    reach_sell = _reach(float(a[2]))
    return Decision(
        battery=battery_reach * float(a[0]),
        buy_frac=1.0 + (buy_anchor - 1.0) * reach_buy,
        sell_frac=sell_anchor * reach_sell,
    )


def _reach(x: float) -> float:
    """``x`` in ``[-1, 1]`` to a reach in ``[0, 1]``, piecewise linear through the centre."""
    if x >= 0.0:
        return PRICE_CENTRE + (1.0 - PRICE_CENTRE) * x
    return PRICE_CENTRE * (1.0 + x)


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
        self.observation_space = spaces.Box(-10.0, 10.0, shape=(OBS_DIM,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
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

    def _obs(self) -> ObsType:
        return self.builders[self._k](self._slot, self._soc, self._history)

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
        result = prosumer_slot(
            self.community,
            self.books[self._k],
            self._slot,
            self._soc,
            action_to_decision(
                action, market_anchors(self._history, self._slot), self.config.battery_reach
            ),
            history=self._history,
        )
        self._soc = result.soc_kwh
        saved = result.grid_only_eur - result.fill.cost_eur
        reward = saved
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
        obs = (
            self._obs()
            if not truncated
            else self.builders[self._k](self._slot - 1, self._soc, self._history)
        )
        return obs, float(reward * self.config.reward_scale), False, truncated, info
