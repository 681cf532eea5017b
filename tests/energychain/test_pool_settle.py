"""The CityPool façade's settlement on a real anvil: a city of two ``PooledEnergyMarket``s (1 and
2 network levels below the pool, a grid fee of 2 ticks per level, ``deploy_city(pooled=True)``).
After the markets and the pool cleared a slot, ``CityPool.settle`` with the fills of the decoded
``PoolCleared`` moves energy and money; the markets' stored pool fills (``PooledMarket.pool_fill``),
their previews and claims equal the Python reference ``market.pool.settle_city``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from chain.errors import ContractRevertError
from devchain.city import BookLevel, City, deploy_city
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from energychain.errors import PoolInputError
from energychain.pool import PooledMarket, SlotPoolClearing
from market.clearing import Order, Side
from market.pool import CityCommunity, CitySettlement, settle_city

SETTINGS = MarketSettings(max_tick=40, min_order_wh=1, settlement_seconds=3_600)
LEVELS = (1, 2)
FEE_PER_LEVEL = 2
OPEN = 10**9
#: A buys 400 Wh at 30 and 120 at 25; B sells 300 at 10 and 200 at 12, buys 50 at 5: nothing
#: trades locally, the pool's limit on A's import (350) rations A's buy at 30 and B's sell at 12.
TRADE: list[list[BookLevel]] = [
    [(True, 30, 400), (True, 25, 120)],
    [(False, 10, 300), (False, 12, 200), (True, 5, 50)],
]
LIMITS = [(350, OPEN), (OPEN, OPEN)]


@pytest.fixture(scope="module")
def city(compiled: None) -> Iterator[City]:
    with Sandbox.on_anvil(SETTINGS) as sandbox:
        city = deploy_city(sandbox, len(LEVELS), levels=LEVELS, pooled=True)
        city.operator.transact(city.pool.set_grid_fee(FEE_PER_LEVEL, city.operator.address))
        yield city


def pooled(city: City, community_id: int) -> PooledMarket:
    return PooledMarket.at(city.sandbox.w3, city.markets[community_id])


def cleared(
    city: City, books: Sequence[Sequence[BookLevel]], limits: Sequence[tuple[int, int]]
) -> tuple[int, list[list[tuple[BookLevel, int]]], SlotPoolClearing]:
    """A fresh slot with ``books`` placed, cleared by the markets and the pool: (the slot, each
    community's ``(level, order id)`` in placement order, the decoded ``PoolCleared``)."""
    slot = city.sandbox.current_slot() + 1
    placed = city.place_books(slot, books)
    city.operator.transact(city.pool.publish_limits(slot, limits))
    city.clear_markets(slot)
    receipt = city.sandbox.admin.transact(city.pool.clear(slot, city.pool.residuals(slot)))
    return slot, placed, city.pool.cleared_events(receipt)[0]


def reference(
    city: City, placed: list[list[tuple[BookLevel, int]]], limits: Sequence[tuple[int, int]]
) -> CitySettlement:
    communities = [
        CityCommunity(
            f"c{i}",
            n,
            imp,
            exp,
            [
                Order(str(oid), Side.BUY if is_buy else Side.SELL, tick, qty)
                for (is_buy, tick, qty), oid in orders
            ],
        )
        for i, (orders, n, (imp, exp)) in enumerate(zip(placed, LEVELS, limits, strict=True))
    ]
    return settle_city(communities, city.sandbox.params.rule(), FEE_PER_LEVEL)


def test_settle_pays_the_fee_recipient_the_reference_grid_fees(city: City) -> None:
    slot, placed, event = cleared(city, TRADE, LIMITS)
    receipt = city.sandbox.admin.transact(city.pool.settle(slot, event))
    want = reference(city, placed, LIMITS).pool
    assert want.volume_wh == event.volume_wh == 350
    assert [(s.slot, s.fees_paid) for s in city.pool.settled_events(receipt)] == [
        (slot, want.grid_fees)
    ]
    assert city.pool.is_settled(slot)


def test_markets_store_the_pool_fill_of_the_event(city: City) -> None:
    slot, _, event = cleared(city, TRADE, LIMITS)
    city.sandbox.admin.transact(city.pool.settle(slot, event))
    record = city.pool.pool_clearing(slot)
    for i, fill in enumerate(event.fills):
        stored = pooled(city, i).pool_fill(slot)
        fee = LEVELS[i] * FEE_PER_LEVEL
        assert stored.settled
        assert (stored.buy.marginal_tick, stored.buy.filled_wh) == (
            fill.buy_marginal.tick,
            fill.buy_marginal.allocated_wh,
        )
        assert stored.buy.price_tick == (record.clearing_tick + fee if fill.import_wh else 0)
        assert stored.sell.price_tick == (record.clearing_tick - fee if fill.export_wh else 0)


def test_previews_and_claims_after_settlement_equal_the_reference(city: City) -> None:
    slot, placed, event = cleared(city, TRADE, LIMITS)
    city.sandbox.admin.transact(city.pool.settle(slot, event))
    want = reference(city, placed, LIMITS)
    for i, orders in enumerate(placed):
        market = pooled(city, i)
        for (_, oid), outcome in zip(orders, want.outcomes[f"c{i}"], strict=True):
            preview = market.preview_claim(oid)
            amount = outcome.paid if outcome.side is Side.BUY else outcome.received
            assert (preview.filled_wh, preview.amount, preview.fee, preview.refund) == (
                outcome.filled_wh,
                amount,
                outcome.fee,
                outcome.refund,
            )
            city.sandbox.admin.transact(market.claim(oid))
            assert market.order(oid) is None


def test_preview_of_a_residual_order_before_settlement_names_the_slot(city: City) -> None:
    slot, placed, _ = cleared(city, TRADE, LIMITS)
    market = pooled(city, 0)
    with pytest.raises(ContractRevertError, match=f"PoolNotSettled.*{slot}"):
        market.preview_claim(placed[0][0][1])


def test_markets_of_a_pooled_city_know_their_pool(city: City) -> None:
    assert [pooled(city, i).pool_address() for i in range(len(LEVELS))] == [
        city.pool.address
    ] * len(LEVELS)
    assert [city.pool.is_pooled(i) for i in range(len(LEVELS))] == [True, True]


def test_settle_with_fills_of_another_slot_is_refused_before_sending(city: City) -> None:
    slot, _, event = cleared(city, TRADE, LIMITS)
    with pytest.raises(PoolInputError, match=f"fills of slot {slot} given to settle slot"):
        city.pool.settle(slot + 1, event)
