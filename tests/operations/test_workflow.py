"""The whole operator workflow on anvil: init -> deploy -> meters -> trading -> clear -> billing.

One anvil for the module, started at a fixed time (10 November 2026, UTC) so that the billing
month is known. Households act through :class:`devchain.sandbox.Sandbox` helpers on the
deployment the operator commands made.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from billing.errors import BillingError
from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess
from devchain.sandbox import Meter
from energychain.contracts import revert_decoder
from energychain.deploy import Deployment
from operations.config import MAX_CLOCK_SKEW_SECONDS, MAX_FEE_BPS, MAX_TICK_LIMIT
from operations.errors import (
    DeploymentMismatchError,
    MeterError,
    PreflightError,
    RoleMissingError,
)
from oracles.config import load_config, load_signer
from tests.operations.conftest import (
    ADMIN,
    METER_ADMIN,
    PAUSER,
    Keys,
    Run,
    admin_sandbox,
    as_json,
    deploy_twice,
    init_args,
    init_community,
    nonce,
)
from wallet.errors import TransactionRevertedError
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender


@pytest.mark.usefixtures("fast_keystores")
def test_full_operator_workflow(cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path)
    c = ["--config", str(config)]

    # a dry run sends nothing; deploy, then re-deploy: nothing sent the second time
    sent = nonce(w3, ADMIN)
    planned = cli("operator", "deploy", "-c", config, *keys.of(0), "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "grant METER_ADMIN_ROLE on the registry to meter_admin" in planned.stdout
    assert nonce(w3, ADMIN) == sent
    deployed = deploy_twice(cli, w3, config, keys)
    assert len(deployed["granted"]) == 3  # meter admin and pauser (x2); the admin deployed

    deployment = Deployment.load(Path(deployed["record"]))
    assert deployment.settings["community"] == "sunny-street"
    sandbox = admin_sandbox(w3, deployment)
    house_a, house_b = sandbox.new_participant(), sandbox.new_participant()

    # meters: one with a known signer, one with a generated key and provisioning file
    signer_a = LocalKeySigner(sandbox.random_bytes(32))
    added = as_json(
        cli("operator", "meter", "add", "--owner", house_a.address, "--id", "house-a",
            "--kind", "prosumer", "--capacity-w", "8000", "--signer", signer_a.address,
            *keys.of(1), *c, "--json")
    )  # fmt: skip
    assert added[0]["capacity_wh_per_slot"] == 2000  # 8 kW for 15 minutes
    meter_password = tmp_path / "meter-password.txt"
    meter_password.write_text("meter secret\n")
    added = as_json(
        cli("operator", "meter", "add", "--owner", house_b.address, "--id", "house-b",
            "--kind", "consumer", "--capacity-w", "5000", "--generate-key",
            "--meter-password-file", meter_password, *keys.of(1), *c, "--json")
    )  # fmt: skip
    provision = Path(added[0]["provision"])
    oracle_config = load_config(provision)  # the oracle accepts the provisioning file
    assert oracle_config.meters[0].name == "house-b"
    assert oracle_config.meters[0].capacity_wh_per_slot == 1250
    assert Path(str(oracle_config.chain.deployment)) == Path(deployed["record"])
    assert deployment.addresses["registry"] in provision.read_text()
    signer_b = load_signer(oracle_config.meters[0].key, "house-b")
    assert signer_b.address == added[0]["signer"]

    # refusals: a taken id, a key without METER_ADMIN_ROLE; nothing sent
    sent = nonce(w3, METER_ADMIN)
    taken = cli("operator", "meter", "add", "--owner", house_a.address, "--id", "house-a",
                "--kind", "pv", "--capacity-w", "100", "--signer", signer_a.address,
                *keys.of(1), *c)  # fmt: skip
    assert isinstance(taken.exception, MeterError)
    assert "id: meter 'house-a'" in str(taken.exception) and "already registered" in str(
        taken.exception
    )
    stranger = cli("operator", "meter", "add", "--owner", house_a.address, "--id", "house-x",
                   "--kind", "pv", "--capacity-w", "100", "--signer", signer_a.address,
                   *keys.of(3), *c)  # fmt: skip
    assert isinstance(stranger.exception, RoleMissingError)
    assert "METER_ADMIN_ROLE" in str(stranger.exception)
    assert nonce(w3, METER_ADMIN) == sent

    listed = as_json(cli("operator", "meter", "list", *c, "--json"))
    assert [(m["name"], m["kind"], m["active"]) for m in listed] == [
        ("house-a", "prosumer", True),
        ("house-b", "consumer", True),
    ]

    # one slot of trading: readings, a sell, a buy, clearing by `clear-due`
    meter_a = Meter(bytes.fromhex(listed[0]["meter_id"][2:]), house_a.address, signer_a)
    meter_b = Meter(bytes.fromhex(listed[1]["meter_id"][2:]), house_b.address, signer_b)
    slot = sandbox.current_slot() + 1
    start, end = sandbox.slot_start(slot), sandbox.slot_start(slot + 1)
    sandbox.advance_to(end)
    sandbox.submit_readings(
        [
            sandbox.signed_reading(meter_a, start, 0, 0),
            sandbox.signed_reading(meter_b, start, 0, 0),
            sandbox.signed_reading(meter_a, end, 0, 1_000),
            sandbox.signed_reading(meter_b, end, 800, 0),
        ]
    )
    house_a.sender.send_batch(
        [
            sandbox.deposit_energy_request(house_a, slot, 1_000),
            sandbox.order_request(house_a.address, slot, False, 0, 600),
        ]
    )
    sandbox.fund_payment(house_b, 1_000_000)
    house_b.sender.send_batch(
        [
            sandbox.order_request(house_b.address, slot, True, 2_000, 600),
            sandbox.order_request(house_b.address, slot + 8, True, 100, 50),  # stays open
        ]
    )
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["open_slots"] == [slot, slot + 8] and status["due_slots"] == []
    sandbox.advance_to(sandbox.gate_closure(slot))
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["due_slots"] == [slot] and status["solvent"] is True

    cleared = as_json(cli("operator", "clear-due", *keys.of(3), *c, "--json"))  # anyone may
    assert cleared == [{"slot": slot, "volume_wh": 600, "tick": cleared[0]["tick"]}]
    assert as_json(cli("operator", "clear-due", *keys.of(3), *c, "--json")) == []
    status = as_json(cli("operator", "status", *c, "--json"))
    assert status["due_slots"] == [] and status["cleared_slots"] == 1 and status["solvent"]

    # billing before claims (previewClaim) and after claims + redemption
    before = as_json(cli("operator", "billing", "--month", "2026-11", "--format", "json", *c))
    assert before["reconciles"] is True and before["unclaimed_orders"] == 2
    order_ids = [
        int(e["args"]["orderId"])
        for e in sandbox.contracts.market.contract.events.OrderPlaced().get_logs(
            from_block=deployment.block_number, argument_filters={"slot": slot}
        )
    ]
    claims = {c.owner: c for c in sandbox.claim(order_ids)}
    market, token = sandbox.contracts.market, sandbox.contracts.token
    house_b.sender.send_batch(
        [
            market.request("withdrawEnergy", slot, 600, gas=200_000),
            token.request("redeem", slot, 500, gas=150_000),
        ]
    )
    result = cli("operator", "billing", "--month", "2026-11", "--format", "csv", *c)
    assert result.exit_code == 0, result.output
    assert "reconciles with the chain: 600 Wh traded" in result.stderr
    rows = {r["household"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    a, b, total = rows[house_a.address], rows[house_b.address], rows["TOTAL"]
    seller, buyer = claims[house_a.address], claims[house_b.address]
    assert (a["meters"], b["meters"]) == ("house-a", "house-b")
    assert (a["export_wh"], a["p2p_sold_wh"], a["grid_export_wh"]) == ("1000", "600", "400")
    assert Decimal(a["p2p_received_eur"]) == eur(seller.amount)
    assert Decimal(a["fees_eur"]) == eur(seller.fee) and seller.fee > 0
    assert a["grid_export_eur"] == "0.03"  # 400 Wh at 0.08 EUR/kWh = 0.032
    assert (b["import_wh"], b["p2p_bought_wh"], b["redeemed_wh"]) == ("800", "600", "500")
    assert b["grid_import_wh"] == "300" and b["grid_import_eur"] == "0.10"  # 0.096
    assert Decimal(b["p2p_paid_eur"]) == eur(buyer.amount)
    assert total["p2p_bought_wh"] == total["p2p_sold_wh"] == "600"
    table = cli("operator", "billing", "--month", "2026-11", "--format", "table", *c)
    assert table.exit_code == 0 and "TOTAL" in table.stdout
    out = tmp_path / "bills.csv"
    assert cli("operator", "billing", "--month", "2026-11", "--output", out, *c).exit_code == 0
    assert out.read_text() == result.stdout
    shown = cli("operator", "status", *c)
    assert shown.exit_code == 0 and "solvent" in shown.stdout
    after = as_json(cli("operator", "billing", "--month", "2026-11", "--format", "json", *c))
    assert after["unclaimed_orders"] == 0
    assert after["total"]["p2p_paid_eur"] == before["total"]["p2p_paid_eur"]

    # an empty month is a clear message
    empty = cli("operator", "billing", "--month", "2026-10", *c)
    assert isinstance(empty.exception, BillingError) and "no data for 2026-10" in str(
        empty.exception
    )

    # key rotation, deactivation; a deactivated id is never reused
    new_signer = LocalKeySigner(sandbox.random_bytes(32)).address
    rotated = cli("operator", "meter", "rotate-key", "--id", "house-a", "--signer", new_signer,
                  *keys.of(1), *c)  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert cli("operator", "meter", "deactivate", "--id", "house-b", *keys.of(1), *c).exit_code == 0
    listed = as_json(cli("operator", "meter", "list", *c, "--json"))
    assert listed[0]["signer"] == new_signer and listed[1]["active"] is False
    again = cli("operator", "meter", "deactivate", "--id", "house-b", *keys.of(1), *c)
    assert isinstance(again.exception, MeterError) and "deactivated" in str(again.exception)

    # pause stops order placement; only the pauser may; unpause resumes
    refused = cli("operator", "pause", *keys.of(3), *c)
    assert isinstance(refused.exception, RoleMissingError)
    assert cli("operator", "pause", *keys.of(2), *c).exit_code == 0
    assert as_json(cli("operator", "status", *c, "--json"))["market_paused"] is True
    with pytest.raises(TransactionRevertedError) as info:
        house_b.sender.transact(sandbox.order_request(house_b.address, slot + 9, True, 1, 50))
    assert getattr(info.value.reason, "name", "") == "EnforcedPause"
    assert "already paused" in cli("operator", "pause", *keys.of(2), *c).stdout
    assert cli("operator", "unpause", *keys.of(2), *c).exit_code == 0
    house_b.sender.transact(sandbox.order_request(house_b.address, slot + 9, True, 1, 50))

    # a slot nobody cleared within the clear window is void: listed apart, skipped by clear-due
    market = sandbox.contracts.market
    sandbox.advance_to(int(market.call("voidAt", slot + 8)))
    status = as_json(cli("operator", "status", *c, "--json"))
    assert (status["due_slots"], status["void_slots"]) == ([slot + 9], [slot + 8])
    cleared = as_json(cli("operator", "clear-due", *keys.of(3), *c, "--json"))
    assert [(x["slot"], x["volume_wh"]) for x in cleared] == [(slot + 9, 0)]
    assert not market.clearing(slot + 8).cleared


def eur(base_units: int) -> Decimal:
    return Decimal(base_units).scaleb(-6)


@pytest.mark.usefixtures("fast_keystores")
def test_bulk_onboarding_checks_every_row_first(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "bulk-street")
    assert cli("operator", "deploy", "-c", config, *keys.of(0)).exit_code == 0
    c = ["--config", str(config)]
    owner = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"id,owner,kind,capacity_w,signer\nm1,{owner},pv,4000,{owner}\nm2,{owner},wind,1,\n"
    )
    sent = nonce(w3, METER_ADMIN)
    result = cli("operator", "meter", "import", bad, *keys.of(1), *c)
    assert isinstance(result.exception, MeterError)
    assert "line 3: kind" in str(result.exception)
    good = tmp_path / "good.csv"
    good.write_text(
        f"id,owner,kind,capacity_w,signer\nm1,{owner},pv,4000,{owner}\n"
        f"m2,{owner},battery,3000,{PAUSER}\n"
    )
    dupes = tmp_path / "dupes.csv"
    dupes.write_text(good.read_text() + f"m1,{owner},pv,4000,{owner}\n")
    result = cli("operator", "meter", "import", dupes, *keys.of(1), *c)
    assert isinstance(result.exception, MeterError) and "m1 appear more than once" in str(
        result.exception
    )
    assert nonce(w3, METER_ADMIN) == sent
    added = as_json(cli("operator", "meter", "import", good, *keys.of(1), *c, "--json"))
    assert [m["name"] for m in added] == ["m1", "m2"]
    assert nonce(w3, METER_ADMIN) == sent + 2
    assert [m["name"] for m in as_json(cli("operator", "meter", "list", *c, "--json"))] == [
        "m1",
        "m2",
    ]
    # a second import of the same file is refused whole
    again = cli("operator", "meter", "import", good, *keys.of(1), *c)
    assert isinstance(again.exception, MeterError) and "already registered" in str(again.exception)
    assert nonce(w3, METER_ADMIN) == sent + 2
    # rows without a signer: refused without --generate-keys, provisioned with it
    keyless = tmp_path / "keyless.csv"
    keyless.write_text(f"id,owner,kind,capacity_w,signer\nm3,{owner},battery,2000,\n")
    result = cli("operator", "meter", "import", keyless, *keys.of(1), *c)
    assert isinstance(result.exception, MeterError)
    assert "signer: meter 'm3'" in str(result.exception)
    password = tmp_path / "meter-password.txt"
    password.write_text("meter secret\n")
    added = as_json(
        cli("operator", "meter", "import", keyless, "--generate-keys", "--meter-password-file",
            password, "--source", "modbus:192.168.1.20:502", *keys.of(1), *c, "--json")
    )  # fmt: skip
    provisioned = load_config(added[0]["provision"])
    assert provisioned.meters[0].source.kind == "modbus"
    assert nonce(w3, METER_ADMIN) == sent + 3


def test_deploy_refuses_bad_chain_inputs_and_sends_nothing(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    sent = nonce(w3, ADMIN)

    no_code = tmp_path / "no-code.yaml"
    dead = "0x000000000000000000000000000000000000dEaD"
    assert (
        cli(*init_args(no_code, **{"--rpc-url": node.rpc_url, "--payment-token": dead})).exit_code
        == 0
    )
    result = cli("operator", "deploy", "-c", no_code, *keys.of(0))
    assert isinstance(result.exception, PreflightError)
    assert "payment_token: no contract at" in str(result.exception)

    wrong_chain = tmp_path / "wrong-chain.yaml"
    assert (
        cli(*init_args(wrong_chain, **{"--rpc-url": node.rpc_url, "--chain-id": "1337"})).exit_code
        == 0
    )
    result = cli("operator", "deploy", "-c", wrong_chain, *keys.of(0))
    assert isinstance(result.exception, PreflightError)
    assert "chain.chain_id" in str(result.exception)
    assert nonce(w3, ADMIN) == sent
    assert not list(tmp_path.glob("*.deployment.json"))

    # deployed, then the config changes: the difference is shown, nothing is sent
    config = init_community(cli, node, tmp_path, "edit-street")
    assert cli("operator", "deploy", "-c", config, *keys.of(0)).exit_code == 0
    data = yaml.safe_load(config.read_text())
    data["fee_bps"] = 30
    data["roles"]["pauser"] = METER_ADMIN
    config.write_text(yaml.safe_dump(data))
    sent = nonce(w3, ADMIN)
    result = cli("operator", "deploy", "-c", config, *keys.of(0))
    assert isinstance(result.exception, DeploymentMismatchError)
    assert "fee_bps: chain has 25, config wants 30" in str(result.exception)
    assert "roles.pauser" in str(result.exception)
    assert nonce(w3, ADMIN) == sent
    # the fee can follow the config; then only the role difference is left
    c = ["--config", str(config)]
    refused = cli("operator", "set-fee", *keys.of(3), *c)
    assert isinstance(refused.exception, RoleMissingError)
    assert "25 bps" in cli("operator", "set-fee", *keys.of(0), *c).stdout
    assert "nothing sent" in cli("operator", "set-fee", *keys.of(0), *c).stdout
    result = cli("operator", "deploy", "-c", config, *keys.of(0))
    assert isinstance(result.exception, DeploymentMismatchError)
    assert result.exception.differences == [
        f"roles.pauser: {METER_ADMIN} lacks PAUSER_ROLE on the registry",
        f"roles.pauser: {METER_ADMIN} lacks PAUSER_ROLE on the market",
    ]
    sent = nonce(w3, ADMIN)

    # a payment token with other decimals than the config says
    token = Deployment.load(config.with_name("edit-street.deployment.json")).addresses[
        "payment_token"
    ]
    decimals = tmp_path / "decimals.yaml"
    args = init_args(decimals, **{"--rpc-url": node.rpc_url, "--payment-token": token,
                                  "--payment-decimals": "18", "--name": "dec-street"})  # fmt: skip
    assert cli(*args).exit_code == 0
    result = cli("operator", "deploy", "-c", decimals, *keys.of(0))
    assert isinstance(result.exception, PreflightError)
    assert "payment_decimals: the token has 6 decimals" in str(result.exception)
    assert nonce(w3, ADMIN) == sent


@pytest.mark.usefixtures("fast_keystores")
def test_provisioning_file_runs_the_oracle(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "oracle-street")
    assert cli("operator", "deploy", "-c", config, *keys.of(0)).exit_code == 0
    password = tmp_path / "meter-password.txt"
    password.write_text("meter secret\n")
    monkeypatch.setenv("OPERATOR_TEST_RELAYER", ANVIL_DEV_KEYS[3])
    added = as_json(
        cli("operator", "meter", "add", "--owner", PAUSER, "--id", "roof-1", "--kind", "pv",
            "--capacity-w", "6000", "--generate-key", "--meter-password-file", password,
            "--relayer-key-env", "OPERATOR_TEST_RELAYER", *keys.of(1), "--config", config,
            "--json")
    )  # fmt: skip
    provision = added[0]["provision"]
    result = cli("oracle", "run", "--provision", provision, "--slots", "2", "--clock", "anvil",
                 "--pace", "0.3", "--no-table", "--json")  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    registry = Deployment.load(config.with_name("oracle-street.deployment.json")).contracts(w3)
    meter = registry.registry.call("meter", bytes.fromhex(added[0]["meter_id"][2:]))
    assert meter[4] >= 1  # lastSeq: the oracle's signed readings reached the chain
    # a new generated key: the provisioning file follows it
    rotated = cli("operator", "meter", "rotate-key", "--id", "roof-1", "--generate-key",
                  "--meter-password-file", password, *keys.of(1), "--config", config)  # fmt: skip
    assert rotated.exit_code == 0, (rotated.output, rotated.exception)
    oracle_config = load_config(provision)
    assert oracle_config.chain.relayer is not None
    new_signer = load_signer(oracle_config.meters[0].key, "roof-1").address
    meter = registry.registry.call("meter", bytes.fromhex(added[0]["meter_id"][2:]))
    assert meter[1] == new_signer != added[0]["signer"]


def test_deploy_hands_roles_over_with_renounce_deployer(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "handover", **{"--admin": METER_ADMIN})
    result = as_json(
        cli("operator", "deploy", "-c", config, *keys.of(0), "--renounce-deployer", "--json")
    )
    assert len(result["renounced"]) == 3  # meter admin, pauser (registry); pauser (market)
    contracts = Deployment.load(Path(result["record"])).contracts(w3)
    # the admin role leaves the deployer only when the configured admin accepts the handover
    assert result["handover"].startswith(f"admin handover to {METER_ADMIN}")
    for handle in (contracts.registry, contracts.market):
        assert handle.call("hasRole", b"\x00" * 32, ADMIN)
        assert not handle.call("hasRole", handle.role_id("PAUSER_ROLE"), ADMIN)
    assert contracts.registry.admin_handover().pending == METER_ADMIN
    again = as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))
    assert again["created"] is False
    # the config's bounds are the deployed contracts' own
    assert contracts.registry.call("MAX_CLOCK_SKEW_SECONDS") == MAX_CLOCK_SKEW_SECONDS
    assert contracts.market.call("MAX_FEE_BPS") == MAX_FEE_BPS
    assert contracts.market.call("MAX_TICK_LIMIT") == MAX_TICK_LIMIT


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "community.yaml"
    args = init_args(path, **{"--tick-eur-per-kwh": "0.0007"})
    code = (
        "from enerwise.cli import main; import sys; sys.argv = ['enerwise', *sys.argv[1:]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args[0:]],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "tariffs.tick_eur_per_kwh" in done.stderr and done.stderr.count("\n") <= 2


def test_interrupted_deploy_is_resumed_not_repeated(
    cli: Run, node: AnvilProcess, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    config = init_community(cli, node, tmp_path, "resume-street")
    first = as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))
    # as if the run stopped after deploying: a role not granted, the record not complete
    record_path = Path(first["record"])
    record = json.loads(record_path.read_text())
    record["settings"]["setup_complete"] = False
    record_path.write_text(json.dumps(record))
    contracts = Deployment.load(record_path).contracts(w3)
    admin = TransactionSender(w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=revert_decoder())
    pauser_role = contracts.market.call("PAUSER_ROLE")
    admin.transact(contracts.market.request("revokeRole", pauser_role, PAUSER))
    resumed = as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))
    assert resumed["created"] is True and resumed["addresses"] == first["addresses"]
    assert resumed["granted"] == [f"PAUSER_ROLE on the market to pauser {PAUSER}"]
    assert Deployment.load(record_path).settings["setup_complete"] is True
    assert (
        as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))["created"] is False
    )
