"""The learned agents' action space: from three numbers in ``[-1, 1]`` to a slot's decision.

Prices are anchored on the last slot's public book (every order is on chain, so every
household sees it): :func:`market_anchors` reads the book, :func:`action_to_decision` maps an
action between truthful bidding and those anchors. The environments, the learned policies,
the halfway baseline and the on-chain runtime all use this one mapping. A residual policy
(one value: a correction of a planner's battery set-point, orders priced by the planner) maps
through :func:`residual_setpoint`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.community import Decision, MarketHistory


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


def residual_setpoint(
    action: Sequence[float] | np.ndarray[Any, Any], planned: float, reach: float
) -> float:
    """A residual policy's battery set-point: the planner's ``planned`` set-point moved by
    ``reach`` times the action's single value (in ``[-1, 1]``), clipped to ``[-1, 1]``. The
    zero action is the plan itself."""
    a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
    return min(max(planned + reach * a, -1.0), 1.0)
