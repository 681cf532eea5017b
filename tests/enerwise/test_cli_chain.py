"""`enerwise chain ...` as a user runs it: exit codes, one-line errors, no stray process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, _pid_cmdline, free_port
from wallet.keystore import Keystore


def enerwise(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "ENERWISE_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "enerwise", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_help_lists_the_command_groups(tmp_path: Path) -> None:
    result = enerwise("--help", home=tmp_path)
    assert result.returncode == 0
    for group in ("chain", "auction", "bench", "demo"):
        assert group in result.stdout


def test_unreachable_rpc_is_one_line_naming_the_url(tmp_path: Path) -> None:
    keys = Keystore(tmp_path / "keys", scrypt_n=2**10)
    deployer = keys.create("pw")
    (tmp_path / "pw").write_text("pw\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = enerwise(
        "chain", "deploy", "--rpc-url", url, "--yes", "--keystore", deployer.address,
        "--keystore-dir", str(tmp_path / "keys"), "--password-file", str(tmp_path / "pw"),
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert url in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("compiled")
def test_deploy_to_a_json_rpc_chain_with_a_keystore(tmp_path: Path, anvil: AnvilProcess) -> None:
    keys = Keystore(tmp_path / "keys", scrypt_n=2**10)
    deployer = keys.import_private_key(ANVIL_DEV_KEYS[2], "pw")
    (tmp_path / "pw").write_text("pw\n")
    result = enerwise(
        "chain", "deploy", "--rpc-url", anvil.rpc_url, "--yes", "--keystore", deployer.address,
        "--keystore-dir", str(tmp_path / "keys"), "--password-file", str(tmp_path / "pw"),
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert record["deployer"] == deployer.address


@pytest.mark.usefixtures("compiled")
def test_chain_up_deploys_and_down_stops_exactly_that_process(tmp_path: Path) -> None:
    up = enerwise("chain", "up", "--json", home=tmp_path)
    assert up.returncode == 0, up.stderr
    started = json.loads(up.stdout)
    try:
        assert started["reused"] is False
        assert set(started["addresses"]) == {"payment_token", "registry", "energy_token", "market"}
        record = json.loads((tmp_path / "deployments" / f"{started['chain_id']}.json").read_text())
        assert record["addresses"] == started["addresses"]

        again = enerwise("chain", "up", "--json", home=tmp_path)
        assert again.returncode == 0
        assert json.loads(again.stdout)["reused"] is True
        assert json.loads(again.stdout)["pid"] == started["pid"]

        status = enerwise("chain", "status", "--json", home=tmp_path)
        assert json.loads(status.stdout)["running"] is True
    finally:
        down = enerwise("chain", "down", home=tmp_path)
    assert down.returncode == 0
    assert _pid_cmdline(started["pid"]) is None
    status = enerwise("chain", "status", "--json", home=tmp_path)
    assert json.loads(status.stdout) == {"running": False}
