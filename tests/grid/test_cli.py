"""``enerwise grid``: networks, limits of a day, the benchmark; bad input in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enerwise.cli import app
from grid.errors import GridError

runner = CliRunner()


@pytest.fixture(autouse=True)
def grid_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    import grid.catalogue

    monkeypatch.setattr(
        grid.catalogue, "DEFAULT_CACHE", tmp_path_factory.getbasetemp() / "cli-grid"
    )


def test_limits_of_a_few_slots_as_json() -> None:
    result = runner.invoke(
        app,
        [
            "grid",
            "limits",
            "--network",
            "cigre-mv-kerber-small",
            "--communities",
            "3",
            "--households",
            "4",
            "--day",
            "2018-06-21",
            "--slots",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [s["slot"] for s in out["slots"]] == [
        171 * 96 + j for j in range(3)
    ]  # 21 June, from midnight
    assert {x["community_id"] for x in out["slots"][0]["limits"]} == {"c01", "c02", "c03"}
    assert out["violations_with_limits"] == 0


def test_the_benchmark_prints_its_figures() -> None:
    result = runner.invoke(
        app,
        [
            "grid",
            "bench",
            "--network",
            "cigre-mv-kerber-small",
            "--communities",
            "2",
            "--households",
            "3",
            "--slots",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["power_flows_per_s_lightsim"] > 0
    assert figures["violations_limits_published_slots"] == 0


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--network", "atlantis"], "unknown network 'atlantis'"),
        (["--network", "kerber-landnetz-kabel-1", "--communities", "3"], "has 2 feeders"),
        (
            ["--network", "kerber-landnetz-kabel-1", "--communities", "1", "--day", "2018-13-01"],
            "day must be YYYY-MM-DD",
        ),
        (
            ["--network", "kerber-landnetz-kabel-1", "--communities", "1", "--forecast", "oracle"],
            "naive or perfect",
        ),
    ],
)
def test_bad_input_raises_the_grid_error_the_cli_prints(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["grid", "limits", "--households", "2", "--slots", "1", *args])
    assert isinstance(result.exception, GridError)
    assert message in str(result.exception)


def test_a_bad_network_name_is_one_red_line_for_a_user(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "enerwise", "grid", "limits", "--network", "atlantis"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"ENERWISE_GRID_CACHE": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: unknown network 'atlantis'")
    assert "Traceback" not in done.stderr
