"""``enerwise operator admin``: the admin role handed over in two steps on anvil.

``operator deploy`` begins the handover from the deployer to ``roles.admin``; that key accepts
it after the contracts' one-day delay. The admin role is never granted or revoked.
"""

from __future__ import annotations

from pathlib import Path

from chain.connection import connect
from chain.local_node import AnvilProcess
from energychain.deploy import Deployment
from energychain.roles import DEFAULT_ADMIN_ROLE
from operations.errors import PreflightError, RoleMissingError
from tests.operations.conftest import (
    ADMIN,
    METER_ADMIN,
    STRANGER,
    Keys,
    Run,
    as_json,
    init_community,
    nonce,
)

DAY = 86_400


def advance(node: AnvilProcess, seconds: int) -> None:
    w3 = connect(node.rpc_url)
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_deploy_begins_the_handover_and_the_admin_accepts_it_after_a_day(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "two-step", **{"--admin": METER_ADMIN})
    c = ["-c", str(config)]
    planned = cli("operator", "deploy", *c, *keys.of(0), "--dry-run")
    assert f"begin the admin handover to admin {METER_ADMIN}" in planned.stdout
    deployed = as_json(cli("operator", "deploy", *c, *keys.of(0), "--json"))
    assert deployed["handover"].startswith(f"admin handover to {METER_ADMIN}")
    contracts = Deployment.load(Path(deployed["record"])).contracts(w3)

    # pending: the deployer stays admin of both contracts; status shows the handover
    state = as_json(cli("operator", "admin", "status", *c, "--json"))
    assert (state["admin"], state["pending_admin"], state["delay_seconds"]) == (
        ADMIN,
        METER_ADMIN,
        DAY,
    )
    status = as_json(cli("operator", "status", *c, "--json"))
    assert (status["admin"], status["pending_admin"]) == (ADMIN, METER_ADMIN)
    assert status["admin_accept_from"] == state["accept_from"]
    shown = cli("operator", "status", *c)
    assert f"handover pending to {METER_ADMIN}: it can accept from" in shown.stdout
    for handle in (contracts.registry, contracts.market):
        assert handle.call("hasRole", DEFAULT_ADMIN_ROLE, ADMIN)
        assert not handle.call("hasRole", DEFAULT_ADMIN_ROLE, METER_ADMIN)
    # re-running deploy finds the pending handover matching the config: nothing sent
    sent = nonce(w3, ADMIN)
    assert as_json(cli("operator", "deploy", *c, *keys.of(0), "--json"))["created"] is False
    assert nonce(w3, ADMIN) == sent

    # refused before the delay, and for any key but the pending admin's: nothing sent
    sent = nonce(w3, METER_ADMIN)
    early = cli("operator", "admin", "accept", *c, *keys.of(1))
    assert isinstance(early.exception, PreflightError), early.output
    assert "can be accepted from" in str(early.exception)
    stranger = cli("operator", "admin", "accept", *c, *keys.of(3))
    assert isinstance(stranger.exception, RoleMissingError)
    assert f"pending to {METER_ADMIN}, not to {STRANGER}" in str(stranger.exception)
    assert nonce(w3, METER_ADMIN) == sent

    advance(node, DAY)
    assert "it can accept now" in cli("operator", "status", *c).stdout
    accepted = as_json(cli("operator", "admin", "accept", *c, *keys.of(1), "--json"))
    assert (accepted["admin"], accepted["pending_admin"]) == (METER_ADMIN, None)
    for handle in (contracts.registry, contracts.market):
        assert handle.call("hasRole", DEFAULT_ADMIN_ROLE, METER_ADMIN)
        assert not handle.call("hasRole", DEFAULT_ADMIN_ROLE, ADMIN)
    # the old admin's key no longer administers roles, the new one does; the config matches
    refused = cli("operator", "role", "grant", "pauser", STRANGER, *c, *keys.of(0))
    assert isinstance(refused.exception, RoleMissingError)
    assert cli("operator", "role", "grant", "pauser", STRANGER, *c, *keys.of(1)).exit_code == 0
    assert cli("operator", "check", *c).exit_code == 0
    listed = as_json(cli("operator", "role", "list", "admin", *c, "--json"))
    assert [r["members"] for r in listed] == [[METER_ADMIN], [METER_ADMIN]]


def test_a_handover_is_begun_and_cancelled_by_the_admin_only(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "cancel-street")
    c = ["-c", str(config)]
    deployed = as_json(cli("operator", "deploy", *c, *keys.of(0), "--json"))
    assert deployed["handover"] is None  # the deployer is the configured admin

    sent = nonce(w3, STRANGER)
    not_admin = cli("operator", "admin", "transfer", METER_ADMIN, *c, *keys.of(3))
    assert isinstance(not_admin.exception, RoleMissingError)
    assert nonce(w3, STRANGER) == sent
    for bad, words in [(ADMIN, "already is the admin"), ("0x1234", "ADDRESS:")]:
        result = cli("operator", "admin", "transfer", bad, *c, *keys.of(0))
        assert isinstance(result.exception, PreflightError) and words in str(result.exception)

    begun = as_json(cli("operator", "admin", "transfer", STRANGER, *c, *keys.of(0), "--json"))
    assert begun["pending_admin"] == STRANGER
    assert isinstance(
        cli("operator", "admin", "cancel", *c, *keys.of(3)).exception, RoleMissingError
    )
    cancelled = as_json(cli("operator", "admin", "cancel", *c, *keys.of(0), "--json"))
    assert (cancelled["admin"], cancelled["pending_admin"]) == (ADMIN, None)
    advance(node, DAY)
    late = cli("operator", "admin", "accept", *c, *keys.of(3))
    assert isinstance(late.exception, PreflightError) and "no admin handover is pending" in str(
        late.exception
    )
    again = cli("operator", "admin", "cancel", *c, *keys.of(0))
    assert isinstance(again.exception, PreflightError)

    # the admin role is never granted or revoked through `role`
    for action in ("grant", "revoke"):
        result = cli("operator", "role", action, "admin", METER_ADMIN, *c, *keys.of(0))
        assert isinstance(result.exception, PreflightError)
        assert "handed over in two steps" in str(result.exception)
