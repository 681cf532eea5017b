"""`enerwise demo` end to end: the JSON report against independent chain reads, the report's
plots, Ctrl-C and error clean-up, a port already in use."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from chain.artifacts import load_artifact
from chain.local_node import free_port

HIDDEN_KEYS = {
    "slots": int,
    "households": int,
    "minted_wh": int,
    "metered_export_wh": int,
    "traded_wh": int,
    "paid": int,
    "received": int,
    "fees": int,
    "conservation_ok": bool,
}


def _marked_pids(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (the demo and everything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"ENERWISE_DEMO_TEST={marker}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start(args: list[str], marker: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "enerwise", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ENERWISE_DEMO_TEST": marker},
    )


def _read_json(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The JSON object the demo prints (indented: it ends with a line holding ``}``)."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=10)
            pytest.fail(f"the demo ended before printing its report: {err[-2000:]}")
        lines.append(line)
        if line.rstrip() == "}":
            data: dict[str, Any] = json.loads("".join(lines))
            return data
    pytest.fail("no report within the time limit")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One demo run (2 slots, 4 households) that keeps serving until the test sends Ctrl-C."""
    marker = uuid.uuid4().hex
    port = free_port()
    report_dir = tmp_path_factory.mktemp("demo-report")
    process = _start(
        [
            "--slots",
            "2",
            "--households",
            "4",
            "--json",
            "--keep-running",
            "--port",
            str(port),
            "--report",
            str(report_dir),
        ],
        marker,
    )
    try:
        report = _read_json(process, timeout=150)
        yield {
            "process": process,
            "report": report,
            "marker": marker,
            "port": port,
            "report_dir": report_dir,
        }
    finally:
        # A test of the module sends Ctrl-C; when it did not run (a -k subset), stop the demo
        # the same way so it stops what it started, and leave nothing behind either way.
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for pid in _marked_pids(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_the_running_demo_serves_the_dapp_showing_its_clearings(served: dict[str, Any]) -> None:
    """The dApp of a running demo (no wallet needed to read) lists the slots it cleared."""
    from playwright.sync_api import sync_playwright

    from chain.paths import REPO_ROOT

    traded = [s for s in served["report"]["per_slot"] if s["volume_wh"] > 0]
    assert traded, "the demo's short run traded nothing: nothing to look for"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(f"http://127.0.0.1:{served['port']}/", timeout=30_000)
            rows = page.locator("[data-testid=clearings] tbody tr")
            rows.first.wait_for(timeout=30_000)
            listed = {
                int(rows.nth(i).locator("td").first.inner_text()) for i in range(rows.count())
            }
            shots = REPO_ROOT / "reports" / "browser"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "demo-market.png"), full_page=True)
        finally:
            browser.close()
    assert {s["slot"] for s in traded} <= listed
    assert errors == []


def test_json_report_has_the_stable_keys(served: dict[str, Any]) -> None:
    report = served["report"]
    for key, kind in HIDDEN_KEYS.items():
        assert isinstance(report[key], kind), key
    assert report["slots"] == 2 and report["households"] == 4
    assert report["conservation_ok"] is True
    assert all(report["conservation"].values()), report["conservation"]
    assert report["minted_wh"] > 0 and report["traded_wh"] > 0
    assert report["paid"] >= report["received"] + report["fees"]
    assert report["open_orders"] == 0
    assert {row["meter"] for row in report["per_household"]} >= {"modbus"}
    assert any(row["role"] == "agent" for row in report["per_household"])


def test_agents_drive_real_devices_and_the_report_books_plan_against_actual(
    served: dict[str, Any],
) -> None:
    report = served["report"]
    devices = report["devices"]
    assert set(devices) == {"battery", "charger", "heat_pump"}
    owners = [row for row in report["per_household"] if "devices" in row]
    assert owners and all(row["role"] == "agent" for row in owners)
    for kind, row in devices.items():
        assert row["count"] == len(owners), kind
        assert row["slots"] == 2 * len(owners), kind  # both slots booked, none after the day
        assert row["writes_refused"] == 0, kind
        assert row["plan_vs_actual_wh"] >= 0, kind
    assert devices["heat_pump"]["actual_wh"] > 0  # a cold house: the heat pump ran
    per_owner = sum(row["devices"]["battery"]["actual_wh"] for row in owners)
    assert per_owner == pytest.approx(devices["battery"]["actual_wh"], abs=0.5)


def test_totals_equal_independent_chain_reads(served: dict[str, Any]) -> None:
    report = served["report"]
    w3 = Web3(Web3.HTTPProvider(report["rpc_url"]))
    addresses = report["addresses"]
    registry = w3.eth.contract(
        address=addresses["registry"], abi=load_artifact("MeterRegistry").abi
    )
    market = w3.eth.contract(address=addresses["market"], abi=load_artifact("EnergyMarket").abi)
    attributed_export, _, unattributed_export, _ = registry.functions.energyTotals().call()
    assert report["minted_wh"] == attributed_export
    assert report["metered_export_wh"] == attributed_export + unattributed_export

    placed = {
        log["args"]["orderId"]: log["args"]["isBuy"]
        for log in market.events.OrderPlaced().get_logs(from_block=0)
    }
    claims = market.events.OrderClaimed().get_logs(from_block=0)
    assert report["paid"] == sum(
        c["args"]["amount"] for c in claims if placed[c["args"]["orderId"]]
    )
    assert report["received"] == sum(
        c["args"]["amount"] for c in claims if not placed[c["args"]["orderId"]]
    )
    assert report["fees"] == sum(c["args"]["fee"] for c in claims)
    volume = sum(market.functions.clearing(row["slot"]).call()[1] for row in report["per_slot"])
    assert report["traded_wh"] == volume


def test_api_serves_the_indexed_day(served: dict[str, Any]) -> None:
    answer = httpx.get(f"http://127.0.0.1:{served['port']}/health", timeout=5)
    assert answer.status_code == 200


def test_report_writes_pngs(served: dict[str, Any]) -> None:
    directory: Path = served["report_dir"]
    for name in ("prices.png", "volumes.png", "self_sufficiency.png"):
        data = (directory / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    saved = json.loads((directory / "report.json").read_text())
    assert saved["minted_wh"] == served["report"]["minted_wh"]


def test_ctrl_c_stops_everything_it_started(served: dict[str, Any]) -> None:
    process: subprocess.Popen[str] = served["process"]
    assert len(_marked_pids(served["marker"])) >= 2  # the demo and its anvil
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    deadline = time.monotonic() + 5
    while _marked_pids(served["marker"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _marked_pids(served["marker"]) == []
    assert _port_free(served["port"])


def test_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        marker = uuid.uuid4().hex
        process = _start(
            ["--slots", "2", "--households", "4", "--json", "--port", str(port)], marker
        )
        out, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0]
    assert _marked_pids(marker) == []


def test_an_error_mid_run_stops_the_chain_and_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from chain import local_node
    from enerwise.demo import DemoConfig, run
    from enerwise.demo.run import run_demo

    started: list[local_node.AnvilProcess] = []
    real_start = local_node.start_anvil

    def recording_start(**kwargs: Any) -> local_node.AnvilProcess:
        node = real_start(**kwargs)
        started.append(node)
        return node

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected failure")

    import devchain.sandbox

    monkeypatch.setattr(devchain.sandbox, "start_anvil", recording_start)
    monkeypatch.setattr(run, "build_traders", broken)
    port = free_port()
    with pytest.raises(RuntimeError, match="injected failure"):
        run_demo(DemoConfig(slots=2, households=2, port=port))
    assert len(started) == 1 and started[0].process.poll() is not None
    assert _port_free(port)
