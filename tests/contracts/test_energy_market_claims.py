"""EnergyMarket claims: settlement into the vault, batch claims, preview, fees, pause, no expiry."""

import brownie
from conftest import FEE_BPS, addr, cost, fee_of, price_of, proceeds


def claimed(tx):
    ev = tx.events["OrderClaimed"]
    return (ev["filledWh"], ev["amount"], ev["fee"], ev["refund"])


def cleared_book(env, slot, seller, sell_qty, buys, sell_tick=10, buy_tick=30):
    """A sell of ``sell_qty`` and the buys (buyer, qty) that cross it, placed in that order; the
    slot is cleared. Returns the sell's id and the buys' ids."""
    sell = env.funded_sell(seller, slot, sell_tick, sell_qty)
    buy_ids = [env.funded_buy(buyer, slot, buy_tick, qty) for buyer, qty in buys]
    env.close_gate(slot)
    env.clear(slot)
    return sell, buy_ids


def cleared_pair(env, slot, seller, buyer, sell_tick=10, buy_tick=30, qty=1_000):
    """A sell and a buy of ``qty`` that cross; the slot is cleared. Returns (sell id, buy id)."""
    sell, (buy,) = cleared_book(env, slot, seller, qty, [(buyer, qty)], sell_tick, buy_tick)
    return sell, buy


# ---- claim ----------------------------------------------------------------------------------


def test_claim_buyCreditsEnergyAndRefundAndDeletesOrder(env, slot, market, alice, bob, relayer):
    _, buy = cleared_pair(env, slot, alice, bob)
    p = price_of(20)
    tx = market.claim(buy, {"from": bob})
    assert tx.events["OrderClaimed"] == {
        "orderId": buy,
        "owner": bob,
        "filledWh": 1_000,
        "amount": cost(1_000, p),
        "fee": 0,
        "refund": cost(1_000, price_of(30)) - cost(1_000, p),
    }
    assert market.energyBalanceOf(bob, slot) == 1_000
    assert market.balanceOf(bob) == cost(1_000, price_of(30)) - cost(1_000, p)
    assert market.order(buy)[0] == "0x0000000000000000000000000000000000000000"


def test_claim_sellCreditsNetProceedsAndFeeToTreasury(env, slot, market, alice, bob, treasury):
    sell, _ = cleared_pair(env, slot, alice, bob)
    gross = proceeds(1_000, price_of(20))
    tx = market.claim(sell, {"from": alice})
    assert claimed(tx) == (1_000, gross - fee_of(gross, FEE_BPS), fee_of(gross, FEE_BPS), 0)
    assert market.balanceOf(alice) == gross - fee_of(gross, FEE_BPS)
    assert market.balanceOf(treasury) == fee_of(gross, FEE_BPS)


def test_claim_byAnyoneCreditsOnlyOwnerAndTreasury(
    env, slot, market, alice, bob, stranger, treasury
):
    sell, buy = cleared_pair(env, slot, alice, bob)
    market.claim(sell, {"from": stranger})
    market.claim(buy, {"from": stranger})
    assert market.balanceOf(stranger) == 0
    assert market.energyBalanceOf(stranger, slot) == 0
    assert market.energyBalanceOf(bob, slot) == 1_000
    assert market.balanceOf(alice) > 0 and market.balanceOf(treasury) > 0


def test_claim_revertsForUnknownOrder(market, relayer):
    with brownie.reverts("OrderNotFound: 77"):
        market.claim(77, {"from": relayer})


def test_claim_revertsWhenClaimedTwice(env, slot, market, alice, bob, relayer):
    _, buy = cleared_pair(env, slot, alice, bob)
    market.claim(buy, {"from": relayer})
    with brownie.reverts(f"OrderNotFound: {buy}"):
        market.claim(buy, {"from": relayer})
    assert market.energyBalanceOf(bob, slot) == 1_000


def test_claim_revertsBeforeClear(env, slot, market, alice, bob, relayer):
    buy = env.funded_buy(bob, slot, 30, 1_000)
    sell = env.funded_sell(alice, slot, 10, 1_000)
    env.close_gate(slot)
    with brownie.reverts(f"SlotNotCleared: {slot}"):
        market.claim(buy, {"from": relayer})
    with brownie.reverts(f"SlotNotCleared: {slot}"):
        market.claim(sell, {"from": relayer})


def test_claim_revertsForCancelledOrder(env, slot, market, bob, relayer):
    buy = env.funded_buy(bob, slot, 30, 1_000)
    market.cancelOrder(buy, {"from": bob})
    env.close_gate(slot)
    env.clear(slot)
    with brownie.reverts(f"OrderNotFound: {buy}"):
        market.claim(buy, {"from": relayer})


def test_claim_unclaimedOrdersNeverExpire(env, slot, market, alice, bob, relayer):
    sell, buy = cleared_pair(env, slot, alice, bob)
    env.warp(env.latest_timestamp() + 3 * 365 * 86_400)
    market.claimBatch([sell, buy], {"from": relayer})
    assert market.energyBalanceOf(bob, slot) == 1_000
    market.withdrawEnergy(slot, 1_000, {"from": bob})
    assert env.token.balanceOf(bob, slot) == 1_000


def test_claim_andWithdrawWorkWhilePaused(env, slot, market, euro, admin, alice, bob, relayer):
    sell, buy = cleared_pair(env, slot, alice, bob)
    market.pause({"from": admin})
    market.claim(sell, {"from": relayer})
    market.claim(buy, {"from": relayer})
    market.withdraw(market.balanceOf(alice), {"from": alice})
    market.withdrawEnergy(slot, 1_000, {"from": bob})
    env.fund(bob, 5)
    market.deposit(5, {"from": bob})
    assert market.balanceOf(alice) == 0
    assert euro.balanceOf(alice) > 0
    assert env.token.balanceOf(bob, slot) == 1_000


def test_claim_clearingWorksWhileRegistryPaused(
    env, slot, market, registry, admin, alice, bob, relayer
):
    """The registry's pause stops readings only; trading of tokens already minted goes on."""
    sell = env.funded_sell(alice, slot, 10, 1_000)
    registry.pause({"from": admin})
    buy = env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    env.clear(slot)
    market.claimBatch([sell, buy], {"from": relayer})
    assert market.energyBalanceOf(bob, slot) == 1_000


# ---- claimBatch -----------------------------------------------------------------------------


def test_claimBatch_claimsEveryOrder(env, slot, market, alice, bob, carol, relayer):
    sell, (b1, b2) = cleared_book(env, slot, alice, 600, [(bob, 300), (carol, 300)])
    tx = market.claimBatch([sell, b1, b2], {"from": relayer})
    assert [e["orderId"] for e in tx.events["OrderClaimed"]] == [sell, b1, b2]
    assert market.energyBalanceOf(bob, slot) == market.energyBalanceOf(carol, slot) == 300


def test_claimBatch_skipsAnOrderItsOwnerClaimedFirst(env, slot, market, alice, bob, relayer):
    """Audit L-4: the owner's own claim landing before a keeper's batch used to revert it."""
    sell, buy = cleared_pair(env, slot, alice, bob)
    market.claim(buy, {"from": bob})
    tx = market.claimBatch([sell, buy], {"from": relayer})
    assert [e["orderId"] for e in tx.events["OrderClaimed"]] == [sell]
    assert tx.return_value == 1
    assert market.balanceOf(alice) > 0
    assert market.energyBalanceOf(bob, slot) == 1_000


def test_claimBatch_skipsUnknownIds(env, slot, market, alice, bob, relayer):
    sell, buy = cleared_pair(env, slot, alice, bob)
    tx = market.claimBatch([5, sell, buy], {"from": relayer})
    assert [e["orderId"] for e in tx.events["OrderClaimed"]] == [sell, buy]
    assert tx.return_value == 2


def test_claimBatch_allOrNoneForAnUnclearedSlot(env, slot, market, alice, bob, relayer):
    sell, buy = cleared_pair(env, slot, alice, bob)
    later = env.trading_slot()
    open_order = env.funded_buy(bob, later, 30, 100)
    with brownie.reverts(f"SlotNotCleared: {later}"):
        market.claimBatch([sell, buy, open_order], {"from": relayer})
    assert market.order(sell)[0] == alice
    assert market.balanceOf(alice) == 0


def test_claimBatch_acrossSlots(env, market, alice, bob, relayer):
    first = env.trading_slot()
    s1 = env.funded_sell(alice, first, 10, 100)
    b1 = env.funded_buy(bob, first, 30, 100)
    second = env.trading_slot()
    s2 = env.funded_sell(alice, second, 10, 200)
    b2 = env.funded_buy(bob, second, 30, 200)
    env.close_gate(second)
    env.clear(first)
    env.clear(second)
    market.claimBatch([s1, b1, s2, b2], {"from": relayer})
    assert market.energyBalanceOf(bob, first) == 100
    assert market.energyBalanceOf(bob, second) == 200


def test_claimBatch_emptyIsNoop(market, relayer):
    tx = market.claimBatch([], {"from": relayer})
    assert "OrderClaimed" not in tx.events


# ---- previewClaim ---------------------------------------------------------------------------


def test_previewClaim_equalsClaim(env, slot, market, alice, bob, carol, relayer):
    sell, (b1, b2) = cleared_book(env, slot, alice, 600, [(bob, 333), (carol, 667)])
    for oid in (sell, b1, b2):
        preview = tuple(market.previewClaim(oid))
        assert preview == claimed(market.claim(oid, {"from": relayer}))


def test_previewClaim_revertsForUnknownOrder(market):
    with brownie.reverts("OrderNotFound: 3"):
        market.previewClaim(3)


def test_previewClaim_revertsBeforeClear(env, slot, market, bob):
    buy = env.funded_buy(bob, slot, 30, 1_000)
    with brownie.reverts(f"SlotNotCleared: {slot}"):
        market.previewClaim(buy)


# ---- fees -----------------------------------------------------------------------------------


def test_claim_usesFeeInForceAtPlacement(
    env, slot, market, admin, alice, bob, carol, treasury, relayer
):
    old = env.funded_sell(alice, slot, 10, 500)
    market.setFee(1_000, treasury, {"from": admin})
    new = env.funded_sell(carol, slot, 10, 500)
    assert market.order(old)[5] == FEE_BPS and market.order(new)[5] == 1_000
    env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    env.clear(slot)
    gross = proceeds(500, price_of(20))
    assert claimed(market.claim(old, {"from": relayer}))[2] == fee_of(gross, FEE_BPS)
    assert claimed(market.claim(new, {"from": relayer}))[2] == fee_of(gross, 1_000)


def test_claim_creditsTreasuryInForceAtClaim(
    env, slot, market, admin, alice, bob, treasury, stranger, relayer
):
    sell, _ = cleared_pair(env, slot, alice, bob)
    market.setFee(FEE_BPS, stranger, {"from": admin})
    fee = claimed(market.claim(sell, {"from": relayer}))[2]
    assert market.balanceOf(stranger) == fee > 0
    assert market.balanceOf(treasury) == 0


def test_claim_zeroFeeCreditsWholeGross(env, slot, market, admin, alice, bob, treasury, relayer):
    market.setFee(0, treasury, {"from": admin})
    sell, _ = cleared_pair(env, slot, alice, bob)
    gross = proceeds(1_000, price_of(20))
    assert claimed(market.claim(sell, {"from": relayer})) == (1_000, gross, 0, 0)
    assert market.balanceOf(treasury) == 0


def test_claim_maxFeeIsTenPercentRoundedUp(env, slot, market, admin, alice, bob, treasury, relayer):
    market.setFee(1_000, treasury, {"from": admin})
    sell, _ = cleared_pair(env, slot, alice, bob, qty=333)
    gross = proceeds(333, price_of(20))  # floor(7,572.753) = 7,572
    assert gross == 7_572 and fee_of(gross, 1_000) == 758  # ceil(757.2)
    assert claimed(market.claim(sell, {"from": relayer})) == (333, 7_572 - 758, 758, 0)


# ---- end to end: withdraw what was claimed --------------------------------------------------


def test_claimedFundsAndEnergyCanBeWithdrawnAndRedeemed(
    env, slot, market, euro, token, alice, bob, relayer
):
    """bob imported 700 Wh in the slot: he buys 700 Wh from alice, withdraws and redeems them."""
    env.mint_energy(bob, slot, export_wh=0, import_wh=700)
    sell, buy = cleared_pair(env, slot, alice, bob, qty=700)
    market.claimBatch([sell, buy], {"from": relayer})
    market.withdrawEnergy(slot, 700, {"from": bob})
    token.redeem(slot, 700, {"from": bob})
    assert token.totalSupply(slot) == 0
    market.withdraw(market.balanceOf(alice), {"from": alice})
    assert euro.balanceOf(alice) == proceeds(700, price_of(20)) - fee_of(
        proceeds(700, price_of(20)), FEE_BPS
    )
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(bob)}, {slot}, 0, 1"):
        market.withdrawEnergy(slot, 1, {"from": bob})
