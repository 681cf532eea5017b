"""``enerwise grid``: networks, limits of a day, the benchmark; bad input in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def grid_json(command: str) -> Any:
    """What ``enerwise grid COMMAND --json`` prints (the command must succeed)."""
    result = runner.invoke(app, ["grid", *command.split(), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_limits_of_a_few_slots_as_json() -> None:
    out = grid_json(
        "limits --network cigre-mv-kerber-small --communities 3 --households 4 "
        "--day 2018-06-21 --slots 3"
    )
    assert [s["slot"] for s in out["slots"]] == [
        171 * 96 + j for j in range(3)
    ]  # 21 June, from midnight
    assert {x["community_id"] for x in out["slots"][0]["limits"]} == {"c01", "c02", "c03"}
    assert out["violations_with_limits"] == 0


def test_the_benchmark_prints_its_figures() -> None:
    figures = grid_json(
        "bench --network cigre-mv-kerber-small --communities 2 --households 3 --slots 2"
    )
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


PUBLISH = [
    "grid",
    "publish",
    "--network",
    "cigre-mv-kerber-small",
    "--communities",
    "3",
    "--households",
    "3",
    "--slots",
    "2",
]


def test_publish_on_a_throwaway_city_one_line_per_slot_and_a_summary(compiled: None) -> None:
    result = runner.invoke(app, [*PUBLISH, "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    *slots, summary = rows
    assert [r["status"] for r in slots] == ["published", "published"]
    assert slots[1]["slot"] == slots[0]["slot"] + 1
    assert all(r["chain_time"] < r["gate_closure"] for r in slots)
    assert all(r["communities"] == 3 and r["gas_used"] > 21_000 for r in slots)
    assert summary["published"] == 2 and summary["chain"] == "anvil"
    assert summary["gas_max"] == max(r["gas_used"] for r in slots)


@pytest.fixture(scope="module")
def city_on_anvil(compiled: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A city of three communities on an anvil, and keystores of its admin and grid operator."""
    from chain.connection import connect
    from chain.local_node import ANVIL_DEV_KEYS, start_anvil
    from devchain.city import deploy_city
    from devchain.sandbox import Sandbox
    from wallet.keystore import Keystore

    keys = tmp_path_factory.mktemp("grid-keys")
    store = Keystore(keys, scrypt_n=2**10)
    admin = store.import_private_key(ANVIL_DEV_KEYS[0], "pw").path
    operator = store.import_private_key(ANVIL_DEV_KEYS[1], "pw").path
    (keys / "pw.txt").write_text("pw\n")
    with start_anvil() as node:
        city = deploy_city(Sandbox.deploy(connect(node.rpc_url), ANVIL_DEV_KEYS[0]), 3)
        yield {
            "pool": city.pool,
            "rpc": node.rpc_url,
            "admin": str(admin),
            "operator": str(operator),
            "password": str(keys / "pw.txt"),
            "journal": str(keys / "journal.json"),
        }


def _on_pool(city: dict[str, Any], key: str) -> list[str]:
    return [
        *PUBLISH,
        "--pool",
        city["pool"].address,
        "--rpc-url",
        city["rpc"],
        "--keystore",
        city[key],
        "--password-file",
        city["password"],
        "--journal",
        city["journal"],
        "--yes",
        "--json",
    ]


def test_publish_to_an_existing_pool_with_the_grid_operators_key(city_on_anvil: Any) -> None:
    result = runner.invoke(app, _on_pool(city_on_anvil, "operator"))
    assert result.exit_code == 0, result.output
    *slots, summary = [json.loads(line) for line in result.stdout.splitlines()]
    pool = city_on_anvil["pool"]
    for row in slots:
        on_chain = pool.slot_limits(row["slot"])
        assert [x.import_wh for x in on_chain] == row["import_wh"]
        assert [x.export_wh for x in on_chain] == row["export_wh"]
    assert summary["chain"] == "pool" and summary["journal"] == city_on_anvil["journal"]


def test_publish_with_a_key_without_the_role_is_one_line(city_on_anvil: Any) -> None:
    result = runner.invoke(app, _on_pool(city_on_anvil, "admin"))
    assert result.exit_code != 0
    message = str(result.exception)
    assert "does not hold GRID_OPERATOR_ROLE" in message and "\n" not in message
