"""Invariants of the clearing rule on random order books, checked with hypothesis.

The oracles below are deliberately slow and literal: they walk every tick of the market and
evaluate D(t) and S(t) from the orders, independently of the per-level sweep in the code.

What holds, with V* the volume, P the price and k_b / k_s the number of orders at a rationed
buy / sell marginal tick (rounding k pro-rata shares that sum to R loses at most k - 1 Wh):

    V* - max(k_b - 1, 0) <= sum of Wh received by buyers <= V*
    V* <= sum of Wh given by sellers <= V* + max(k_s - 1, 0)
    sum paid by buyers >= ceil(V*·P/1000) >= floor(V*·P/1000) >= sum of sellers' gross
    sum of sellers' gross == sum received by sellers + sum of fees
"""

import random
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from market.clearing import (
    MarketParams,
    Order,
    OrderOutcome,
    Side,
    clear_slot,
    is_rationed,
    outcome,
    settle,
)
from tests.market.strategies import draw_orders, draw_params


@dataclass(frozen=True)
class Book:
    params: MarketParams
    orders: list[Order]


@st.composite
def books(draw: st.DrawFn) -> Book:
    """Small tick ranges (so orders often share a tick and get rationed), any quantities."""
    params = draw_params(draw, price_floor_max=10**6, tick_size_max=10**4, max_tick_max=30)
    return Book(params, draw_orders(draw, params, qty_max=10**9, max_size=25))


def demand(orders: list[Order], tick: int) -> int:
    """D(t): qty of buys willing to pay price(t), i.e. with tick >= t."""
    return sum(o.qty_wh for o in orders if o.side is Side.BUY and o.tick >= tick)


def supply(orders: list[Order], tick: int) -> int:
    """S(t): qty of sells willing to accept price(t), i.e. with tick <= t."""
    return sum(o.qty_wh for o in orders if o.side is Side.SELL and o.tick <= tick)


def brute_force_volume(book: Book) -> int:
    ticks = range(book.params.max_tick + 1)
    return max(min(demand(book.orders, t), supply(book.orders, t)) for t in ticks)


def sides(
    orders: list[Order], outcomes: list[OrderOutcome]
) -> tuple[list[tuple[Order, OrderOutcome]], list[tuple[Order, OrderOutcome]]]:
    pairs = list(zip(orders, outcomes, strict=True))
    return (
        [(o, r) for o, r in pairs if o.side is Side.BUY],
        [(o, r) for o, r in pairs if o.side is Side.SELL],
    )


@given(books())
def test_volume_is_max_over_all_ticks_of_min_demand_and_supply(book: Book) -> None:
    record = clear_slot(book.orders, book.params)

    assert record.volume_wh == brute_force_volume(book)
    assert record.cleared == (record.volume_wh > 0)


@given(books())
def test_marginal_ticks_are_where_cumulative_qty_first_reaches_volume(book: Book) -> None:
    """m_b is the highest tick with D(t) >= V*, m_s the lowest with S(t) >= V*; R is V* minus
    the qty at strictly better ticks and Q the qty at the tick."""
    record = clear_slot(book.orders, book.params)
    volume, ticks = record.volume_wh, range(book.params.max_tick + 1)
    if not record.cleared:
        return
    m_b = max(t for t in ticks if demand(book.orders, t) >= volume)
    m_s = min(t for t in ticks if supply(book.orders, t) >= volume)
    better_b = demand(book.orders, m_b + 1)
    better_s = supply(book.orders, m_s - 1)

    assert (record.buy_marginal.tick, record.sell_marginal.tick) == (m_b, m_s)
    assert record.buy_marginal.allocated_wh == volume - better_b
    assert record.buy_marginal.level_wh == demand(book.orders, m_b) - better_b
    assert record.sell_marginal.allocated_wh == volume - better_s
    assert record.sell_marginal.level_wh == supply(book.orders, m_s) - better_s


@given(books())
def test_clearing_tick_lies_between_marginal_ticks(book: Book) -> None:
    record = clear_slot(book.orders, book.params)
    if not record.cleared:
        return

    assert record.sell_marginal.tick <= record.clearing_tick <= record.buy_marginal.tick
    assert record.price_per_kwh == book.params.price(record.clearing_tick)


@given(books())
def test_at_most_one_side_is_rationed(book: Book) -> None:
    record = clear_slot(book.orders, book.params)

    assert not (record.buy_marginal.rationed and record.sell_marginal.rationed)


@given(books())
def test_no_order_fills_beyond_its_qty(book: Book) -> None:
    _, outcomes = settle(book.orders, book.params)

    for order, result in zip(book.orders, outcomes, strict=True):
        assert 0 <= result.filled_wh <= order.qty_wh


@given(books())
def test_filled_orders_trade_at_or_better_than_their_limit(book: Book) -> None:
    record, outcomes = settle(book.orders, book.params)
    buys, sells = sides(book.orders, outcomes)

    for order, result in buys:
        if result.paid:
            assert record.price_per_kwh <= book.params.price(order.tick)
    for order, result in sells:
        if result.filled_wh:
            assert record.price_per_kwh >= book.params.price(order.tick)


@given(books())
def test_energy_received_equals_energy_given(book: Book) -> None:
    """The rationed level's cumulative shares add up to R: buyers receive exactly V*, sellers give
    exactly V*, and no Wh is left owned by nobody (audit L-1)."""
    record, outcomes = settle(book.orders, book.params)
    buys, sells = sides(book.orders, outcomes)
    received = sum(r.filled_wh for _, r in buys)
    given_wh = sum(r.filled_wh for _, r in sells)

    assert received == record.volume_wh == given_wh


@given(books())
def test_buyers_pay_at_least_what_sellers_are_owed(book: Book) -> None:
    record, outcomes = settle(book.orders, book.params)
    buys, sells = sides(book.orders, outcomes)
    paid = sum(r.paid for _, r in buys)
    gross = sum(r.gross for _, r in sells)
    value = record.volume_wh * record.price_per_kwh

    assert paid >= -(-value // 1000) >= value // 1000 >= gross
    assert gross == sum(r.received for _, r in sells) + sum(r.fee for _, r in sells)
    filled_orders = sum(1 for r in outcomes if r.filled_wh)
    assert paid - gross < max(filled_orders, 1)  # under one base unit of dust per filled order


@given(books())
def test_fee_is_rounded_up_share_of_gross_and_never_exceeds_it(book: Book) -> None:
    _, outcomes = settle(book.orders, book.params)

    for result in outcomes:
        assert result.fee == -(-result.gross * book.params.fee_bps // 10_000)
        assert 0 <= result.fee <= result.gross
        assert result.received == result.gross - result.fee >= 0


@given(books())
def test_refunds_are_never_negative_and_return_the_unused_escrow(book: Book) -> None:
    _, outcomes = settle(book.orders, book.params)
    buys, sells = sides(book.orders, outcomes)

    for order, result in buys:
        assert result.escrow == -(-order.qty_wh * book.params.price(order.tick) // 1000)
        assert result.refund == result.escrow - result.paid >= 0
    for order, result in sells:
        assert result.escrow == order.qty_wh
        assert result.refund == order.qty_wh - result.filled_wh >= 0


@given(books())
def test_everything_is_refunded_when_nothing_clears(book: Book) -> None:
    record, outcomes = settle(book.orders, book.params)
    if record.cleared:
        return

    for result in outcomes:
        assert (result.filled_wh, result.paid, result.gross) == (0, 0, 0)
        assert result.refund == result.escrow


@given(books(), st.randoms(use_true_random=False))
def test_outcome_depends_only_on_order_record_and_wh_claimed_before(
    book: Book, rng: random.Random
) -> None:
    """Shuffling the book changes neither the record nor what each side fills in total, and each
    order settles from the record and the Wh of its rationed level claimed before it, as in the
    contract's pull-based claim; an order's share is the floor or the ceil of q*R/Q."""
    record, outcomes = settle(book.orders, book.params)
    shuffled = rng.sample(book.orders, len(book.orders))

    assert clear_slot(shuffled, book.params) == record
    _, reordered = settle(shuffled, book.params)
    for side in (Side.BUY, Side.SELL):
        total = sum(r.filled_wh for r in outcomes if r.side is side)
        assert sum(r.filled_wh for r in reordered if r.side is side) == total
    claimed = 0
    for order, result in zip(book.orders, outcomes, strict=True):
        assert outcome(order, record, book.params, claimed) == result
        if is_rationed(order, record):
            marginal = record.buy_marginal if order.side is Side.BUY else record.sell_marginal
            share = order.qty_wh * marginal.allocated_wh
            assert share // marginal.level_wh <= result.filled_wh <= -(-share // marginal.level_wh)
            claimed += order.qty_wh
