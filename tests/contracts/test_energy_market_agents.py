"""EnergyMarket agents: delegated order placement within limits (budget per UTC day, price bounds,
expiry)."""

import brownie
import pytest
from conftest import ZERO_ADDRESS, addr, cost, price_of

DAY = 86_400
BUDGET = 20_000
MAX_BUY_TICK = 20
MIN_SELL_TICK = 10


def delegation_of(market, owner, agent):
    d = market.delegation(owner, agent)
    return {
        "budget": d[0],
        "maxBuyTick": d[1],
        "minSellTick": d[2],
        "expiry": d[3],
        "day": d[4],
        "spent": d[5],
    }


@pytest.fixture
def expiry(env):
    return env.latest_timestamp() + 30 * DAY


@pytest.fixture
def delegated(env, slot, market, alice, agent, expiry):
    """alice funded with 10^9 and 1,000 Wh of ``slot`` in the vault; ``agent`` authorized with the
    module limits."""
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 1_000)
    market.authorizeAgent(agent, BUDGET, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice})
    return slot


# ---- authorizeAgent / revokeAgent -----------------------------------------------------------


def test_authorizeAgent_storesLimitsAndEmits(env, market, alice, agent, expiry):
    tx = market.authorizeAgent(agent, BUDGET, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice})
    assert tx.events["AgentAuthorized"] == {
        "owner": alice,
        "agent": agent,
        "budgetPerDay": BUDGET,
        "maxBuyTick": MAX_BUY_TICK,
        "minSellTick": MIN_SELL_TICK,
        "expiry": expiry,
    }
    assert delegation_of(market, alice, agent) == {
        "budget": BUDGET,
        "maxBuyTick": MAX_BUY_TICK,
        "minSellTick": MIN_SELL_TICK,
        "expiry": expiry,
        "day": 0,
        "spent": 0,
    }


def test_authorizeAgent_revertsForZeroAgent(market, alice, expiry):
    with brownie.reverts(f"AgentInvalid: {ZERO_ADDRESS}"):
        market.authorizeAgent(ZERO_ADDRESS, BUDGET, 1, 1, expiry, {"from": alice})


def test_authorizeAgent_revertsForSelf(market, alice, expiry):
    with brownie.reverts(f"AgentInvalid: {addr(alice)}"):
        market.authorizeAgent(alice, BUDGET, 1, 1, expiry, {"from": alice})


def test_authorizeAgent_revertsForExpiryNow(env, market, alice, agent):
    now = env.latest_timestamp() + 5
    env.next_block_at(now)
    with brownie.reverts(f"AgentInvalidExpiry: {now}"):
        market.authorizeAgent(agent, BUDGET, 1, 1, now, {"from": alice})


def test_authorizeAgent_revertsForPastExpiry(env, market, alice, agent):
    past = env.latest_timestamp() - 1
    with brownie.reverts(f"AgentInvalidExpiry: {past}"):
        market.authorizeAgent(agent, BUDGET, 1, 1, past, {"from": alice})


def test_revokeAgent_deletesDelegationAndEmits(delegated, market, alice, agent):
    tx = market.revokeAgent(agent, {"from": alice})
    assert tx.events["AgentRevoked"] == {"owner": alice, "agent": agent}
    assert delegation_of(market, alice, agent)["expiry"] == 0


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
    assert (d["spent"], d["day"]) == (escrow, tx.timestamp // DAY)


def test_agent_placesSellAtMinSellTickWithoutSpendingBudget(delegated, env, market, alice, agent):
    slot = delegated
    market.placeOrder(alice, slot, False, MIN_SELL_TICK, 1_000, {"from": agent})
    assert market.energyBalanceOf(alice, slot) == 0
    assert delegation_of(market, alice, agent)["spent"] == 0


def test_agent_budgetMayBeUsedExactly(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(500, price_of(5))
    market.authorizeAgent(
        agent, escrow, MAX_BUY_TICK, MIN_SELL_TICK, env.latest_timestamp() + DAY, {"from": alice}
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
    assert delegation_of(market, alice, agent)["spent"] == cost(200, price_of(5)) + cost(
        300, price_of(MAX_BUY_TICK)
    )


def test_agent_placeOrdersOfSellsOnlySpendsNothing(delegated, env, market, alice, agent):
    slot = delegated
    market.placeOrders(alice, [(slot, False, 15, 400), (slot, False, 16, 400)], {"from": agent})
    assert delegation_of(market, alice, agent)["spent"] == 0


# ---- refusals -------------------------------------------------------------------------------


def test_agent_revertsOverDailyBudget(delegated, env, market, alice, agent):
    slot = delegated
    first = cost(333, price_of(20))  # 7,573 (333 * 22,741 / 1000 = 7,572.753, rounded up)
    env.buy(alice, slot, 20, 333, sender=agent)
    env.buy(alice, slot, 20, 333, sender=agent)
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
    market.authorizeAgent(agent, BUDGET, MAX_BUY_TICK, MIN_SELL_TICK, soon, {"from": alice})
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


# ---- the UTC day ----------------------------------------------------------------------------


def test_agent_budgetResetsNextUtcDay(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(800, price_of(1))
    env.buy(alice, slot, 1, 800, sender=agent)
    next_day = (env.latest_timestamp() // DAY + 1) * DAY
    env.next_block_at(next_day)
    target = (next_day - env.epoch) // 900 + 2
    tx = market.placeOrder(alice, target, True, 1, 800, {"from": agent})
    assert tx.timestamp == next_day
    d = delegation_of(market, alice, agent)
    assert (d["day"], d["spent"]) == (next_day // DAY, escrow)


def test_agent_budgetStillSpentOneSecondBeforeMidnight(delegated, env, market, alice, agent):
    slot = delegated
    escrow = cost(800, price_of(1))
    env.buy(alice, slot, 1, 800, sender=agent)
    midnight = (env.latest_timestamp() // DAY + 1) * DAY
    env.next_block_at(midnight - 1)
    target = (midnight - 1 - env.epoch) // 900 + 2
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {2 * escrow}, {BUDGET}"):
        market.placeOrder(alice, target, True, 1, 800, {"from": agent})


def test_agent_reauthorizationKeepsTodaysSpending(delegated, env, market, alice, agent, expiry):
    slot = delegated
    escrow = cost(800, price_of(1))
    env.buy(alice, slot, 1, 800, sender=agent)
    market.authorizeAgent(agent, BUDGET + 1, MAX_BUY_TICK, MIN_SELL_TICK, expiry, {"from": alice})
    assert delegation_of(market, alice, agent)["spent"] == escrow
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {2 * escrow}, {BUDGET + 1}"):
        market.placeOrder(alice, slot, True, 1, 800, {"from": agent})


def test_agent_zeroBudgetAllowsSellsOnly(env, slot, market, alice, agent, expiry):
    env.deposit(alice, 10**9)
    env.deposit_energy(alice, slot, 100)
    market.authorizeAgent(agent, 0, MAX_BUY_TICK, 0, expiry, {"from": alice})
    env.sell(alice, slot, 0, 100, sender=agent)
    with brownie.reverts(f"AgentBudgetExceeded: {addr(agent)}, {cost(100, price_of(0))}, 0"):
        market.placeOrder(alice, slot, True, 0, 100, {"from": agent})
