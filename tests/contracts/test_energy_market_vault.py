"""EnergyMarket vault: payment deposits and withdrawals, energy deposits (ERC-1155 hooks) and
withdrawals."""

import brownie
import pytest
from brownie import ReentrantERC1155Receiver
from conftest import ZERO_ADDRESS, addr

IERC1155_RECEIVER_ID = "0x4e2312e0"
IACCESS_CONTROL_ID = "0x7965db0b"
ERC165_ID = "0x01ffc9a7"


# ---- payment deposits -----------------------------------------------------------------------


def test_deposit_pullsTokensAndCredits(env, market, euro, alice):
    env.fund(alice, 5_000_000)
    tx = market.deposit(5_000_000, {"from": alice})
    assert market.balanceOf(alice) == 5_000_000
    assert euro.balanceOf(market) == 5_000_000
    assert euro.balanceOf(alice) == 0
    assert tx.events["Deposited"] == {"account": alice, "amount": 5_000_000}


def test_deposit_accumulates(env, market, alice):
    env.deposit(alice, 1)
    env.deposit(alice, 2)
    assert market.balanceOf(alice) == 3


def test_deposit_revertsOnZeroAmount(market, alice):
    with brownie.reverts("MarketZeroAmount: "):
        market.deposit(0, {"from": alice})


def test_deposit_revertsWithoutAllowance(market, euro, alice):
    euro.mint(alice, 100, {"from": alice})
    with brownie.reverts(f"ERC20InsufficientAllowance: {addr(market)}, 0, 100"):
        market.deposit(100, {"from": alice})
    assert market.balanceOf(alice) == 0


def test_deposit_revertsWithoutFunds(market, euro, alice):
    euro.approve(market, 100, {"from": alice})
    with brownie.reverts(f"ERC20InsufficientBalance: {addr(alice)}, 0, 100"):
        market.deposit(100, {"from": alice})


# ---- payment withdrawals --------------------------------------------------------------------


def test_withdraw_sendsTokensAndDebits(env, market, euro, alice):
    env.deposit(alice, 1_000)
    tx = market.withdraw(400, {"from": alice})
    assert market.balanceOf(alice) == 600
    assert euro.balanceOf(alice) == 400
    assert euro.balanceOf(market) == 600
    assert tx.events["Withdrawn"] == {"account": alice, "amount": 400}


def test_withdraw_wholeBalance(env, market, euro, alice):
    env.deposit(alice, 1_000)
    market.withdraw(1_000, {"from": alice})
    assert market.balanceOf(alice) == 0
    assert euro.balanceOf(alice) == 1_000


def test_withdraw_revertsOnZeroAmount(market, alice):
    with brownie.reverts("MarketZeroAmount: "):
        market.withdraw(0, {"from": alice})


def test_withdraw_revertsAboveBalance(env, market, alice):
    env.deposit(alice, 1_000)
    with brownie.reverts(f"MarketInsufficientBalance: {addr(alice)}, 1000, 1001"):
        market.withdraw(1_001, {"from": alice})


def test_withdraw_cannotTouchAnotherAccountsBalance(env, market, alice, bob):
    env.deposit(alice, 1_000)
    with brownie.reverts(f"MarketInsufficientBalance: {addr(bob)}, 0, 1"):
        market.withdraw(1, {"from": bob})


def test_withdraw_excludesEscrowedFunds(env, slot, market, alice):
    env.deposit(alice, 1_000_000)
    env.buy(alice, slot, 0, 1_000)  # escrows cost(1000, 20001) = 20001
    with brownie.reverts(f"MarketInsufficientBalance: {addr(alice)}, 979999, 1000000"):
        market.withdraw(1_000_000, {"from": alice})


# ---- energy deposits (ERC-1155 receiver) ---------------------------------------------------


def test_energyDeposit_safeTransferCreditsSender(env, slot, market, token, alice):
    env.mint_energy(alice, slot, 800)
    tx = token.safeTransferFrom(alice, market, slot, 500, b"", {"from": alice})
    assert market.energyBalanceOf(alice, slot) == 500
    assert token.balanceOf(market, slot) == 500
    assert token.balanceOf(alice, slot) == 300
    assert tx.events["EnergyDeposited"] == {"account": alice, "slot": slot, "amountWh": 500}


def test_energyDeposit_batchCreditsEverySlot(env, slot, market, token, alice):
    env.mint_energy(alice, slot, 800)
    env.mint_energy(alice, slot - 1, 300)
    tx = token.safeBatchTransferFrom(
        alice, market, [slot, slot - 1], [800, 250], b"", {"from": alice}
    )
    assert market.energyBalanceOf(alice, slot) == 800
    assert market.energyBalanceOf(alice, slot - 1) == 250
    assert [(e["slot"], e["amountWh"]) for e in tx.events["EnergyDeposited"]] == [
        (slot, 800),
        (slot - 1, 250),
    ]


def test_energyDeposit_byOperatorCreditsHolderNotOperator(env, slot, market, token, alice, bob):
    env.mint_energy(alice, slot, 800)
    token.setApprovalForAll(bob, True, {"from": alice})
    token.safeTransferFrom(alice, market, slot, 800, b"", {"from": bob})
    assert market.energyBalanceOf(alice, slot) == 800
    assert market.energyBalanceOf(bob, slot) == 0


def test_onERC1155Received_revertsForOtherTokens(market, stranger, alice):
    with brownie.reverts(f"MarketUnsupportedToken: {addr(stranger)}"):
        market.onERC1155Received(stranger, alice, 1, 100, b"", {"from": stranger})
    assert market.energyBalanceOf(alice, 1) == 0


def test_onERC1155BatchReceived_revertsForOtherTokens(market, stranger, alice):
    with brownie.reverts(f"MarketUnsupportedToken: {addr(stranger)}"):
        market.onERC1155BatchReceived(stranger, alice, [1, 2], [100, 100], b"", {"from": stranger})


def test_onERC1155BatchReceived_revertsForOtherTokensEvenWhenEmpty(market, stranger, alice):
    with brownie.reverts(f"MarketUnsupportedToken: {addr(stranger)}"):
        market.onERC1155BatchReceived(stranger, alice, [], [], b"", {"from": stranger})


def test_onERC1155Received_revertsForContractFakingTheHook(market, admin, alice):
    """A contract calling the hook itself is not the energy token either."""
    fake = ReentrantERC1155Receiver.deploy({"from": admin})
    data = market.onERC1155Received.encode_input(fake, alice, 1, 100, b"")
    with brownie.reverts(f"MarketUnsupportedToken: {addr(fake)}"):
        fake.execute(market, data, {"from": admin})


def test_mintToMarketAsMeterOwner_creditsNobody(env, slot, market, token, registry, admin):
    """Documented caveat (docs/contracts.md, section 10): mints call no hook, so tokens minted to
    the
    market (if it were registered as a meter owner) are held but credited to no vault account."""
    env.mint_energy(market, slot, 500)
    assert token.balanceOf(market, slot) == 500
    assert market.energyBalanceOf(market, slot) == 0
    assert market.energyBalanceOf(admin, slot) == 0


# ---- energy withdrawals ---------------------------------------------------------------------


def test_withdrawEnergy_sendsTokensAndDebits(env, slot, market, token, alice):
    env.deposit_energy(alice, slot, 800)
    tx = market.withdrawEnergy(slot, 300, {"from": alice})
    assert market.energyBalanceOf(alice, slot) == 500
    assert token.balanceOf(alice, slot) == 300
    assert token.balanceOf(market, slot) == 500
    assert tx.events["EnergyWithdrawn"] == {"account": alice, "slot": slot, "amountWh": 300}


def test_withdrawEnergy_revertsOnZeroAmount(market, alice, slot):
    with brownie.reverts("MarketZeroAmount: "):
        market.withdrawEnergy(slot, 0, {"from": alice})


def test_withdrawEnergy_revertsAboveBalance(env, slot, market, alice):
    env.deposit_energy(alice, slot, 800)
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {slot}, 800, 801"):
        market.withdrawEnergy(slot, 801, {"from": alice})


def test_withdrawEnergy_isPerSlot(env, slot, market, alice):
    env.deposit_energy(alice, slot, 800)
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {slot + 1}, 0, 1"):
        market.withdrawEnergy(slot + 1, 1, {"from": alice})


def test_withdrawEnergy_excludesEscrowedEnergy(env, slot, market, alice):
    env.deposit_energy(alice, slot, 800)
    env.sell(alice, slot, 10, 600)
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(alice)}, {slot}, 200, 800"):
        market.withdrawEnergy(slot, 800, {"from": alice})


def test_withdrawEnergy_roundTripDoesNotCreditTwice(env, slot, market, token, alice):
    """Withdrawing energy triggers no deposit hook on the market (the market is the sender, not a
    receiver)."""
    env.deposit_energy(alice, slot, 800)
    market.withdrawEnergy(slot, 800, {"from": alice})
    token.safeTransferFrom(alice, market, slot, 800, b"", {"from": alice})
    assert market.energyBalanceOf(alice, slot) == 800
    assert token.balanceOf(market, slot) == 800


# ---- introspection --------------------------------------------------------------------------


@pytest.mark.parametrize("interface_id", [IERC1155_RECEIVER_ID, IACCESS_CONTROL_ID, ERC165_ID])
def test_supportsInterface_receiverAccessControlErc165(market, interface_id):
    assert market.supportsInterface(interface_id)


def test_supportsInterface_falseForUnknownId(market):
    assert not market.supportsInterface("0xffffffff")


def test_balances_zeroForUnknownAccount(market, stranger):
    assert market.balanceOf(stranger) == 0
    assert market.energyBalanceOf(stranger, 5) == 0
    assert market.balanceOf(ZERO_ADDRESS) == 0
