"""The CityPool façade's clearing on a real anvil: a city of two community markets (1 and 2 network
levels below the pool, a grid fee of 2 ticks per level) whose books are placed and cleared in
their markets; the pool's clearing built by the façade (``CityPool.residuals``, ``clear``) and
read back (``pool_clearing``, ``cleared_events``) equals the Python reference
``market.pool.clear_pool`` on the same residuals, fees and limits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devchain.city import BookLevel, City, deploy_city
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from energychain.errors import PoolInputError
from energychain.pool import SlotPoolClearing
from market.clearing import Order, Side, clear_slot
from market.pool import PoolClearing, PoolCommunity, clear_pool, residual_of

SETTINGS = MarketSettings(max_tick=40, min_order_wh=1, settlement_seconds=3_600)
LEVELS = (1, 2)
FEE_PER_LEVEL = 2
OPEN = 10**9


@pytest.fixture(scope="module")
def city(compiled: None) -> Iterator[City]:
    with Sandbox.on_anvil(SETTINGS) as sandbox:
        city = deploy_city(sandbox, len(LEVELS), levels=LEVELS)
        city.operator.transact(city.pool.set_grid_fee(FEE_PER_LEVEL, city.operator.address))
        yield city


def reference(
    city: City, books: Sequence[Sequence[BookLevel]], limits: Sequence[tuple[int, int]]
) -> PoolClearing:
    rule = city.sandbox.params.rule()
    communities = []
    for i, (book, levels, (imp, exp)) in enumerate(zip(books, LEVELS, limits, strict=True)):
        orders = [
            Order(f"o{j}", Side.BUY if is_buy else Side.SELL, tick, qty)
            for j, (is_buy, tick, qty) in enumerate(book)
        ]
        residual = residual_of(orders, clear_slot(orders, rule), rule)
        communities.append(PoolCommunity(f"c{i}", levels, imp, exp, residual))
    return clear_pool(communities, rule, FEE_PER_LEVEL)


def cleared_by_the_facade(
    city: City, books: Sequence[Sequence[BookLevel]], limits: Sequence[tuple[int, int]]
) -> tuple[int, SlotPoolClearing]:
    """Places ``books`` in a fresh slot, publishes ``limits``, clears the markets and the pool
    through the façade: (the slot, the decoded ``PoolCleared``)."""
    slot = city.sandbox.current_slot() + 1
    city.place_books(slot, books)
    city.operator.transact(city.pool.publish_limits(slot, limits))
    city.clear_markets(slot)
    receipt = city.sandbox.admin.transact(city.pool.clear(slot, city.pool.residuals(slot)))
    return slot, city.pool.cleared_events(receipt)[0]


def assert_equal(event: SlotPoolClearing, want: PoolClearing) -> None:
    assert (
        event.volume_wh,
        event.clearing_tick,
        event.buy_marginal_tick,
        event.sell_marginal_tick,
    ) == (want.volume_wh, want.clearing_tick, want.buy_marginal_tick, want.sell_marginal_tick)
    for fill, ref in zip(event.fills, want.communities, strict=True):
        assert (fill.import_wh, fill.export_wh) == (ref.import_wh, ref.export_wh)
        assert (fill.buy_marginal, fill.sell_marginal) == (ref.buy_marginal, ref.sell_marginal)


level = st.tuples(st.booleans(), st.integers(0, 40), st.integers(1, 500))
books = st.lists(st.lists(level, max_size=5), min_size=2, max_size=2)
limit = st.one_of(st.just(0), st.integers(1, 600), st.just(OPEN))
limits = st.lists(st.tuples(limit, limit), min_size=2, max_size=2)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(books=books, limits=limits)
def test_facade_clearing_equals_the_python_reference(
    city: City, books: list[list[BookLevel]], limits: list[tuple[int, int]]
) -> None:
    _, event = cleared_by_the_facade(city, books, limits)
    assert_equal(event, reference(city, books, limits))


def test_stored_record_and_verified_fills_match_the_event(city: City) -> None:
    trade = [[(True, 30, 400)], [(False, 10, 300), (True, 5, 50)]]
    slot, event = cleared_by_the_facade(city, trade, [(OPEN, OPEN)] * 2)
    stored = city.pool.pool_clearing(slot)
    assert stored.cleared and stored.volume_wh == event.volume_wh == 300
    assert (stored.clearing_tick, stored.fee_ticks_per_level) == (event.clearing_tick, 2)
    assert city.pool.verify_fills(slot, event.fills)
    assert not city.pool.verify_fills(slot, event.fills[::-1])


def test_residuals_of_a_market_that_has_not_cleared_are_refused_naming_it(city: City) -> None:
    slot = city.sandbox.current_slot() + 1
    city.place_books(slot, [[(True, 30, 100)], [(False, 35, 100)]])
    city.clear_markets(slot, [0])
    with pytest.raises(PoolInputError, match=f"community 1 .* has not cleared slot {slot}"):
        city.pool.residuals(slot)


def test_a_paused_community_has_empty_residual_sides(city: City) -> None:
    slot = city.sandbox.current_slot() + 1
    city.place_books(slot, [[(True, 30, 100)], [(False, 20, 100)]])
    city.clear_markets(slot, [1])
    city.sandbox.admin.transact(city.pool.pause_community(0))
    try:
        assert city.pool.is_paused(0)
        sides = city.pool.residuals(slot)
        assert sides == [([], []), ([], [20 << 96 | 100])]
        receipt = city.sandbox.admin.transact(city.pool.clear(slot, sides))
        assert city.pool.cleared_events(receipt)[0].volume_wh == 0
    finally:
        city.sandbox.admin.transact(city.pool.resume_community(0))
    assert not city.pool.is_paused(0)


def test_clear_with_the_wrong_number_of_entries_is_refused_before_sending(city: City) -> None:
    with pytest.raises(PoolInputError, match="1 entries for 2 communities"):
        city.pool.clear(0, [([], [])])


def test_clear_with_an_entry_that_is_not_residual_sides_is_refused(city: City) -> None:
    with pytest.raises(PoolInputError, match="community 1: a Residual or"):
        city.pool.clear(0, [([], []), "nothing"])  # type: ignore[list-item]
