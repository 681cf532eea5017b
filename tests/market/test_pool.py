"""The city pool's rule on small cities worked by hand (docs/pool.md)."""

import pytest

from market.clearing import MarginalLevel, MarketParams, Order, Side, clear_slot
from market.errors import PoolError
from market.pool import (
    CityCommunity,
    PoolCommunity,
    Residual,
    clear_pool,
    residual_of,
    settle_city,
)

PARAMS = MarketParams(price_floor=0, tick_size=10, max_tick=20, fee_bps=100)
OPEN = 10_000  # a limit that never binds in these cities


def community(cid: str, *orders: Order, imp: int = OPEN, exp: int = OPEN) -> CityCommunity:
    return CityCommunity(cid, 1, imp, exp, list(orders))


def buy(oid: str, tick: int, qty: int) -> Order:
    return Order(oid, Side.BUY, tick, qty)


def sell(oid: str, tick: int, qty: int) -> Order:
    return Order(oid, Side.SELL, tick, qty)


def test_residual_is_what_the_local_clearing_left_per_tick() -> None:
    orders = [buy("b1", 12, 300), buy("b2", 8, 100), sell("s1", 10, 200), sell("s2", 15, 50)]
    record = clear_slot(orders, PARAMS)
    assert record.volume_wh == 200
    assert residual_of(orders, record, PARAMS) == Residual(buys={12: 100, 8: 100}, sells={15: 50})


def test_residual_of_a_slot_that_did_not_clear_is_the_whole_book() -> None:
    orders = [buy("b1", 5, 300), sell("s1", 10, 200)]
    record = clear_slot(orders, PARAMS)
    assert residual_of(orders, record, PARAMS) == Residual(buys={5: 300}, sells={10: 200})


def test_pool_trades_across_communities_at_prices_shifted_by_the_grid_fee() -> None:
    city = [community("A", buy("a1", 15, 500)), community("B", sell("b1", 5, 400))]
    result = settle_city(city, PARAMS, fee_ticks_per_level=1)
    pool = result.pool
    # A bids 15 - 1 = 14, B asks 5 + 1 = 6 in pool ticks: p* = 10.
    assert (pool.volume_wh, pool.buy_marginal_tick, pool.sell_marginal_tick) == (400, 14, 6)
    assert pool.clearing_tick == 10
    a, b = pool.of("A"), pool.of("B")
    assert (a.import_wh, a.buy_tick, a.pays) == (400, 11, 44)  # 400 Wh at 110 per kWh
    assert (b.export_wh, b.sell_tick, b.paid) == (400, 9, 36)  # 400 Wh at 90 per kWh
    assert pool.grid_fees == 8  # 400 Wh x 2 levels x 10 per kWh
    (a1,) = result.outcomes["A"]
    (b1,) = result.outcomes["B"]
    assert (a1.pool_wh, a1.paid, a1.refund) == (400, 44, 75 - 44)
    assert (b1.pool_wh, b1.gross, b1.fee, b1.received, b1.refund) == (400, 36, 1, 35, 0)


def test_import_limit_caps_what_a_community_takes() -> None:
    city = [community("A", buy("a1", 15, 500), imp=120), community("B", sell("b1", 5, 400))]
    pool = settle_city(city, PARAMS, fee_ticks_per_level=1).pool
    assert (pool.of("A").import_wh, pool.of("B").export_wh) == (120, 120)


def test_zero_limits_let_nothing_cross() -> None:
    city = [community("A", buy("a1", 15, 500), imp=0), community("B", sell("b1", 5, 400))]
    pool = settle_city(city, PARAMS, fee_ticks_per_level=1).pool
    assert not pool.cleared
    assert all(f.import_wh == f.export_wh == 0 for f in pool.communities)


def test_fee_wider_than_the_spread_lets_nothing_cross() -> None:
    city = [community("A", buy("a1", 12, 500)), community("B", sell("b1", 8, 400))]
    assert settle_city(city, PARAMS, fee_ticks_per_level=1).pool.cleared
    assert not settle_city(city, PARAMS, fee_ticks_per_level=3).pool.cleared


def test_pool_trades_only_what_the_local_clearing_left() -> None:
    a = community("A", buy("a1", 15, 500), sell("a2", 10, 200))
    b = community("B", sell("b1", 5, 400))
    result = settle_city([a, b], PARAMS, fee_ticks_per_level=1)
    (a1, a2) = result.outcomes["A"]
    assert (a1.local_wh, a1.pool_wh) == (200, 300)
    assert (a2.local_wh, a2.pool_wh) == (200, 0)
    # Locally p* = 12 (120 per kWh) for 200 Wh; through the pool 11 (110 per kWh) for 300 Wh.
    assert a1.paid == 24 + 33


def test_a_capped_community_shares_its_import_pro_rata_in_claim_order() -> None:
    a = community("A", buy("a1", 15, 200), buy("a2", 15, 100), imp=150)
    b = community("B", sell("b1", 5, 400))
    result = settle_city([a, b], PARAMS, fee_ticks_per_level=1)
    fill = result.pool.of("A")
    assert fill.buy_marginal == MarginalLevel(tick=15, allocated_wh=150, level_wh=300)
    assert [o.pool_wh for o in result.outcomes["A"]] == [100, 50]


def test_pool_shares_the_marginal_rest_between_communities_exactly() -> None:
    a = community("A", buy("a1", 15, 100))
    b = community("B", buy("b1", 15, 200))
    c = community("C", sell("c1", 5, 100))
    pool = settle_city([a, b, c], PARAMS, fee_ticks_per_level=1).pool
    assert (pool.of("A").import_wh, pool.of("B").import_wh) == (33, 67)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"import_limit_wh": -1}, "import_limit_wh must be an int >= 0, got -1"),
        ({"export_limit_wh": 1.5}, "export_limit_wh must be an int >= 0, got 1.5"),
        ({"levels": 0}, "levels must be an int >= 1, got 0"),
        ({"community_id": ""}, "community_id must be a non-empty str"),
    ],
)
def test_bad_community_is_refused_in_one_line(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "community_id": "A",
        "levels": 1,
        "import_limit_wh": 0,
        "export_limit_wh": 0,
        "residual": Residual(),
    }
    with pytest.raises(PoolError, match=message):
        PoolCommunity(**{**fields, **change})  # type: ignore[arg-type]


def test_repeated_community_is_refused() -> None:
    twice = [PoolCommunity("A", 1, 0, 0, Residual()), PoolCommunity("A", 1, 0, 0, Residual())]
    with pytest.raises(PoolError, match="duplicate community id 'A'"):
        clear_pool(twice, PARAMS, 1)


def test_residual_beyond_the_price_grid_is_refused() -> None:
    beyond = [PoolCommunity("A", 1, 0, 0, Residual(buys={21: 5}))]
    with pytest.raises(PoolError, match="residual buy tick 21 exceeds max_tick 20"):
        clear_pool(beyond, PARAMS, 1)


def test_negative_grid_fee_is_refused() -> None:
    with pytest.raises(PoolError, match="fee_ticks_per_level must be an int >= 0, got -1"):
        clear_pool([], PARAMS, -1)


def test_residual_with_an_empty_level_is_refused() -> None:
    with pytest.raises(PoolError, match="residual sell level must map a tick >= 0 to Wh > 0"):
        Residual(sells={3: 0})
