"""Scenario pricing: the tick that costs least on average over books like the slot's.

A trader in a sealed market cannot see its slot's book, only earlier ones revealed; it prices
against several of them (:func:`expected_best_response_frac`, :func:`pricing_scenarios`) on a
grid of 5 % of the slot's range.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.community import Community, Decision, clear_and_cost, order_for
from agents.policies import ZIP, Halfway, ScenarioResponse
from agents.policies.best_response import SCENARIO_GRID, expected_best_response_frac
from agents.policies.visible import (
    MARKET_OPEN,
    MARKET_SEALED,
    SCENARIO_BOOKS,
    SEALED_PRICE_LAG_SLOTS,
    pricing_scenarios,
    recent_book,
)
from agents.prosumer import OthersBook, others_book, run_prosumer
from market.clearing import MarketParams, Order, Side

PARAMS = MarketParams(price_floor=50_000, tick_size=1_000, max_tick=200, fee_bps=0)
RETAIL, FEED_IN = 0.25, 0.05  # the range's ends: floor 0.05, top 0.05 + 200 * 0.001


def _mean_cost(scenarios: list[list[Order]], net_wh: int, frac: float) -> float:
    own = order_for("me", net_wh, Decision(buy_frac=frac, sell_frac=frac), PARAMS)
    assert own is not None
    costs = []
    for others in scenarios:
        orders = [*others, own]
        nets = {o.id: o.qty_wh if o.side is Side.BUY else -o.qty_wh for o in orders}
        costs.append(clear_and_cost(orders, nets, PARAMS, RETAIL, FEED_IN)[0]["me"][1])
    return float(np.mean(costs))


def test_scenario_pricing_asks_at_the_bid_most_scenarios_hold() -> None:
    """Three books like the slot's: a neighbour bids for 2 kWh at 30 % of the range in two, at
    60 % in one (a trade clears halfway between bid and ask). Asking at 60 % earns most where it
    fills but fills once in three; asking at 30 % fills in all three: the mean is best there."""
    ticks = (30, 30, 60)
    scenarios = [[Order("n", Side.BUY, t * PARAMS.max_tick // 100, 2_000)] for t in ticks]
    frac = expected_best_response_frac(scenarios, "me", -1_000, PARAMS, RETAIL, FEED_IN)
    assert frac == pytest.approx(0.30)
    assert _mean_cost(scenarios, -1_000, frac) < _mean_cost(scenarios, -1_000, 0.60)


def test_scenario_pricing_bids_at_the_ask_every_scenario_holds() -> None:
    """Every scenario offers 3 kWh at 20 % of the range: a bid at or above it fills halfway
    between the two, so the cheapest bid is the ask's own price."""
    scenarios = [[Order("n", Side.SELL, round(0.20 * PARAMS.max_tick), 3_000)]] * 4
    frac = expected_best_response_frac(scenarios, "me", 1_000, PARAMS, RETAIL, FEED_IN)
    assert frac == pytest.approx(0.20)


def test_scenario_pricing_is_truthful_without_energy_or_without_any_order() -> None:
    book = [[Order("n", Side.SELL, 40, 3_000)]]
    assert expected_best_response_frac(book, "me", 0, PARAMS, RETAIL, FEED_IN) == 0.0
    assert expected_best_response_frac([[], []], "me", 500, PARAMS, RETAIL, FEED_IN) == 1.0
    assert expected_best_response_frac([], "me", -500, PARAMS, RETAIL, FEED_IN) == 0.0


_orders = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(0, PARAMS.max_tick),
        st.integers(100, 5_000),
    ),
    max_size=5,
).map(lambda rows: [Order(f"n{k}", side, tick, qty) for k, (side, tick, qty) in enumerate(rows)])


@settings(max_examples=60, deadline=None)
@given(scenarios=st.lists(_orders, min_size=1, max_size=4), net_wh=st.integers(-4_000, 4_000))
def test_scenario_pricing_never_costs_more_on_average_than_truthful_or_any_grid_point(
    scenarios: list[list[Order]], net_wh: int
) -> None:
    if net_wh == 0:
        return
    frac = expected_best_response_frac(scenarios, "me", net_wh, PARAMS, RETAIL, FEED_IN)
    chosen = _mean_cost(scenarios, net_wh, frac)
    truthful = 1.0 if net_wh > 0 else 0.0
    assert chosen <= _mean_cost(scenarios, net_wh, truthful) + 1e-12
    assert all(chosen <= _mean_cost(scenarios, net_wh, g) + 1e-12 for g in SCENARIO_GRID)


@settings(max_examples=30, deadline=None)
@given(book=_orders, copies=st.integers(2, 4), net_wh=st.integers(-4_000, 4_000))
def test_scenario_pricing_over_copies_of_one_book_prices_as_over_that_book(
    book: list[Order], copies: int, net_wh: int
) -> None:
    one = expected_best_response_frac([book], "me", net_wh, PARAMS, RETAIL, FEED_IN)
    many = expected_best_response_frac([book] * copies, "me", net_wh, PARAMS, RETAIL, FEED_IN)
    assert many == one


@pytest.fixture(scope="module")
def june_book(community: Community, june_week: tuple[int, int]) -> OthersBook:
    start, end = june_week
    h = community.battery_households()[0]
    n = len(community.households)
    return others_book(community, h, [ZIP(seed=40 + k) for k in range(n)], start, end)


def test_sealed_scenarios_are_the_newest_revealed_books_moved_onto_the_slots_range(
    community: Community, june_book: OthersBook
) -> None:
    slot = june_book.start + 50
    scenarios = pricing_scenarios(community, june_book, slot, MARKET_SEALED)
    lags = range(SEALED_PRICE_LAG_SLOTS, SEALED_PRICE_LAG_SLOTS + SCENARIO_BOOKS)
    assert scenarios == [recent_book(community, june_book, slot, lag) for lag in lags]
    assert len(scenarios) == SCENARIO_BOOKS


def test_sealed_scenarios_hold_only_books_revealed_since_the_record_began(
    community: Community, june_book: OthersBook
) -> None:
    assert pricing_scenarios(community, june_book, june_book.start, MARKET_SEALED) == []
    two_in = pricing_scenarios(community, june_book, june_book.start + 2, MARKET_SEALED)
    assert len(two_in) == 2


def test_open_market_scenario_is_the_slots_visible_book(
    community: Community, june_book: OthersBook
) -> None:
    slot = june_book.start + 50
    assert pricing_scenarios(community, june_book, slot, MARKET_OPEN) == [june_book.visible(slot)]


def test_scenario_response_keeps_the_battery_in_self_consumption(
    community: Community, june_book: OthersBook
) -> None:
    start, end = june_book.start, june_book.start + 96
    scenario = run_prosumer(
        community, june_book, ScenarioResponse(june_book, MARKET_SEALED), start, end
    )
    halfway = run_prosumer(community, june_book, Halfway(), start, end)
    assert np.allclose(scenario.soc_kwh, halfway.soc_kwh)
