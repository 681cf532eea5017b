"""Payment tokens that do not follow ERC-20 to the letter: no return value, `false` instead of a
revert, and a fee on transfer. SafeERC20 must accept the first, refuse the second cleanly, and the
vault must credit only what arrived for the third."""

import brownie
import pytest
from brownie import EnergyMarket, FalseReturnToken, FeeOnTransferToken, NoReturnToken
from conftest import FEE_BPS, addr, cost, fee_of, market_params, price_of, proceeds


def market_for(token, admin, registry, treasury):
    return EnergyMarket.deploy(admin, token, registry, market_params(treasury), {"from": admin})


def fund(token, market, user, amount):
    token.mint(user, amount, {"from": user})
    token.approve(market, amount, {"from": user})


@pytest.fixture(scope="module")
def nrt(admin, module_isolation):
    return NoReturnToken.deploy({"from": admin})


@pytest.fixture(scope="module")
def nrt_market(nrt, admin, registry, treasury):
    return market_for(nrt, admin, registry, treasury)


@pytest.fixture(scope="module")
def frt(admin, module_isolation):
    return FalseReturnToken.deploy({"from": admin})


@pytest.fixture(scope="module")
def frt_market(frt, admin, registry, treasury):
    return market_for(frt, admin, registry, treasury)


@pytest.fixture(scope="module")
def fot(admin, module_isolation):
    return FeeOnTransferToken.deploy(100, {"from": admin})  # 1 % of every transfer is burned


@pytest.fixture(scope="module")
def fot_market(fot, admin, registry, treasury):
    return market_for(fot, admin, registry, treasury)


# ---- no return value (USDT style) -----------------------------------------------------------


def test_noReturnToken_depositCredits(nrt, nrt_market, alice):
    fund(nrt, nrt_market, alice, 10_000)
    tx = nrt_market.deposit(10_000, {"from": alice})
    assert nrt_market.balanceOf(alice) == 10_000
    assert nrt.balanceOf(nrt_market) == 10_000
    assert tx.events["Deposited"]["amount"] == 10_000


def test_noReturnToken_withdrawPays(nrt, nrt_market, alice):
    fund(nrt, nrt_market, alice, 10_000)
    nrt_market.deposit(10_000, {"from": alice})
    nrt_market.withdraw(4_000, {"from": alice})
    assert nrt.balanceOf(alice) == 4_000
    assert nrt_market.balanceOf(alice) == 6_000


def test_noReturnToken_failedTransferBubblesRevert(nrt, nrt_market, alice):
    nrt.mint(alice, 10, {"from": alice})
    with brownie.reverts("NoReturnTokenInsufficient: "):
        nrt_market.deposit(10, {"from": alice})
    assert nrt_market.balanceOf(alice) == 0


def test_noReturnToken_fullTradeSettles(env, nrt, nrt_market, alice, bob, treasury, relayer):
    slot = env.trading_slot()
    env.mint_energy(alice, slot, 1_000)
    env.token.safeTransferFrom(alice, nrt_market, slot, 1_000, b"", {"from": alice})
    sell = nrt_market.placeOrder(alice, slot, False, 10, 1_000, {"from": alice}).events[
        "OrderPlaced"
    ]["orderId"]
    escrow = cost(1_000, price_of(30))
    fund(nrt, nrt_market, bob, escrow)
    nrt_market.deposit(escrow, {"from": bob})
    buy = nrt_market.placeOrder(bob, slot, True, 30, 1_000, {"from": bob}).events["OrderPlaced"][
        "orderId"
    ]
    env.close_gate(slot)
    nrt_market.clear(slot, {"from": relayer})
    nrt_market.claimBatch([sell, buy], {"from": relayer})
    gross = proceeds(1_000, price_of(20))
    nrt_market.withdraw(gross - fee_of(gross, FEE_BPS), {"from": alice})
    nrt_market.withdraw(nrt_market.balanceOf(bob), {"from": bob})
    assert nrt.balanceOf(alice) == gross - fee_of(gross, FEE_BPS)
    assert nrt.balanceOf(nrt_market) == nrt_market.balanceOf(treasury) + (
        cost(1_000, price_of(20)) - gross
    )


# ---- returns false instead of reverting -----------------------------------------------------


def test_falseReturnToken_depositCreditsWhenTransferSucceeds(frt, frt_market, alice):
    fund(frt, frt_market, alice, 10_000)
    frt_market.deposit(10_000, {"from": alice})
    assert frt_market.balanceOf(alice) == 10_000
    assert frt.balanceOf(frt_market) == 10_000


def test_falseReturnToken_depositWithoutAllowanceRevertsCleanly(frt, frt_market, alice):
    frt.mint(alice, 10_000, {"from": alice})
    with brownie.reverts(f"SafeERC20FailedOperation: {addr(frt)}"):
        frt_market.deposit(10_000, {"from": alice})
    assert frt_market.balanceOf(alice) == 0
    assert frt.balanceOf(alice) == 10_000


def test_falseReturnToken_depositWithoutFundsRevertsCleanly(frt, frt_market, alice):
    frt.approve(frt_market, 10_000, {"from": alice})
    with brownie.reverts(f"SafeERC20FailedOperation: {addr(frt)}"):
        frt_market.deposit(10_000, {"from": alice})
    assert frt_market.balanceOf(alice) == 0


def test_falseReturnToken_failingWithdrawRevertsAndKeepsBalance(frt, frt_market, alice):
    fund(frt, frt_market, alice, 10_000)
    frt_market.deposit(10_000, {"from": alice})
    frt.setFailAlways(True, {"from": alice})
    with brownie.reverts(f"SafeERC20FailedOperation: {addr(frt)}"):
        frt_market.withdraw(10_000, {"from": alice})
    assert frt_market.balanceOf(alice) == 10_000
    assert frt.balanceOf(frt_market) == 10_000
    frt.setFailAlways(False, {"from": alice})
    frt_market.withdraw(10_000, {"from": alice})
    assert frt.balanceOf(alice) == 10_000


def test_falseReturnToken_failingDepositCreditsNothing(frt, frt_market, alice):
    fund(frt, frt_market, alice, 10_000)
    frt.setFailAlways(True, {"from": alice})
    with brownie.reverts(f"SafeERC20FailedOperation: {addr(frt)}"):
        frt_market.deposit(10_000, {"from": alice})
    assert frt_market.balanceOf(alice) == 0


# ---- fee on transfer ------------------------------------------------------------------------


def test_feeOnTransfer_depositCreditsOnlyWhatArrived(fot, fot_market, alice):
    fund(fot, fot_market, alice, 10_000)
    tx = fot_market.deposit(10_000, {"from": alice})
    assert fot.balanceOf(fot_market) == 9_900
    assert fot_market.balanceOf(alice) == 9_900
    assert tx.events["Deposited"] == {"account": alice, "amount": 9_900}


def test_feeOnTransfer_withdrawDebitsAmountSent(fot, fot_market, alice):
    fund(fot, fot_market, alice, 10_000)
    fot_market.deposit(10_000, {"from": alice})
    fot_market.withdraw(9_900, {"from": alice})
    assert fot_market.balanceOf(alice) == 0
    assert fot.balanceOf(alice) == 9_801  # the token takes its fee on the way out too
    assert fot.balanceOf(fot_market) == 0


def test_feeOnTransfer_vaultStaysSolventAcrossUsers(fot, fot_market, alice, bob, carol):
    for user, amount in ((alice, 10_000), (bob, 3_333), (carol, 77)):
        fund(fot, fot_market, user, amount)
        fot_market.deposit(amount, {"from": user})
    fot_market.withdraw(1_234, {"from": bob})
    internal = sum(fot_market.balanceOf(u) for u in (alice, bob, carol))
    assert fot.balanceOf(fot_market) == internal
