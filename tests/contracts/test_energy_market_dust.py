"""EnergyMarket rounding at a rationed marginal tick (audit finding L-1).

At a marginal level where R of Q Wh fill, the k-th order claimed (qty q_k, C_k = q_1 + ... + q_k)
fills floor(C_k*R/Q) - floor(C_{k-1}*R/Q) Wh and is paid for exactly those Wh: each order gets
its pro-rata share rounded down or up, and the level's fills add up to R exactly, whatever the
claim order. So no Wh is left owned by nobody, and the money left in the market per slot is below
one base unit per filled order (buyers' payments rounded up, sellers' proceeds rounded down)."""

from conftest import FEE_BPS, cost, fee_of, price_of, proceeds

TICK = 500  # price 88,501 base units per kWh
SELLERS = 10


def _ten_sellers_one_buyer(env, alice, bob, slot):
    """Ten sells of 10 Wh and one buy of 15 Wh at one tick: R_s = 15 of Q_s = 100."""
    env.mint_energy(alice, slot, 10 * SELLERS)
    env.token.safeTransferFrom(alice, env.market, slot, 10 * SELLERS, b"", {"from": alice})
    sells = [env.sell(alice, slot, TICK, 10) for _ in range(SELLERS)]
    buy = env.funded_buy(bob, slot, TICK, 15)
    env.close_gate(slot)
    env.clear(slot)
    return sells, buy


def test_marginalLevel_tenSellersOneBuyer_leavesNoEnergyAndUnderOneUnitPerOrder(
    env, slot, market, alice, bob, treasury, relayer
):
    """Failed before the fix: 5 Wh owned by nobody and 448 of the buyer's 1,328 units (34 %) left
    in the market (every seller gave 2 Wh and was paid for 1)."""
    sells, buy = _ten_sellers_one_buyer(env, alice, bob, slot)
    assert (env.clearing(slot)["sell_filled"], env.clearing(slot)["sell_total"]) == (15, 100)
    price = price_of(TICK)
    money_before = market.balanceOf(alice) + market.balanceOf(treasury)
    claims = [market.claim(oid, {"from": relayer}).events["OrderClaimed"] for oid in sells]
    bought = market.claim(buy, {"from": relayer}).events["OrderClaimed"]

    given = [c["filledWh"] for c in claims]
    assert given == [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]  # floor(1.5 k) - floor(1.5 (k - 1))
    assert sum(given) == 15 == bought["filledWh"]  # energy: nothing owned by nobody
    assert [c["refund"] for c in claims] == [10 - g for g in given]
    for c, g in zip(claims, given, strict=True):
        assert c["fee"] == fee_of(proceeds(g, price), FEE_BPS)
        assert c["amount"] + c["fee"] == proceeds(g, price)  # paid for every Wh it gave
    paid = bought["amount"]
    assert paid == cost(15, price) == 1_328
    to_sellers = market.balanceOf(alice) + market.balanceOf(treasury) - money_before
    assert to_sellers == sum(c["amount"] + c["fee"] for c in claims)
    dust = paid - to_sellers
    assert 0 <= dust < SELLERS + 1  # below one unit per filled order
    assert dust == 3


def test_marginalLevel_fillsAddUpToRWhateverTheClaimOrder(env, slot, market, alice, bob, relayer):
    sells, buy = _ten_sellers_one_buyer(env, alice, bob, slot)
    order = [sells[i] for i in (7, 2, 9, 0, 4, 1, 8, 3, 6, 5)]
    given = [
        market.claim(oid, {"from": relayer}).events["OrderClaimed"]["filledWh"] for oid in order
    ]
    assert sum(given) == 15 and set(given) <= {1, 2}
    assert market.claim(buy, {"from": relayer}).events["OrderClaimed"]["filledWh"] == 15


def test_previewClaim_showsTheShareAClaimWouldTakeNow(env, slot, market, alice, bob, relayer):
    sells, _ = _ten_sellers_one_buyer(env, alice, bob, slot)
    for oid in sells:
        preview = market.previewClaim(oid)
        ev = market.claim(oid, {"from": relayer}).events["OrderClaimed"]
        assert tuple(preview) == (ev["filledWh"], ev["amount"], ev["fee"], ev["refund"])


def test_rationedBuyers_receiveExactlyWhatTheyPayFor(env, slot, market, alice, bob, carol, relayer):
    """Three buys of 10 Wh against one sell of 20 Wh: R_b = 20 of Q_b = 30. Each buyer receives the
    Wh it pays for; together exactly 20."""
    env.funded_sell(alice, slot, TICK, 20)
    buys = [env.funded_buy(b, slot, TICK, 10) for b in (bob, carol, bob)]
    env.close_gate(slot)
    env.clear(slot)
    price = price_of(TICK)
    got = [market.claim(oid, {"from": relayer}).events["OrderClaimed"] for oid in buys]
    assert [g["filledWh"] for g in got] == [6, 7, 7]  # floor(20/3 k) - floor(20/3 (k - 1))
    for g in got:
        assert g["amount"] == cost(g["filledWh"], price)
        assert g["refund"] == cost(10, price) - g["amount"]
