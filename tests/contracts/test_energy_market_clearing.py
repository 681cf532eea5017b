"""EnergyMarket clearing: when a slot may clear, and the uniform-price rule on worked examples.

The rule (docs/contracts.md): V* = max_t min(D(t), S(t)); m_s = lowest tick with S >= V*, m_b =
highest tick with D >= V*; p* = price((m_s + m_b) // 2). At a rationed marginal tick with Q
resting and R filled, the k-th order claimed (qty q, C Wh of the level claimed before it) fills
floor((C+q)*R/Q) - floor(C*R/Q) Wh, receives or gives them and is paid for them; the level's fills
add up to R. Payments: buyer ceil(Wh * p / 1000), seller floor(Wh * p / 1000) less the fee
ceil(gross * feeBps / 10000).

Each worked example states its expected numbers literally (computed by hand in the comments) and
also checks them against the Python reference in conftest.py."""

import brownie
import pytest
from brownie.test import given
from conftest import (
    FEE_BPS,
    cost,
    fee_of,
    is_rationed,
    price_of,
    proceeds,
    reference_clear,
    reference_fill,
)
from eth_abi import encode
from hypothesis import settings
from hypothesis import strategies as st
from web3 import Web3

RECORD_KEYS = (
    "volume",
    "clearing_tick",
    "buy_tick",
    "buy_filled",
    "buy_total",
    "sell_tick",
    "sell_filled",
    "sell_total",
)


def outcome(market, oid, caller):
    """Claims ``oid`` and returns (filledWh, amount, fee, refund) from OrderClaimed."""
    ev = market.claim(oid, {"from": caller}).events["OrderClaimed"]
    return (ev["filledWh"], ev["amount"], ev["fee"], ev["refund"])


def record(env, slot):
    r = env.clearing(slot)
    return {k: r[k] for k in RECORD_KEYS}


# ---- when a slot may clear ------------------------------------------------------------------


def test_clear_revertsBeforeGateClosure(env, slot, market, relayer):
    gate = env.gate_closure(slot)
    env.next_block_at(gate - 1)
    with brownie.reverts(f"GateNotClosed: {slot}, {gate}"):
        market.clear(slot, {"from": relayer})


def test_clear_revertsForCurrentSlot(env, slot, market, relayer):
    current = slot + 1
    with brownie.reverts(f"GateNotClosed: {current}, {env.gate_closure(current)}"):
        market.clear(current, {"from": relayer})


def test_clear_succeedsAtGateClosure(env, slot, market, relayer):
    env.next_block_at(env.gate_closure(slot))
    market.clear(slot, {"from": relayer})
    assert env.clearing(slot)["cleared"]


def test_clear_revertsWhenAlreadyCleared(env, slot, market, relayer):
    env.close_gate(slot)
    market.clear(slot, {"from": relayer})
    with brownie.reverts(f"AlreadyCleared: {slot}"):
        market.clear(slot, {"from": relayer})


def test_clear_succeedsOneSecondBeforeTheSlotIsVoid(env, slot, market, relayer):
    env.next_block_at(market.voidAt(slot) - 1)
    market.clear(slot, {"from": relayer})
    assert env.clearing(slot)["cleared"]


def test_clear_revertsOnceTheSlotIsVoid(env, slot, market, relayer):
    """M-1: after gate closure + CLEAR_WINDOW_SECONDS the slot never clears (its orders are
    refundable instead), so a late clear cannot settle a book half of which was cancelled."""
    void_at = market.voidAt(slot)
    env.next_block_at(void_at)
    with brownie.reverts(f"SlotVoid: {slot}, {void_at}"):
        market.clear(slot, {"from": relayer})


def test_clear_anyoneMayClear(env, slot, market, stranger):
    env.close_gate(slot)
    market.clear(slot, {"from": stranger})
    assert env.clearing(slot)["cleared"]


def test_clear_worksWhilePaused(env, slot, market, admin, relayer):
    market.pause({"from": admin})
    env.close_gate(slot)
    market.clear(slot, {"from": relayer})
    assert env.clearing(slot)["cleared"]


def test_clearing_isUnclearedByDefault(env, slot):
    assert env.clearing(slot) == {"cleared": False, **{k: 0 for k in RECORD_KEYS}}


# ---- books that do not trade ----------------------------------------------------------------


def test_clear_emptyBookRecordsNoTrade(env, slot, market, relayer):
    env.close_gate(slot)
    tx = market.clear(slot, {"from": relayer})
    ev = tx.events["SlotCleared"]
    assert ev["slot"] == slot and ev["volumeWh"] == 0 and ev["clearingTick"] == 0
    assert env.clearing(slot) == {"cleared": True, **{k: 0 for k in RECORD_KEYS}}


def test_clear_onlySellsRecordsNoTradeAndReturnsTokens(env, slot, market, alice, relayer):
    oid = env.funded_sell(alice, slot, 10, 500)
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot)["volume"] == 0
    assert outcome(market, oid, relayer) == (0, 0, 0, 500)
    assert market.energyBalanceOf(alice, slot) == 500


def test_clear_onlyBuysRecordsNoTradeAndRefunds(env, slot, market, bob, relayer):
    oid = env.funded_buy(bob, slot, 10, 500)
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot)["volume"] == 0
    escrow = cost(500, price_of(10))
    assert outcome(market, oid, relayer) == (0, 0, 0, escrow)
    assert market.balanceOf(bob) == escrow


def test_clear_bidsBelowAsksRecordNoTrade(env, slot, market, alice, bob, relayer):
    sell = env.funded_sell(alice, slot, 10, 500)
    buy = env.funded_buy(bob, slot, 9, 500)
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot)["volume"] == 0
    assert outcome(market, sell, relayer) == (0, 0, 0, 500)
    assert outcome(market, buy, relayer) == (0, 0, 0, cost(500, price_of(9)))


# ---- worked examples ------------------------------------------------------------------------


def test_clear_simpleCrossFillsBothAtMidpointPrice(
    env, slot, market, alice, bob, treasury, relayer
):
    # sell 1000 @ tick 10, buy 1000 @ tick 30
    # -> V* = 1000, m_s = 10, m_b = 30, p* = tick 20 = 22,741/kWh
    sell = env.funded_sell(alice, slot, 10, 1_000)
    buy = env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    tx = env.clear(slot)
    expected = {
        "volume": 1_000,
        "clearing_tick": 20,
        "buy_tick": 30,
        "buy_filled": 1_000,
        "buy_total": 1_000,
        "sell_tick": 10,
        "sell_filled": 1_000,
        "sell_total": 1_000,
    }
    assert record(env, slot) == expected == reference_clear([(False, 10, 1_000), (True, 30, 1_000)])
    assert tx.events["SlotCleared"]["clearingTick"] == 20
    assert price_of(20) == 22_741
    # buyer escrowed cost(1000, 24,111) = 24,111, pays 22,741, gets 1,370 back
    assert outcome(market, buy, relayer) == (1_000, 22_741, 0, 1_370)
    # seller: gross 22,741, fee ceil(113.705) = 114, net 22,627
    assert outcome(market, sell, relayer) == (1_000, 22_627, 114, 0)
    assert market.balanceOf(treasury) == 114
    assert market.energyBalanceOf(bob, slot) == 1_000


def test_clear_sameTickCrossTradesAtThatTick(env, slot, market, alice, bob, relayer):
    sell = env.funded_sell(alice, slot, 7, 100)
    buy = env.funded_buy(bob, slot, 7, 100)
    env.close_gate(slot)
    env.clear(slot)
    r = record(env, slot)
    assert (r["volume"], r["clearing_tick"], r["buy_tick"], r["sell_tick"]) == (100, 7, 7, 7)
    # the buyer pays its own limit: the whole escrow, nothing comes back
    assert outcome(market, buy, relayer) == (100, cost(100, price_of(7)), 0, 0)
    gross = proceeds(100, price_of(7))
    assert outcome(market, sell, relayer) == (
        100,
        gross - fee_of(gross, FEE_BPS),
        fee_of(gross, FEE_BPS),
        0,
    )


def test_clear_midpointRoundsDown(env, slot, market, alice, bob):
    env.funded_sell(alice, slot, 10, 100)
    env.funded_buy(bob, slot, 13, 100)
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot)["clearing_tick"] == 11


def test_clear_rations_long_buy_side_pro_rata(
    env, slot, market, alice, bob, carol, dave, treasury, relayer
):
    """Buys 333 + 500 + 167 = 1000 Wh at tick 30 against 600 Wh sold at tick 10: R/Q = 0.6."""

    sell = env.funded_sell(alice, slot, 10, 600)
    buys = {
        who: env.funded_buy(who, slot, 30, q) for who, q in ((bob, 333), (carol, 500), (dave, 167))
    }
    env.close_gate(slot)
    env.clear(slot)
    r = record(env, slot)
    assert r == {
        "volume": 600,
        "clearing_tick": 20,
        "buy_tick": 30,
        "buy_filled": 600,
        "buy_total": 1_000,
        "sell_tick": 10,
        "sell_filled": 600,
        "sell_total": 600,
    }
    p = price_of(20)  # 22,741
    escrow = {who: cost(q, price_of(30)) for who, q in ((bob, 333), (carol, 500), (dave, 167))}
    # claimed in this order, cumulative shares of 0.6: floor(199.8) = 199, floor(499.8) - 199 =
    # 300, 600 - 499 = 101; each pays for what it receives
    # bob:   199: ceil(199 * 22.741) = ceil(4,525.459) = 4,526
    assert outcome(market, buys[bob], relayer) == (199, 4_526, 0, escrow[bob] - 4_526)
    # carol: 300: ceil(6,822.3) = 6,823
    assert outcome(market, buys[carol], relayer) == (300, 6_823, 0, escrow[carol] - 6_823)
    # dave:  101: ceil(2,296.841) = 2,297
    assert outcome(market, buys[dave], relayer) == (101, 2_297, 0, escrow[dave] - 2_297)
    # seller fully filled: gross floor(13,644.6) = 13,644, fee ceil(68.22) = 69
    assert outcome(market, sell, relayer) == (600, 13_575, 69, 0)
    assert (cost(199, p), cost(300, p), cost(101, p)) == (4_526, 6_823, 2_297)
    # no Wh left over: 600 delivered of 600 taken; 13,646 paid for 13,644 gross (2 units of dust,
    # below one per filled order)
    assert sum(market.energyBalanceOf(w, slot) for w in (bob, carol, dave)) == 600


def test_clear_rations_long_sell_side_pro_rata(
    env, slot, market, alice, bob, carol, dave, treasury, relayer
):
    """Sellers 333 + 500 + 167 = 1000 Wh at tick 10 against 600 Wh bought at tick 30: R/Q =
    600/1000."""
    sells = {
        who: env.funded_sell(who, slot, 10, q)
        for who, q in ((alice, 333), (carol, 500), (dave, 167))
    }
    buy = env.funded_buy(bob, slot, 30, 600)
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot) == {
        "volume": 600,
        "clearing_tick": 20,
        "buy_tick": 30,
        "buy_filled": 600,
        "buy_total": 600,
        "sell_tick": 10,
        "sell_filled": 600,
        "sell_total": 1_000,
    }
    # claimed in this order, cumulative shares as for the buyers above: 199, 300, 101 Wh, each
    # given and paid for
    # alice: 199 (134 back): floor(4,525.459) = 4,525, fee ceil(22.625) = 23
    assert outcome(market, sells[alice], relayer) == (199, 4_502, 23, 134)
    # carol: 300: floor(6,822.3) = 6,822, fee ceil(34.11) = 35
    assert outcome(market, sells[carol], relayer) == (300, 6_787, 35, 200)
    # dave: 101 (66 back): floor(2,296.841) = 2,296, fee ceil(11.48) = 12
    assert outcome(market, sells[dave], relayer) == (101, 2_284, 12, 66)
    # buyer fully filled: pays ceil(13,644.6) = 13,645 of its escrow
    # cost(600, 24,111) = ceil(14,466.6) = 14,467
    assert outcome(market, buy, relayer) == (600, 13_645, 0, 14_467 - 13_645)
    assert market.balanceOf(treasury) == 23 + 35 + 12
    # 600 Wh taken from sellers, 600 delivered: no energy dust beyond the vault balances
    credited = sum(market.energyBalanceOf(w, slot) for w in (alice, bob, carol, dave))
    assert credited == 600 + 134 + 200 + 66
    assert env.token.balanceOf(market, slot) - credited == 0


def test_clear_multiLevelBookFindsMarginalTicks(env, slot, market, alice, bob, carol, relayer):
    """sells 300@5, 400@12, 500@20; buys 200@25, 350@15, 250@12 (bob) + 350@12 (carol), 100@3.

    S: 5->300, 12->700, 20->1200; D: 3->1250, 12->1150, 15->550, 25->200. V* = min(D, S) peaks at
    tick 12 with 700. m_s = 12 (R = 400 of Q = 400), m_b = 12 (R = 700 - 550 = 150 of Q = 600), p* =
    tick 12."""
    book = [
        (False, 5, 300),
        (False, 12, 400),
        (False, 20, 500),
        (True, 25, 200),
        (True, 15, 350),
        (True, 3, 100),
    ]
    env.deposit_energy(alice, slot, 1_200)
    env.deposit(bob, 10**9)
    env.deposit(carol, 10**9)
    ids = market.placeOrders(
        alice, [(slot, False, t, q) for b, t, q in book if not b], {"from": alice}
    ).return_value
    ids += market.placeOrders(
        bob, [(slot, True, t, q) for b, t, q in book if b] + [(slot, True, 12, 250)], {"from": bob}
    ).return_value
    carol_id = env.buy(carol, slot, 12, 350)
    env.close_gate(slot)
    env.clear(slot)
    expected = {
        "volume": 700,
        "clearing_tick": 12,
        "buy_tick": 12,
        "buy_filled": 150,
        "buy_total": 600,
        "sell_tick": 12,
        "sell_filled": 400,
        "sell_total": 400,
    }
    assert (
        record(env, slot) == expected == reference_clear([*book, (True, 12, 250), (True, 12, 350)])
    )
    p = price_of(12)
    s5, s12, s20, b25, b15, b3, b12 = ids
    assert outcome(market, s5, relayer)[:2] == (
        300,
        proceeds(300, p) - fee_of(proceeds(300, p), FEE_BPS),
    )
    assert outcome(market, s12, relayer)[0] == 400
    assert outcome(market, s20, relayer) == (0, 0, 0, 500)
    assert outcome(market, b25, relayer)[:2] == (200, cost(200, p))
    assert outcome(market, b15, relayer)[:2] == (350, cost(350, p))
    assert outcome(market, b3, relayer) == (0, 0, 0, cost(100, price_of(3)))
    # rationed at the margin (150 of 600): floor(62.5) = 62, then floor(150) - 62 = 88
    assert outcome(market, b12, relayer)[:2] == (62, cost(62, p))
    assert outcome(market, carol_id, relayer)[:2] == (88, cost(88, p))


def test_clear_placementOrderWithinSlotDoesNotMatter(env, market, alice, bob, carol, relayer):
    """Uniform price, pro-rata rationing: who placed first inside the window changes nothing."""
    results = []
    for first, second in ((bob, carol), (carol, bob)):
        slot = env.trading_slot()
        env.funded_sell(alice, slot, 10, 500)
        a = env.funded_buy(first, slot, 20, 400)
        b = env.funded_buy(second, slot, 20, 400)
        env.close_gate(slot)
        env.clear(slot)
        got = {first: outcome(market, a, relayer), second: outcome(market, b, relayer)}
        results.append((record(env, slot), got[bob], got[carol]))
    assert results[0] == results[1]
    assert results[0][1][0] == 250  # 400 * 500 / 800


def test_clear_lastMomentOrderBeforeGateClosureCounts(
    env, slot, market, alice, bob, carol, relayer
):
    """What the batch auction leaves to ordering: an order one second before gate closure still sets
    the price (documented in docs/contracts.md); orders after it are refused."""
    env.funded_sell(alice, slot, 10, 500)
    env.funded_buy(bob, slot, 20, 500)
    env.deposit(carol, 10**9)
    gate = env.gate_closure(slot)
    env.next_block_at(gate - 1)
    late = env.buy(carol, slot, 40, 500)
    env.next_block_at(gate)
    with brownie.reverts(f"OrderWindowClosed: {slot}, {gate}"):
        market.placeOrder(carol, slot, True, 40, 500, {"from": carol})
    env.clear(slot)
    r = record(env, slot)
    assert (r["buy_tick"], r["clearing_tick"]) == (40, 25)
    assert outcome(market, late, relayer)[0] == 500


def test_clear_recordEventEqualsView(env, slot, market, alice, bob):
    env.funded_sell(alice, slot, 10, 600)
    env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    ev = env.clear(slot).events["SlotCleared"]
    r = record(env, slot)
    assert (
        ev["volumeWh"],
        ev["clearingTick"],
        ev["buyMarginalTick"],
        ev["buyMarginalFilledWh"],
        ev["buyMarginalTotalWh"],
        ev["sellMarginalTick"],
        ev["sellMarginalFilledWh"],
        ev["sellMarginalTotalWh"],
    ) == tuple(r[k] for k in RECORD_KEYS)


# ---- property: the contract equals the reference on random books ----------------------------


random_books = st.lists(
    st.tuples(st.booleans(), st.integers(0, 12), st.integers(10, 1_000)), min_size=1, max_size=8
)


@pytest.mark.no_call_coverage
@given(orders=random_books)
@settings(max_examples=15)
def test_fuzz_clear_matchesReferenceAndConserves(
    env, market, euro, token, alice, bob, treasury, relayer, orders
):
    """Random books of up to 8 orders on 13 ticks: the record equals the reference rule, every claim
    equals the reference fill, p* lies within [m_s, m_b], and neither energy nor money is created.
    """
    slot = env.trading_slot()
    sells = [(b, t, q) for b, t, q in orders if not b]
    buys = [(b, t, q) for b, t, q in orders if b]
    sell_ids, buy_ids = [], []
    if sells:
        env.deposit_energy(alice, slot, sum(q for _, _, q in sells))
        sell_ids = list(
            market.placeOrders(
                alice, [(slot, False, t, q) for _, t, q in sells], {"from": alice}
            ).return_value
        )
    if buys:
        env.deposit(bob, sum(cost(q, price_of(t)) for _, t, q in buys))
        buy_ids = list(
            market.placeOrders(
                bob, [(slot, True, t, q) for _, t, q in buys], {"from": bob}
            ).return_value
        )
    env.close_gate(slot)
    env.clear(slot)
    ref = reference_clear(orders)
    assert record(env, slot) == ref
    if ref["volume"]:
        assert ref["sell_tick"] <= ref["clearing_tick"] <= ref["buy_tick"]
    p = price_of(ref["clearing_tick"])
    tx = market.claimBatch(sell_ids + buy_ids, {"from": relayer})
    claimed = (
        {
            e["orderId"]: (e["filledWh"], e["amount"], e["fee"], e["refund"])
            for e in tx.events["OrderClaimed"]
        }
        if sell_ids + buy_ids
        else {}
    )
    delivered = taken = paid = earned = fees = 0
    claimed_at_margin = 0  # claimBatch settles the sells first, then the buys
    side = (ref["sell_tick"], ref["sell_filled"], ref["sell_total"])
    for oid, (_, t, q) in zip(sell_ids, sells, strict=True):
        given_wh = reference_fill(False, q, t, *side, claimed=claimed_at_margin)
        claimed_at_margin += q if is_rationed(t, *side) else 0
        gross = proceeds(given_wh, p)
        assert claimed[oid] == (
            given_wh,
            gross - fee_of(gross, FEE_BPS),
            fee_of(gross, FEE_BPS),
            q - given_wh,
        )
        taken += given_wh
        earned += gross
        fees += fee_of(gross, FEE_BPS)
    side = (ref["buy_tick"], ref["buy_filled"], ref["buy_total"])
    for oid, (_, t, q) in zip(buy_ids, buys, strict=True):
        got_wh = reference_fill(True, q, t, *side, claimed=claimed_at_margin)
        claimed_at_margin += q if is_rationed(t, *side) else 0
        assert claimed[oid] == (
            got_wh,
            cost(got_wh, p),
            0,
            cost(q, price_of(t)) - cost(got_wh, p),
        )
        delivered += got_wh
        paid += cost(got_wh, p)
    assert delivered == ref["volume"] == taken  # no energy dust
    filled_orders = sum(1 for c in claimed.values() if c[0] > 0)
    assert 0 <= paid - earned < max(filled_orders, 1)  # money dust: < 1 unit per filled order
    assert market.balanceOf(treasury) == fees
    # the vault still holds at least every internal balance
    assert euro.balanceOf(market) >= market.balanceOf(alice) + market.balanceOf(
        bob
    ) + market.balanceOf(treasury)
    assert token.balanceOf(market, slot) >= market.energyBalanceOf(
        alice, slot
    ) + market.energyBalanceOf(bob, slot)


# ---- bounded work: clearing cost is linear in the non-empty ticks -------------------------


def test_clear_gasLinearInNonEmptyTicksAndFullBookFitsUnderTheTxCap(
    env, market, alice, bob, relayer
):
    """{clear} walks the non-empty ticks only. Measured on books of 8 and 72 non-empty ticks, the
    cost per tick extrapolated to a full book of MAX_TICK_LIMIT + 1 = 2,048 ticks stays below the
    EIP-7825 cap of 2^24 gas per transaction with a margin of 25 %. (The literal full book is
    cleared on anvil with the cap enforced in tests/devchain/test_full_book.py: anvil runs here
    with --steps-tracing for coverage and keeps every step of every transaction in memory.)"""
    gas = {}
    for n in (8, 72):
        slot = env.trading_slot()
        # buys of 10 Wh on ticks 0..n-2 and 100 Wh on n-1, a sell of 50 Wh on n-1: every pass of the
        # clearing walks to the last tick (V* = 50 at m_s = m_b = n-1).
        env.deposit_energy(alice, slot, 50)
        env.deposit(bob, 10**12)
        market.placeOrders(
            bob,
            [(slot, True, t, 10) for t in range(n - 1)] + [(slot, True, n - 1, 100)],
            {"from": bob},
        )
        market.placeOrder(alice, slot, False, n - 1, 50, {"from": alice})
        env.close_gate(slot)
        tx = market.clear(slot, {"from": relayer})
        assert (
            tx.events["SlotCleared"]["volumeWh"],
            tx.events["SlotCleared"]["buyMarginalTick"],
        ) == (50, n - 1)
        gas[n] = tx.gas_used
    per_tick = (gas[72] - gas[8]) / 64
    full_book = gas[72] + per_tick * (market.MAX_TICK_LIMIT() + 1 - 72)
    print(f"clear gas: 8 ticks {gas[8]}, 72 ticks {gas[72]}, {per_tick:.0f}/tick")
    print(f"clear gas of a full book of 2,048 ticks, extrapolated: {full_book:.0f}")
    assert 0 < per_tick < 5_000
    assert full_book < 0.75 * 2**24


# ---- the residual commitment (docs/pool.md) ---------------------------------------------------


def residual_hash(buys, sells):
    """keccak256(abi.encode(buys, sells)): bids highest tick first, asks lowest first, each level
    packed tick << 96 | Wh."""
    bids = [t << 96 | q for t, q in sorted(buys.items(), reverse=True)]
    asks = [t << 96 | q for t, q in sorted(sells.items())]
    return "0x" + bytes(Web3.keccak(encode(["uint256[]", "uint256[]"], [bids, asks]))).hex()


def test_clear_commitsToTheResidualOfARationedBook(env, slot, market, alice, bob, carol, relayer):
    """Buys 700 at 30 and 300 at 12 against 600 sold at 10 and 50 at 35: V* = 600 at m_b = 30
    (R = 600 of Q = 700), m_s = 10. Left: 100 bought at 30, 300 at 12; 50 sold at 35."""
    env.funded_sell(alice, slot, 10, 600)
    env.funded_sell(alice, slot, 35, 50)
    env.funded_buy(bob, slot, 30, 700)
    env.funded_buy(carol, slot, 12, 300)
    assert market.residualCommitment(slot) == "0x" + "00" * 32
    env.close_gate(slot)
    env.clear(slot)
    assert record(env, slot)["buy_filled"] == 600
    assert market.residualCommitment(slot) == residual_hash({30: 100, 12: 300}, {35: 50})


def test_clear_commitsToTheWholeBookWhenNothingTrades(env, slot, market, alice, bob, relayer):
    env.funded_sell(alice, slot, 20, 80)
    env.funded_buy(bob, slot, 10, 90)
    env.close_gate(slot)
    env.clear(slot)
    assert market.residualCommitment(slot) == residual_hash({10: 90}, {20: 80})


def test_clear_commitsToNothingLeftWhenEverythingTrades(env, slot, market, alice, bob, relayer):
    env.funded_sell(alice, slot, 10, 500)
    env.funded_buy(bob, slot, 10, 500)
    env.close_gate(slot)
    env.clear(slot)
    assert market.residualCommitment(slot) == residual_hash({}, {})
