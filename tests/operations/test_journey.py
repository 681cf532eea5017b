"""The operator's whole journey on anvil, with a real oracle and the indexer.

init -> deploy (and an idempotent re-deploy) -> two meters, one with a generated key whose
provisioning file drives real ``enerwise oracle run`` runs -> two slots traded and cleared by
``clear-due`` (one claimed with a redemption, one left unclaimed) -> the billing export (CSV,
JSON, Parquet) reconciles with the chain -> the index (SQLite and PostgreSQL) serves the same
bill at ``GET /v1/operator/billing`` and the same meter health to ``meter list`` /
``status`` (``--database-url``, ``--indexer-url``).
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess
from chain.rpc import JsonRpcClient
from devchain.sandbox import Meter, Sandbox
from energychain.deploy import Deployment
from enerwise.cli import app
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import IngestConfig, Ingester
from operations.errors import OperatorError
from operations.health import classify
from tests.indexer.test_auth import DOMAIN, login
from tests.operations.conftest import (
    ADMIN,
    Keys,
    admin_sandbox,
    as_json,
    deploy_twice,
    init_args,
    nonce,
)
from wallet.signer import LocalKeySigner

RELAYER_ENV = "OPERATOR_JOURNEY_RELAYER"
MONTH = "2026-11"
HOUSEHOLD_KEY = "0x" + "11" * 32  # an account without any role


def run(*args: Any, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@dataclass
class Journey:
    node: AnvilProcess
    config: Path
    deployment: Deployment
    sandbox: Sandbox
    house_a: str
    house_b: str
    meter_ids: dict[str, str]
    """name -> meter id"""
    meter_a: Meter
    """house-a's meter, signed by the test (its registers and sequence number)"""
    slots: tuple[int, int]
    bill: dict[str, Any]
    """``billing --format json`` after the trades."""

    @property
    def c(self) -> list[str]:
        return ["--config", str(self.config)]


def oracle_run(provision: Path, slots: int) -> None:
    relayer = {RELAYER_ENV: ANVIL_DEV_KEYS[3]}
    result = run("oracle", "run", "--provision", provision, "--slots", slots, "--clock", "anvil",
                 "--pace", "0.2", "--no-table", "--json", env=relayer)  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    snapshot = json.loads(result.stdout)
    assert snapshot["outbox_depth"] == 0 and snapshot["submit_error"] is None, snapshot
    assert all(m["state"] == "ok" for m in snapshot["meters"]), snapshot


def imported(sandbox: Sandbox, meter_id: str, slot: int) -> int:
    events = sandbox.contracts.registry.contract.events.ReadingAccepted().get_logs(
        from_block=sandbox.deployment.block_number,
        argument_filters={"meterId": bytes.fromhex(meter_id[2:])},
    )
    return sum(int(e["args"]["importDeltaWh"]) for e in events if int(e["args"]["slot"]) == slot)


@pytest.fixture(scope="module")
def journey(node: AnvilProcess, keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    folder = tmp_path_factory.mktemp("journey")
    w3 = connect(node.rpc_url)
    config = folder / "community.yaml"
    args = init_args(config, **{"--rpc-url": node.rpc_url, "--name": "journey-street"})
    assert run(*args, "--settlement-seconds", "3600").exit_code == 0
    c = ["--config", str(config)]
    deployed = deploy_twice(run, w3, config, keys)

    deployment = Deployment.load(Path(deployed["record"]))
    s = admin_sandbox(w3, deployment)
    house_a, house_b = s.new_participant(), s.new_participant()
    signer_a = LocalKeySigner(s.random_bytes(32))
    added_a = as_json(
        run("operator", "meter", "add", "--owner", house_a.address, "--id", "house-a",
            "--kind", "prosumer", "--capacity-w", "8000", "--signer", signer_a.address,
            *keys.of(1), *c, "--json")
    )  # fmt: skip
    password = folder / "meter-password.txt"
    password.write_text("meter secret\n")
    added_b = as_json(
        run("operator", "meter", "add", "--owner", house_b.address, "--id", "house-b",
            "--kind", "consumer", "--capacity-w", "9000", "--generate-key",
            "--meter-password-file", password, "--relayer-key-env", RELAYER_ENV,
            *keys.of(1), *c, "--json")
    )  # fmt: skip
    provision = Path(added_b[0]["provision"])
    meter_a = Meter(bytes.fromhex(added_a[0]["meter_id"][2:]), house_a.address, signer_a)

    # one real oracle run reads house-b at three boundaries B1, B2, B3 (slots S and S+1);
    # the hour-long settlement window keeps both slots open for orders after it
    s1 = s.current_slot() + 1
    s2 = s1 + 1
    oracle_run(provision, 3)
    assert imported(s, added_b[0]["meter_id"], s1) > 0  # the simulated household consumed
    assert imported(s, added_b[0]["meter_id"], s2) > 0
    b1, b2, b3 = s.slot_start(s1), s.slot_start(s2), s.slot_start(s2 + 1)
    s.submit_readings(
        [
            s.signed_reading(meter_a, b1, 0, 0),
            s.signed_reading(meter_a, b2, 50, 1_000),
            s.signed_reading(meter_a, b3, 0, 800),
        ]
    )
    s.fund_payment(house_b, 5_000_000)
    house_a.sender.send_batch(
        [
            s.deposit_energy_request(house_a, s1, 1_000),
            s.order_request(house_a.address, s1, False, 0, 600),
            s.deposit_energy_request(house_a, s2, 800),
            s.order_request(house_a.address, s2, False, 100, 500),
        ]
    )
    house_b.sender.send_batch(
        [
            s.order_request(house_b.address, s1, True, 2_000, 600),
            s.order_request(house_b.address, s2, True, 2_000, 500),
        ]
    )
    s.advance_to(s.gate_closure(s2))
    cleared = as_json(run("operator", "clear-due", *keys.of(3), *c, "--json"))
    assert [(x["slot"], x["volume_wh"]) for x in cleared] == [(s1, 600), (s2, 500)]

    # slot S claimed, house-b redeems against its metered import; slot S+1 stays unclaimed
    placed = s.contracts.market.contract.events.OrderPlaced().get_logs(
        from_block=deployment.block_number, argument_filters={"slot": s1}
    )
    s.claim([int(e["args"]["orderId"]) for e in placed])
    redeem = min(imported(s, added_b[0]["meter_id"], s1), 600)
    market, token = s.contracts.market, s.contracts.token
    house_b.sender.send_batch(
        [
            market.request("withdrawEnergy", s1, 600, gas=200_000),
            token.request("redeem", s1, redeem, gas=150_000),
        ]
    )
    bill = as_json(run("operator", "billing", "--month", MONTH, "--format", "json", *c))
    return Journey(
        node=node,
        config=config,
        deployment=deployment,
        sandbox=s,
        house_a=house_a.address,
        house_b=house_b.address,
        meter_ids={"house-a": added_a[0]["meter_id"], "house-b": added_b[0]["meter_id"]},
        meter_a=meter_a,
        slots=(s1, s2),
        bill=bill,
    )


def test_the_bill_reconciles_with_the_chain(journey: Journey, tmp_path: Path) -> None:
    bill, s = journey.bill, journey.sandbox
    s1, s2 = journey.slots
    assert bill["reconciles"] is True and bill["differences"] == []
    assert bill["cleared_volume_wh"] == 1_100 and bill["unclaimed_orders"] == 2
    rows = {h["household"]: h for h in bill["households"]}
    a, b = rows[journey.house_a], rows[journey.house_b]
    assert (a["meters"], b["meters"]) == ("house-a", "house-b")
    assert (a["export_wh"], a["p2p_sold_wh"], a["grid_export_wh"]) == ("1800", "1100", "700")
    b_import = sum(imported(s, journey.meter_ids["house-b"], slot) for slot in range(s1, s2 + 1))
    assert b["import_wh"] == str(b_import) and b["p2p_bought_wh"] == "1100"
    redeemed = int(b["redeemed_wh"])
    assert 0 < redeemed <= 600 and b["grid_import_wh"] == str(max(b_import - redeemed, 0))
    # money: what house-b paid = what house-a received + fees + rounding kept by the market
    total = bill["total"]
    assert total["p2p_bought_wh"] == total["p2p_sold_wh"] == "1100"
    # the money the chain moved for the claimed slot equals the bill's part of it
    paid_on_chain = sum(
        int(e["args"]["amount"])
        for e in s.contracts.market.contract.events.OrderClaimed().get_logs(
            from_block=journey.deployment.block_number, argument_filters={"owner": journey.house_b}
        )
    )
    assert 0 < paid_on_chain < round(float(b["p2p_paid_eur"]) * 10**6)  # S+1 still unclaimed

    # CSV and Parquet carry the same rows
    as_csv = run("operator", "billing", "--month", MONTH, *journey.c)
    assert as_csv.exit_code == 0 and "reconciles with the chain: 1100 Wh" in as_csv.stderr
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert csv_rows == [*bill["households"], bill["total"]]
    import pyarrow.parquet as pq

    out = tmp_path / "bill.parquet"
    made = run("operator", "billing", "--month", MONTH, "--format", "parquet", "--output", out,
               *journey.c)  # fmt: skip
    assert made.exit_code == 0, made.output
    assert pq.read_table(out).to_pylist() == csv_rows
    refused = run("operator", "billing", "--month", MONTH, "--format", "parquet", *journey.c)
    assert isinstance(refused.exception, OperatorError) and "--output" in str(refused.exception)


def test_meter_health_from_the_chain(journey: Journey) -> None:
    s = journey.sandbox
    listed = as_json(run("operator", "meter", "list", *journey.c, "--json"))
    assert all(m["health_source"].startswith("chain") for m in listed)
    now = s.dev.now()
    # both meters read last at the end of slot S+1; clearing waited an hour (4 slots) since
    assert [m["last_reading_time"] for m in listed] == [s.slot_start(journey.slots[1] + 1)] * 2
    assert {m["name"]: m["health"] for m in listed} == {"house-a": "late", "house-b": "late"}
    assert all(m["age_seconds"] == now - m["last_reading_time"] for m in listed)
    # a fresh reading of house-a (on the last slot boundary): ok again, beside house-b's late one
    s.submit_readings([s.signed_reading(journey.meter_a, s.slot_start(s.current_slot()), 0, 0)])
    listed = as_json(run("operator", "meter", "list", *journey.c, "--json"))
    assert {m["name"]: m["health"] for m in listed} == {"house-a": "ok", "house-b": "late"}
    # nine slots without readings: both silent
    s.advance_to(now + 9 * 900)
    status = as_json(run("operator", "status", *journey.c, "--json"))
    assert status["oracle_health_counts"] == {"ok": 0, "late": 0, "silent": 2, "inactive": 0}
    assert {h["name"]: h["health"] for h in status["oracle_health"]} == {
        "house-a": "silent",
        "house-b": "silent",
    }
    shown = run("operator", "meter", "list", *journey.c, env={"COLUMNS": "300"})
    assert shown.exit_code == 0 and shown.stdout.count("silent") == 2
    text = run("operator", "status", *journey.c)
    assert "oracles: 2 silent" in text.stdout


@pytest.fixture
def indexed(journey: Journey, engine: Engine) -> Engine:
    Ingester(
        engine,
        JsonRpcClient(journey.node.rpc_url),
        journey.deployment.addresses,
        journey.deployment.block_number,
        config=IngestConfig(),
    ).sync()
    return engine


def test_the_index_serves_the_same_bill(journey: Journey, indexed: Engine) -> None:
    addresses = journey.deployment.addresses
    roles = ChainRoles(
        JsonRpcClient(journey.node.rpc_url), addresses["market"], addresses["registry"]
    )
    config = ApiConfig(siwe_domain=DOMAIN, rate_limit_per_minute=0, rpc_url=journey.node.rpc_url)
    with TestClient(create_app(indexed, config, roles=roles)) as client:
        token = login(client, ANVIL_DEV_KEYS[0])
        response = client.get(
            f"/v1/operator/billing?month={MONTH}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        served = response.json()
        # the meter admin is an operator too; a household is not
        assert (
            client.get(
                f"/v1/operator/billing?month={MONTH}",
                headers={"Authorization": f"Bearer {login(client, ANVIL_DEV_KEYS[1])}"},
            ).status_code
            == 200
        )
        member = login(client, HOUSEHOLD_KEY)
        assert (
            client.get(
                f"/v1/operator/billing?month={MONTH}", headers={"Authorization": f"Bearer {member}"}
            ).status_code
            == 403
        )
    names = {v: k for k, v in journey.meter_ids.items()}
    for row in [*served["households"], served["total"]]:
        row["meters"] = " ".join(sorted(names.get(m, m) for m in row["meters"].split()))
    assert served == journey.bill  # same columns, same figures, same reconciliation


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api_url(indexed: Engine) -> Iterator[str]:
    """The indexer API over ``indexed``, served by uvicorn on a free loopback port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(indexed, ApiConfig(rate_limit_per_minute=0)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_meter_health_from_the_index(journey: Journey, indexed: Engine, api_url: str) -> None:
    url = str(indexed.url.render_as_string(hide_password=False))
    from_db = as_json(run("operator", "meter", "list", *journey.c, "--database-url", url,
                          "--json"))  # fmt: skip
    from_api = as_json(run("operator", "meter", "list", *journey.c, "--indexer-url", api_url,
                           "--json"))  # fmt: skip
    from_chain = as_json(run("operator", "meter", "list", *journey.c, "--json"))
    now = int(connect(journey.node.rpc_url).eth.get_block("latest")["timestamp"])
    for index_rows in (from_db, from_api):
        assert [m["last_reading_time"] for m in index_rows] == [
            m["last_reading_time"] for m in from_chain
        ]
        assert [m["health"] for m in index_rows] == [m["health"] for m in from_chain]
        assert all(m["reading_count"] >= 2 for m in index_rows)
        for m in index_rows:
            assert m["health"] == classify(m["last_reading_time"], now, 900)
    assert from_db[0]["health_source"] == "indexer database"
    assert from_api[0]["health_source"] == f"indexer {api_url}"
    status = as_json(run("operator", "status", *journey.c, "--indexer-url", api_url, "--json"))
    assert [h["health"] for h in status["oracle_health"]] == [m["health"] for m in from_chain]


def test_an_index_of_nothing_or_elsewhere_is_refused(journey: Journey, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = make_engine(empty)
    upgrade(engine)
    engine.dispose()
    result = run("operator", "meter", "list", *journey.c, "--database-url", empty)
    assert isinstance(result.exception, OperatorError)
    assert "indexed nothing" in str(result.exception)
    down = run("operator", "meter", "list", *journey.c, "--indexer-url", "http://127.0.0.1:9")
    assert isinstance(down.exception, OperatorError) and "--indexer-url" in str(down.exception)


def test_a_payment_token_that_is_no_erc20_is_refused(
    journey: Journey, keys: Keys, tmp_path: Path
) -> None:
    w3 = connect(journey.node.rpc_url)
    sent = nonce(w3, ADMIN)
    config = tmp_path / "not-a-token.yaml"
    registry = journey.deployment.addresses["registry"]  # code, but no decimals()
    args = init_args(config, **{"--rpc-url": journey.node.rpc_url, "--payment-token": registry,
                                "--name": "no-token"})  # fmt: skip
    assert run(*args).exit_code == 0
    result = run("operator", "deploy", "-c", config, *keys.of(0))
    assert isinstance(result.exception, OperatorError)
    assert "payment_token:" in str(result.exception) and "decimals()" in str(result.exception)
    assert nonce(w3, ADMIN) == sent and not list(tmp_path.glob("*.deployment.json"))
