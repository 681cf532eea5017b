"""The learned agents' kinds, the methods ``agent eval`` knows and the DQN agent's action menu
(no learning library imported: the runtime's ONNX policies need them too, and the command line
checks a user's method names before it loads anything heavy)."""

from __future__ import annotations

from enum import StrEnum

import numpy as np


class Algo(StrEnum):
    """Learning algorithms."""

    PPO = "ppo"
    DQN = "dqn"


RULES = (
    "truthful",
    "zip",
    "threshold",
    "halfway",
    "mpc",
    "book_response",
    "mpc_book",
    "mpc_book_ahead",
    "mpc_book_ahead_halfway",
    "halfway_ahead",
    "scenario_response",
)
"""The rule-based methods, in report order (``mpc_book_ahead_halfway``: ``mpc_book_ahead``'s
battery plan with the halfway rule's prices; ``halfway_ahead``: the same with the battery
following :data:`PLAN_REACH` of the plan's set-point, the rest self-consumption: both made
for a sealed market; ``scenario_response``: self-consumption at the tick that costs least on
average over the newest revealed books, made for a sealed market too)."""

PLAN_REACH = 0.25
"""The share of the plan's set-point ``halfway_ahead`` follows (relative to self-consumption).
Chosen on validation (Oct 1..14 2015, sealed market, 3 households, % of bound): 0 (``halfway``)
72.37, 0.25 73.59, 0.5 72.87, 1 (``mpc_book_ahead_halfway``) 65.23 (docs/agents.md); the
residual policies' :data:`RESIDUAL_REACH` is the same quarter."""

COMMUNITY_RULES = ("truthful", "halfway", "mpc", "community_plan")
"""The rules ``agent eval-community`` can run a community on: ``truthful`` and ``halfway`` on
every member; ``mpc`` (the hourly planner with the halfway rule's prices, each household for
its own money) and ``community_plan`` (every battery on its part of the community's receding
horizon plan, truthful prices: coordination, :mod:`agents.policies.community_plan`) on every
battery household, the other members truthful."""

EVERY_MEMBER_RULES = ("truthful", "halfway")
"""The community rules every member follows (the others run on the battery households)."""

LEARNED = ("ppo", "dqn", "imitation", "mpc_book_learned", "mpc_book_ensemble")
"""The learned methods: the algorithm each one's model files hold (``mpc_book_learned``: the
planner on a learned model of the others' book, :mod:`agents.policies.book_model`, one run per
file; ``mpc_book_ensemble``: the same planner on the mean prediction of all its files, one run)."""

SHIPPED_LEARNED = ("ppo", "dqn", "imitation", "mpc_book_learned")
"""The learned methods with shipped model files: ``agent eval`` runs these by default
(``mpc_book_learned``: the book models fitted among ZIP members, in ONNX, one set per market
mode: the open market's of the eighth round, the sealed market's of the seventh;
``mpc_book_ensemble`` did not validate above its rule and ships no files of its own)."""

BOOK_RULES = ("book_response", "mpc_book", "mpc_book_ahead")
"""The rules that price against the others' orders of their own slot in an open market."""


_BATTERY = (-1.0, -0.5, 0.0, 0.5, 1.0)
_POSTURES = ((1.0, -1.0), (0.0, 0.0), (-1.0, 1.0))  # (buy, sell): truthful, halfway, anchored
DQN_ACTIONS = np.array(
    [[b, buy, sell] for b in _BATTERY for buy, sell in _POSTURES], dtype=np.float32
)
"""The DQN agent's menu: each row an action of the continuous environment."""


PPO_BATTERY_REACH = 0.0
"""Battery reach of the plain PPO agent's action (:func:`action_to_decision`, ``agent train
--no-planner``); DQN's menu uses 1, the shipped residual PPO :data:`RESIDUAL_REACH`.

0: the plain PPO agent prices its orders (anchored on the public book, from the forecasts
and the book) and leaves its battery in self-consumption. Measured on held-out Oct..Dec 2018
(3 households, LightGBM forecasts): reach 1 gave 56-60 % of the perfect-foresight bound after
50k..200k steps, reach 0.25 65.5-65.7 %, reach 0 68.7 % at 40k steps, against 68.5 % for the
untrained zero action (halfway to the quotes) and 66.8 % for truthful bidding: every battery
policy PPO learned on Jan..Sep drained or filled the battery in ways that lost in winter."""


RESIDUAL_REACH = 0.25
"""Battery reach of a residual policy (:func:`agents.actions.residual_setpoint`): it may move
the planner's set-point by up to a quarter of the battery's room either way.

Chosen on validation data, never on the held-out quarter: policies trained on Jan..Sep 2018
(60k steps, seed 0), scored on Oct..Dec 2015 (the same season of another year) as % of the
perfect-foresight bound, against 76.8 % for the planner alone (the zero action): reach 0.5
74.6 %, reach 0.5 with potential-based shaping 74.7 %, reach 0.25 75.7 %, reach 0.25 with
discount 0.9 and shaping 75.0 %. The learned
correction costs less the less it may move; none beat the planner (docs/agents.md)."""


def battery_reach(algo: Algo, residual: bool = False) -> float:
    """The battery reach ``algo``'s policies are trained and run with."""
    if residual:
        return RESIDUAL_REACH
    return PPO_BATTERY_REACH if algo is Algo.PPO else 1.0
