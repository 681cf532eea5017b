"""The two-step admin handover: MeterRegistry holds one admin, handed over by
begin -> (delay) -> accept; the market's admin is the registry's (issue 23 item 7)."""

import brownie
import pytest
from conftest import DEFAULT_ADMIN_ROLE, PAUSER_ROLE, ZERO_ADDRESS, access_error, addr

DELAY = 86_400
ENFORCED = "AccessControlEnforcedDefaultAdminRules: "


def invalid_admin(account) -> str:
    return f"AccessControlInvalidDefaultAdmin: {addr(account)}"


def begin(env, registry, admin, new_admin) -> int:
    """Begins a handover at a pinned block time; returns the accept schedule."""
    now = env.latest_timestamp() + 10
    env.next_block_at(now)
    registry.beginDefaultAdminTransfer(new_admin, {"from": admin})
    return now + DELAY


# ---- views --------------------------------------------------------------------------------


def test_constructor_makesAdminTheOneDefaultAdmin(registry, admin):
    assert registry.defaultAdmin() == admin
    assert registry.ADMIN_TRANSFER_DELAY_SECONDS() == DELAY
    assert tuple(registry.pendingDefaultAdmin()) == (ZERO_ADDRESS, 0)


def test_market_admin_isTheRegistrysAdmin(market, registry, admin, stranger):
    assert market.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert not market.hasRole(DEFAULT_ADMIN_ROLE, stranger)
    assert registry.hasRole(DEFAULT_ADMIN_ROLE, admin)


# ---- begin --------------------------------------------------------------------------------


def test_beginDefaultAdminTransfer_schedulesAndEmits(env, registry, admin, operator):
    now = env.latest_timestamp() + 10
    env.next_block_at(now)
    tx = registry.beginDefaultAdminTransfer(operator, {"from": admin})
    schedule = now + DELAY
    assert tx.events["DefaultAdminTransferScheduled"] == {
        "newAdmin": operator,
        "acceptSchedule": schedule,
    }
    assert tuple(registry.pendingDefaultAdmin()) == (operator, schedule)
    assert registry.defaultAdmin() == admin  # nothing moves before the accept


def test_beginDefaultAdminTransfer_revertsForNonAdmin(registry, stranger):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        registry.beginDefaultAdminTransfer(stranger, {"from": stranger})


def test_beginDefaultAdminTransfer_revertsForZeroAddress(registry, admin):
    with brownie.reverts(invalid_admin(ZERO_ADDRESS)):
        registry.beginDefaultAdminTransfer(ZERO_ADDRESS, {"from": admin})


def test_beginDefaultAdminTransfer_replacesAPendingHandover(env, registry, admin, operator, alice):
    begin(env, registry, admin, operator)
    schedule = begin(env, registry, admin, alice)
    assert tuple(registry.pendingDefaultAdmin()) == (alice, schedule)
    env.warp(schedule)
    with brownie.reverts(invalid_admin(operator)):
        registry.acceptDefaultAdminTransfer({"from": operator})


# ---- accept -------------------------------------------------------------------------------


def test_acceptDefaultAdminTransfer_movesTheRoleAfterTheDelay(env, registry, admin, operator):
    schedule = begin(env, registry, admin, operator)
    env.next_block_at(schedule)
    tx = registry.acceptDefaultAdminTransfer({"from": operator})
    assert [e["account"] for e in tx.events["RoleRevoked"]] == [admin]
    assert [e["account"] for e in tx.events["RoleGranted"]] == [operator]
    assert registry.defaultAdmin() == operator
    assert registry.hasRole(DEFAULT_ADMIN_ROLE, operator)
    assert not registry.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert tuple(registry.pendingDefaultAdmin()) == (ZERO_ADDRESS, 0)
    # the other roles stay where they were: the new admin grants and revokes them
    assert registry.hasRole(PAUSER_ROLE, admin)
    registry.revokeRole(PAUSER_ROLE, admin, {"from": operator})
    assert not registry.hasRole(PAUSER_ROLE, admin)


def test_acceptDefaultAdminTransfer_revertsBeforeTheDelay(env, registry, admin, operator):
    schedule = begin(env, registry, admin, operator)
    env.next_block_at(schedule - 1)
    with brownie.reverts(f"AccessControlEnforcedDefaultAdminDelay: {schedule}"):
        registry.acceptDefaultAdminTransfer({"from": operator})


@pytest.mark.parametrize("who", ["admin", "stranger"])
def test_acceptDefaultAdminTransfer_revertsForAnyoneButThePendingAdmin(
    env, registry, admin, operator, stranger, who
):
    schedule = begin(env, registry, admin, operator)
    env.warp(schedule)
    caller = admin if who == "admin" else stranger
    with brownie.reverts(invalid_admin(caller)):
        registry.acceptDefaultAdminTransfer({"from": caller})


def test_acceptDefaultAdminTransfer_revertsWithNothingPending(registry, operator):
    with brownie.reverts(invalid_admin(operator)):
        registry.acceptDefaultAdminTransfer({"from": operator})


def test_acceptDefaultAdminTransfer_handsTheMarketOverToo(
    env, registry, market, admin, operator, treasury
):
    env.warp(begin(env, registry, admin, operator))
    registry.acceptDefaultAdminTransfer({"from": operator})
    assert market.hasRole(DEFAULT_ADMIN_ROLE, operator)
    assert not market.hasRole(DEFAULT_ADMIN_ROLE, admin)
    with brownie.reverts(access_error(admin, DEFAULT_ADMIN_ROLE)):
        market.setFee(10, treasury, {"from": admin})
    market.setFee(10, treasury, {"from": operator})
    market.grantRole(PAUSER_ROLE, operator, {"from": operator})
    assert market.params()[6] == 10 and market.hasRole(PAUSER_ROLE, operator)


# ---- cancel -------------------------------------------------------------------------------


def test_cancelDefaultAdminTransfer_clearsThePendingAdmin(env, registry, admin, operator):
    schedule = begin(env, registry, admin, operator)
    tx = registry.cancelDefaultAdminTransfer({"from": admin})
    assert "DefaultAdminTransferCanceled" in tx.events
    assert tuple(registry.pendingDefaultAdmin()) == (ZERO_ADDRESS, 0)
    env.warp(schedule)
    with brownie.reverts(invalid_admin(operator)):
        registry.acceptDefaultAdminTransfer({"from": operator})
    assert registry.defaultAdmin() == admin


def test_cancelDefaultAdminTransfer_revertsForNonAdmin(env, registry, admin, operator):
    begin(env, registry, admin, operator)
    with brownie.reverts(access_error(operator, DEFAULT_ADMIN_ROLE)):
        registry.cancelDefaultAdminTransfer({"from": operator})


# ---- the admin role never moves in one step -------------------------------------------------


@pytest.mark.parametrize("contract", ["registry", "market"])
def test_grantRole_ofDefaultAdmin_reverts(registry, market, admin, operator, contract):
    handle = registry if contract == "registry" else market
    with brownie.reverts(ENFORCED):
        handle.grantRole(DEFAULT_ADMIN_ROLE, operator, {"from": admin})


@pytest.mark.parametrize("contract", ["registry", "market"])
def test_revokeRole_ofDefaultAdmin_reverts(registry, market, admin, contract):
    handle = registry if contract == "registry" else market
    with brownie.reverts(ENFORCED):
        handle.revokeRole(DEFAULT_ADMIN_ROLE, admin, {"from": admin})


@pytest.mark.parametrize("contract", ["registry", "market"])
def test_renounceRole_ofDefaultAdmin_reverts(registry, market, admin, contract):
    handle = registry if contract == "registry" else market
    with brownie.reverts(ENFORCED):
        handle.renounceRole(DEFAULT_ADMIN_ROLE, admin, {"from": admin})
    assert handle.hasRole(DEFAULT_ADMIN_ROLE, admin)
