"""Re-entry through the ERC-1155 receiver hook of a contract user, and a receiver that rejects
tokens."""

import brownie
import pytest
from brownie import ReentrantERC1155Receiver, RejectingERC1155Receiver
from conftest import addr, selector
from eth_abi import encode

REENTRANT_CALL = selector("ReentrancyGuardReentrantCall()")


@pytest.fixture
def evil(admin):
    return ReentrantERC1155Receiver.deploy({"from": admin})


@pytest.fixture
def rejecting(admin):
    """A contract that rejects every ERC-1155 transfer to it: it cannot deposit through a transfer
    to itself, but it can send tokens to the market (see ``fund_contract_user``)."""
    return RejectingERC1155Receiver.deploy({"from": admin})


def fund_contract_user(env, user, slot, amount_wh, admin):
    """Mints slot tokens to the contract ``user`` (minting calls no hook) and deposits them into its
    vault."""
    env.mint_energy(user, slot, amount_wh)
    data = env.token.safeTransferFrom.encode_input(user, env.market, slot, amount_wh, b"")
    user.execute(env.token, data, {"from": admin})
    assert env.market.energyBalanceOf(user, slot) == amount_wh


def approve_payment(env, user, amount, admin):
    """Mints ``amount`` of the payment token to the contract ``user`` and approves the market to
    pull it."""
    env.euro.mint(user, amount, {"from": admin})
    user.execute(env.euro, env.euro.approve.encode_input(env.market, amount), {"from": admin})


def withdraw_through(user, market, slot, amount_wh, admin):
    return user.execute(
        market, market.withdrawEnergy.encode_input(slot, amount_wh), {"from": admin}
    )


def test_withdrawEnergy_reentryIntoWithdrawEnergyFails(env, slot, market, token, evil, admin):
    fund_contract_user(env, evil, slot, 1_000, admin)
    evil.arm(market, market.withdrawEnergy.encode_input(slot, 500), {"from": admin})
    withdraw_through(evil, market, slot, 500, admin)
    assert evil.reentryAttempted()
    assert not evil.reentrySucceeded()
    assert evil.reentryResult() == REENTRANT_CALL
    assert market.energyBalanceOf(evil, slot) == 500
    assert token.balanceOf(evil, slot) == 500
    assert token.balanceOf(market, slot) == 500


def test_withdrawEnergy_reentryIntoWithdrawFails(env, slot, market, euro, evil, admin):
    fund_contract_user(env, evil, slot, 1_000, admin)
    approve_payment(env, evil, 5_000, admin)
    evil.execute(market, market.deposit.encode_input(5_000), {"from": admin})
    evil.arm(market, market.withdraw.encode_input(5_000), {"from": admin})
    withdraw_through(evil, market, slot, 1_000, admin)
    assert evil.reentryResult() == REENTRANT_CALL
    assert market.balanceOf(evil) == 5_000
    assert euro.balanceOf(evil) == 0


def test_withdrawEnergy_reentryIntoDepositFails(env, slot, market, euro, evil, admin):
    fund_contract_user(env, evil, slot, 1_000, admin)
    approve_payment(env, evil, 5_000, admin)
    evil.arm(market, market.deposit.encode_input(5_000), {"from": admin})
    withdraw_through(evil, market, slot, 1_000, admin)
    assert evil.reentryResult() == REENTRANT_CALL
    assert market.balanceOf(evil) == 0
    assert euro.balanceOf(evil) == 5_000


def test_withdrawEnergy_reentrantDepositBackIntoMarketFails(env, slot, market, token, evil, admin):
    """Sending the tokens straight back from inside the hook hits the market's guarded receiver
    hook."""
    fund_contract_user(env, evil, slot, 1_000, admin)
    evil.arm(
        token, token.safeTransferFrom.encode_input(evil, market, slot, 400, b""), {"from": admin}
    )
    withdraw_through(evil, market, slot, 400, admin)
    assert evil.reentryResult() == REENTRANT_CALL
    assert market.energyBalanceOf(evil, slot) == 600
    assert token.balanceOf(evil, slot) == 400
    assert token.balanceOf(market, slot) == 600


def test_withdrawEnergy_vaultDebitedBeforeTransferSoReentrantSellSeesIt(
    env, slot, market, evil, admin
):
    """placeOrder is not guarded, but the vault is debited before the transfer (checks-effects-
    interactions): a re-entrant sell of the whole former balance fails, a sell of what is left
    succeeds."""
    fund_contract_user(env, evil, slot, 1_000, admin)
    evil.arm(market, market.placeOrder.encode_input(evil, slot, False, 10, 1_000), {"from": admin})
    withdraw_through(evil, market, slot, 500, admin)
    assert not evil.reentrySucceeded()
    expected = (
        selector("MarketInsufficientEnergy(address,uint256,uint256,uint256)")
        + encode(
            ["address", "uint256", "uint256", "uint256"], [evil.address, slot, 500, 1_000]
        ).hex()
    )
    assert evil.reentryResult() == expected
    evil.arm(market, market.placeOrder.encode_input(evil, slot, False, 10, 300), {"from": admin})
    withdraw_through(evil, market, slot, 200, admin)
    assert evil.reentrySucceeded()
    assert market.energyBalanceOf(evil, slot) == 0
    assert market.level(slot, 10)[1] == 300
    assert env.token.balanceOf(evil, slot) == 700
    assert env.token.balanceOf(market, slot) == 300


def test_claim_needsNoReceiverHook(env, slot, market, evil, bob, admin, relayer):
    """Claims credit the vault and never call the receiver: a hostile contract cannot disturb
    settlement."""
    fund_contract_user(env, evil, slot, 1_000, admin)
    tx = evil.execute(
        market, market.placeOrder.encode_input(evil, slot, False, 10, 1_000), {"from": admin}
    )
    sell = tx.events["OrderPlaced"]["orderId"]
    evil.arm(market, market.withdrawEnergy.encode_input(slot, 1), {"from": admin})
    buy = env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    env.clear(slot)
    market.claimBatch([sell, buy], {"from": relayer})
    assert not evil.reentryAttempted()
    assert market.balanceOf(evil) > 0
    assert market.energyBalanceOf(bob, slot) == 1_000


# ---- a receiver that rejects every transfer -------------------------------------------------


def test_withdrawEnergy_toRejectingReceiverRevertsAndKeepsBalance(
    env, slot, market, token, rejecting, admin
):
    fund_contract_user(env, rejecting, slot, 1_000, admin)
    with brownie.reverts("RejectingERC1155ReceiverRejected: "):
        rejecting.execute(market, market.withdrawEnergy.encode_input(slot, 100), {"from": admin})
    assert market.energyBalanceOf(rejecting, slot) == 1_000
    assert token.balanceOf(market, slot) == 1_000
    assert token.balanceOf(rejecting, slot) == 0


def test_rejectingReceiver_doesNotBlockOthersSettlement(
    env, slot, market, token, rejecting, admin, bob, relayer
):
    """A seller contract that rejects ERC-1155 still trades: settlement is internal, pulled."""
    fund_contract_user(env, rejecting, slot, 1_000, admin)
    rejecting.execute(
        market, market.placeOrder.encode_input(rejecting, slot, False, 10, 1_000), {"from": admin}
    )
    buy = env.funded_buy(bob, slot, 30, 1_000)
    env.close_gate(slot)
    env.clear(slot)
    market.claim(buy, {"from": relayer})
    market.withdrawEnergy(slot, 1_000, {"from": bob})
    assert token.balanceOf(bob, slot) == 1_000
    with brownie.reverts(f"MarketInsufficientEnergy: {addr(rejecting)}, {slot}, 0, 1"):
        rejecting.execute(market, market.withdrawEnergy.encode_input(slot, 1), {"from": admin})
