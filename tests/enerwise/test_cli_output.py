"""What the command line prints when nobody watches: a log (CI, a service, ssh without a
terminal) gets plain lines that never redraw, tables at full width, the demo one line per
cleared slot; scripts get JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain.local_node import free_port
from enerwise.cli import app
from enerwise.cli.output import print_json_line, print_measured, progress, status
from enerwise.demo.run import SlotSummary

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1b["


def test_progress_in_a_log_is_plain_lines_at_most_every_ten_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress("training ppo", 1000, "steps") as update:
        for done in range(1, 1001):
            update(done)
    lines = capsys.readouterr().err.splitlines()
    texts = [line.split("] ", 1)[1] for line in lines]
    assert texts == [
        "training ppo: started, 1,000 steps",
        "training ppo: 1,000/1,000 steps (100%)",
        "training ppo: done",
    ]
    assert all(line.startswith("[") and " s] " in line for line in lines)
    assert ESC not in "".join(lines)


def test_a_status_in_a_log_writes_each_new_message_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with status("evaluating") as update:
        for message in ("h000: truthful", "h000: truthful", "h000: bound"):
            update(message)
    texts = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert texts == ["evaluating", "h000: truthful", "h000: bound", "evaluating: done"]


def test_a_json_stream_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_json_line({"slot": 1, "placed": 2})
    print_json_line({"slot": 2, "placed": 0})
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["slot"] for line in lines] == [1, 2]


def test_a_benchmarks_figures_without_json_are_one_padded_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_measured({"tx_per_s": 812.5, "p99_ms": 3}, False, name_width=10)
    assert capsys.readouterr().out.splitlines() == ["tx_per_s   812.5", "p99_ms     3"]


def _python(code: str, **env: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    environment.pop("COLUMNS", None) if "COLUMNS" not in env else None
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )
    return done.stdout


WIDE_TABLE = """
from rich.table import Table
from enerwise.cli.console import console
table = Table("household", "meters", "import_wh")
table.add_row("0x" + "ab" * 20, ", ".join(f"meter-{i}" for i in range(12)), "123456789")
console.print(table)
print(console.width)
"""


def test_a_table_in_a_log_is_not_cut_at_80_columns() -> None:
    out = _python(WIDE_TABLE)
    assert out.splitlines()[-1] == "240"
    assert "0x" + "ab" * 20 in out and "meter-11" in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) > 80
    assert _python(WIDE_TABLE, COLUMNS="100").splitlines()[-1] == "100"


def _summary(k: int, price: int | None, volume_wh: int, import_wh: int) -> SlotSummary:
    return SlotSummary(
        k=k,
        slot=1_000 + k,
        start=1_529_575_200 + 900 * k,  # 2018-06-21 10:00 UTC
        volume_wh=volume_wh,
        clearing_price=price,
        retail=300_000,
        feed_in=80_000,
        import_wh=import_wh,
        export_wh=volume_wh,
        orders=12,
        errors=0,
    )


REPORT: dict[str, Any] = {
    "market": "open",
    "slots": 2,
    "households": 4,
    "data_day": "2018-06-21",
    "meters": {"modbus": 1, "simulated": 3},
    "minted_wh": 3_000,
    "metered_export_wh": 3_000,
    "metered_import_wh": 5_000,
    "traded_wh": 1_500,
    "local_share": 0.3,
    "paid": 300_000,
    "received": 299_250,
    "fees": 750,
    "escrow_left": 0,
    "energy_escrow_left_wh": 0,
    "agents_savings": 10_000,
    "baseline_savings": 5_000,
    "timing": {"first_cleared_slot_s": 4.2, "total_s": 9.9},
    "conservation": {"energy: minted = supply + redeemed": True},
    "conservation_ok": True,
    "notes": ["MQTT meters skipped: no broker"],
    "files": [],
}


def test_the_demo_in_a_log_prints_one_plain_line_per_cleared_slot_and_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import enerwise.demo.run as demo_run

    def fake_run_demo(config: Any, observer: Any, *, on_report: Any) -> dict[str, Any]:
        observer.on_note("community of 4 households drawn")
        observer.on_note("MQTT meters skipped: no broker")  # a note of the report too
        observer.on_slot(_summary(0, 123_400, 1_500, 2_500), [])
        observer.on_slot(_summary(1, None, 0, 2_500), [])
        on_report(REPORT)
        return REPORT

    monkeypatch.setattr(demo_run, "run_demo", fake_run_demo)
    result = CliRunner().invoke(app, ["demo", "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "community of 4 households drawn",
        "MQTT meters skipped: no broker",
        "slot 1000 (2018-06-21 10:00 UTC): price 0.1234 EUR/kWh, volume 1.50 kWh, "
        "local share 60.0 %, 12 orders",
        "slot 1001 (2018-06-21 10:15 UTC): no clearing, volume 0.00 kWh, local share 0.0 %, "
        "12 orders",
    ]
    assert "The day, read back from the chain" in lines
    assert "  traded P2P                         1.50 kWh (30.0 % of import)" in lines
    assert "  market                             open (orders visible until gate closure)" in lines
    assert "conservation holds" in lines
    assert lines.count("MQTT meters skipped: no broker") == 1  # a note is written once
    assert ESC not in result.stdout and "━" not in result.stdout and "│" not in result.stdout


def test_a_sealed_demo_in_a_log_names_its_mode_and_what_became_of_the_commitments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import enerwise.demo.run as demo_run

    sealed = {
        **REPORT,
        "market": "sealed",
        "commitments": 40,
        "revealed": 39,
        "forfeited": 1,
        "forfeited_bonds": 100_000,
    }

    def fake_run_demo(config: Any, observer: Any, *, on_report: Any) -> dict[str, Any]:
        assert config.market == "sealed"
        on_report(sealed)
        return sealed

    monkeypatch.setattr(demo_run, "run_demo", fake_run_demo)
    result = CliRunner().invoke(app, ["demo", "--market", "sealed", "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "  market                             sealed (commitments until gate closure, then reveals)"
        in lines
    )
    assert "  commitments: revealed / forfeited  40: 39 / 1 (bonds 0.1000 EUR)" in lines


def test_an_unknown_market_mode_is_one_line_and_no_traceback() -> None:
    result = CliRunner().invoke(app, ["demo", "--market", "dark-pool", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "--market must be one of open, sealed, not 'dark-pool'" in result.output
    assert "Traceback" not in result.output


def test_progress_in_a_log_writes_a_line_each_ten_seconds_with_the_time_left(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([0.0, 0.0, 5.0, 10.0, 10.0, 15.0, 20.0, 20.0, 40.0, 40.0, 40.0, 40.0])
    monkeypatch.setattr("enerwise.cli.output.time.perf_counter", lambda: next(clock))
    with progress("bench", 400) as update:
        for done in (100, 150, 200, 300, 400):
            update(done)
    texts = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert texts == [
        "bench: started, 400",
        "bench: 150/400 (38%), 0:16 left",
        "bench: 300/400 (75%), 0:06 left",
        "bench: 400/400 (100%)",
        "bench: done",
    ]
