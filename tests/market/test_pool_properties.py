"""Invariants of the city pool's rule on random cities, checked with hypothesis.

The oracles walk every tick literally, from the orders, independently of the per-curve sweep
in market/pool.py. What holds for every city (docs/pool.md):

    energy: sum of imports == sum of exports == V*; a community's orders fill its import and
            export exactly; nobody crosses a limit
    price:  no order fills through the pool beyond its own limit price
    money:  a community market never pays out more than comes in (its buyers and the pool pay
            its sellers and the pool); refunds stay within escrow; the pool keeps the grid fees,
            counted once
    local:  the pool only adds to what a community cleared on its own
"""

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from market.clearing import WH_PER_KWH, MarketParams, Side, settle
from market.pool import CityCommunity, CitySettlement, settle_city
from tests.market.strategies import draw_orders, draw_params


@dataclass(frozen=True)
class City:
    params: MarketParams
    fee_ticks_per_level: int
    communities: list[CityCommunity]


@st.composite
def cities(draw: st.DrawFn) -> City:
    """Small tick ranges (shared ticks, rationing), limits that often bind, fees that often bite."""
    params = draw_params(draw, price_floor_max=10**5, tick_size_max=10**3, max_tick_max=24)
    limits = st.one_of(st.just(0), st.integers(1, 50), st.integers(0, 10**8))
    communities = []
    for k in range(draw(st.integers(1, 4))):
        orders = draw_orders(draw, params, qty_max=10**7, max_size=12, prefix=f"c{k}")
        communities.append(
            CityCommunity(
                community_id=f"c{k}",
                levels=draw(st.integers(1, 3)),
                import_limit_wh=draw(limits),
                export_limit_wh=draw(limits),
                orders=orders,
            )
        )
    return City(params, draw(st.integers(0, 4)), communities)


def settled(city: City) -> CitySettlement:
    return settle_city(city.communities, city.params, city.fee_ticks_per_level)


def capped(city: City, tick: int, *, is_buy: bool) -> int:
    """D(t) or S(t) of the pool, literally: each community's unfilled Wh willing at ``tick``
    in pool ticks, capped by its limit."""
    total = 0
    for c in city.communities:
        _, outcomes = settle(c.orders, city.params)
        fee = c.levels * city.fee_ticks_per_level
        willing = 0
        for order, result in zip(c.orders, outcomes, strict=True):
            left = order.qty_wh - result.filled_wh
            if is_buy and order.side is Side.BUY and order.tick - fee >= tick:
                willing += left
            if not is_buy and order.side is Side.SELL and order.tick + fee <= tick:
                willing += left
        total += min(willing, c.import_limit_wh if is_buy else c.export_limit_wh)
    return total


@given(cities())
def test_pool_volume_is_the_most_the_capped_residual_curves_can_match(city: City) -> None:
    brute = max(
        min(capped(city, t, is_buy=True), capped(city, t, is_buy=False))
        for t in range(city.params.max_tick + 1)
    )
    assert settled(city).pool.volume_wh == brute


@given(cities())
def test_pool_imports_equal_exports_and_respect_limits(city: City) -> None:
    pool = settled(city).pool
    assert sum(f.import_wh for f in pool.communities) == pool.volume_wh
    assert sum(f.export_wh for f in pool.communities) == pool.volume_wh
    for c, fill in zip(city.communities, pool.communities, strict=True):
        assert fill.import_wh <= c.import_limit_wh
        assert fill.export_wh <= c.export_limit_wh


@given(cities())
def test_community_orders_fill_its_import_and_export_exactly(city: City) -> None:
    result = settled(city)
    for c in city.communities:
        fill, outcomes = result.pool.of(c.community_id), result.outcomes[c.community_id]
        assert sum(o.pool_wh for o in outcomes if o.side is Side.BUY) == fill.import_wh
        assert sum(o.pool_wh for o in outcomes if o.side is Side.SELL) == fill.export_wh


@given(cities())
def test_no_order_fills_through_the_pool_beyond_its_limit_price(city: City) -> None:
    result = settled(city)
    for c in city.communities:
        fill = result.pool.of(c.community_id)
        for order, o in zip(c.orders, result.outcomes[c.community_id], strict=True):
            assert o.filled_wh <= order.qty_wh
            if o.pool_wh and order.side is Side.BUY:
                assert fill.buy_tick <= order.tick
            if o.pool_wh and order.side is Side.SELL:
                assert fill.sell_tick >= order.tick


@given(cities())
def test_pool_only_adds_to_the_local_clearing(city: City) -> None:
    result = settled(city)
    for c in city.communities:
        _, local = settle(c.orders, city.params)
        outcomes = result.outcomes[c.community_id]
        assert [o.local_wh for o in outcomes] == [r.filled_wh for r in local]
        for o, r in zip(outcomes, local, strict=True):
            assert o.paid >= r.paid and o.gross >= r.gross


@given(cities())
def test_orders_better_than_the_pool_marginal_fill_unless_their_community_is_capped(
    city: City,
) -> None:
    result = settled(city)
    pool = result.pool
    if not pool.cleared:
        return
    for c in city.communities:
        fill = pool.of(c.community_id)
        for order, o in zip(c.orders, result.outcomes[c.community_id], strict=True):
            unfilled = o.filled_wh < order.qty_wh
            if order.side is Side.BUY and order.tick - fill.fee_ticks > pool.buy_marginal_tick:
                assert not unfilled or fill.import_wh == c.import_limit_wh
            if order.side is Side.SELL and order.tick + fill.fee_ticks < pool.sell_marginal_tick:
                assert not unfilled or fill.export_wh == c.export_limit_wh


@given(cities())
def test_community_market_never_pays_out_more_than_comes_in(city: City) -> None:
    """Buyers' payments and the pool's payment cover sellers' gross and the payment to the pool."""
    result = settled(city)
    for c in city.communities:
        fill, outcomes = result.pool.of(c.community_id), result.outcomes[c.community_id]
        money_in = sum(o.paid for o in outcomes) + fill.paid
        money_out = sum(o.gross for o in outcomes) + fill.pays
        assert money_in >= money_out
        assert all(o.gross == o.received + o.fee for o in outcomes)


@given(cities())
def test_every_order_gets_back_a_refund_within_its_escrow(city: City) -> None:
    result = settled(city)
    for c in city.communities:
        for order, o in zip(c.orders, result.outcomes[c.community_id], strict=True):
            assert 0 <= o.refund <= o.escrow
            if order.side is Side.SELL:
                assert o.refund == order.qty_wh - o.filled_wh


@given(cities())
def test_grid_fees_are_counted_once(city: City) -> None:
    """What the pool keeps is the fee of every level crossed by every Wh, plus less than one
    base unit per community and side of rounding."""
    pool = settled(city).pool
    exact_milli = city.params.tick_size * sum(
        (f.import_wh + f.export_wh) * f.fee_ticks for f in pool.communities
    )
    rounding_milli = pool.grid_fees * WH_PER_KWH - exact_milli
    assert 0 <= rounding_milli < 2 * len(pool.communities) * WH_PER_KWH
