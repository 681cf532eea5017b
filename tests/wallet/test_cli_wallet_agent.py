"""`enerwise wallet agent grant | list | revoke` against a local chain, as an owner runs it.

One chain for the module (`enerwise chain up` in a subprocess), returned to its state just after
the deployment after each test (an anvil snapshot), so every test starts where a fresh `chain up`
leaves it. The `wallet agent` commands run in process through the console entry point; a
malformed address and `agent run` run as a subprocess (the entry point, one line on stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from web3 import Web3

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS
from devchain.control import DevChain
from tests.in_process import CliResult, run_command
from wallet.keystore import Keystore

AGENT = Web3.to_checksum_address("0x000000000000000000000000000000000000a11c")


@dataclass(frozen=True)
class Owner:
    """The owner's key in a keystore folder, and the password file that unlocks it."""

    keystore: Keystore
    address: str
    password: Path

    @property
    def options(self) -> list[str]:
        """The command-line options that sign as the owner."""
        return [
            "--keystore", self.address, "--keystore-dir", str(self.keystore.directory),
            "--password-file", str(self.password),
        ]  # fmt: skip


@pytest.fixture
def owner(tmp_path: Path) -> Owner:
    keystore = Keystore(tmp_path / "keys", scrypt_n=2**10)
    key = keystore.import_private_key(ANVIL_DEV_KEYS[1], "pw")
    password = tmp_path / "pw.txt"
    password.write_text("pw\n")
    return Owner(keystore, key.address, password)


@dataclass(frozen=True)
class LocalChain:
    """ENERWISE_HOME of a running `enerwise chain up`, and its node."""

    home: Path
    rpc_url: str


@pytest.fixture(scope="module")
def local_chain(tmp_path_factory: pytest.TempPathFactory, compiled: None) -> Iterator[LocalChain]:
    """A running local chain (`enerwise chain up`), stopped after the module."""
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "ENERWISE_HOME": str(home)}
    up = subprocess.run(
        [sys.executable, "-m", "enerwise", "chain", "up", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        yield LocalChain(home, json.loads(up.stdout)["rpc_url"])
    finally:
        subprocess.run(
            [sys.executable, "-m", "enerwise", "chain", "down"],
            env=env,
            capture_output=True,
            timeout=60,
        )


@pytest.fixture
def home(local_chain: LocalChain) -> Iterator[Path]:
    """ENERWISE_HOME with the running local chain as `chain up` deployed it; what the test sent
    is dropped afterwards (a snapshot taken before, reverted after)."""
    chain = DevChain(connect(local_chain.rpc_url))
    snapshot = chain.snapshot()
    try:
        yield local_chain.home
    finally:
        chain.revert(snapshot)


Run = Callable[..., CliResult]


@pytest.fixture
def wallet_agent(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """``enerwise wallet agent ARGS`` in process, with ENERWISE_HOME the local chain's."""

    def run(*args: str) -> CliResult:
        with monkeypatch.context() as call:
            call.setenv("ENERWISE_HOME", str(home))
            return run_command(call, capsys, "wallet", "agent", *args)

    return run


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENERWISE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "enerwise", "wallet", "agent", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.usefixtures("compiled")
def test_owner_grants_lists_and_revokes_an_agent(wallet_agent: Run, owner: Owner) -> None:
    owner_opts = owner.options

    granted = wallet_agent(
        "grant", "--agent", AGENT,
        "--budget-eur-per-day", "5", "--sell-kwh-per-day", "12.5", "--max-buy-eur-per-kwh", "0.30",
        "--min-sell-eur-per-kwh", "0.10", "--expiry", "2099-01-01",
        *owner_opts, "--yes", "--json",
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    sent = json.loads(granted.stdout)
    assert sent["budget_per_day"] == 5_000_000 and sent["budget_eur_per_day"] == "5.00"
    assert sent["sell_wh_per_day"] == 12_500
    assert Decimal(sent["max_buy_eur_per_kwh"]) <= Decimal("0.30")  # a buyer's limit: down
    assert Decimal(sent["min_sell_eur_per_kwh"]) >= Decimal("0.10")  # a seller's limit: up

    listed = json.loads(wallet_agent("list", "--owner", owner.address, "--json").stdout)
    (row,) = listed["agents"]
    assert row["agent"] == AGENT and row["budget_per_day"] == 5_000_000
    assert (row["sell_wh_per_day"], row["spent"], row["sold_wh"]) == (12_500, 0, 0)
    assert (row["max_buy_tick"], row["min_sell_tick"]) == (sent["max_buy_tick"],
                                                           sent["min_sell_tick"])  # fmt: skip
    assert row["max_buy_eur_per_kwh"] == sent["max_buy_eur_per_kwh"]
    assert row["expiry"].startswith("2099-01-01")

    # the old spelling (base units) still works, says what replaced it, replaces the bounds
    again = wallet_agent(
        "grant", "--agent", AGENT, "--budget-per-day", "1000000", "--max-buy-tick", "1500",
        "--min-sell-tick", "200", "--expiry", "2099-01-01", *owner_opts, "--yes",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "--budget-per-day is deprecated: use --budget-base-units-per-day" in again.stderr
    listed = json.loads(wallet_agent("list", "--owner", owner.address, "--json").stdout)
    assert listed["agents"][0]["budget_eur_per_day"] == "1.00"
    assert listed["agents"][0]["max_buy_tick"] == 1500

    assert wallet_agent("revoke", AGENT, *owner_opts, "--yes").returncode == 0
    after = json.loads(wallet_agent("list", "--owner", owner.address, "--json").stdout)
    assert after["agents"] == []


@pytest.mark.usefixtures("compiled")
def test_grant_with_an_expiry_in_the_past_is_refused_by_name(
    wallet_agent: Run, owner: Owner
) -> None:
    result = wallet_agent(
        "grant", "--agent", AGENT, "--budget-base-units-per-day", "1",
        "--max-buy-tick", "1", "--min-sell-tick", "1", "--yes", "--expiry", "2001-01-01",
        *owner.options,
    )  # fmt: skip
    assert result.returncode == 1
    assert "AgentInvalidExpiry" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_agent_address_is_a_one_line_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "list", "--owner", "0x1234")
    assert result.returncode == 1
    assert "is not an Ethereum address" in result.stderr


@pytest.mark.usefixtures("compiled")
def test_the_granted_agent_runs_the_shipped_policy_from_the_command_line(
    wallet_agent: Run, home: Path, tmp_path: Path, owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = owner.keystore.import_private_key(ANVIL_DEV_KEYS[2], "pw")
    password = owner.password
    granted = wallet_agent(
        "grant", "--agent", agent.address, "--budget-eur-per-day", "5",
        "--max-buy-tick", "1500", "--min-sell-tick", "0", "--yes", "--expiry", "2099-01-01",
        *owner.options,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    _warp_to_just_before_the_next_slot(home, monkeypatch)
    state = tmp_path / "agent.state.json"
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "enerwise",
            "agent",
            "run",
            "--keystore",
            str(agent.path),
            "--owner",
            owner.address,
            "--password-file",
            str(password),
            "--state",
            str(state),
            "--steps",
            "1",
            "--interval",
            "0.1",
        ],
        env={**os.environ, "ENERWISE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    slots = json.loads(state.read_text())["slots"]
    (entry,) = slots.values()  # the next slot was decided, in its planning lead
    assert entry["book"] is True  # the shipped PPO plans on the book and orders late
    assert entry["orders"] == []


def _warp_to_just_before_the_next_slot(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mine a block 30 s before the next slot starts (book policies plan only then)."""
    from chain.connection import connect, resolve_rpc_url
    from energychain.deploy import load_deployment

    monkeypatch.setenv("ENERWISE_HOME", str(home))
    w3 = connect(resolve_rpc_url(None))
    market = load_deployment(w3).contracts(w3).market
    epoch, length = int(market.call("epoch")), int(market.call("slotSeconds"))
    now = int(w3.eth.get_block("latest")["timestamp"])
    start = epoch + ((now - epoch) // length + 1) * length
    if start - 30 <= now:
        start += length
    w3.provider.make_request("evm_setNextBlockTimestamp", [start - 30])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.mark.usefixtures("compiled")
def test_grant_without_budget_and_sell_limit_is_refused_before_sending(
    wallet_agent: Run, owner: Owner
) -> None:
    result = wallet_agent(
        "grant", "--agent", AGENT, "--budget-eur-per-day", "0",
        "--max-buy-tick", "1", "--min-sell-tick", "1", "--yes", "--expiry", "2099-01-01",
        *owner.options,
    )  # fmt: skip
    assert result.returncode != 0
    assert "needs a daily budget or a daily sell limit" in result.stderr


@pytest.mark.usefixtures("compiled")
def test_grant_with_a_tick_above_the_market_is_refused_by_name(
    wallet_agent: Run, owner: Owner
) -> None:
    result = wallet_agent(
        "grant", "--agent", AGENT, "--budget-eur-per-day", "1", "--sell-wh-per-day", "10",
        "--max-buy-tick", "65535", "--min-sell-tick", "1", "--yes", "--expiry", "2099-01-01",
        *owner.options,
    )  # fmt: skip
    assert result.returncode != 0
    assert "--max-buy-tick: 65535 is above the market's max tick" in result.stderr
