"""The ``enerwise oracle`` commands (stable interface for scripts and hidden checks)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from chain.local_node import ANVIL_DEV_KEYS
from enerwise.cli import app
from oracles.maps import load_map
from oracles.simulator import ConstantProfile, SimulatedMeter, SimulatedModbusServer


@pytest.fixture
def modbus_meter() -> Iterator[int]:
    """A simulated SDM630 (unit 3) served by pymodbus in a background thread."""
    ready = threading.Event()
    stop: dict[str, Any] = {}

    async def serve() -> None:
        meter = SimulatedMeter(
            ConstantProfile(750.0), start=time.time(), import_wh=4_321_000.0, export_wh=12.0
        )
        server = SimulatedModbusServer({3: meter}, load_map("sdm630"))
        stop["port"] = await server.start()
        stop["event"] = asyncio.Event()
        stop["loop"] = asyncio.get_running_loop()
        ready.set()
        await stop["event"].wait()
        await server.stop()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield int(stop["port"])
    stop["loop"].call_soon_threadsafe(stop["event"].set)
    thread.join(5)


def read_json(port: int, map_name: str) -> Any:
    """``oracle read --json`` of unit 3 of the Modbus meter at ``port`` with register map
    ``map_name``; the CLI's result."""
    return CliRunner().invoke(
        app,
        [
            "oracle",
            "read",
            "--modbus",
            f"127.0.0.1:{port}",
            "--unit",
            "3",
            "--map",
            map_name,
            "--json",
        ],
    )


def test_read_prints_one_reading_as_json(modbus_meter: int) -> None:
    result = read_json(modbus_meter, "sdm630")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data["import_wh"], int) and isinstance(data["export_wh"], int)
    assert data["import_wh"] >= 4_321_000 and data["export_wh"] == 12
    assert data["power_w"] == pytest.approx(750.0)
    assert data["voltage_l1_v"] == 230.0


def test_read_from_a_missing_unit_is_one_error_line(modbus_meter: int) -> None:
    result = read_json(modbus_meter, "sunspec203")
    assert result.exit_code != 0
    assert "exception code 2" in str(result.exception)


@pytest.mark.anvil
def test_run_then_status_then_verify(
    registry_chain: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["sim-1", "sim-2"]
    registry_chain.register(names)
    monkeypatch.setenv("TEST_RELAYER_KEY", ANVIL_DEV_KEYS[1])
    config = tmp_path / "oracle.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "chain": {
                    "rpc_url": registry_chain.node.rpc_url,
                    "registry": registry_chain.registry,
                    "relayer": {"key_env": "TEST_RELAYER_KEY"},
                },
                "outbox": "state/outbox.sqlite",
                "archive": {"dir": "state/archive"},
                "read_delay": 0,
                "meters": [
                    {"name": n, "key": {"dev": True}, "source": {"kind": "simulated"}}
                    for n in names
                ]
                + [
                    {
                        "name": "no-key",
                        "key": {"key_env": "UNSET_VAR"},
                        "source": {"kind": "simulated"},
                    }
                ],
            }
        )
    )
    cli = CliRunner()
    result = cli.invoke(
        app,
        [
            "oracle",
            "run",
            "--config",
            str(config),
            "--slots",
            "3",
            "--clock",
            "anvil",
            "--pace",
            "0",
            "--no-table",
            "--json",
            "--log-level",
            "ERROR",
        ],
    )
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["outbox_depth"] == 0
    assert [m["seq"] for m in snapshot["meters"]] == [3, 3, 0]

    status = cli.invoke(app, ["oracle", "status", "--config", str(config), "--json"])
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["depth"] == 0 and data["totals"]["accepted"] == 6
    assert data["counters"]["signer_missing"] == {"no-key": 3}
    assert "UNSET_VAR" in data["errors"][0]["message"]

    cid = data["batches"][0]["cid"]
    verify = cli.invoke(app, ["oracle", "verify", cid, "--config", str(config), "--json"])
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.stdout)["ok"] is True


def test_a_bad_config_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "oracle.yaml"
    config.write_text("chain: {rpc_url: http://x}\nmeters: []\n")
    result = CliRunner().invoke(app, ["oracle", "status", "--config", str(config)])
    assert result.exit_code != 0
    assert "exactly one of registry or deployment" in str(result.exception)
