"""`enerwise devices`, run as a user would: a malformed household file as a subprocess (the
entry point, one red line and no traceback on a real stderr), the other commands in process
through the same entry point (``main``), without a Python start each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.in_process import run_command

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "enerwise", "devices", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_check_summarises_a_valid_household_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "household.yaml"
    path.write_text(
        "household: h1\n"
        "devices:\n"
        "  battery: {kind: sunspec, protocol: model802_704, host: 127.0.0.1}\n"
        "  heat_pump: {kind: sgready-mqtt, topic: relays}\n"
    )
    done = run_command(
        monkeypatch, capsys, "devices", "check", "--config", path, "--json", cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["battery"] == "model802_704"
    assert summary["heat_pump"] == "sgready-mqtt"
    assert summary["charger"] is None


def test_a_malformed_household_file_is_one_red_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "household.yaml"
    path.write_text("household: h1\ndevices: {charger: {kind: ocpp, charge_point_id: 'a b'}}\n")
    done = _run("check", "--config", str(path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "devices.charger.charge_point_id: String should match pattern" in lines[0]
    assert "Traceback" not in done.stderr


def test_a_malformed_plan_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "household.yaml"
    config.write_text("household: h1\n")
    plan = tmp_path / "plan.json"
    plan.write_text('{"battery": {"mode": "explode"}}')
    done = run_command(
        monkeypatch, capsys, "devices", "run", "--config", config, "--plan", plan,
        "--no-watchdog", cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert "plan: ValueError: 'explode' is not a valid BatteryMode" in done.stderr
    assert "Traceback" not in done.stderr
