"""The best tick against a visible book: what a last mover on chain can compute.

Every order is public the moment it is mined, so a household that places its order just
before gate closure sees the others' orders of that slot (docs/contracts.md, section 8). For
its own metered net energy it tries the ticks where the outcome can change (each of the
others' ticks and its neighbours, the floor and the top), clears each candidate with
:func:`market.clearing.settle` (the contract's rule, through
:func:`agents.community.clear_and_cost`) and keeps the cheapest.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.community import Decision, clear_and_cost, order_for
from market.clearing import MarketParams, Order, Side


def best_response_frac(
    others: Sequence[Order],
    own_id: str,
    net_wh: int,
    params: MarketParams,
    retail: float,
    feed_in: float,
) -> float:
    """The tick fraction (0 = feed-in, 1 = retail) at which an order for ``net_wh`` (positive:
    buy) costs least against ``others``; the truthful price when nothing beats it (ties go to
    the lowest tick examined) and when ``net_wh`` is 0."""
    truthful = 1.0 if net_wh > 0 else 0.0
    if net_wh == 0:
        return truthful
    candidates = {0, params.max_tick}
    for order in others:
        candidates.update(
            tick for tick in (order.tick - 1, order.tick, order.tick + 1)
            if 0 <= tick <= params.max_tick
        )  # fmt: skip
    best, best_cost = truthful, float("inf")
    for tick in sorted(candidates):
        frac = tick / params.max_tick
        own = order_for(own_id, net_wh, Decision(buy_frac=frac, sell_frac=frac), params)
        assert own is not None  # net_wh != 0
        orders = [*others, own]
        nets = {o.id: o.qty_wh if o.side is Side.BUY else -o.qty_wh for o in orders}
        cost = clear_and_cost(orders, nets, params, retail, feed_in)[0][own_id][1]
        if cost < best_cost - 1e-12:
            best, best_cost = frac, cost
    return best
