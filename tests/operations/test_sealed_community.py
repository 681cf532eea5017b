"""``community.yaml``'s market mode: open by default, sealed with a reveal window and a bond
in EUR; checked on load, deployed as chosen, and operated (status, clear-due) in its mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from web3 import Web3

from chain.connection import connect
from chain.local_node import AnvilProcess
from devchain.sandbox import Participant, Sandbox
from energychain.commitments import SealedOrder, minimum_collateral, new_salt
from energychain.deploy import Deployment
from energychain.sealed_market import SealedMarket
from operations.config import load_community, render_config, validate_config
from operations.errors import CommunityConfigError, DeploymentMismatchError
from tests.operations.conftest import ADMIN, Keys, Run, admin_sandbox, as_json, init_args, nonce

SEALED = {"--market": "sealed", "--reveal-seconds": "300", "--bond-eur": "0.25"}


def commit_one_buy(
    w3: Web3, deployment: Deployment, market: SealedMarket
) -> tuple[Sandbox, Participant, SealedOrder, int]:
    """A sandbox on the deployed community (the admin: anvil's first key) and a funded house that
    committed a buy of 500 Wh at tick 1000 for the next slot (collateral: its minimum, with the
    community's bond); its order and commit id."""
    sandbox = admin_sandbox(w3, deployment)
    house = sandbox.new_participant()
    sandbox.fund_payment(house, 10_000_000)
    order = SealedOrder(sandbox.current_slot() + 1, house.address, True, 1_000, 500, new_salt())
    collateral = minimum_collateral(order, sandbox.params, 250_000)
    receipt = house.sender.transact(market.commit_order(order, collateral, deployment.chain_id))
    commit_id = int(market.events(receipt, "OrderCommitted")[0]["args"]["commitId"])
    return sandbox, house, order, commit_id


def test_a_config_without_a_market_section_is_open(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    data = yaml.safe_load(path.read_text())
    del data["market"]  # a config written before modes existed
    config = validate_config(data)
    assert config.market.mode == "open"
    assert config.market_settings().mode == "open"


def test_init_writes_a_sealed_market_that_reads_back(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    result = cli(*init_args(path, **SEALED), "--json")
    shown = as_json(result)
    assert shown["market"] == {
        "mode": "sealed",
        "reveal_seconds": 300,
        "bond_eur": "0.25",
        "bond_amount": 250_000,
    }
    assert "market mode sealed" in result.stderr and "0.25 EUR" in result.stderr
    assert 'bond_eur: "0.25"' in path.read_text()  # money as the file states money
    config = load_community(path)
    settings = config.market_settings()
    assert (settings.mode, settings.reveal_seconds, settings.bond_amount) == (
        "sealed",
        300,
        250_000,
    )
    assert load_community(path) == validate_config(yaml.safe_load(render_config(config, "c")))


@pytest.mark.parametrize(
    ("market", "message"),
    [
        ({"mode": "blind"}, "market.mode: 'blind' is not a market mode: use open or sealed"),
        ({"reveal_seconds": 0}, "market.reveal_seconds: Input should be greater than 0"),
        ({"reveal_seconds": 86_400}, "market.reveal_seconds: 86400 s is not shorter than"),
        ({"bond_eur": "0"}, "market.bond_eur: Input should be greater than 0"),
        ({"bond_eur": "0.0000001"}, "market.bond_eur: 0.0000001 EUR is finer than the payment"),
        ({"bond_eur": "1e30"}, "market.bond_eur: 10000000000000000000000000000"),
        ({"bond_eur": "a lot"}, "market.bond_eur: Input should be a valid decimal"),
        ("sealed", "market: a section, not 'sealed'"),
    ],
)
def test_a_bad_market_value_is_one_line_naming_the_field(
    cli: Run, tmp_path: Path, market: object, message: str
) -> None:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    data = yaml.safe_load(path.read_text())
    data["market"] = market
    path.write_text(yaml.safe_dump(data))
    result = cli("operator", "check", "-c", path)
    assert isinstance(result.exception, CommunityConfigError)
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_init_refuses_a_bad_mode_and_writes_nothing(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    result = cli(*init_args(path, **{"--market": "secret"}))
    assert isinstance(result.exception, CommunityConfigError)
    assert "market.mode: 'secret'" in str(result.exception)
    assert not path.exists()


def test_a_sealed_community_deploys_sealed_and_clears_after_the_reveal_window(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path, **{"--rpc-url": node.rpc_url}, **SEALED)).exit_code == 0
    planned = cli("operator", "deploy", "-c", path, *keys.of(0), "--dry-run")
    assert "SealedEnergyMarket" in planned.stdout and "market mode sealed" in planned.stdout
    deployed = as_json(cli("operator", "deploy", "-c", path, *keys.of(0), "--json"))
    deployment = Deployment.load(Path(deployed["record"]))
    assert deployment.mode == "sealed"
    market = deployment.contracts(w3).market
    assert isinstance(market, SealedMarket)
    assert (market.reveal_seconds(), market.bond_amount()) == (300, 250_000)

    # the same config again sends nothing; a config that wants another mode is refused
    sent = nonce(w3, ADMIN)
    assert as_json(cli("operator", "deploy", "-c", path, *keys.of(0), "--json"))["created"] is False
    assert nonce(w3, ADMIN) == sent
    data = yaml.safe_load(path.read_text())
    data["market"]["mode"] = "open"
    path.write_text(yaml.safe_dump(data))
    refused = cli("operator", "deploy", "-c", path, *keys.of(0))
    assert isinstance(refused.exception, DeploymentMismatchError)
    assert "market.mode: chain has sealed, config wants open" in str(refused.exception)
    data["market"] = {"mode": "sealed", "reveal_seconds": 600, "bond_eur": "0.25"}
    path.write_text(yaml.safe_dump(data))
    refused = cli("operator", "deploy", "-c", path, *keys.of(0))
    assert "market.reveal_seconds: chain has 300, config wants 600" in str(refused.exception)
    data["market"]["reveal_seconds"] = 300
    path.write_text(yaml.safe_dump(data))

    # one buy committed: open, then in its reveal window (not due), then due once revealed
    sandbox, house, order, commit_id = commit_one_buy(w3, deployment, market)
    slot = order.slot
    c = ["-c", str(path)]
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["open_slots"] == [slot] and status["revealing_slots"] == []
    closure = sandbox.gate_closure(slot)
    sandbox.advance_to(closure + 1)
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["revealing_slots"] == [slot] and status["due_slots"] == []
    assert as_json(cli("operator", "clear-due", *c, *keys.of(0), "--json")) == []
    house.sender.transact(market.reveal_order(commit_id, order))
    sandbox.advance_to(closure + 301)
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["due_slots"] == [slot] and status["revealing_slots"] == []
    cleared = as_json(cli("operator", "clear-due", *c, *keys.of(0), "--json"))
    assert [row["slot"] for row in cleared] == [slot]


def test_a_sealed_communitys_bill_shows_a_commitment_never_revealed_with_its_bond(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path, **{"--rpc-url": node.rpc_url}, **SEALED)).exit_code == 0
    deployed = as_json(cli("operator", "deploy", "-c", path, *keys.of(0), "--json"))
    deployment = Deployment.load(Path(deployed["record"]))
    market = deployment.contracts(w3).market
    assert isinstance(market, SealedMarket)
    sandbox, house, order, commit_id = commit_one_buy(w3, deployment, market)
    slot = order.slot
    sandbox.advance_to(sandbox.gate_closure(slot) + 301)  # the reveal window has passed
    house.sender.transact(market.reclaim_commitment(commit_id))  # never revealed: forfeited
    month = datetime.fromtimestamp(sandbox.slot_start(slot), UTC).strftime("%Y-%m")

    result = cli("operator", "billing", "--month", month, "--format", "json", "-c", path)
    bill = as_json(result)
    assert bill["reconciles"] is True and bill["bond_eur"] == "0.250000"
    (row,) = bill["households"]
    assert row["household"] == house.address
    assert (row["forfeited_commitments"], row["forfeited_bonds_eur"]) == ("1", "0.250000")
    assert row["net_eur"] == "0.250000"  # the bond is money the household paid the treasury
    assert "1 forfeited commitment(s): 0.250000 EUR of bonds to the treasury" in result.stderr
    as_csv = cli("operator", "billing", "--month", month, "-c", path)
    header, house_row, _total = as_csv.stdout.splitlines()
    shown = dict(zip(header.split(","), house_row.split(","), strict=True))
    assert (shown["forfeited_commitments"], shown["forfeited_bonds_eur"]) == ("1", "0.250000")
