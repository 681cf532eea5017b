"""EnergyMarket deployment parameters, roles, fee setting, pause, and the read-only views."""

import brownie
import pytest
from brownie import EnergyMarket, MeterRegistry, TestEuro18
from conftest import (
    DEFAULT_ADMIN_ROLE,
    FEE_BPS,
    MAX_SKEW,
    MAX_TICK,
    MIN_ORDER_WH,
    OPEN_AHEAD_SECONDS,
    PAUSER_ROLE,
    PRICE_FLOOR,
    SETTLEMENT_SECONDS,
    SLOT_SECONDS,
    TICK_SIZE,
    TOKEN_URI,
    ZERO_ADDRESS,
    access_error,
    addr,
    market_params,
    price_of,
)

MAX_PRICE = 2**128 - 1


def deploy(admin, euro, registry, treasury, sender=None, **overrides):
    return EnergyMarket.deploy(
        admin, euro, registry, market_params(treasury, **overrides), {"from": sender or admin}
    )


# ---- constructor ----------------------------------------------------------------------------


def test_constructor_storesImmutablesAndParams(market, euro, registry, token, treasury):
    assert market.paymentToken() == euro
    assert market.registry() == registry
    assert market.energyToken() == token
    assert market.epoch() == registry.epoch()
    assert market.slotSeconds() == SLOT_SECONDS
    assert tuple(market.params()) == (
        PRICE_FLOOR,
        TICK_SIZE,
        MAX_TICK,
        SETTLEMENT_SECONDS,
        OPEN_AHEAD_SECONDS,
        MIN_ORDER_WH,
        FEE_BPS,
        treasury,
    )


def test_constants(market):
    assert market.MAX_FEE_BPS() == 1_000
    assert market.MAX_TICK_LIMIT() == 2_047
    assert market.CLEAR_WINDOW_SECONDS() == 86_400
    assert market.MAX_LEVEL_WH() == 2**96 - 1
    assert market.PAUSER_ROLE() == PAUSER_ROLE


def test_constructor_grantsPauserRole_adminIsTheRegistrys(market, admin, stranger):
    assert market.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert market.hasRole(PAUSER_ROLE, admin)
    assert not market.hasRole(PAUSER_ROLE, stranger)


@pytest.mark.parametrize("which", ["admin", "payment", "registry", "treasury"])
def test_constructor_revertsOnZeroAddress(admin, euro, registry, treasury, which):
    args = {"admin": admin, "payment": euro, "registry": registry, "treasury": treasury}
    args[which] = ZERO_ADDRESS
    with brownie.reverts("MarketZeroAddress: "):
        deploy(args["admin"], args["payment"], args["registry"], args["treasury"], sender=admin)


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"tickSize": 0}, "MarketTickSizeZero: "),
        ({"maxTick": 2_048}, "MarketMaxTickTooHigh: 2048, 2047"),
        (
            {"priceFloor": MAX_PRICE + 1},
            f"MarketPriceRangeTooHigh: {MAX_PRICE + 1}, {TICK_SIZE}, {MAX_TICK}",
        ),
        (
            {"priceFloor": 0, "maxTick": 1_000, "tickSize": MAX_PRICE // 1_000 + 1},
            f"MarketPriceRangeTooHigh: 0, {MAX_PRICE // 1_000 + 1}, 1000",
        ),
        (
            {"priceFloor": 1, "maxTick": 1_000, "tickSize": (MAX_PRICE - 1) // 1_000 + 1},
            f"MarketPriceRangeTooHigh: 1, {(MAX_PRICE - 1) // 1_000 + 1}, 1000",
        ),
        ({"settlementSeconds": 0}, "MarketSettlementWindowZero: "),
        ({"minOrderWh": 0}, "MarketMinOrderZero: "),
    ],
)
def test_constructor_revertsOnInvalidParamWithItsTypedError(
    admin, euro, registry, treasury, overrides, error
):
    """Item 7 of issue 23: one typed error per parameter (was MarketInvalidParam(string))."""
    with brownie.reverts(error):
        deploy(admin, euro, registry, treasury, **overrides)


def test_constructor_revertsOnFeeAboveMax(admin, euro, registry, treasury):
    with brownie.reverts("MarketFeeTooHigh: 1001, 1000"):
        deploy(admin, euro, registry, treasury, feeBps=1_001)


def test_constructor_acceptsHighestPriceGrid(admin, euro, registry, treasury):
    m = deploy(
        admin,
        euro,
        registry,
        treasury,
        priceFloor=1,
        maxTick=1_000,
        tickSize=(MAX_PRICE - 1) // 1_000,
    )
    assert m.priceOf(1_000) <= MAX_PRICE


def test_constructor_acceptsSingleTickAtMaxPrice(admin, euro, registry, treasury):
    """maxTick 0 skips the grid check: the only price is the floor."""
    m = deploy(admin, euro, registry, treasury, priceFloor=MAX_PRICE, maxTick=0, tickSize=2**255)
    assert m.priceOf(0) == MAX_PRICE


def test_constructor_acceptsLimits(admin, euro, registry, treasury):
    m = deploy(admin, euro, registry, treasury, maxTick=2_047, feeBps=1_000, openAheadSeconds=0)
    p = m.params()
    assert (p[2], p[4], p[6]) == (2_047, 0, 1_000)


# ---- views ----------------------------------------------------------------------------------


def test_priceOf_followsTheGrid(market):
    assert market.priceOf(0) == PRICE_FLOOR
    assert market.priceOf(1) == PRICE_FLOOR + TICK_SIZE
    assert market.priceOf(MAX_TICK) == price_of(MAX_TICK)


def test_priceOf_revertsAboveMaxTick(market):
    with brownie.reverts(f"OrderTickOutOfRange: {MAX_TICK + 1}, {MAX_TICK}"):
        market.priceOf(MAX_TICK + 1)


def test_gateClosure_isSlotEndPlusSettlement(env, market):
    assert market.gateClosure(10) == env.epoch + 11 * SLOT_SECONDS + SETTLEMENT_SECONDS


def test_orderWindow_opensAtZeroWhenSlotStartsBeforeOpenAhead(admin, euro, treasury):
    """With epoch 0, the first slots start less than openAheadSeconds after time 0: their window
    opens
    at 0."""
    registry0 = MeterRegistry.deploy(admin, 0, SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin})
    m = deploy(admin, euro, registry0, treasury)
    assert tuple(m.orderWindow(0)) == (0, SLOT_SECONDS + SETTLEMENT_SECONDS)
    assert m.orderWindow(96)[0] == 0  # starts exactly at openAheadSeconds
    assert m.orderWindow(97)[0] == SLOT_SECONDS


# ---- setFee ---------------------------------------------------------------------------------


def test_setFee_updatesParamsAndEmits(market, admin, stranger):
    tx = market.setFee(700, stranger, {"from": admin})
    assert tx.events["FeeChanged"] == {"feeBps": 700, "treasury": stranger}
    p = market.params()
    assert (p[6], p[7]) == (700, stranger)


def test_setFee_acceptsMaxFee(market, admin, treasury):
    market.setFee(1_000, treasury, {"from": admin})
    assert market.params()[6] == 1_000


def test_setFee_revertsAboveMaxFee(market, admin, treasury):
    with brownie.reverts("MarketFeeTooHigh: 1001, 1000"):
        market.setFee(1_001, treasury, {"from": admin})


def test_setFee_revertsOnZeroTreasury(market, admin):
    with brownie.reverts("MarketZeroAddress: "):
        market.setFee(10, ZERO_ADDRESS, {"from": admin})


def test_setFee_revertsForNonAdmin(market, stranger):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        market.setFee(10, stranger, {"from": stranger})


def test_setFee_revertsForPauser(market, admin, operator):
    market.grantRole(PAUSER_ROLE, operator, {"from": admin})
    with brownie.reverts(access_error(operator, DEFAULT_ADMIN_ROLE)):
        market.setFee(10, operator, {"from": operator})


# ---- rescueERC20 (issue 23 item 7) ----------------------------------------------------------


@pytest.fixture
def stray(market, stranger, admin):
    """An ERC-20 that is not the payment token, 5 * 10^18 of it sent to the market by a plain
    transfer."""
    other = TestEuro18.deploy({"from": admin})
    other.mint(stranger, 5 * 10**18, {"from": stranger})
    other.transfer(market, 5 * 10**18, {"from": stranger})
    return other


def test_rescueERC20_sendsAStrayTokenToTheGivenAddress(market, stray, admin, stranger):
    tx = market.rescueERC20(stray, stranger, 3 * 10**18, {"from": admin})
    assert tx.events["ERC20Rescued"] == {"token": stray, "to": stranger, "amount": 3 * 10**18}
    assert stray.balanceOf(stranger) == 3 * 10**18
    assert stray.balanceOf(market) == 2 * 10**18


def test_rescueERC20_neverMovesThePaymentTokenEvenASurplus(env, market, euro, admin, alice):
    env.deposit(alice, 1_000)
    euro.mint(alice, 500, {"from": alice})
    euro.transfer(market, 500, {"from": alice})  # a surplus: a plain transfer, owed to nobody
    with brownie.reverts("MarketRescuePaymentToken: "):
        market.rescueERC20(euro, admin, 1, {"from": admin})
    assert euro.balanceOf(market) == 1_500
    assert market.balanceOf(alice) == 1_000


def test_rescueERC20_cannotTakeSlotTokens(market, token, admin):
    """The energy token is ERC-1155: it has no ERC-20 transfer, so the call reverts."""
    with brownie.reverts():
        market.rescueERC20(token, admin, 1, {"from": admin})


def test_rescueERC20_revertsOnZeroRecipient(market, stray, admin):
    with brownie.reverts("MarketZeroAddress: "):
        market.rescueERC20(stray, ZERO_ADDRESS, 1, {"from": admin})


def test_rescueERC20_revertsForNonAdmin(market, stray, stranger):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        market.rescueERC20(stray, stranger, 1, {"from": stranger})


def test_setFee_byTheRegistrysAdminOnly(admin, euro, treasury, operator):
    """The market's admin is its registry's, whoever deployed the market."""
    registry = MeterRegistry.deploy(operator, 0, SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin})
    m = deploy(admin, euro, registry, treasury)
    with brownie.reverts(access_error(admin, DEFAULT_ADMIN_ROLE)):
        m.setFee(10, operator, {"from": admin})
    m.setFee(10, operator, {"from": operator})
    assert m.params()[6] == 10


# ---- pause ----------------------------------------------------------------------------------
# (The reverts of pausing twice and of a non-pauser, the same on the registry: test_pausable.py.)


def test_pause_emitsAndSetsPaused(market, admin):
    tx = market.pause({"from": admin})
    assert tx.events["Paused"]["account"] == admin
    assert market.paused()


def test_unpause_resumesOrderPlacement(env, slot, market, admin, alice):
    market.pause({"from": admin})
    tx = market.unpause({"from": admin})
    assert tx.events["Unpaused"]["account"] == admin
    env.deposit(alice, 10**9)
    env.buy(alice, slot, 1, 100)


def test_pause_byGrantedPauserAndNotAfterRevocation(market, admin, operator):
    market.grantRole(PAUSER_ROLE, operator, {"from": admin})
    market.pause({"from": operator})
    market.unpause({"from": operator})
    market.revokeRole(PAUSER_ROLE, operator, {"from": admin})
    with brownie.reverts(access_error(operator, PAUSER_ROLE)):
        market.pause({"from": operator})


def test_getRoleAdmin_isDefaultAdminForEveryRole(market):
    assert market.getRoleAdmin(PAUSER_ROLE) == DEFAULT_ADMIN_ROLE
    assert market.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE


def test_renounceRole_revertsForAnotherAccount(market, admin, operator):
    with brownie.reverts("AccessControlBadConfirmation: "):
        market.renounceRole(PAUSER_ROLE, operator, {"from": admin})
    assert market.hasRole(PAUSER_ROLE, admin)


def test_revokeRole_ofAbsentRoleEmitsNothing(market, admin, operator):
    tx = market.revokeRole(PAUSER_ROLE, operator, {"from": admin})
    assert "RoleRevoked" not in tx.events


def test_grantRole_revertsForNonAdmin(market, stranger, operator):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        market.grantRole(PAUSER_ROLE, operator, {"from": stranger})


def test_pause_keepsDepositsWithdrawalsAndCancelsOpen(env, slot, market, admin, alice):
    env.deposit(alice, 10_000)
    oid = env.buy(alice, slot, 1, 100)
    market.pause({"from": admin})
    env.deposit(alice, 1)
    market.cancelOrder(oid, {"from": alice})
    market.withdraw(10_001, {"from": alice})
    assert market.balanceOf(alice) == 0


def test_admin_hasNoPathToUserFunds(env, market, admin, alice):
    env.deposit(alice, 10_000)
    with brownie.reverts(f"MarketInsufficientBalance: {addr(admin)}, 0, 10000"):
        market.withdraw(10_000, {"from": admin})
    assert market.balanceOf(alice) == 10_000
