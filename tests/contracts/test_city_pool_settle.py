"""CityPool.settle and the pooled markets' claims: the pool's fills flow back (issue 17).

A city of three ``PooledEnergyMarket``s on one registry, each pointing at the pool. After every
market and the pool cleared a slot, anyone settles it: energy and money move between the pool and
the markets, and every order's claim adds its pool fill to its local one. The claims are compared,
to the unit, with the Python reference ``market.pool.settle_city`` (pure Python, imported from the
repository root). One behaviour per test.

Books of the fixed slot (fee 5 ticks per level, as in test_city_pool_clearing.py):

* A (community 0, 1 level): buys 500 Wh at 600 and 300 at 590, sells 200 at 700 (no local trade);
* B (community 1, 2 levels): sells 400 at 500 and 300 at 520, buys 100 at 400 (no local trade);
* C (community 2, 1 level): buys 250 at 560, sells 100 at 540: 100 Wh trade locally.
"""

import random

import brownie
import pytest
from conftest import (
    BOOKS,
    FEE_PER_LEVEL,
    LEVELS,
    OPEN,
    RULE,
    Env,
    addr,
    cost,
    deploy_pool,
    deploy_pooled,
    found_city,
    orders_of,
    price_of,
    residual_sides,
)

from energychain.pool import paired_levels
from market.clearing import Side
from market.pool import CityCommunity, settle_city

SETTLE_WINDOW = 2 * 86_400


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fee_recipient(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def envs(pool, registry, token, euro, admin, relayer, treasury, operator, fee_recipient):
    """Three pooled communities added in order with LEVELS; the grid fee goes to fee_recipient."""
    markets = [deploy_pooled(admin, euro, registry, treasury, pool) for _ in LEVELS]
    found_city(pool, markets, LEVELS, admin, operator, fee_recipient)
    return [Env(registry, token, m, euro, admin, relayer, treasury) for m in markets]


# ---- helpers --------------------------------------------------------------------------------


def place(envs, slot, buyer, seller, books):
    """Places every community's book (buys by ``buyer``, sells by ``seller``, each funded with
    exactly what it locks); returns the order ids, per community, in book order."""
    ids = []
    for e, book in zip(envs, books, strict=True):
        escrow = sum(cost(q, price_of(t)) for b, t, q in book if b)
        sells = sum(q for b, _, q in book if not b)
        if escrow:
            e.deposit(buyer, escrow)
        if sells:
            e.deposit_energy(seller, slot, sells)
        ids.append([e.place(buyer if b else seller, slot, b, t, q) for b, t, q in book])
    return ids


def sides(book):
    """The residual sides of ``book`` as ``CityPool.clear`` takes them: two levels a word."""
    return tuple(paired_levels(side) for side in residual_sides(book))


def clear_city(envs, pool, slot, operator, books, limits, paused=()):
    """Publishes ``limits``, clears every market and the pool; returns the pool's fills."""
    pool.publishLimits(slot, [i for i, _ in limits], [x for _, x in limits], {"from": operator})
    envs[0].close_gate(slot)
    for e in envs:
        e.clear(slot)
    for i in paused:
        pool.pauseCommunity(i, {"from": envs[0].admin})
    entries = [([], []) if i in paused else sides(b) for i, b in enumerate(books)]
    tx = pool.clear(slot, entries, {"from": envs[0].relayer})
    return [tuple(f) for f in tx.events["PoolCleared"]["fills"]]


def reference(books, limits, levels=LEVELS, fee=FEE_PER_LEVEL):
    communities = [
        CityCommunity(f"c{i}", n, imp, exp, orders_of(book))
        for i, (book, n, (imp, exp)) in enumerate(zip(books, levels, limits, strict=True))
    ]
    return settle_city(communities, RULE, fee)


def claimed(tx):
    e = tx.events["OrderClaimed"]
    return (e["filledWh"], e["amount"], e["fee"], e["refund"])


def expected(outcome):
    if outcome.side is Side.BUY:
        return (outcome.filled_wh, outcome.paid, 0, outcome.refund)
    return (outcome.filled_wh, outcome.received, outcome.fee, outcome.refund)


def random_city(seed):
    """Three books of 2..7 orders, each community mostly buying, mostly selling or both, on a
    narrow tick range (levels shared and rationed, locally and in the pool); limits open, small,
    zero or binding."""
    rng = random.Random(seed)
    books = []
    for _ in LEVELS:
        buy_share = rng.choice([0.15, 0.5, 0.85])
        base = rng.randint(490, 530)
        books.append(
            [
                (rng.random() < buy_share, base + rng.randint(-6, 6), rng.randint(10, 400))
                for _ in range(rng.randint(2, 7))
            ]
        )
    limits = [
        (rng.choice([OPEN, OPEN, 0, 150, 37]), rng.choice([OPEN, OPEN, 0, 150, 41])) for _ in LEVELS
    ]
    return books, limits


@pytest.fixture
def slot(envs):
    return envs[0].trading_slot()


@pytest.fixture
def settled_city(envs, pool, slot, alice, bob, operator, stranger):
    """The fixed books placed, cleared by every market and the pool under open limits, settled."""
    ids = place(envs, slot, alice, bob, BOOKS)
    fills = clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    tx = pool.settle(slot, fills, {"from": stranger})
    return ids, fills, tx


def balances(envs, pool, slot, fee_recipient):
    return {
        "markets_euro": [e.euro.balanceOf(e.market) for e in envs],
        "markets_wh": [e.token.balanceOf(e.market, slot) for e in envs],
        "pool_euro": envs[0].euro.balanceOf(pool),
        "pool_wh": envs[0].token.balanceOf(pool, slot),
        "recipient": envs[0].euro.balanceOf(fee_recipient),
    }


# ---- settle: what moves -----------------------------------------------------------------------


def test_settle_moves_each_communitys_import_export_and_money(
    envs, pool, slot, alice, bob, operator, stranger, fee_recipient
):
    place(envs, slot, alice, bob, BOOKS)
    fills = clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    before = balances(envs, pool, slot, fee_recipient)
    pool.settle(slot, fills, {"from": stranger})
    after = balances(envs, pool, slot, fee_recipient)
    want = reference(BOOKS, [(OPEN, OPEN)] * 3).pool
    assert want.volume_wh > 0
    for i, f in enumerate(want.communities):
        assert after["markets_wh"][i] - before["markets_wh"][i] == f.import_wh - f.export_wh
        assert after["markets_euro"][i] - before["markets_euro"][i] == f.paid - f.pays
    assert (after["pool_euro"], after["pool_wh"]) == (0, 0)
    assert after["recipient"] - before["recipient"] == want.grid_fees > 0


def test_settle_emits_pool_settled_with_the_fees_paid(settled_city, slot):
    _, _, tx = settled_city
    want = reference(BOOKS, [(OPEN, OPEN)] * 3).pool
    assert tx.events["PoolSettled"][0]["slot"] == slot
    assert tx.events["PoolSettled"][0]["feesPaid"] == want.grid_fees


def test_settle_stores_each_markets_pool_fill(envs, settled_city, slot, pool):
    _, fills, _ = settled_city
    record = pool.poolClearing(slot)
    for i, (e, f) in enumerate(zip(envs, fills, strict=True)):
        buy, sell = e.market.poolFill(slot)
        fee = LEVELS[i] * FEE_PER_LEVEL
        assert buy[4] is True  # settled
        assert (buy[0], buy[1], buy[2]) == (
            f[2],
            record[2] + fee if f[0] else 0,
            f[3],
        )
        if f[1]:
            assert (sell[0], sell[1], sell[2]) == (f[5], record[2] - fee, f[6])
    assert pool.isSettled(slot)


# ---- settle: refusals -------------------------------------------------------------------------


def test_settle_twice_is_refused(settled_city, pool, slot, stranger):
    _, fills, _ = settled_city
    with brownie.reverts(typed_error("PoolAlreadySettled(uint64)", slot)):
        pool.settle(slot, fills, {"from": stranger})


def test_settle_with_other_fills_is_refused(envs, pool, slot, alice, bob, operator, stranger):
    place(envs, slot, alice, bob, BOOKS)
    fills = clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    forged = [list(f) for f in fills]
    forged[0][0] += 1
    with brownie.reverts(typed_error("PoolFillsMismatch(uint64)", slot)):
        pool.settle(slot, [tuple(f) for f in forged], {"from": stranger})


def test_settle_of_a_slot_the_pool_did_not_clear_is_refused(envs, pool, slot, stranger):
    with brownie.reverts(typed_error("PoolNotCleared(uint64)", slot)):
        pool.settle(slot, [], {"from": stranger})


def test_settle_after_the_window_is_refused(envs, pool, slot, alice, bob, operator, stranger):
    place(envs, slot, alice, bob, BOOKS)
    fills = clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    end = envs[0].gate_closure(slot) + SETTLE_WINDOW
    envs[0].warp(end)
    with brownie.reverts(typed_error("PoolSettleWindowClosed(uint64,uint256)", slot, end)):
        pool.settle(slot, fills, {"from": stranger})


def test_pool_settle_is_only_for_the_pool(envs, slot, stranger):
    zero = (0, 0, 0, 0, 0, 0, 0, 0)
    with brownie.reverts(typed_error("MarketNotPool(address)", stranger)):
        envs[0].market.poolSettle(slot, zero, 0, 0, {"from": stranger})


def test_pool_refuses_energy_tokens_outside_settlement(envs, pool, slot, alice):
    envs[0].mint_energy(alice, slot, 100)
    with brownie.reverts(typed_error("PoolUnexpectedTokens(address)", envs[0].token)):
        envs[0].token.safeTransferFrom(alice, pool, slot, 100, b"", {"from": alice})


def test_add_community_refuses_a_market_of_another_pool(
    pool, admin, euro, registry, treasury, stranger
):
    other = deploy_pooled(admin, euro, registry, treasury, stranger)
    with brownie.reverts(typed_error("CommunityPoolMismatch(address,address)", other, stranger)):
        pool.addCommunity(other, 1, {"from": admin})


def test_pooled_markets_are_marked_pooled(envs, pool):
    assert [pool.isPooled(i) for i in range(len(envs))] == [True, True, True]


# ---- claims -----------------------------------------------------------------------------------


def test_residual_order_claim_before_settlement_is_refused_with_slot_and_time(
    envs, pool, slot, alice, bob, operator
):
    ids = place(envs, slot, alice, bob, BOOKS)
    clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    at = envs[0].gate_closure(slot) + SETTLE_WINDOW
    with brownie.reverts(typed_error("PoolNotSettled(uint64,uint256)", slot, at)):
        envs[0].market.claim(ids[0][0], {"from": alice})


def test_locally_filled_order_claims_before_settlement(envs, pool, slot, alice, bob, operator):
    ids = place(envs, slot, alice, bob, BOOKS)
    clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    # C's sell of 100 Wh at 540 filled locally in full.
    tx = envs[2].market.claim(ids[2][1], {"from": bob})
    assert tx.events["OrderClaimed"]["filledWh"] == 100


def test_after_the_window_residual_orders_claim_local_only(envs, pool, slot, alice, bob, operator):
    ids = place(envs, slot, alice, bob, BOOKS)
    clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    envs[0].warp(envs[0].gate_closure(slot) + SETTLE_WINDOW)
    tx = envs[0].market.claim(ids[0][0], {"from": alice})
    assert claimed(tx) == (0, 0, 0, cost(500, price_of(600)))
    assert "OrderPoolFilled" not in tx.events


def test_an_unsettled_slot_after_the_window_claims_like_a_local_market(
    envs, pool, slot, alice, bob, operator
):
    ids = place(envs, slot, alice, bob, BOOKS)
    clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3)
    envs[0].warp(envs[0].gate_closure(slot) + SETTLE_WINDOW)
    want = reference(BOOKS, [(0, 0)] * 3)  # no pool: local outcomes only
    for e, community_ids, c in zip(envs, ids, ("c0", "c1", "c2"), strict=True):
        for order_id, outcome in zip(community_ids, want.outcomes[c], strict=True):
            assert claimed(e.market.claim(order_id, {"from": e.admin})) == expected(outcome)


def test_a_slot_the_pool_never_clears_waits_for_the_window_then_claims_local_only(
    envs, slot, alice, bob
):
    ids = place(envs, slot, alice, bob, BOOKS)
    envs[0].close_gate(slot)
    for e in envs:
        e.clear(slot)
    at = envs[0].gate_closure(slot) + SETTLE_WINDOW
    with brownie.reverts(typed_error("PoolNotSettled(uint64,uint256)", slot, at)):
        envs[1].market.claim(ids[1][0], {"from": bob})
    envs[0].warp(at)
    assert claimed(envs[1].market.claim(ids[1][0], {"from": bob})) == (0, 0, 0, 400)


def test_claims_after_settlement_equal_the_reference(envs, settled_city):
    ids, _, _ = settled_city
    want = reference(BOOKS, [(OPEN, OPEN)] * 3)
    for e, community_ids, c in zip(envs, ids, ("c0", "c1", "c2"), strict=True):
        for order_id, outcome in zip(community_ids, want.outcomes[c], strict=True):
            assert claimed(e.market.claim(order_id, {"from": e.admin})) == expected(outcome)


def test_pool_filled_claim_emits_order_pool_filled(envs, settled_city):
    ids, _, _ = settled_city
    want = reference(BOOKS, [(OPEN, OPEN)] * 3).outcomes["c0"][0]
    assert want.pool_wh > 0
    tx = envs[0].market.claim(ids[0][0], {"from": envs[0].admin})
    assert tx.events["OrderPoolFilled"]["orderId"] == ids[0][0]
    assert tx.events["OrderPoolFilled"]["poolWh"] == want.pool_wh


def test_preview_claim_agrees_with_claim_after_settlement(envs, settled_city):
    ids, _, _ = settled_city
    for e, community_ids in zip(envs, ids, strict=True):
        for order_id in community_ids:
            preview = tuple(e.market.previewClaim(order_id))
            assert claimed(e.market.claim(order_id, {"from": e.admin})) == preview


def test_paused_community_is_settled_with_a_zero_fill(envs, pool, slot, alice, bob, operator):
    ids = place(envs, slot, alice, bob, BOOKS)
    fills = clear_city(envs, pool, slot, operator, BOOKS, [(OPEN, OPEN)] * 3, paused=(1,))
    assert fills[1] == (0,) * 8
    pool.settle(slot, fills, {"from": alice})
    buy, _ = envs[1].market.poolFill(slot)
    assert buy[4] is True
    # B's residual sell claims at once, its local outcome only (B traded nothing).
    tx = envs[1].market.claim(ids[1][0], {"from": bob})
    assert claimed(tx) == (0, 0, 0, 400)


# Seeds whose city crosses the pool, with orders rationed at a pool marginal level in each (fee 5).
SEEDS = [2, 9, 12, 14, 23, 32]


@pytest.mark.parametrize("seed", SEEDS)
def test_claims_of_a_random_city_equal_the_reference(
    envs, pool, slot, alice, bob, operator, stranger, seed
):
    books, limits = random_city(seed)
    ids = place(envs, slot, alice, bob, books)
    fills = clear_city(envs, pool, slot, operator, books, limits)
    pool.settle(slot, fills, {"from": stranger})
    want = reference(books, limits)
    assert want.pool.volume_wh > 0
    for e, community_ids, c in zip(envs, ids, ("c0", "c1", "c2"), strict=True):
        for order_id, outcome in zip(community_ids, want.outcomes[c], strict=True):
            assert claimed(e.market.claim(order_id, {"from": stranger})) == expected(outcome)


@pytest.mark.parametrize("seed", SEEDS)
def test_after_every_claim_markets_cover_their_liabilities_and_the_pool_keeps_the_fees(
    envs, pool, slot, alice, bob, operator, stranger, fee_recipient, treasury, seed
):
    books, limits = random_city(seed)
    ids = place(envs, slot, alice, bob, books)
    fills = clear_city(envs, pool, slot, operator, books, limits)
    before = envs[0].euro.balanceOf(fee_recipient)
    pool.settle(slot, fills, {"from": stranger})
    for e, community_ids in zip(envs, ids, strict=True):
        for order_id in community_ids:
            e.market.claim(order_id, {"from": stranger})
    owners = (alice, bob, treasury)
    for e in envs:
        money = sum(e.market.balanceOf(a) for a in owners)
        energy = sum(e.market.energyBalanceOf(a, slot) for a in owners)
        held = e.euro.balanceOf(e.market)
        assert money <= held <= money + len(books) * 2  # the rounding stays with the market
        assert e.token.balanceOf(e.market, slot) == energy
    assert envs[0].euro.balanceOf(pool) == 0
    assert envs[0].token.balanceOf(pool, slot) == 0
    assert envs[0].euro.balanceOf(fee_recipient) - before == reference(books, limits).pool.grid_fees


# ---- errors ----------------------------------------------------------------------------------


def typed_error(signature, *args):
    """A custom error as brownie decodes a revert: ``Name: arg, arg`` (addresses lowercase)."""
    name, _, types = signature.partition("(")
    types = [t for t in types.rstrip(")").split(",") if t]
    values = [addr(a) if t == "address" else str(a) for t, a in zip(types, args, strict=True)]
    return f"{name}: " + ", ".join(values)


def test_markets_know_their_pool(envs, pool):
    assert all(e.market.pool() == pool for e in envs)


# ---- a plain market in the pool ------------------------------------------------------------------


@pytest.fixture
def mixed_city(admin, euro, registry, token, relayer, treasury, operator, fee_recipient, market):
    """A second pool: community 0 a pooled market, community 1 the plain EnergyMarket fixture."""
    pool = deploy_pool(admin, euro, registry)
    pooled = deploy_pooled(admin, euro, registry, treasury, pool)
    found_city(pool, (pooled, market), (1, 1), admin, operator, fee_recipient)
    return pool, [Env(registry, token, m, euro, admin, relayer, treasury) for m in (pooled, market)]


def test_a_plain_market_joins_unpooled(mixed_city):
    pool, _ = mixed_city
    assert (pool.isPooled(0), pool.isPooled(1)) == (True, False)


def test_settle_is_refused_when_a_plain_market_got_a_fill(mixed_city, alice, bob, operator):
    pool, envs = mixed_city
    slot = envs[0].trading_slot()
    books = [[(True, 600, 300)], [(False, 500, 300)]]
    place(envs, slot, alice, bob, books)
    fills = clear_city(envs, pool, slot, operator, books, [(OPEN, OPEN)] * 2)
    assert fills[1][1] == 300  # the plain market exports
    with brownie.reverts(typed_error("CommunityNotPooled(uint16,address)", 1, envs[1].market)):
        pool.settle(slot, fills, {"from": alice})
