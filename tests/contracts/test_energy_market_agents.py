"""EnergyMarket agents: delegated order placement within limits (rolling buy budget and sell limit,
price bounds, expiry)."""

import brownie
import pytest
from conftest import ZERO_ADDRESS, addr, cost, price_of, struct_fields

DAY = 86_400
BUDGET = 20_000
SELL_WH = 1_500
MAX_BUY_TICK = 20
MIN_SELL_TICK = 10


def delegation_of(market, owner, agent):
    return struct_fields(
        market.delegation(owner, agent),
        "budget sellWh maxBuyTick minSellTick expiry spent soldWh updatedAt",
    )


def decayed(use: int, limit_per_day: int, elapsed: int) -> int:
    """The contract's decay: ``use`` less ``limit_per_day`` per day of ``elapsed``, at least 0."""
    return max(use - limit_per_day * elapsed // DAY, 0)


def slot_at(env, timestamp: int) -> int:
    """A slot whose order window is open at ``timestamp``."""
    return (timestamp - env.epoch) // 900 + 2


@pytest.fixture
def expiry(env):
    return env.latest_timestamp() + 30 * DAY


@pytest.fixture
def delegated(env, slot, market, alice, agent, expiry):
    """alice funded with 10^9 and 1,000 Wh of ``slot`` in the vault; ``agent`` authorized with the
    module limits."""
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 1_000)
    market.authorizeAgent(
        agent, BUDGET, SELL_WH, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice}
    )
    return slot


# ---- authorizeAgent / revokeAgent -----------------------------------------------------------


def test_authorizeAgent_storesLimitsAndEmits(env, market, alice, agent, expiry):
    tx = market.authorizeAgent(
        agent, BUDGET, SELL_WH, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice}
    )
    assert tx.events["AgentAuthorized"] == {
        "owner": alice,
        "agent": agent,
        "budgetPerDay": BUDGET,
        "sellWhPerDay": SELL_WH,
        "maxBuyTick": MAX_BUY_TICK,
        "minSellTick": MIN_SELL_TICK,
        "expiry": expiry,
    }
    assert delegation_of(market, alice, agent) == {
        "budget": BUDGET,
        "sellWh": SELL_WH,
        "maxBuyTick": MAX_BUY_TICK,
        "minSellTick": MIN_SELL_TICK,
        "expiry": expiry,
        "spent": 0,
        "soldWh": 0,
        "updatedAt": 0,
    }


def test_authorizeAgent_revertsForZeroAgent(market, alice, expiry):
    with brownie.reverts(f"AgentInvalid: {ZERO_ADDRESS}"):
        market.authorizeAgent(ZERO_ADDRESS, BUDGET, SELL_WH, 1, 1, expiry, {"from": alice})


def test_authorizeAgent_revertsForSelf(market, alice, expiry):
    with brownie.reverts(f"AgentInvalid: {addr(alice)}"):
        market.authorizeAgent(alice, BUDGET, SELL_WH, 1, 1, expiry, {"from": alice})


def test_authorizeAgent_revertsForExpiryNow(env, market, alice, agent):
    now = env.latest_timestamp() + 5
    env.next_block_at(now)
    with brownie.reverts(f"AgentInvalidExpiry: {now}"):
        market.authorizeAgent(agent, BUDGET, SELL_WH, 1, 1, now, {"from": alice})


def test_authorizeAgent_revertsForPastExpiry(env, market, alice, agent):
    past = env.latest_timestamp() - 1
    with brownie.reverts(f"AgentInvalidExpiry: {past}"):
        market.authorizeAgent(agent, BUDGET, SELL_WH, 1, 1, past, {"from": alice})


def test_revokeAgent_endsAuthorizationKeepingLimitsAndUseAndEmits(delegated, market, alice, agent):
    market.placeOrder(alice, delegated, True, 1, 100, {"from": agent})
    before = delegation_of(market, alice, agent)
    tx = market.revokeAgent(agent, {"from": alice})
    assert tx.events["AgentRevoked"] == {"owner": alice, "agent": agent}
    assert delegation_of(market, alice, agent) == {**before, "expiry": 0}


def test_authorizeAgent_acceptsZeroLimitsLeavingACancelOnlyAgent(env, slot, market, alice, agent):
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 100)
    market.authorizeAgent(
        agent, 0, 0, MAX_BUY_TICK, 0, env.latest_timestamp() + DAY, {"from": alice}
    )
    oid = env.buy(alice, slot, 1, 100)
    with brownie.reverts(f"AgentSellLimitExceeded: {addr(agent)}, 100, 0"):
        market.placeOrder(alice, slot, False, 1, 100, {"from": agent})
    market.cancelOrder(oid, {"from": agent})
    assert market.balanceOf(alice) == 10**9


# ---- within limits --------------------------------------------------------------------------


def test_agent_placesBuyWithinLimitsFromOwnersVault(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(333, price_of(MAX_BUY_TICK))
    tx = market.placeOrder(alice, slot, True, MAX_BUY_TICK, 333, {"from": agent})
    oid = tx.events["OrderPlaced"]["orderId"]
    assert market.order(oid)[0] == alice
    assert market.balanceOf(alice) == 10**9 - escrow
    assert market.balanceOf(agent) == 0
    d = delegation_of(market, alice, agent)
    assert (d["spent"], d["soldWh"], d["updatedAt"]) == (escrow, 0, tx.timestamp)


def test_agent_placesSellAtMinSellTickCountingSoldWhNotBudget(delegated, env, market, alice, agent):
    slot = delegated
    tx = market.placeOrder(alice, slot, False, MIN_SELL_TICK, 1_000, {"from": agent})
    assert market.energyBalanceOf(alice, slot) == 0
    d = delegation_of(market, alice, agent)
    assert (d["spent"], d["soldWh"], d["updatedAt"]) == (0, 1_000, tx.timestamp)


def test_agent_budgetMayBeUsedExactly(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(500, price_of(5))
    market.authorizeAgent(
        agent, escrow, 0, MAX_BUY_TICK, MIN_SELL_TICK, env.latest_timestamp() + DAY, {"from": alice}
    )
    market.placeOrder(alice, slot, True, 5, 500, {"from": agent})
    assert delegation_of(market, alice, agent)["spent"] == escrow


def test_agent_cancelsOwnersOrderAndRefundGoesToOwner(delegated, env, market, alice, agent):
    slot = delegated
    oid = env.buy(alice, slot, 5, 500, sender=agent)
    market.cancelOrder(oid, {"from": agent})
    assert market.balanceOf(alice) == 10**9
    assert market.balanceOf(agent) == 0
    # the budget counts escrow committed, a cancel does not give it back
    assert delegation_of(market, alice, agent)["spent"] == cost(500, price_of(5))


def test_agent_cancelsOrderTheOwnerPlaced(delegated, env, market, alice, agent):
    slot = delegated
    oid = env.buy(alice, slot, 50, 500)
    market.cancelOrder(oid, {"from": agent})
    assert market.balanceOf(alice) == 10**9


def test_agent_cancelRevertsFromTheCancelCutoff(delegated, env, market, alice, agent):
    """L-3: the firm last half of the settlement window binds agents as it binds owners."""
    slot = delegated
    oid = env.buy(alice, slot, 5, 500, sender=agent)
    cutoff = market.cancelCutoff(slot)
    env.next_block_at(cutoff)
    with brownie.reverts(f"CancelWindowClosed: {slot}, {cutoff}"):
        market.cancelOrder(oid, {"from": agent})


def test_agent_claimCreditsOwner(delegated, env, market, alice, bob, agent):
    slot = delegated
    oid = env.sell(alice, slot, MIN_SELL_TICK, 1_000, sender=agent)
    env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    env.clear(slot)
    market.claim(oid, {"from": agent})
    assert market.balanceOf(agent) == 0
    assert market.balanceOf(alice) > 10**9


def test_agent_placeOrdersWithinLimits(delegated, env, market, alice, agent):
    slot = delegated
    reqs = [(slot, True, 5, 200), (slot, False, 15, 400), (slot + 1, True, MAX_BUY_TICK, 300)]
    market.placeOrders(alice, reqs, {"from": agent})
    d = delegation_of(market, alice, agent)
    assert d["spent"] == cost(200, price_of(5)) + cost(300, price_of(MAX_BUY_TICK))
    assert d["soldWh"] == 400


def test_agent_placeOrdersOfSellsOnlySpendsNoBudget(delegated, env, market, alice, agent):
    slot = delegated
    market.placeOrders(alice, [(slot, False, 15, 400), (slot, False, 16, 400)], {"from": agent})
    d = delegation_of(market, alice, agent)
    assert (d["spent"], d["soldWh"]) == (0, 800)


# ---- refusals -------------------------------------------------------------------------------


def test_agent_revertsOverDailyBudget(delegated, env, market, alice, agent):
    slot = delegated
    first = cost(333, price_of(20))  # 7,573 (333 * 22,741 / 1000 = 7,572.753, rounded up)
    env.buy(alice, slot, 20, 333, sender=agent)
    env.buy(alice, slot, 20, 333, sender=agent)
    # one second later: the decay (BUDGET per day) gives back less than one unit
    env.next_block_at(delegation_of(market, alice, agent)["updatedAt"] + 1)
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {3 * first}, {BUDGET}"):
        market.placeOrder(alice, slot, True, 20, 333, {"from": agent})
    assert delegation_of(market, alice, agent)["spent"] == 2 * first


def test_agent_revertsWhenSingleOrderExceedsBudget(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(1_000, price_of(1))
    assert escrow > BUDGET
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {escrow}, {BUDGET}"):
        market.placeOrder(alice, slot, True, 1, 1_000, {"from": agent})


def test_agent_placeOrdersRevertsWhenSumExceedsBudget(delegated, env, market, alice, agent):
    slot = delegated
    each = cost(600, price_of(1))
    assert each <= BUDGET < 2 * each
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {2 * each}, {BUDGET}"):
        market.placeOrders(alice, [(slot, True, 1, 600), (slot, True, 1, 600)], {"from": agent})
    assert market.balanceOf(alice) == 10**9


def test_agent_revertsOnBuyAboveMaxBuyTick(delegated, market, alice, agent):
    with brownie.reverts(f"AgentPriceOutOfBounds: {MAX_BUY_TICK + 1}, {MAX_BUY_TICK}"):
        market.placeOrder(alice, delegated, True, MAX_BUY_TICK + 1, 100, {"from": agent})


def test_agent_revertsOnSellBelowMinSellTick(delegated, market, alice, agent):
    with brownie.reverts(f"AgentPriceOutOfBounds: {MIN_SELL_TICK - 1}, {MIN_SELL_TICK}"):
        market.placeOrder(alice, delegated, False, MIN_SELL_TICK - 1, 100, {"from": agent})


def test_agent_placeOrdersRevertsOnAnyOrderOutOfBounds(delegated, market, alice, agent):
    slot = delegated
    with brownie.reverts(f"AgentPriceOutOfBounds: {MIN_SELL_TICK - 1}, {MIN_SELL_TICK}"):
        market.placeOrders(
            alice, [(slot, True, 1, 100), (slot, False, MIN_SELL_TICK - 1, 100)], {"from": agent}
        )


def test_agent_revertsAtExpiry(delegated, env, market, alice, agent, expiry):
    env.next_block_at(expiry)
    with brownie.reverts(f"AgentExpired: {addr(agent)}, {expiry}"):
        market.placeOrder(alice, env.current_slot() + 2, True, 1, 100, {"from": agent})


def test_agent_acceptedOneSecondBeforeExpiry(delegated, env, market, alice, agent, expiry):
    env.next_block_at(expiry - 1)
    slot = (expiry - 1 - env.epoch) // 900 + 2
    oid = env.buy(alice, slot, 1, 100, sender=agent)
    assert market.order(oid)[0] == alice


def test_agent_expiredCannotCancel(delegated, env, market, alice, agent):
    slot = delegated
    oid = env.buy(alice, slot, 1, 100, sender=agent)
    soon = env.latest_timestamp() + 10
    market.authorizeAgent(
        agent, BUDGET, SELL_WH, MAX_BUY_TICK, MIN_SELL_TICK, soon, {"from": alice}
    )
    env.next_block_at(soon)
    with brownie.reverts(f"AgentExpired: {addr(agent)}, {soon}"):
        market.cancelOrder(oid, {"from": agent})


def test_agent_revokedCannotPlace(delegated, market, alice, agent):
    market.revokeAgent(agent, {"from": alice})
    with brownie.reverts(f"NotOwnerOrAgent: {addr(agent)}, {addr(alice)}"):
        market.placeOrder(alice, delegated, True, 1, 100, {"from": agent})


def test_agent_revokedCannotCancel(delegated, env, market, alice, agent):
    oid = env.buy(alice, delegated, 1, 100, sender=agent)
    market.revokeAgent(agent, {"from": alice})
    with brownie.reverts(f"NotOwnerOrAgent: {addr(agent)}, {addr(alice)}"):
        market.cancelOrder(oid, {"from": agent})


def test_agent_revokedOrdersStayResting(delegated, env, market, alice, agent):
    oid = env.buy(alice, delegated, 1, 100, sender=agent)
    market.revokeAgent(agent, {"from": alice})
    assert market.order(oid)[0] == alice


def test_agent_cannotActForAnotherOwner(delegated, env, market, bob, agent):
    env.deposit(bob, 10**9)
    with brownie.reverts(f"NotOwnerOrAgent: {addr(agent)}, {addr(bob)}"):
        market.placeOrder(bob, delegated, True, 1, 100, {"from": agent})


def test_agent_neverWithdrawsOwnersFunds(delegated, market, alice, agent):
    with brownie.reverts(f"MarketInsufficientBalance: {addr(agent)}, 0, 1"):
        market.withdraw(1, {"from": agent})
    assert market.balanceOf(alice) == 10**9


def test_agent_neverWithdrawsOwnersEnergy(delegated, market, alice, agent):
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(agent)}, {delegated}, 0, 1"):
        market.withdrawEnergy(delegated, 1, {"from": agent})
    assert market.energyBalanceOf(alice, delegated) == 1_000


def test_agent_neverTransfersOwnersTokens(delegated, env, token, alice, agent):
    env.mint_energy(alice, delegated - 1, 500)
    with brownie.reverts(f"ERC1155MissingApprovalForAll: {addr(agent)}, {addr(alice)}"):
        token.safeTransferFrom(alice, agent, delegated - 1, 1, b"", {"from": agent})


def test_agent_ordersForItselfUseItsOwnVault(delegated, market, agent):
    """An agent acting in its own name is a plain user: alice's funds are out of reach."""
    with brownie.reverts(f"MarketInsufficientBalance: {addr(agent)}, 0, {cost(100, price_of(1))}"):
        market.placeOrder(agent, delegated, True, 1, 100, {"from": agent})


# ---- the rolling day (audit L-2) ------------------------------------------------------------


def test_agent_twoBudgetsAcrossMidnightWithinSecondsRevert(env, slot, market, alice, agent):
    """Failed before the fix: the budget restarted at the UTC day boundary."""
    env.deposit(alice, 10**9)
    escrow = cost(800, price_of(1))
    midnight = (env.latest_timestamp() // DAY + 1) * DAY
    market.authorizeAgent(agent, escrow, SELL_WH, 20, 10, midnight + 30 * DAY, {"from": alice})
    env.next_block_at(midnight - 1)
    market.placeOrder(alice, slot_at(env, midnight - 1), True, 1, 800, {"from": agent})
    env.next_block_at(midnight + 1)
    spent = decayed(escrow, escrow, 2) + escrow
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {spent}, {escrow}"):
        market.placeOrder(alice, slot_at(env, midnight + 1), True, 1, 800, {"from": agent})


def test_agent_revokeThenReauthorizeSameDayGrantsNoFreshBudget(env, slot, market, alice, agent):
    """Failed before the fix: revoking deleted the day's spending."""
    env.deposit(alice, 10**9)
    escrow = cost(800, price_of(1))
    expiry = env.latest_timestamp() + 30 * DAY
    market.authorizeAgent(agent, escrow, SELL_WH, 20, 10, expiry, {"from": alice})
    tx = market.placeOrder(alice, slot, True, 1, 800, {"from": agent})
    market.revokeAgent(agent, {"from": alice})
    market.authorizeAgent(agent, escrow, SELL_WH, 20, 10, expiry, {"from": alice})
    env.next_block_at(tx.timestamp + 60)
    spent = decayed(escrow, escrow, 60) + escrow
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {spent}, {escrow}"):
        market.placeOrder(alice, slot, True, 1, 800, {"from": agent})


def test_agent_sellBeyondTheSellLimitReverts(delegated, env, market, alice, agent):
    """Failed before the fix: an agent could sell the whole vault at ``minSellTick``."""
    slot = delegated
    env.deposit_energy(alice, slot, 1_000)
    tx = market.placeOrder(alice, slot, False, MIN_SELL_TICK, 1_000, {"from": agent})
    env.next_block_at(tx.timestamp + 10)
    sold = decayed(1_000, SELL_WH, 10) + 600
    with brownie.reverts(f"AgentSellLimitExceeded: {addr(agent)}, {sold}, {SELL_WH}"):
        market.placeOrder(alice, slot, False, MIN_SELL_TICK, 600, {"from": agent})
    assert market.energyBalanceOf(alice, slot) == 1_000


def test_agent_placeOrdersRevertsWhenSellsExceedTheSellLimit(delegated, env, market, alice, agent):
    slot = delegated
    env.deposit_energy(alice, slot, 1_000)
    with brownie.reverts(f"AgentSellLimitExceeded: {addr(agent)}, 1600, {SELL_WH}"):
        market.placeOrders(
            alice, [(slot, False, 15, 1_000), (slot, False, 15, 600)], {"from": agent}
        )


def test_agent_sellLimitMayBeUsedExactly(delegated, env, market, alice, agent):
    slot = delegated
    env.deposit_energy(alice, slot, 1_000)
    market.placeOrders(alice, [(slot, False, 15, 1_000), (slot, False, 15, 500)], {"from": agent})
    assert delegation_of(market, alice, agent)["soldWh"] == SELL_WH


def test_agent_useDecaysLinearlyOverTwentyFourHours(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(800, price_of(1))
    tx = market.placeOrder(alice, slot, True, 1, 800, {"from": agent})
    half_day = tx.timestamp + DAY // 2
    env.next_block_at(half_day)
    tx = market.placeOrder(alice, slot_at(env, half_day), True, 1, 100, {"from": agent})
    d = delegation_of(market, alice, agent)
    assert d["spent"] == decayed(escrow, BUDGET, DAY // 2) + cost(100, price_of(1))
    assert d["updatedAt"] == tx.timestamp


def spend_a_budget_of_one_buy(env, market, alice, agent, slot):
    """Alice re-authorizes ``agent`` with a daily budget of exactly one buy of 800 Wh at tick 1
    (for three days), and the agent spends it on ``slot``: the escrow and the placing tx."""
    escrow = cost(800, price_of(1))
    market.authorizeAgent(
        agent,
        escrow,
        SELL_WH,
        MAX_BUY_TICK,
        MIN_SELL_TICK,
        env.latest_timestamp() + 3 * DAY,
        {"from": alice},
    )
    return escrow, market.placeOrder(alice, slot, True, 1, 800, {"from": agent})


def test_agent_fullBudgetAgainTwentyFourHoursAfterSpendingIt(delegated, env, market, alice, agent):
    escrow, tx = spend_a_budget_of_one_buy(env, market, alice, agent, delegated)
    later = tx.timestamp + DAY
    env.next_block_at(later)
    market.placeOrder(alice, slot_at(env, later), True, 1, 800, {"from": agent})
    assert delegation_of(market, alice, agent)["spent"] == escrow


def test_agent_budgetStillSpentOneSecondBeforeTwentyFourHours(delegated, env, market, alice, agent):
    escrow, tx = spend_a_budget_of_one_buy(env, market, alice, agent, delegated)
    later = tx.timestamp + DAY - 1
    env.next_block_at(later)
    spent = decayed(escrow, escrow, DAY - 1) + escrow
    assert spent == escrow + 1
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {spent}, {escrow}"):
        market.placeOrder(alice, slot_at(env, later), True, 1, 800, {"from": agent})


def test_agent_reauthorizationKeepsTheUse(delegated, env, market, alice, agent, expiry):
    slot = delegated
    escrow = cost(800, price_of(1))
    tx = market.placeOrder(alice, slot, True, 1, 800, {"from": agent})
    market.authorizeAgent(
        agent, BUDGET + 1, SELL_WH, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice}
    )
    assert delegation_of(market, alice, agent)["spent"] == escrow
    env.next_block_at(tx.timestamp + 5)
    spent = decayed(escrow, BUDGET + 1, 5) + escrow
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {spent}, {BUDGET + 1}"):
        market.placeOrder(alice, slot, True, 1, 800, {"from": agent})


def test_agent_zeroBudgetAllowsSellsOnly(env, slot, market, alice, agent, expiry):
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 100)
    market.authorizeAgent(agent, 0, SELL_WH, MAX_BUY_TICK, 0, expiry, {"from": alice})
    env.sell(alice, slot, 0, 100, sender=agent)
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {cost(100, price_of(0))}, 0"):
        market.placeOrder(alice, slot, True, 0, 100, {"from": agent})
