"""SealedEnergyMarket: every new function, revert and role (commit, reveal, reclaim, the windows,
the bond, the open-order refusals, clearing after the reveal window, the void-slot exit).

The market under test is the deployable code of build/contracts (see conftest.deploy_sealed)."""

import brownie
import pytest
from conftest import (
    BOND,
    CLEAR_WINDOW,
    FEE_BPS,
    MAX_TICK,
    MIN_ORDER_WH,
    REVEAL_SECONDS,
    addr,
    commit_id_of,
    commitment_of,
    cost,
    deploy_sealed,
    new_salt,
    price_of,
    reference_clear,
)

MAX_LOCK = 2**88 - 1


def level_of(market, slot, tick):
    lvl = market.level(slot, tick)
    return (lvl[0], lvl[1])


def commitment_view(market, cid):
    c = market.commitment(cid)
    return {"owner": c[0], "agent": c[1], "lockedMoney": c[2], "lockedWh": c[3]}


# ---- constructor and views ----------------------------------------------------------------


def test_constructor_setsRevealWindowAndBond(senv, sealed, sslot):
    assert sealed.bondAmount() == BOND
    assert sealed.revealSeconds() == REVEAL_SECONDS
    gc = senv.gate_closure(sslot)
    assert sealed.revealWindow(sslot) == (gc, gc + REVEAL_SECONDS)
    assert sealed.gateClosure(sslot) == gc


def test_constructor_revertsOnZeroRevealWindow(admin, euro, registry, treasury):
    with brownie.reverts(f"SealedRevealWindowInvalid: 0, {CLEAR_WINDOW}"):
        deploy_sealed(admin, euro, registry, treasury, reveal=0)


def test_constructor_revertsOnRevealWindowOfAClearWindow(admin, euro, registry, treasury):
    with brownie.reverts(f"SealedRevealWindowInvalid: {CLEAR_WINDOW}, {CLEAR_WINDOW}"):
        deploy_sealed(admin, euro, registry, treasury, reveal=CLEAR_WINDOW)


def test_constructor_acceptsLongestRevealWindow(admin, euro, registry, treasury):
    m = deploy_sealed(admin, euro, registry, treasury, reveal=CLEAR_WINDOW - 1)
    assert m.revealSeconds() == CLEAR_WINDOW - 1


def test_constructor_revertsOnZeroBond(admin, euro, registry, treasury):
    with brownie.reverts(f"SealedBondInvalid: 0, {MAX_LOCK}"):
        deploy_sealed(admin, euro, registry, treasury, bond=0)


def test_constructor_revertsOnBondAboveLockLimit(admin, euro, registry, treasury):
    with brownie.reverts(f"SealedBondInvalid: {MAX_LOCK + 1}, {MAX_LOCK}"):
        deploy_sealed(admin, euro, registry, treasury, bond=MAX_LOCK + 1)


def test_constructor_keepsBaseChecks(admin, euro, registry, treasury):
    with brownie.reverts("MarketTickSizeZero: "):
        deploy_sealed(admin, euro, registry, treasury, tickSize=0)


def test_commitmentOf_equalsTheDocumentedHash(sealed, alice, sslot):
    salt = new_salt()
    expected = commitment_of(sealed, alice, sslot, True, 7, 300, salt)
    assert sealed.commitmentOf(alice, sslot, True, 7, 300, salt) == "0x" + expected.hex()


# ---- open orders are refused ----------------------------------------------------------------


def test_placeOrder_revertsInSealedMode(senv, sealed, sslot, alice):
    senv.deposit(alice, 10**9)
    with brownie.reverts("SealedMarketNoOpenOrders: "):
        sealed.placeOrder(alice, sslot, True, 1, 100, {"from": alice})


def test_placeOrders_revertsInSealedMode(senv, sealed, sslot, alice):
    senv.deposit(alice, 10**9)
    with brownie.reverts("SealedMarketNoOpenOrders: "):
        sealed.placeOrders(alice, [(sslot, True, 1, 100)], {"from": alice})


# ---- commitOrder ------------------------------------------------------------------------------


def test_commitOrder_locksCollateralStoresAndEmits(senv, sealed, sslot, alice):
    senv.deposit(alice, 1_000_000)
    senv.deposit_energy(alice, sslot, 800)
    salt = new_salt()
    c = commitment_of(sealed, alice, sslot, False, 5, 500, salt)
    tx = sealed.commitOrder(alice, sslot, c, 70_000, 600, {"from": alice})
    cid = commit_id_of(alice, sslot, c)
    assert tx.return_value == cid
    assert tx.events["OrderCommitted"] == {
        "commitId": cid,
        "owner": alice,
        "slot": sslot,
        "lockedMoney": 70_000,
        "lockedWh": 600,
    }
    assert len(tx.events) == 1  # nothing about side, tick or quantity
    assert sealed.balanceOf(alice) == 1_000_000 - 70_000
    assert sealed.energyBalanceOf(alice, sslot) == 200
    assert commitment_view(sealed, cid) == {
        "owner": alice,
        "agent": brownie.ZERO_ADDRESS,
        "lockedMoney": 70_000,
        "lockedWh": 600,
    }


def test_commitOrder_idKeepsTheOrderIdLayout(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 3, 100)
    assert cid >> 192 == sslot
    assert (cid >> 64) & 0xFFFF == FEE_BPS


def test_commitOrder_nothingReadableBeforeGateClosure(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 3, 100)
    assert sealed.order(cid)[0] == brownie.ZERO_ADDRESS
    assert sealed.order(cid)[4] == 0
    assert not sealed.nextActiveTick(sslot, 0)[0]
    assert level_of(sealed, sslot, 3) == (0, 0)


def test_commitOrder_revertsBelowBond(senv, sealed, sslot, alice):
    senv.deposit(alice, BOND)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts(f"CommitmentBondNotCovered: {BOND - 1}, {BOND}"):
        sealed.commitOrder(alice, sslot, c, BOND - 1, 0, {"from": alice})


def test_commitOrder_acceptsExactlyTheBond(senv, sealed, sslot, alice):
    senv.deposit(alice, BOND)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice})
    assert sealed.balanceOf(alice) == 0


def test_commitOrder_revertsAboveLockLimit(senv, sealed, sslot, alice):
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts(f"CommitmentLockTooLarge: {MAX_LOCK + 1}, {MAX_LOCK}"):
        sealed.commitOrder(alice, sslot, c, MAX_LOCK + 1, 0, {"from": alice})


def test_commitOrder_revertsOnTheSameCommitmentTwice(senv, sealed, sslot, alice):
    salt = new_salt()
    cid, _ = senv.commit(alice, sslot, True, 3, 100, salt=salt)
    senv.deposit(alice, 10**6)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, salt)
    with brownie.reverts(f"CommitmentExists: {cid}"):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice})


def test_commitOrder_revertsAtGateClosure(senv, sealed, sslot, alice):
    senv.deposit(alice, 10**6)
    gc = senv.gate_closure(sslot)
    senv.next_block_at(gc)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts(f"OrderWindowClosed: {sslot}, {gc}"):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice})


def test_commitOrder_revertsBeforeWindowOpens(senv, sealed, sslot, alice):
    senv.deposit(alice, 10**6)
    future = sslot + 200  # opens 1 day before its start, far ahead
    opens = senv.slot_start(future) - 86_400
    c = commitment_of(sealed, alice, future, True, 3, 100, new_salt())
    with brownie.reverts(f"OrderWindowNotOpen: {future}, {opens}"):
        sealed.commitOrder(alice, future, c, BOND, 0, {"from": alice})


def test_commitOrder_revertsWhenBalanceShort(senv, sealed, sslot, alice):
    senv.deposit(alice, BOND - 1)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts(f"MarketInsufficientBalance: {addr(alice)}, {BOND - 1}, {BOND}"):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice})


def test_commitOrder_revertsWhenEnergyShort(senv, sealed, sslot, alice):
    senv.deposit(alice, BOND)
    senv.deposit_energy(alice, sslot, 99)
    c = commitment_of(sealed, alice, sslot, False, 3, 100, new_salt())
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {sslot}, 99, 100"):
        sealed.commitOrder(alice, sslot, c, BOND, 100, {"from": alice})


def test_commitOrder_revertsForStranger(senv, sealed, sslot, alice, stranger):
    senv.deposit(alice, 10**6)
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {addr(alice)}"):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": stranger})


def test_commitOrder_revertsWhenPaused(senv, sealed, sslot, admin, alice):
    senv.deposit(alice, 10**6)
    sealed.pause({"from": admin})
    c = commitment_of(sealed, alice, sslot, True, 3, 100, new_salt())
    with brownie.reverts("EnforcedPause: "):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice})


# ---- agents -------------------------------------------------------------------------------


def authorize(sealed, owner, agent, budget=200_000, sell_wh=1_000, max_buy=10, min_sell=2):
    expiry = brownie.chain.time() + 10 * 86_400
    sealed.authorizeAgent(agent, budget, sell_wh, max_buy, min_sell, expiry, {"from": owner})
    return expiry


def test_commitOrder_byAgentChargesLockedCollateral(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent)
    cid, _ = senv.commit(alice, sslot, False, 5, 400, locked_money=60_000, sender=agent)
    d = sealed.delegation(alice, agent)
    assert (d[5], d[6]) == (60_000, 400)  # spent, soldWh
    assert commitment_view(sealed, cid)["agent"] == agent


def test_commitOrder_byAgentRevertsOverBudget(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent, budget=BOND)
    senv.deposit(alice, 10**6)
    c = commitment_of(sealed, alice, sslot, True, 1, 100, new_salt())
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {BOND + 1}, {BOND}"):
        sealed.commitOrder(alice, sslot, c, BOND + 1, 0, {"from": agent})


def test_commitOrder_byAgentRevertsOverSellLimit(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent, sell_wh=100)
    senv.deposit(alice, 10**6)
    senv.deposit_energy(alice, sslot, 500)
    c = commitment_of(sealed, alice, sslot, False, 5, 101, new_salt())
    with brownie.reverts(f"AgentSellLimitExceeded: {addr(agent)}, 101, 100"):
        sealed.commitOrder(alice, sslot, c, BOND, 101, {"from": agent})


def test_commitOrder_byExpiredAgentReverts(senv, sealed, sslot, alice, agent):
    expiry = authorize(sealed, alice, agent)
    senv.deposit(alice, 10**6)
    senv.warp(expiry)
    slot = senv.trading_slot()
    c = commitment_of(sealed, alice, slot, True, 1, 100, new_salt())
    with brownie.reverts(f"AgentExpired: {addr(agent)}, {expiry}"):
        sealed.commitOrder(alice, slot, c, BOND, 0, {"from": agent})


def test_commitOrder_byRevokedAgentReverts(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent)
    sealed.revokeAgent(agent, {"from": alice})
    senv.deposit(alice, 10**6)
    c = commitment_of(sealed, alice, sslot, True, 1, 100, new_salt())
    with brownie.reverts(f"NotOwnerOrAgent: {addr(agent)}, {addr(alice)}"):
        sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": agent})


@pytest.mark.parametrize(
    ("bounds", "is_buy", "tick", "error"),
    [
        pytest.param(
            {"max_buy": 10}, True, 11, "AgentPriceOutOfBounds: 11, 10", id="buyAboveMaxBuyTick"
        ),
        pytest.param(
            {"min_sell": 4}, False, 3, "AgentPriceOutOfBounds: 3, 4", id="sellBelowMinSellTick"
        ),
    ],
)
def test_revealOrder_ofAgentCommitmentChecksPriceBounds(
    senv, sealed, sslot, alice, agent, bounds, is_buy, tick, error
):
    authorize(sealed, alice, agent, **bounds)
    _, opening = senv.commit(alice, sslot, is_buy, tick, 100, sender=agent)
    senv.reveal_opens(sslot)
    with brownie.reverts(error):
        senv.reveal(opening)


def test_revealOrder_ofAgentCommitmentWithinBounds(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent, max_buy=10)
    cid = senv.commit_revealed(alice, sslot, True, 10, 100, sender=agent)
    assert sealed.order(cid)[0] == alice


def test_revealOrder_ofOwnerCommitmentIgnoresAgentBounds(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent, max_buy=1)
    cid = senv.commit_revealed(alice, sslot, True, 50, 100)
    assert sealed.order(cid)[3] == 50


# ---- commitOrders ---------------------------------------------------------------------------


def test_commitOrders_commitsAllAndDebitsTheSum(senv, sealed, sslot, alice):
    senv.deposit(alice, 1_000_000)
    senv.deposit_energy(alice, sslot, 300)
    reqs = []
    for tick in (1, 2, 3):
        c = commitment_of(sealed, alice, sslot, tick != 2, tick, 100, new_salt())
        reqs.append((sslot, c, 100_000, 100 if tick == 2 else 0))
    tx = sealed.commitOrders(alice, reqs, {"from": alice})
    ids = [commit_id_of(alice, sslot, r[1]) for r in reqs]
    assert list(tx.return_value) == ids
    assert [e["commitId"] for e in tx.events["OrderCommitted"]] == ids
    assert sealed.balanceOf(alice) == 1_000_000 - 300_000
    assert sealed.energyBalanceOf(alice, sslot) == 200


def test_commitOrders_allOrNone(senv, sealed, sslot, alice):
    senv.deposit(alice, 1_000_000)
    good = (sslot, commitment_of(sealed, alice, sslot, True, 1, 100, new_salt()), BOND, 0)
    bad = (sslot, commitment_of(sealed, alice, sslot, True, 1, 100, new_salt()), BOND - 1, 0)
    with brownie.reverts(f"CommitmentBondNotCovered: {BOND - 1}, {BOND}"):
        sealed.commitOrders(alice, [good, bad], {"from": alice})
    assert sealed.balanceOf(alice) == 1_000_000


def test_commitOrders_byAgentChargesTheSums(senv, sealed, sslot, alice, agent):
    authorize(sealed, alice, agent, budget=150_000)
    senv.deposit(alice, 1_000_000)
    reqs = [
        (sslot, commitment_of(sealed, alice, sslot, True, 1, 100, new_salt()), 75_000, 0)
        for _ in range(2)
    ]
    tx = sealed.commitOrders(alice, reqs, {"from": agent})
    assert sealed.delegation(alice, agent)[5] == 150_000
    reqs = [(sslot, commitment_of(sealed, alice, sslot, True, 1, 100, new_salt()), BOND, 0)]
    # one second later (pinned: the budget refills 150,000 a day, 1.7 units a second, rounded down)
    senv.next_block_at(tx.timestamp + 1)
    spent = 150_000 - 150_000 * 1 // 86_400 + BOND
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {spent}, 150000"):
        sealed.commitOrders(alice, reqs, {"from": agent})


def test_commitOrders_revertsForStranger(senv, sealed, sslot, alice, stranger):
    reqs = [(sslot, commitment_of(sealed, alice, sslot, True, 1, 100, new_salt()), BOND, 0)]
    with brownie.reverts(f"NotOwnerOrAgent: {addr(stranger)}, {addr(alice)}"):
        sealed.commitOrders(alice, reqs, {"from": stranger})


def test_commitOrders_revertsWhenPaused(senv, sealed, sslot, admin, alice):
    sealed.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        sealed.commitOrders(alice, [], {"from": alice})


# ---- revealOrder ----------------------------------------------------------------------------


def test_revealOrder_booksTheOrderAndReturnsTheRest(senv, sealed, sslot, alice, relayer):
    escrow = cost(4_000, price_of(9))
    cid, opening = senv.commit(alice, sslot, True, 9, 4_000, locked_money=escrow + 12_345)
    senv.reveal_opens(sslot)
    tx = senv.reveal(opening, sender=relayer)
    assert tx.return_value == cid
    assert tx.events["OrderPlaced"] == {
        "orderId": cid,
        "owner": alice,
        "slot": sslot,
        "isBuy": True,
        "tick": 9,
        "qtyWh": 4_000,
    }
    assert tx.events["OrderRevealed"] == {"commitId": cid, "orderId": cid}
    assert sealed.balanceOf(alice) == 12_345
    assert level_of(sealed, sslot, 9) == (4_000, 0)
    found, tick = sealed.nextActiveTick(sslot, 0)
    assert found and tick == 9
    o = sealed.order(cid)
    assert (o[0], o[1], o[2], o[3], o[4], o[5]) == (alice, sslot, True, 9, 4_000, FEE_BPS)
    assert commitment_view(sealed, cid)["owner"] == brownie.ZERO_ADDRESS


def test_revealOrder_sellReturnsBondAndSpareTokens(senv, sealed, sslot, alice):
    senv.commit_revealed(alice, sslot, False, 4, 300, locked_money=BOND + 7, locked_wh=500)
    assert sealed.balanceOf(alice) == BOND + 7
    assert sealed.energyBalanceOf(alice, sslot) == 200
    assert level_of(sealed, sslot, 4) == (0, 300)


def test_revealOrder_revertsAtGateClosure(senv, sealed, sslot, alice):
    _, opening = senv.commit(alice, sslot, True, 1, 100)
    gc = senv.gate_closure(sslot)
    senv.next_block_at(gc)
    with brownie.reverts(f"RevealWindowNotOpen: {sslot}, {gc}"):
        senv.reveal(opening)


def test_revealOrder_acceptsTheLastSecond(senv, sealed, sslot, alice):
    cid, opening = senv.commit(alice, sslot, True, 1, 100)
    senv.next_block_at(senv.gate_closure(sslot) + REVEAL_SECONDS)
    senv.reveal(opening)
    assert sealed.order(cid)[0] == alice


def test_revealOrder_revertsAfterTheWindow(senv, sealed, sslot, alice):
    _, opening = senv.commit(alice, sslot, True, 1, 100)
    end = senv.gate_closure(sslot) + REVEAL_SECONDS
    senv.next_block_at(end + 1)
    with brownie.reverts(f"RevealWindowClosed: {sslot}, {end}"):
        senv.reveal(opening)


def test_revealOrder_revertsOnUnknownId(senv, sealed, sslot):
    senv.reveal_opens(sslot)
    with brownie.reverts("CommitmentNotFound: 12345"):
        sealed.revealOrder(12345, True, 1, 100, new_salt(), {"from": senv.relayer})


def test_revealOrder_revertsBelowMinimumSize(senv, sealed, sslot, alice):
    _, opening = senv.commit(alice, sslot, True, 1, MIN_ORDER_WH - 1)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"OrderQtyTooSmall: {MIN_ORDER_WH - 1}, {MIN_ORDER_WH}"):
        senv.reveal(opening)


def test_revealOrder_revertsAboveMaxTick(senv, sealed, sslot, alice):
    _, opening = senv.commit(alice, sslot, True, MAX_TICK + 1, 100, locked_money=10**6)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"OrderTickOutOfRange: {MAX_TICK + 1}, {MAX_TICK}"):
        senv.reveal(opening)


def test_revealOrder_revertsWhenMoneyShort(senv, sealed, sslot, alice):
    escrow = cost(1_000, price_of(500))
    cid, opening = senv.commit(alice, sslot, True, 500, 1_000, locked_money=escrow - 1)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentMoneyShort: {cid}, {escrow}, {escrow - 1}"):
        senv.reveal(opening)


def test_revealOrder_revertsWhenEnergyShort(senv, sealed, sslot, alice):
    cid, opening = senv.commit(alice, sslot, False, 5, 300, locked_wh=299)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentEnergyShort: {cid}, 300, 299"):
        senv.reveal(opening)


def test_revealOrder_worksWhilePaused(senv, sealed, sslot, admin, alice):
    cid, opening = senv.commit(alice, sslot, True, 1, 100)
    sealed.pause({"from": admin})
    senv.reveal_opens(sslot)
    senv.reveal(opening)
    assert sealed.order(cid)[0] == alice


# ---- revealOrders ---------------------------------------------------------------------------


def test_revealOrders_revealsAllAndSkipsTheRevealed(senv, sealed, sslot, alice, bob):
    _a, oa = senv.commit(alice, sslot, True, 8, 100)
    b, ob = senv.commit(bob, sslot, False, 2, 100)
    senv.reveal_opens(sslot)
    senv.reveal(oa)  # someone revealed alice's first
    tx = sealed.revealOrders([oa, ob], {"from": senv.relayer})
    assert list(tx.return_value) == [0, b]
    assert len(tx.events["OrderRevealed"]) == 1
    assert level_of(sealed, sslot, 8) == (100, 0) and level_of(sealed, sslot, 2) == (0, 100)


def test_revealOrders_revertsOnAnyMismatch(senv, sealed, sslot, alice, bob):
    _a, oa = senv.commit(alice, sslot, True, 8, 100)
    b, ob = senv.commit(bob, sslot, False, 2, 100)
    senv.reveal_opens(sslot)
    wrong = (b, False, 3, 100, ob[4])
    with brownie.reverts(f"CommitmentMismatch: {b}"):
        sealed.revealOrders([oa, wrong], {"from": senv.relayer})
    assert level_of(sealed, sslot, 8) == (0, 0)


# ---- clear, claims, void ----------------------------------------------------------------------


def test_clear_revertsDuringTheRevealWindow(senv, sealed, sslot, alice):
    senv.commit(alice, sslot, True, 1, 100)
    end = senv.gate_closure(sslot) + REVEAL_SECONDS
    senv.next_block_at(end)
    with brownie.reverts(f"RevealWindowOpen: {sslot}, {end}"):
        senv.clear(sslot)


def test_clear_revertsBeforeGateClosure(senv, sealed, sslot):
    with brownie.reverts(f"GateNotClosed: {sslot}, {senv.gate_closure(sslot)}"):
        senv.clear(sslot)


def test_clear_afterRevealClearsAndSettlesLikeOpenMode(senv, sealed, token, sslot, alice, bob):
    ca, oa = senv.commit(alice, sslot, True, 8, 500)
    cb, ob = senv.commit(bob, sslot, False, 2, 300)
    senv.reveal_all(sslot, [oa, ob])
    senv.reveal_ends(sslot)
    senv.clear(sslot)
    ref = reference_clear([(True, 8, 500), (False, 2, 300)])
    assert senv.clearing(sslot) == {"cleared": True, **ref}
    sealed.claimBatch([ca, cb], {"from": senv.relayer})
    assert sealed.energyBalanceOf(alice, sslot) == 300
    assert sealed.order(ca)[0] == brownie.ZERO_ADDRESS


def test_claim_ofUnrevealedCommitmentReverts(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 1, 100)
    senv.reveal_ends(sslot)
    senv.clear(sslot)
    with brownie.reverts(f"OrderNotFound: {cid}"):
        sealed.claim(cid, {"from": alice})
    assert sealed.claimBatch([cid], {"from": alice}).return_value == 0
    with brownie.reverts(f"OrderNotFound: {cid}"):
        sealed.previewClaim(cid)


def test_cancelOrder_ofUnrevealedCommitmentReverts(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 1, 100)
    with brownie.reverts(f"OrderNotFound: {cid}"):
        sealed.cancelOrder(cid, {"from": alice})


def test_cancelOrder_ofRevealedOrderRevertsBeforeVoid(senv, sealed, sslot, alice):
    cid = senv.commit_revealed(alice, sslot, True, 1, 100)
    with brownie.reverts(f"CancelWindowClosed: {sslot}, {sealed.cancelCutoff(sslot)}"):
        sealed.cancelOrder(cid, {"from": alice})


def test_cancelOrders_voidSlotRefundsRevealedOrdersToAnyone(
    senv, sealed, sslot, alice, bob, stranger
):
    ca, oa = senv.commit(alice, sslot, True, 8, 500)
    cb, ob = senv.commit(bob, sslot, False, 2, 300)
    senv.reveal_all(sslot, [oa, ob])
    senv.warp(senv.gate_closure(sslot) + CLEAR_WINDOW)
    with brownie.reverts(f"SlotVoid: {sslot}, {senv.gate_closure(sslot) + CLEAR_WINDOW}"):
        senv.clear(sslot)
    sealed.cancelOrders([ca, cb], {"from": stranger})
    assert sealed.balanceOf(alice) == max(cost(500, price_of(8)), BOND)  # all it locked
    assert sealed.energyBalanceOf(bob, sslot) == 300
    assert sealed.balanceOf(bob) == BOND


# ---- reclaimCommitment ------------------------------------------------------------------------


def test_reclaimCommitment_forfeitsBondAndReturnsTheRest(
    senv, sealed, sslot, alice, treasury, stranger
):
    cid, _ = senv.commit(alice, sslot, False, 3, 100, locked_money=BOND + 999, locked_wh=250)
    senv.reveal_ends(sslot)
    tx = sealed.reclaimCommitment(cid, {"from": stranger})
    assert tx.events["CommitmentForfeited"] == {
        "commitId": cid,
        "owner": alice,
        "bond": BOND,
        "refundMoney": 999,
        "refundWh": 250,
    }
    assert sealed.balanceOf(treasury) == BOND
    assert sealed.balanceOf(alice) == 999
    assert sealed.energyBalanceOf(alice, sslot) == 250
    assert commitment_view(sealed, cid)["owner"] == brownie.ZERO_ADDRESS


def test_reclaimCommitment_revertsDuringTheRevealWindow(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 1, 100)
    end = senv.gate_closure(sslot) + REVEAL_SECONDS
    senv.next_block_at(end)
    with brownie.reverts(f"RevealWindowOpen: {sslot}, {end}"):
        sealed.reclaimCommitment(cid, {"from": alice})


def test_reclaimCommitment_revertsTwice(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 1, 100)
    senv.reveal_ends(sslot)
    sealed.reclaimCommitment(cid, {"from": alice})
    with brownie.reverts(f"CommitmentNotFound: {cid}"):
        sealed.reclaimCommitment(cid, {"from": alice})


def test_reclaimCommitment_revertsForRevealedOrder(senv, sealed, sslot, alice):
    cid = senv.commit_revealed(alice, sslot, True, 1, 100)
    senv.reveal_ends(sslot)
    with brownie.reverts(f"CommitmentNotFound: {cid}"):
        sealed.reclaimCommitment(cid, {"from": alice})


def test_reclaimCommitment_worksAfterClearingAndWhilePaused(
    senv, sealed, sslot, admin, alice, treasury
):
    cid, _ = senv.commit(alice, sslot, True, 1, 100, locked_money=BOND)
    senv.reveal_ends(sslot)
    senv.clear(sslot)
    sealed.pause({"from": admin})
    sealed.reclaimCommitment(cid, {"from": alice})
    assert sealed.balanceOf(treasury) == BOND and sealed.balanceOf(alice) == 0


def test_reclaimCommitment_worksInAVoidSlot(senv, sealed, sslot, alice):
    cid, _ = senv.commit(alice, sslot, True, 1, 100, locked_money=BOND + 1)
    senv.warp(senv.gate_closure(sslot) + CLEAR_WINDOW + 1)
    sealed.reclaimCommitment(cid, {"from": alice})
    assert sealed.balanceOf(alice) == 1


def test_commitment_ofUnknownIdIsZero(sealed):
    assert commitment_view(sealed, 1) == {
        "owner": brownie.ZERO_ADDRESS,
        "agent": brownie.ZERO_ADDRESS,
        "lockedMoney": 0,
        "lockedWh": 0,
    }
