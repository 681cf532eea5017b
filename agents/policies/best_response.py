"""The best tick against a visible book: what a last mover on chain can compute.

Every order is public the moment it is mined, so a household that places its order just
before gate closure sees the others' orders of that slot (docs/contracts.md, section 8). For
its own metered net energy it tries the ticks where the outcome can change (each of the
others' ticks and its neighbours, the floor and the top), clears each candidate with
:func:`market.clearing.settle` (the contract's rule, through
:func:`agents.community.clear_and_cost`) and keeps the cheapest.

A trader who cannot see its slot's book (a sealed market) prices against books like it
instead: :func:`expected_best_response_frac` keeps the tick whose cost is least on average over
several recent books (:func:`agents.policies.visible.pricing_scenarios`).
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.community import Decision, clear_and_cost, order_for
from market.clearing import MarketParams, Order, Side


def _cost_among(
    others: Sequence[Order], own: Order, params: MarketParams, retail: float, feed_in: float
) -> float:
    """What ``own`` costs (EUR, the unfilled rest at the grid's tariffs) when it clears with
    ``others`` by the contract's rule."""
    orders = [*others, own]
    nets = {o.id: o.qty_wh if o.side is Side.BUY else -o.qty_wh for o in orders}
    return clear_and_cost(orders, nets, params, retail, feed_in)[0][own.id][1]


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
        cost = _cost_among(others, own, params, retail, feed_in)
        if cost < best_cost - 1e-12:
            best, best_cost = frac, cost
    return best


SCENARIO_GRID = tuple(k / 20 for k in range(21))
"""The tick fractions :func:`expected_best_response_frac` tries (steps of 5 % of the slot's
feed-in..retail range). Candidates at a stale book's own ticks (and their neighbours) fit that
book's marginal orders to the tick, which the slot being priced does not repeat: on the sealed
validation fortnight (Oct 1..14 2015) the grid of 21 kept 75.14 % of the bound, 41 points 74.66
and 11 points 75.01 (docs/agents.md, Issue 18, tenth round)."""


def expected_best_response_frac(
    scenarios: Sequence[Sequence[Order]],
    own_id: str,
    net_wh: int,
    params: MarketParams,
    retail: float,
    feed_in: float,
) -> float:
    """The tick fraction (0 = feed-in, 1 = retail) of :data:`SCENARIO_GRID` at which an order
    for ``net_wh`` (positive: buy) costs least on average over ``scenarios``, each a book the
    slot's others might place (a sample average approximation of the expected cost: the bid
    of a trader who cannot see the book, only books like it). The truthful price when
    ``net_wh`` is 0, when no scenario holds an order, and when nothing beats it (ties go to
    the lowest fraction)."""
    truthful = 1.0 if net_wh > 0 else 0.0
    books = [book for book in scenarios if book]
    if net_wh == 0 or not books:
        return truthful
    best, best_cost = truthful, float("inf")
    for frac in SCENARIO_GRID:
        own = order_for(own_id, net_wh, Decision(buy_frac=frac, sell_frac=frac), params)
        assert own is not None  # net_wh != 0
        cost = sum(_cost_among(others, own, params, retail, feed_in) for others in books)
        if cost < best_cost - 1e-12:
            best, best_cost = frac, cost
    return best
