"""The pause switch, the same on the market and the meter registry (OpenZeppelin's Pausable behind
PAUSER_ROLE): pausing a paused contract and unpausing a running one revert, and only a pauser may
pause or unpause. What a pause blocks and what it leaves open differs: test_energy_market_admin.py
and test_meter_registry.py."""

import brownie
import pytest
from conftest import PAUSER_ROLE, access_error


@pytest.fixture(params=["market", "registry"])
def pausable(request, market, registry):
    """Each pausable contract in turn (both are module fixtures, deployed before the test's
    snapshot)."""
    return {"market": market, "registry": registry}[request.param]


def test_pause_revertsWhenPaused(pausable, admin):
    pausable.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        pausable.pause({"from": admin})


def test_unpause_revertsWhenNotPaused(pausable, admin):
    with brownie.reverts("ExpectedPause: "):
        pausable.unpause({"from": admin})


def test_pause_revertsForNonPauser(pausable, stranger):
    with brownie.reverts(access_error(stranger, PAUSER_ROLE)):
        pausable.pause({"from": stranger})


def test_unpause_revertsForNonPauser(pausable, admin, stranger):
    pausable.pause({"from": admin})
    with brownie.reverts(access_error(stranger, PAUSER_ROLE)):
        pausable.unpause({"from": stranger})
