"""Specification of the clearing rule by worked examples, and of what the clearing rejects.

Most examples use ``SMALL``: price(t) = 1000 + 10*t base units per kWh, so a Wh at tick t costs
(1000 + 10*t) / 1000 units and every rounding is visible.
"""

import pytest

from market.clearing import (
    ClearingRecord,
    MarginalLevel,
    MarketParams,
    Order,
    OrderOutcome,
    Side,
    clear_slot,
    outcome,
    settle,
)
from market.errors import (
    ClearingRecordError,
    MarketError,
    MarketParamsError,
    OrderError,
)

SMALL = MarketParams(price_floor=1000, tick_size=10, max_tick=100, fee_bps=0)
EXAMPLE = MarketParams(price_floor=80_000, tick_size=100, max_tick=4000, fee_bps=0)

BUY, SELL = Side.BUY, Side.SELL

#: Three buyers at tick 8 (700 Wh) against one seller at tick 5 (300 Wh): buyers are rationed.
RATIONED_BUYERS = [
    Order("b1", BUY, 8, 100),
    Order("b2", BUY, 8, 200),
    Order("b3", BUY, 8, 400),
    Order("s1", SELL, 5, 300),
]


def by_id(outcomes: list[OrderOutcome]) -> dict[str, OrderOutcome]:
    return {o.order_id: o for o in outcomes}


# --- worked examples ---------------------------------------------------------------------


def test_single_buy_meets_single_sell_at_midpoint_price() -> None:
    """The CLI example. floor 80000, tick_size 100.

    D(t) = 1500 for t <= 1200, S(t) = 1500 for t >= 1000, so V* = 1500, m_b = 1200, m_s = 1000.
    p* = (1000 + 1200) // 2 = 1100, P = 80000 + 1100*100 = 190000.
    Buyer pays ceil(1500*190000/1000) = 285000 of an escrow ceil(1500*200000/1000) = 300000,
    refund 15000. Seller gross floor(1500*190000/1000) = 285000, fee 0.
    """
    orders = [Order("o1", BUY, 1200, 1500), Order("o2", SELL, 1000, 1500)]

    record, outcomes = settle(orders, EXAMPLE)

    assert record == ClearingRecord(
        cleared=True,
        volume_wh=1500,
        clearing_tick=1100,
        price_per_kwh=190_000,
        buy_marginal=MarginalLevel(tick=1200, allocated_wh=1500, level_wh=1500),
        sell_marginal=MarginalLevel(tick=1000, allocated_wh=1500, level_wh=1500),
    )
    assert outcomes == [
        OrderOutcome("o1", BUY, filled_wh=1500, paid=285_000, gross=0, fee=0, received=0,
                     escrow=300_000, refund=15_000),
        OrderOutcome("o2", SELL, filled_wh=1500, paid=0, gross=285_000, fee=0,
                     received=285_000, escrow=1500, refund=0),
    ]  # fmt: skip


def test_no_clearing_when_books_do_not_cross() -> None:
    """Buy at tick 9, sell at tick 10: D(t) > 0 only for t <= 9, S(t) > 0 only for t >= 10,
    so min(D, S) = 0 everywhere. Everything is refunded: the buyer its whole escrow
    ceil(100*1090/1000) = 109, the seller its 100 Wh."""
    orders = [Order("b", BUY, 9, 100), Order("s", SELL, 10, 100)]

    record, outcomes = settle(orders, SMALL)

    assert not record.cleared
    assert (record.volume_wh, record.clearing_tick, record.price_per_kwh) == (0, 0, 0)
    assert outcomes == [
        OrderOutcome("b", BUY, filled_wh=0, paid=0, gross=0, fee=0, received=0,
                     escrow=109, refund=109),
        OrderOutcome("s", SELL, filled_wh=0, paid=0, gross=0, fee=0, received=0,
                     escrow=100, refund=100),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "orders",
    [
        [],
        [Order("b1", BUY, 50, 10), Order("b2", BUY, 60, 10)],
        [Order("s1", SELL, 0, 10)],
    ],
    ids=["empty", "only-buys", "only-sells"],
)
def test_no_clearing_without_both_sides(orders: list[Order]) -> None:
    assert not clear_slot(orders, SMALL).cleared


def test_clearing_tick_is_midpoint_of_marginal_ticks_rounded_down() -> None:
    """m_b = 11, m_s = 4: p* = 15 // 2 = 7, P = 1000 + 7*10 = 1070."""
    record = clear_slot([Order("b", BUY, 11, 10), Order("s", SELL, 4, 10)], SMALL)

    assert (record.buy_marginal.tick, record.sell_marginal.tick) == (11, 4)
    assert record.clearing_tick == 7
    assert record.price_per_kwh == 1070


def test_clear_rations_long_side_pro_rata() -> None:
    """Sell 300 Wh at tick 5 against three buys at tick 8 totalling Q = 700 Wh.

    V* = 300, the buy marginal tick 8 has R = 300 < Q = 700; the sell side is not rationed.
    """
    record = clear_slot(RATIONED_BUYERS, SMALL)

    assert record.volume_wh == 300
    assert record.buy_marginal == MarginalLevel(tick=8, allocated_wh=300, level_wh=700)
    assert record.buy_marginal.rationed
    assert not record.sell_marginal.rationed


def test_rationed_buyers_share_r_cumulatively_in_claim_order() -> None:
    """Same book as above; p* = (5 + 8) // 2 = 6, P = 1060. Claimed b1, b2, b3 (R/Q = 3/7):

    b1: floor(100*3/7) = 42 Wh, pays ceil(42*1.06) = ceil(44.52) = 45
    b2: floor(300*3/7) - 42 = 128 - 42 = 86 Wh, pays ceil(91.16) = 92
    b3: floor(700*3/7) - 128 = 300 - 128 = 172 Wh, pays ceil(182.32) = 183
    Together exactly R = 300 Wh. Escrows at price(8) = 1080: 108, 216, 432.
    """
    _, outcomes = settle(RATIONED_BUYERS, SMALL)
    got = by_id(outcomes)

    assert [(got[i].filled_wh, got[i].paid, got[i].refund) for i in ("b1", "b2", "b3")] == [
        (42, 45, 108 - 45),
        (86, 92, 216 - 92),
        (172, 183, 432 - 183),
    ]


def test_a_rationed_share_depends_only_on_the_wh_claimed_before_it() -> None:
    """b2 claimed after 500 Wh of its level (b3 and b1): floor(700*3/7) - floor(500*3/7) = 86."""
    record = clear_slot(RATIONED_BUYERS, SMALL)
    b2 = next(o for o in RATIONED_BUYERS if o.id == "b2")
    assert outcome(b2, record, SMALL, claimed_before_wh=500).filled_wh == 300 - 214
    assert outcome(b2, record, SMALL).filled_wh == 85  # claimed first: floor(600/7)


def test_unrationed_side_fills_fully_at_clearing_price() -> None:
    """In the rationed-buyer book the seller gives all 300 Wh: gross floor(300*1060/1000) = 318.
    Buyers receive 42 + 86 + 172 = 300 Wh: no Wh is lost to rounding."""
    _, outcomes = settle(RATIONED_BUYERS, SMALL)
    seller = by_id(outcomes)["s1"]

    assert (seller.filled_wh, seller.gross, seller.refund) == (300, 318, 0)


def test_rationed_sellers_share_r_cumulatively_and_are_paid_for_what_they_give() -> None:
    """Buy 250 Wh at tick 7 against sells at tick 3 of 100 and 300 Wh (Q = 400, R = 250).

    p* = (3 + 7) // 2 = 5, P = 1050. Claimed s1, s2:
    s1: floor(100*250/400) = 62 Wh given and paid for: floor(62*1.05) = floor(65.1) = 65
    s2: floor(400*250/400) - 62 = 188 Wh: floor(197.4) = 197
    The buyer receives all 250 Wh and pays ceil(250*1050/1000) = ceil(262.5) = 263: 1 unit of
    dust, below one per filled order.
    """
    orders = [Order("b", BUY, 7, 250), Order("s1", SELL, 3, 100), Order("s2", SELL, 3, 300)]

    record, outcomes = settle(orders, SMALL)
    got = by_id(outcomes)

    assert record.sell_marginal == MarginalLevel(tick=3, allocated_wh=250, level_wh=400)
    assert (got["s1"].filled_wh, got["s1"].gross, got["s1"].refund) == (62, 65, 38)
    assert (got["s2"].filled_wh, got["s2"].gross, got["s2"].refund) == (188, 197, 112)
    assert (got["b"].filled_wh, got["b"].paid) == (250, 263)


def test_better_orders_fill_fully_and_worse_orders_do_not_fill() -> None:
    """Buys: 100 @ 9, 200 @ 6, 500 @ 2. Sells: 150 @ 1, 1000 @ 8.

    D: 800 for t <= 2, 300 for 3..6, 100 for 7..9.   S: 150 for 1..7, 1150 from 8.
    min(D, S) peaks at 150 (t = 1..6), so V* = 150.
    Buys from the top: 100 at tick 9, then 300 at tick 6 >= 150, so m_b = 6 with R = 50, Q = 200.
    Sells from the bottom: 150 at tick 1, so m_s = 1 with R = Q = 150. p* = 7 // 2 = 3, P = 1030.
    The buy at 9 fills fully (pays ceil(100*1.03) = 103); the buy at 6 gets exactly
    200*50/200 = 50 Wh (pays ceil(51.5) = 52); the buy at 2 and the sell at 8 do not fill.
    """
    orders = [
        Order("b9", BUY, 9, 100),
        Order("b6", BUY, 6, 200),
        Order("b2", BUY, 2, 500),
        Order("s1", SELL, 1, 150),
        Order("s8", SELL, 8, 1000),
    ]

    record, outcomes = settle(orders, SMALL)
    got = by_id(outcomes)

    assert record.volume_wh == 150
    assert record.buy_marginal == MarginalLevel(tick=6, allocated_wh=50, level_wh=200)
    assert record.sell_marginal == MarginalLevel(tick=1, allocated_wh=150, level_wh=150)
    assert record.price_per_kwh == 1030
    assert {i: (o.filled_wh, o.paid, o.gross) for i, o in got.items()} == {
        "b9": (100, 103, 0),
        "b6": (50, 52, 0),
        "b2": (0, 0, 0),
        "s1": (150, 0, 154),
        "s8": (0, 0, 0),
    }
    assert got["b2"].refund == got["b2"].escrow == 510  # ceil(500*1020/1000)
    assert got["s8"].refund == 1000


def test_buyer_payment_rounds_up_and_seller_gross_rounds_down() -> None:
    """1 Wh at P = 1999 per kWh is worth 1.999: the buyer pays 2, the seller's gross is 1."""
    params = MarketParams(price_floor=1999, tick_size=1, max_tick=0, fee_bps=0)

    _, (buy, sell) = settle([Order("b", BUY, 0, 1), Order("s", SELL, 0, 1)], params)

    assert (buy.paid, buy.escrow, buy.refund) == (2, 2, 0)
    assert sell.gross == 1


def test_fee_is_rounded_up_and_taken_from_seller_gross() -> None:
    """The CLI example with fee_bps = 25: fee = ceil(285000*25/10000) = ceil(712.5) = 713,
    the seller receives 285000 - 713 = 284287; the buyer still pays 285000."""
    params = MarketParams(price_floor=80_000, tick_size=100, max_tick=4000, fee_bps=25)

    _, (buy, sell) = settle([Order("o1", BUY, 1200, 1500), Order("o2", SELL, 1000, 1500)], params)

    assert (sell.gross, sell.fee, sell.received) == (285_000, 713, 284_287)
    assert buy.paid == 285_000


def test_orders_at_one_tick_form_one_level_regardless_of_input_order() -> None:
    orders = [
        Order("s2", SELL, 3, 300),
        Order("b", BUY, 7, 250),
        Order("s1", SELL, 3, 100),
    ]

    assert clear_slot(orders, SMALL) == clear_slot(orders[::-1], SMALL)
    assert clear_slot(orders, SMALL).sell_marginal.level_wh == 400


def test_settle_returns_outcomes_in_input_order() -> None:
    orders = [Order("z", SELL, 1, 5), Order("a", BUY, 2, 5), Order("m", BUY, 0, 5)]

    _, outcomes = settle(orders, SMALL)

    assert [o.order_id for o in outcomes] == ["z", "a", "m"]


def test_outcome_of_one_order_needs_only_its_record() -> None:
    """A pull-based claim: settling one order later, from the stored record, gives the same."""
    orders = [Order("b1", BUY, 8, 100), Order("b2", BUY, 8, 200), Order("s1", SELL, 5, 300)]
    record, outcomes = settle(orders, SMALL)

    assert outcome(orders[1], record, SMALL) == outcomes[1]


def test_clears_a_market_with_the_largest_tick_range() -> None:
    """Work is per non-empty tick, so max_tick = 65535 costs nothing extra.
    p* = (0 + 65535) // 2 = 32767, P = 0 + 32767*1."""
    params = MarketParams(price_floor=0, tick_size=1, max_tick=65_535, fee_bps=0)

    record = clear_slot([Order("b", BUY, 65_535, 7), Order("s", SELL, 0, 7)], params)

    assert (record.clearing_tick, record.price_per_kwh, record.volume_wh) == (32_767, 32_767, 7)


def test_price_is_floor_plus_tick_times_tick_size() -> None:
    assert [EXAMPLE.price(t) for t in (0, 1, 4000)] == [80_000, 80_100, 480_000]


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("price_floor", -1),
        ("tick_size", 0),
        ("max_tick", -1),
        ("max_tick", 65_536),
        ("fee_bps", -1),
        ("fee_bps", 10_001),
        ("tick_size", 1.5),
        ("fee_bps", True),
    ],
)
def test_market_params_out_of_range_are_rejected(field: str, value: object) -> None:
    fields: dict[str, object] = {"price_floor": 1, "tick_size": 1, "max_tick": 1, "fee_bps": 0}
    fields[field] = value

    with pytest.raises(MarketParamsError, match=field):
        MarketParams(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field, value",
    [("tick", -1), ("qty_wh", 0), ("qty_wh", -5), ("qty_wh", 1.5), ("tick", True), ("id", "")],
)
def test_invalid_order_fields_are_rejected(field: str, value: object) -> None:
    fields: dict[str, object] = {"id": "o1", "side": BUY, "tick": 1, "qty_wh": 1}
    fields[field] = value

    with pytest.raises(OrderError, match=field):
        Order(**fields)  # type: ignore[arg-type]


def test_order_side_must_be_a_side() -> None:
    with pytest.raises(OrderError, match="side"):
        Order("o1", "buy", 1, 1)  # type: ignore[arg-type]


def test_order_above_max_tick_is_rejected_by_clearing_and_by_outcome() -> None:
    order = Order("o1", BUY, 101, 10)

    with pytest.raises(OrderError, match="tick 101 exceeds max_tick 100"):
        clear_slot([order], SMALL)
    with pytest.raises(OrderError, match="max_tick"):
        outcome(order, clear_slot([], SMALL), SMALL)


def test_price_rejects_tick_above_max_tick() -> None:
    with pytest.raises(OrderError, match="tick"):
        SMALL.price(101)


def test_duplicate_order_ids_are_rejected() -> None:
    orders = [Order("o1", BUY, 5, 10), Order("o1", SELL, 5, 10)]

    with pytest.raises(OrderError, match="duplicate order id 'o1'"):
        settle(orders, SMALL)


def test_record_with_contradicting_facts_is_rejected() -> None:
    rationed = MarginalLevel(tick=5, allocated_wh=10, level_wh=20)

    with pytest.raises(ClearingRecordError, match="at most one side"):
        ClearingRecord(True, 10, 5, 1050, buy_marginal=rationed, sell_marginal=rationed)
    with pytest.raises(ClearingRecordError, match="midpoint"):
        ClearingRecord(True, 10, 4, 1040, buy_marginal=rationed, sell_marginal=rationed)
    with pytest.raises(ClearingRecordError, match="all fields 0"):
        ClearingRecord(False, 10, 5, 1050, buy_marginal=rationed, sell_marginal=rationed)
    with pytest.raises(ClearingRecordError, match="allocated_wh"):
        MarginalLevel(tick=5, allocated_wh=21, level_wh=20)


def test_outcome_rejects_record_from_another_market() -> None:
    record = clear_slot([Order("b", BUY, 8, 10), Order("s", SELL, 4, 10)], SMALL)
    dearer = MarketParams(price_floor=2000, tick_size=10, max_tick=100, fee_bps=0)

    with pytest.raises(ClearingRecordError, match="price_per_kwh"):
        outcome(Order("b", BUY, 8, 10), record, dearer)


@pytest.mark.parametrize("error", [MarketParamsError, OrderError, ClearingRecordError])
def test_errors_are_market_errors_and_value_errors(error: type[MarketError]) -> None:
    assert issubclass(error, MarketError)
    assert issubclass(error, ValueError)
