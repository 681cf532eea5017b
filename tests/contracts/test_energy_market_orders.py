"""EnergyMarket orders: placement (single and batch), escrow, windows, bounds, cancellation, book
views."""

import brownie
from conftest import (
    FEE_BPS,
    MAX_TICK,
    MIN_ORDER_WH,
    OPEN_AHEAD_SECONDS,
    SETTLEMENT_SECONDS,
    SLOT_SECONDS,
    ZERO_ADDRESS,
    addr,
    cost,
    order_id,
    price_of,
)


def order_of(market, oid):
    o = market.order(oid)
    return {"owner": o[0], "slot": o[1], "isBuy": o[2], "tick": o[3], "qty": o[4], "feeBps": o[5]}


def level_of(market, slot, tick):
    lvl = market.level(slot, tick)
    return (lvl[0], lvl[1])


# ---- placeOrder: escrow, storage, events ----------------------------------------------------


def test_placeOrder_buyEscrowsCeilOfCost(env, slot, market, alice):
    # 333 Wh at 20,412 per kWh = 6,797.196 -> escrow 6,798 (rounded up, in favour of the market)
    assert price_of(3) == 20_412 and cost(333, 20_412) == 6_798
    env.deposit(alice, 10_000)
    env.buy(alice, slot, 3, 333)
    assert market.balanceOf(alice) == 10_000 - 6_798


def test_placeOrder_buyEscrowExactWhenCostDividesEvenly(env, slot, market, alice):
    env.deposit(alice, 100_000)
    env.buy(alice, slot, 0, 1_000)  # 1 kWh at tick 0 costs exactly the floor price
    assert market.balanceOf(alice) == 100_000 - 20_001


def test_placeOrder_sellEscrowsEnergy(env, slot, market, alice):
    env.deposit_energy(alice, slot, 800)
    env.sell(alice, slot, 10, 600)
    assert market.energyBalanceOf(alice, slot) == 200
    assert market.balanceOf(alice) == 0


def test_placeOrder_storesOrderAndEmits(env, slot, market, alice):
    env.deposit(alice, 10**9)
    tx = market.placeOrder(alice, slot, True, 42, 1_500, {"from": alice})
    oid = tx.events["OrderPlaced"]["orderId"]
    assert tx.return_value == oid
    assert tx.events["OrderPlaced"] == {
        "orderId": oid,
        "owner": alice,
        "slot": slot,
        "isBuy": True,
        "tick": 42,
        "qtyWh": 1_500,
    }
    assert order_of(market, oid) == {
        "owner": alice,
        "slot": slot,
        "isBuy": True,
        "tick": 42,
        "qty": 1_500,
        "feeBps": FEE_BPS,
    }


def test_placeOrder_idEncodesSlotFeeAndGlobalNonce(env, slot, market, alice, bob):
    env.deposit(alice, 10**9)
    env.deposit(bob, 10**9)
    first = env.buy(alice, slot, 1, 100)
    second = env.buy(bob, slot + 1, 1, 100)
    assert first == order_id(slot, FEE_BPS, 1)
    assert second == order_id(slot + 1, FEE_BPS, 2)


def test_placeOrder_aggregatesQuantityPerLevel(env, slot, market, alice, bob):
    env.deposit(alice, 10**9)
    env.deposit_energy(bob, slot, 1_000)
    env.buy(alice, slot, 20, 100)
    env.buy(alice, slot, 20, 150)
    env.sell(bob, slot, 20, 400)
    env.sell(bob, slot, 5, 600)
    assert level_of(market, slot, 20) == (250, 400)
    assert level_of(market, slot, 5) == (0, 600)
    assert tuple(market.nextActiveTick(slot, 0)) == (True, 5)
    assert tuple(market.nextActiveTick(slot, 6)) == (True, 20)
    assert tuple(market.nextActiveTick(slot, 21)) == (False, 0)


def test_placeOrder_acceptsMinimumSize(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 0, MIN_ORDER_WH)
    assert order_of(market, oid)["qty"] == MIN_ORDER_WH


def test_placeOrder_revertsBelowMinimumSize(env, slot, market, alice):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"OrderQtyTooSmall: {MIN_ORDER_WH - 1}, {MIN_ORDER_WH}"):
        market.placeOrder(alice, slot, True, 0, MIN_ORDER_WH - 1, {"from": alice})


def test_placeOrder_acceptsMaxTick(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, MAX_TICK, 100)
    assert order_of(market, oid)["tick"] == MAX_TICK
    assert market.balanceOf(alice) == 10**9 - cost(100, price_of(MAX_TICK))


def test_placeOrder_revertsAboveMaxTick(env, slot, market, alice):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"OrderTickOutOfRange: {MAX_TICK + 1}, {MAX_TICK}"):
        market.placeOrder(alice, slot, True, MAX_TICK + 1, 100, {"from": alice})


def test_placeOrder_revertsForStranger(env, slot, market, alice, stranger):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {addr(alice)}"):
        market.placeOrder(alice, slot, True, 1, 100, {"from": stranger})


def test_placeOrder_revertsForZeroOwner(env, slot, market, stranger):
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {ZERO_ADDRESS}"):
        market.placeOrder(ZERO_ADDRESS, slot, True, 1, 100, {"from": stranger})


def test_placeOrder_revertsWhenBalanceShort(env, slot, market, alice):
    needed = cost(1_000, price_of(10))
    env.deposit(alice, needed - 1)
    with brownie.reverts(f"MarketInsufficientBalance: {addr(alice)}, {needed - 1}, {needed}"):
        market.placeOrder(alice, slot, True, 10, 1_000, {"from": alice})


def test_placeOrder_revertsWhenEnergyShort(env, slot, market, alice):
    env.deposit_energy(alice, slot, 500)
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {slot}, 500, 501"):
        market.placeOrder(alice, slot, False, 10, 501, {"from": alice})


def test_placeOrder_sellNeedsTokensOfThatSlot(env, slot, market, alice):
    env.deposit_energy(alice, slot, 500)
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {slot + 1}, 0, 100"):
        market.placeOrder(alice, slot + 1, False, 10, 100, {"from": alice})


def test_placeOrder_revertsWhenPaused(env, slot, market, admin, alice):
    env.deposit(alice, 10**9)
    market.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        market.placeOrder(alice, slot, True, 1, 100, {"from": alice})


# ---- order windows --------------------------------------------------------------------------


def test_orderWindow_opensAheadAndClosesAtGateClosure(env, market):
    start = env.slot_start(500)
    assert tuple(market.orderWindow(500)) == (start - OPEN_AHEAD_SECONDS, env.gate_closure(500))
    assert market.gateClosure(500) == start + SLOT_SECONDS + 900


def test_placeOrder_revertsBeforeWindowOpens(env, slot, market, alice):
    env.deposit(alice, 10**9)
    future = slot + 200
    opens = env.slot_start(future) - OPEN_AHEAD_SECONDS
    env.next_block_at(opens - 1)
    with brownie.reverts(f"OrderWindowNotOpen: {future}, {opens}"):
        market.placeOrder(alice, future, True, 1, 100, {"from": alice})


def test_placeOrder_acceptsWhenWindowOpens(env, slot, market, alice):
    env.deposit(alice, 10**9)
    future = slot + 200
    env.next_block_at(env.slot_start(future) - OPEN_AHEAD_SECONDS)
    oid = env.buy(alice, future, 1, 100)
    assert order_of(market, oid)["slot"] == future


def test_placeOrder_acceptsBuyBeforeSlotStarts(env, slot, market, alice):
    """Buys need no tokens, so they can be placed during the open-ahead window."""
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot + 10, 1, 100)
    assert order_of(market, oid)["slot"] == slot + 10


def test_placeOrder_acceptsOneSecondBeforeGateClosure(env, slot, market, alice):
    env.deposit(alice, 10**9)
    env.next_block_at(env.gate_closure(slot) - 1)
    oid = env.buy(alice, slot, 1, 100)
    assert order_of(market, oid)["qty"] == 100


def test_placeOrder_revertsAtGateClosure(env, slot, market, alice):
    env.deposit(alice, 10**9)
    gate = env.gate_closure(slot)
    env.next_block_at(gate)
    with brownie.reverts(f"OrderWindowClosed: {slot}, {gate}"):
        market.placeOrder(alice, slot, True, 1, 100, {"from": alice})


def test_placeOrder_revertsForPastSlot(env, slot, market, alice):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"OrderWindowClosed: {slot - 5}, {env.gate_closure(slot - 5)}"):
        market.placeOrder(alice, slot - 5, True, 1, 100, {"from": alice})


# ---- placeOrders (batch) --------------------------------------------------------------------


def test_placeOrders_placesAllAndDebitsTotalEscrowOnce(env, slot, market, alice):
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 1_000)
    requests = [(slot, True, 3, 333), (slot, False, 9, 700), (slot + 1, True, 50, 1_001)]
    tx = market.placeOrders(alice, requests, {"from": alice})
    ids = [e["orderId"] for e in tx.events["OrderPlaced"]]
    assert (
        list(tx.return_value)
        == ids
        == [order_id(slot, FEE_BPS, 1), order_id(slot, FEE_BPS, 2), order_id(slot + 1, FEE_BPS, 3)]
    )
    escrow = cost(333, price_of(3)) + cost(1_001, price_of(50))
    assert market.balanceOf(alice) == 10**9 - escrow
    assert market.energyBalanceOf(alice, slot) == 300
    assert order_of(market, ids[1])["isBuy"] is False


def test_placeOrders_nonceContinuesAfterBatch(env, slot, market, alice):
    env.deposit(alice, 10**9)
    market.placeOrders(alice, [(slot, True, 1, 100), (slot, True, 2, 100)], {"from": alice})
    assert env.buy(alice, slot, 3, 100) == order_id(slot, FEE_BPS, 3)


def test_placeOrders_emptyBatchPlacesNothing(env, slot, market, alice):
    tx = market.placeOrders(alice, [], {"from": alice})
    assert list(tx.return_value) == []
    assert "OrderPlaced" not in tx.events


def test_placeOrders_allOrNoneOnInvalidOrder(env, slot, market, alice):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"OrderTickOutOfRange: {MAX_TICK + 1}, {MAX_TICK}"):
        market.placeOrders(
            alice, [(slot, True, 1, 100), (slot, True, MAX_TICK + 1, 100)], {"from": alice}
        )
    assert market.balanceOf(alice) == 10**9
    assert level_of(market, slot, 1) == (0, 0)


def test_placeOrders_revertsWhenTotalEscrowExceedsBalance(env, slot, market, alice):
    each = cost(1_000, price_of(10))
    env.deposit(alice, 2 * each - 1)
    with brownie.reverts(f"MarketInsufficientBalance: {addr(alice)}, {2 * each - 1}, {2 * each}"):
        market.placeOrders(
            alice, [(slot, True, 10, 1_000), (slot, True, 10, 1_000)], {"from": alice}
        )


def test_placeOrders_revertsForStranger(env, slot, market, alice, stranger):
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {addr(alice)}"):
        market.placeOrders(alice, [(slot, True, 1, 100)], {"from": stranger})


def test_placeOrders_revertsWhenPaused(env, slot, market, admin, alice):
    market.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        market.placeOrders(alice, [(slot, True, 1, 100)], {"from": alice})


def test_placeOrders_revertsOnClosedWindowForAnyOrder(env, slot, market, alice):
    env.deposit(alice, 10**9)
    with brownie.reverts(f"OrderWindowClosed: {slot - 2}, {env.gate_closure(slot - 2)}"):
        market.placeOrders(alice, [(slot, True, 1, 100), (slot - 2, True, 1, 100)], {"from": alice})


# ---- cancelOrder ----------------------------------------------------------------------------


def test_cancelOrder_buyRefundsExactEscrow(env, slot, market, alice):
    env.deposit(alice, 10_000)
    oid = env.buy(alice, slot, 3, 333)
    tx = market.cancelOrder(oid, {"from": alice})
    assert market.balanceOf(alice) == 10_000
    assert tx.events["OrderCancelled"] == {"orderId": oid, "owner": alice}
    assert order_of(market, oid)["owner"] == ZERO_ADDRESS


def test_cancelOrder_sellReturnsEnergy(env, slot, market, alice):
    env.deposit_energy(alice, slot, 800)
    oid = env.sell(alice, slot, 3, 800)
    market.cancelOrder(oid, {"from": alice})
    assert market.energyBalanceOf(alice, slot) == 800


def test_cancelOrder_emptiesLevelAndClearsTick(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    market.cancelOrder(oid, {"from": alice})
    assert level_of(market, slot, 7) == (0, 0)
    assert tuple(market.nextActiveTick(slot, 0)) == (False, 0)


def test_cancelOrder_keepsTickWhileOtherSideRests(env, slot, market, alice):
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 100)
    buy = env.buy(alice, slot, 7, 100)
    env.sell(alice, slot, 7, 100)
    market.cancelOrder(buy, {"from": alice})
    assert level_of(market, slot, 7) == (0, 100)
    assert tuple(market.nextActiveTick(slot, 0)) == (True, 7)


def test_cancelOrder_revertsForUnknownOrder(market, alice):
    with brownie.reverts("OrderNotFound: 12345"):
        market.cancelOrder(12345, {"from": alice})


def test_cancelOrder_revertsWhenAlreadyCancelled(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    market.cancelOrder(oid, {"from": alice})
    with brownie.reverts(f"OrderNotFound: {oid}"):
        market.cancelOrder(oid, {"from": alice})
    assert market.balanceOf(alice) == 10**9


def test_cancelOrder_revertsForStranger(env, slot, market, alice, stranger):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {addr(alice)}"):
        market.cancelOrder(oid, {"from": stranger})


def test_cancelOrder_revertsAtGateClosure(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    env.next_block_at(env.gate_closure(slot))
    with brownie.reverts(f"CancelWindowClosed: {slot}, {market.cancelCutoff(slot)}"):
        market.cancelOrder(oid, {"from": alice})


# ---- L-3: the last half of the settlement window is firm -----------------------------------


def test_cancelCutoff_isGateClosureLessHalfTheSettlementWindow(env, slot, market):
    assert market.cancelCutoff(slot) == env.gate_closure(slot) - SETTLEMENT_SECONDS // 2


def test_cancelOrder_worksUntilTheSecondBeforeTheCutoff(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    env.next_block_at(market.cancelCutoff(slot) - 1)
    market.cancelOrder(oid, {"from": alice})
    assert market.balanceOf(alice) == 10**9


def test_cancelOrder_revertsFromTheCancelCutoff(env, slot, market, alice):
    """L-3: an order seen in the last half of the settlement window cannot be withdrawn, so
    showing a large order and cancelling it in the last blocks (spoofing the visible book) is no
    longer free."""
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    cutoff = market.cancelCutoff(slot)
    env.next_block_at(cutoff)
    with brownie.reverts(f"CancelWindowClosed: {slot}, {cutoff}"):
        market.cancelOrder(oid, {"from": alice})


def test_placeOrder_stillWorksAfterTheCancelCutoff(env, slot, market, alice):
    env.deposit(alice, 10**9)
    env.next_block_at(market.cancelCutoff(slot))
    oid = env.buy(alice, slot, 7, 100)
    assert market.order(oid)["qtyWh"] == 100


# ---- a slot nobody cleared in time is void: every escrow comes back ------------------------


def void_slot(env, slot):
    """Moves the chain to the first second at which ``slot`` is void."""
    void_at = env.gate_closure(slot) + env.market.CLEAR_WINDOW_SECONDS()
    env.warp(void_at)
    return void_at


def test_voidAt_isGateClosurePlusClearWindow(env, slot, market):
    assert market.voidAt(slot) == env.gate_closure(slot) + 86_400


def test_cancelOrder_refundsEveryEscrowOfAVoidSlot(env, slot, market, alice, bob, stranger):
    """M-1: a slot that was not cleared within CLEAR_WINDOW_SECONDS of gate closure (a book too big
    to clear under a gas cap, or no keeper) must not lock its escrows: anyone may cancel its
    orders, and the escrow goes back to each owner."""
    env.deposit(bob, 10**9)
    buy = env.buy(bob, slot, 7, 100)
    sell = env.funded_sell(alice, slot, 3, 80)
    void_slot(env, slot)
    market.cancelOrders([buy, sell], {"from": stranger})
    assert market.balanceOf(bob) == 10**9
    assert market.energyBalanceOf(alice, slot) == 80
    assert tuple(market.nextActiveTick(slot, 0)) == (False, 0)


def test_cancelOrder_revertsAfterGateClosureWhileTheSlotCanStillClear(env, slot, market, alice):
    env.deposit(alice, 10**9)
    oid = env.buy(alice, slot, 7, 100)
    gate = env.gate_closure(slot)
    env.next_block_at(gate + market.CLEAR_WINDOW_SECONDS() - 1)
    with brownie.reverts(f"CancelWindowClosed: {slot}, {market.cancelCutoff(slot)}"):
        market.cancelOrder(oid, {"from": alice})


def test_cancelOrder_revertsAfterTheClearWindowWhenTheSlotCleared(env, slot, market, alice, bob):
    env.deposit(bob, 10**9)
    buy = env.buy(bob, slot, 7, 100)
    env.funded_sell(alice, slot, 3, 80)
    env.close_gate(slot)
    env.clear(slot)
    void_slot(env, slot)
    with brownie.reverts(f"CancelWindowClosed: {slot}, {market.cancelCutoff(slot)}"):
        market.cancelOrder(buy, {"from": bob})


def test_cancelOrder_worksWhilePaused(env, slot, market, admin, alice):
    env.deposit(alice, 10_000)
    oid = env.buy(alice, slot, 3, 333)
    market.pause({"from": admin})
    market.cancelOrder(oid, {"from": alice})
    assert market.balanceOf(alice) == 10_000


def test_cancelOrders_cancelsEach(env, slot, market, alice):
    env.deposit(alice, 10_000_000)
    ids = [env.buy(alice, slot, t, 100 + t) for t in (1, 2, 3)]
    tx = market.cancelOrders(ids, {"from": alice})
    assert [e["orderId"] for e in tx.events["OrderCancelled"]] == ids
    assert market.balanceOf(alice) == 10_000_000


def test_cancelOrders_allOrNone(env, slot, market, alice, bob):
    env.deposit(alice, 10_000_000)
    env.deposit(bob, 10_000_000)
    mine = env.buy(alice, slot, 1, 100)
    theirs = env.buy(bob, slot, 1, 100)
    with brownie.reverts(f"NotOwnerOrAgent: {addr(alice)}, {addr(bob)}"):
        market.cancelOrders([mine, theirs], {"from": alice})
    assert order_of(market, mine)["owner"] == alice


def test_orderLevelOverflow_isOutOfReachOfRealBooks(market):
    """OrderLevelOverflow is the one custom error no test triggers: a side of a level holds up to
    MAX_LEVEL_WH = 2^96 - 1 Wh and an order at most 2^64 - 1 Wh, so it takes more than 2^32
    maximal orders at one tick of one slot (about 2^32 * 35k gas) to reach it."""
    assert market.MAX_LEVEL_WH() == 2**96 - 1
    assert market.MAX_LEVEL_WH() // (2**64 - 1) == 2**32


# ---- views ----------------------------------------------------------------------------------


def test_order_isZeroForUnknownId(market):
    assert order_of(market, 999) == {
        "owner": ZERO_ADDRESS,
        "slot": 0,
        "isBuy": False,
        "tick": 0,
        "qty": 0,
        "feeBps": 0,
    }


def test_nextActiveTick_acrossBitmapWords(env, slot, market, alice):
    env.deposit(alice, 10**9)
    market.placeOrders(alice, [(slot, True, t, 100) for t in (3, 255, 256, 700)], {"from": alice})
    found = []
    t = 0
    while True:
        ok, tick = market.nextActiveTick(slot, t)
        if not ok:
            break
        found.append(tick)
        t = tick + 1
    assert found == [3, 255, 256, 700]
