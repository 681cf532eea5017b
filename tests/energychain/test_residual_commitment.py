"""A market commits, when it clears a slot, to what the slot left unmatched (docs/pool.md).

The commitment read from the chain equals ``energychain.pool.residual_commitment`` of the
Python reference's residual (``market.pool.residual_of``) for books that trade with a rationed
level, books that do not trade and an empty book.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from energychain.errors import PoolInputError, ResidualMismatchError
from energychain.market import OrderSpec
from energychain.pool import read_residual, residual_commitment
from market.clearing import Order, Side, clear_slot
from market.pool import Residual, residual_of

SETTINGS = MarketSettings(max_tick=40, min_order_wh=1, settlement_seconds=3_600)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(SETTINGS) as box:
        yield box


def cleared_commitment(sandbox: Sandbox, orders: list[OrderSpec]) -> tuple[bytes, Residual]:
    """Places ``orders`` in a fresh slot and clears it: (the commitment, the reference residual)."""
    slot = sandbox.current_slot() + 1
    seller, buyer = sandbox.new_participant(), sandbox.new_participant()
    sell_wh = sum(qty for _, is_buy, _, qty in orders if not is_buy)
    if sell_wh:
        sandbox.mint_energy([(seller, sell_wh)], slot)
        sandbox.deposit_energy(seller, slot, sell_wh)
    buy_cost = sum(qty * sandbox.params.price(tick) for _, is_buy, tick, qty in orders if is_buy)
    if buy_cost:
        sandbox.fund_payment(buyer, buy_cost // 1000 + len(orders))
    buys = [(slot, True, tick, qty) for _, is_buy, tick, qty in orders if is_buy]
    sells = [(slot, False, tick, qty) for _, is_buy, tick, qty in orders if not is_buy]
    if buys:
        sandbox.place_orders(buyer, buys)
    if sells:
        sandbox.place_orders(seller, sells)
    sandbox.advance_to(sandbox.gate_closure(slot))
    sandbox.clear(slot)
    reference = [
        Order(f"o{i}", Side.BUY if is_buy else Side.SELL, tick, qty)
        for i, (_, is_buy, tick, qty) in enumerate(orders)
    ]
    params = sandbox.params.rule()
    residual = residual_of(reference, clear_slot(reference, params), params)
    return sandbox.contracts.market.residual_commitment(slot), residual


def test_commitment_of_a_book_with_a_rationed_level_equals_the_reference(sandbox: Sandbox) -> None:
    orders: list[OrderSpec] = [
        (0, True, 30, 500), (0, True, 20, 300), (0, True, 20, 200), (0, True, 5, 100),
        (0, False, 10, 600), (0, False, 25, 50), (0, False, 35, 70),
    ]  # fmt: skip
    on_chain, residual = cleared_commitment(sandbox, orders)
    assert residual.buys  # the rationed level at tick 20 and the bid below it are left
    assert on_chain == residual_commitment(residual)


def test_commitment_of_a_book_that_does_not_trade_is_the_whole_book(sandbox: Sandbox) -> None:
    on_chain, residual = cleared_commitment(sandbox, [(0, True, 5, 100), (0, False, 9, 80)])
    assert residual == Residual(buys={5: 100}, sells={9: 80})
    assert on_chain == residual_commitment(residual)


def test_commitment_of_an_empty_slot_is_that_of_nothing_left(sandbox: Sandbox) -> None:
    on_chain, residual = cleared_commitment(sandbox, [])
    assert residual == Residual()
    assert on_chain == residual_commitment(Residual())


def test_commitment_of_a_random_book_equals_the_reference(sandbox: Sandbox) -> None:
    rng = random.Random(7)
    orders: list[OrderSpec] = [
        (0, rng.random() < 0.5, rng.randint(0, 40), rng.choice([1, 7, 50, 1_000]))
        for _ in range(30)
    ]
    on_chain, residual = cleared_commitment(sandbox, orders)
    assert on_chain == residual_commitment(residual)


def test_commitment_is_zero_before_the_slot_clears(sandbox: Sandbox) -> None:
    assert sandbox.contracts.market.residual_commitment(sandbox.current_slot() + 5) == bytes(32)


def test_residual_read_from_the_book_equals_the_reference(sandbox: Sandbox) -> None:
    """``read_residual`` walks the cleared book's levels on chain and checks their hash."""
    slot = sandbox.current_slot() + 1
    orders: list[OrderSpec] = [
        (0, True, 30, 500), (0, True, 20, 300), (0, True, 20, 200), (0, True, 5, 100),
        (0, False, 10, 600), (0, False, 25, 50), (0, False, 35, 70),
    ]  # fmt: skip
    _, residual = cleared_commitment(sandbox, orders)
    assert read_residual(sandbox.contracts.market, slot, sandbox.params.rule()) == residual


def test_residual_of_a_slot_not_cleared_is_refused(sandbox: Sandbox) -> None:
    slot = sandbox.current_slot() + 5
    with pytest.raises(PoolInputError, match=f"slot {slot} is not cleared yet"):
        read_residual(sandbox.contracts.market, slot, sandbox.params.rule())


def test_residual_that_does_not_hash_to_the_commitment_is_refused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    slot = sandbox.current_slot() + 1
    cleared_commitment(sandbox, [(0, True, 5, 100), (0, False, 9, 80)])
    market = sandbox.contracts.market
    monkeypatch.setattr(market, "residual_commitment", lambda _slot: bytes(32))
    with pytest.raises(ResidualMismatchError, match="the market committed to 0x0000"):
        read_residual(market, slot, sandbox.params.rule())
