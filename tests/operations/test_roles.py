"""``enerwise operator role grant|revoke|list``: checked before sending, confirmed, listed from
``RoleGranted``/``RoleRevoked`` events."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import enerwise.cli.console as console
from chain.connection import connect
from chain.local_node import AnvilProcess
from enerwise.cli import app
from operations.errors import PreflightError, RoleMissingError
from tests.operations.conftest import (
    ADMIN,
    METER_ADMIN,
    PAUSER,
    STRANGER,
    Keys,
    Run,
    as_json,
    init_args,
    nonce,
)

OTHER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # anvil account 4


def deploy(node: AnvilProcess, keys: Keys, folder: Path, name: str) -> list[str]:
    """A deployed community (admin = account 0) in ``folder``; returns the ``--config`` option."""
    config = folder / "community.yaml"
    run = CliRunner()
    assert (
        run.invoke(app, init_args(config, **{"--rpc-url": node.rpc_url, "--name": name})).exit_code
        == 0
    )
    deployed = run.invoke(app, ["operator", "deploy", "-c", str(config), *keys.of(0)])
    assert deployed.exit_code == 0, deployed.output
    return ["--config", str(config)]


@pytest.fixture(scope="module")
def shared(node: AnvilProcess, keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """One community for the tests that change nothing."""
    return deploy(node, keys, tmp_path_factory.mktemp("shared"), "roles-shared")


@pytest.fixture
def community(node: AnvilProcess, keys: Keys, tmp_path: Path) -> list[str]:
    """A fresh community for a test that changes roles."""
    return deploy(node, keys, tmp_path, f"roles-{abs(hash(tmp_path.name)) % 10**8}")


def holders(cli: Run, c: list[str]) -> dict[tuple[str, str], list[str]]:
    listed = as_json(cli("operator", "role", "list", *c, "--json"))
    return {(r["contract"], r["name"]): r["members"] for r in listed}


def test_list_shows_every_role_the_contracts_define(cli: Run, shared: list[str]) -> None:
    community = shared
    found = holders(cli, community)
    assert found == {
        ("registry", "admin"): [ADMIN],
        ("registry", "meter-admin"): [ADMIN, METER_ADMIN],
        ("registry", "pauser"): [ADMIN, PAUSER],
        ("market", "admin"): [ADMIN],
        ("market", "pauser"): [ADMIN, PAUSER],
    }
    only = as_json(cli("operator", "role", "list", "pauser", *community, "--json"))
    assert [(r["contract"], r["role"]) for r in only] == [
        ("registry", "PAUSER_ROLE"),
        ("market", "PAUSER_ROLE"),
    ]
    table = cli("operator", "role", "list", *community)
    assert table.exit_code == 0 and "METER_ADMIN_ROLE" in table.stdout


def test_grant_and_revoke_after_checks_and_confirmation(
    cli: Run,
    node: AnvilProcess,
    keys: Keys,
    community: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w3 = connect(node.rpc_url)
    c = community
    ask = keys.of(0, yes=False)
    # no terminal and no --yes: nobody to ask, nothing sent
    sent = nonce(w3, ADMIN)
    unasked = cli("operator", "role", "grant", "pauser", STRANGER, *ask, *c, input="y\n")
    assert unasked.exit_code == 1 and "pass --yes" in str(unasked.exception)
    assert nonce(w3, ADMIN) == sent
    # declined at the prompt of a terminal: nothing sent
    monkeypatch.setattr(console, "stdin_is_terminal", lambda: True)
    declined = cli("operator", "role", "grant", "pauser", STRANGER, *ask, *c, input="n\n")
    assert declined.exit_code == 1 and "nothing sent" in declined.stderr
    assert "grant PAUSER_ROLE on the registry to" in declined.stderr
    assert nonce(w3, ADMIN) == sent
    # confirmed at the prompt: one transaction per contract defining the role
    granted = cli("operator", "role", "grant", "pauser", STRANGER, *ask, *c, input="y\n")
    assert granted.exit_code == 0, granted.output
    assert nonce(w3, ADMIN) == sent + 2
    assert holders(cli, c)[("market", "pauser")] == [ADMIN, PAUSER, STRANGER]
    # the new pauser can pause
    assert cli("operator", "pause", *keys.of(3), *c).exit_code == 0
    assert cli("operator", "unpause", *keys.of(3), *c).exit_code == 0

    # meter-admin exists on the registry only; --yes skips the prompt
    result = as_json(
        cli("operator", "role", "grant", "meter-admin", OTHER, *keys.of(0), *c, "--yes", "--json")
    )
    assert result["contracts"] == ["registry"] and len(result["transactions"]) == 1
    revoked = as_json(
        cli("operator", "role", "revoke", "METER_ADMIN_ROLE", OTHER, *keys.of(0), *c, "--yes",
            "--json")
    )  # fmt: skip
    assert revoked["contracts"] == ["registry"]
    assert OTHER not in holders(cli, c)[("registry", "meter-admin")]

    # revoke on one contract only; then a grant skips the contract where it is held
    assert cli("operator", "role", "revoke", "pauser", STRANGER, "--on", "market", *keys.of(0),
               *c, "--yes").exit_code == 0  # fmt: skip
    found = holders(cli, c)
    assert STRANGER in found[("registry", "pauser")]
    assert STRANGER not in found[("market", "pauser")]
    again = as_json(
        cli("operator", "role", "grant", "pauser", STRANGER, *keys.of(0), *c, "--yes", "--json")
    )
    assert again["contracts"] == ["market"] and again["skipped"] == ["registry"]


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        (["grant", "pauser", PAUSER], PreflightError, "already holds PAUSER_ROLE"),
        (["revoke", "meter-admin", OTHER], PreflightError, "does not hold METER_ADMIN_ROLE"),
        (["grant", "wizard", OTHER], PreflightError, "ROLE: 'wizard'"),
        (["grant", "pauser", "0x1234"], PreflightError, "ADDRESS:"),
        (["grant", "pauser", "0x" + "0" * 40], PreflightError, "ADDRESS:"),
        (["grant", "pauser", OTHER.lower()[:-1] + "A"], PreflightError, "ADDRESS:"),  # checksum
        (["grant", "meter-admin", OTHER, "--on", "market"], PreflightError, "--on:"),
        (["revoke", "admin", ADMIN], PreflightError, "handed over in two steps"),
        (["grant", "admin", OTHER], PreflightError, "handed over in two steps"),
    ],
)
def test_bad_role_changes_send_nothing(
    cli: Run,
    node: AnvilProcess,
    keys: Keys,
    shared: list[str],
    args: list[str],
    error: type[Exception],
    text: str,
) -> None:
    community = shared
    w3 = connect(node.rpc_url)
    sent = nonce(w3, ADMIN)
    result = cli("operator", "role", *args, *keys.of(0), *community, "--yes")
    assert isinstance(result.exception, error), result.output
    assert text in str(result.exception)
    assert "nothing was sent" in str(result.exception) or text.startswith(("ROLE", "--on"))
    assert nonce(w3, ADMIN) == sent


def test_a_key_without_the_admin_role_is_refused(
    cli: Run, node: AnvilProcess, keys: Keys, shared: list[str]
) -> None:
    community = shared
    w3 = connect(node.rpc_url)
    sent = nonce(w3, METER_ADMIN)
    result = cli("operator", "role", "grant", "meter-admin", OTHER, *keys.of(1), *community, "-y")
    assert isinstance(result.exception, RoleMissingError)
    assert "does not hold DEFAULT_ADMIN_ROLE on the registry" in str(result.exception)
    assert nonce(w3, METER_ADMIN) == sent
