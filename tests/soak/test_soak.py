"""The chaos soak: a short one runs here (every fault kind twice, about two minutes), and its
identity check catches a token minted outside the registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from enerwise.soak import checks
from enerwise.soak.faults import FaultKind
from enerwise.soak.run import Hooks, SoakConfig, run_soak, verdict

# The short soak runs a paced two-hour day with 16 faults: about 5 minutes on a quiet machine,
# above the suite's 300 s default per test.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def soak() -> dict[str, Any]:
    notes: list[str] = []
    result = run_soak(
        SoakConfig(hours=2, seed=3, faults_per_kind=2, pace_seconds=2.0),
        Hooks(on_note=notes.append),
    )
    return result.report


def test_a_short_soak_injects_every_kind_of_fault_and_each_recovers(soak: dict[str, Any]) -> None:
    assert soak["faults_total"] >= 10
    for kind in FaultKind:
        row = soak["faults"][kind.value]
        assert row["injected"] >= 2, kind
        assert row["recovered"] == row["injected"], kind


def test_a_short_soak_loses_nothing(soak: dict[str, Any]) -> None:
    assert soak["readings_signed"] > 0
    assert soak["lost_readings"] == 0
    assert soak["readings_unsigned"] == []
    assert soak["orders"] > 0
    assert soak["duplicate_orders"] == 0
    assert soak["identities_ok"], soak["failing_identities"]
    assert soak["indexer_matches_chain"], soak["indexer_differences"]
    assert soak["api_5xx_outside_outages"] == 0
    assert verdict(soak) == []


# ---------------------------------------------------------------------------------- a break
@pytest.fixture
def minted_day() -> Iterator[tuple[Sandbox, list[str]]]:
    """A chain where a meter's reading minted a seller's export; every token holder."""
    with Sandbox.on_anvil(MarketSettings()) as sandbox:
        seller = sandbox.new_participant()
        sandbox.mint_energy([(seller, 1_500)], sandbox.current_slot() + 1)
        yield sandbox, [sandbox.admin.address, seller.address]


def _mint_outside_the_registry(sandbox: Sandbox, to: str, slot: int, wh: int) -> None:
    """The registry's own call, sent by anyone who impersonates it (anvil only)."""
    registry = sandbox.contracts.registry.address
    sandbox.dev._rpc("anvil_impersonateAccount", [registry])
    sandbox.dev.fund(registry, 10**18)
    data = sandbox.contracts.token.contract.encode_abi("mintFromReading", [to, slot, wh, 0])
    tx = {"from": registry, "to": sandbox.contracts.token.address, "data": data, "gas": 300_000}
    sandbox.w3.eth.wait_for_transaction_receipt(sandbox.w3.eth.send_transaction(tx))


def test_the_identities_hold_on_an_honest_chain(minted_day: tuple[Sandbox, list[str]]) -> None:
    sandbox, holders = minted_day
    identities = checks.check_identities(sandbox, holders)

    assert len(identities) == 9
    assert checks.failing(identities) == []


def test_a_token_minted_outside_the_registry_breaks_an_identity_and_the_soak_says_which(
    minted_day: tuple[Sandbox, list[str]],
) -> None:
    sandbox, holders = minted_day
    thief = sandbox.new_participant()
    _mint_outside_the_registry(sandbox, thief.address, sandbox.current_slot(), 1_000)

    identities = checks.check_identities(sandbox, [*holders, thief.address])
    broken = checks.failing(identities)

    assert "minted_equals_mint_events" in broken
    report = {
        "failing_identities": broken,
        "lost_readings": 0,
        "duplicate_orders": 0,
        "indexer_matches_chain": True,
        "api_5xx_outside_outages": 0,
        "unrecovered": [],
    }
    assert "conservation identity minted_equals_mint_events does not hold on chain" in verdict(
        report
    )
