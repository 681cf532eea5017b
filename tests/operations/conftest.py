"""Shared helpers of the operator tests: a CLI runner, a base community config, an anvil node
per module started at a fixed time, keystores of anvil's accounts, and the indexer suite's
database fixtures (``engine`` runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3

from chain.compiler import compile_contracts
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, start_anvil
from devchain.sandbox import Sandbox
from energychain.contracts import revert_decoder
from energychain.deploy import Deployment
from enerwise.cli import app
from tests.indexer.conftest import db_url, engine, pg_database, sqlite_template  # noqa: F401
from wallet.keystore import Keystore
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

ADMIN = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0
METER_ADMIN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil account 1
PAUSER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2
STRANGER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil account 3

#: Chain time at genesis of the operator suites' anvil: 10 November 2026, UTC.
GENESIS = int(datetime(2026, 11, 10, tzinfo=UTC).timestamp())
PASSWORD = "correct horse battery"

Run = Callable[..., Any]


@pytest.fixture
def cli() -> Run:
    """``cli("operator", "init", ...)``: invoke the CLI in-process, return the click result."""

    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(app, [str(a) for a in args], input=input)

    return run


def init_args(path: Path, **overrides: str) -> list[str]:
    """``operator init`` arguments for a valid local community, with option overrides."""
    options = {
        "--name": "sunny-street",
        "--admin": ADMIN,
        "--meter-admin": METER_ADMIN,
        "--pauser": PAUSER,
        "--treasury": ADMIN,
        "--retail-eur-per-kwh": "0.32",
        "--feed-in-eur-per-kwh": "0.08",
        "--tick-eur-per-kwh": "0.00012",
        "--rpc-url": "http://127.0.0.1:8545",
        "--chain-id": "31337",
    }
    options.update(overrides)
    args = ["operator", "init", "-c", str(path)]
    for key, value in options.items():
        args += [key, value]
    return args


def init_community(
    cli: Run, node: AnvilProcess, folder: Path, name: str = "sunny-street", **overrides: str
) -> Path:
    """``operator init`` of a valid community ``name`` on ``node`` (``init_args`` with
    ``overrides``), checked to succeed: its config file, ``folder/community.yaml``."""
    config = folder / "community.yaml"
    result = cli(*init_args(config, **{"--rpc-url": node.rpc_url, "--name": name, **overrides}))
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilProcess]:
    """One anvil per test module, its genesis at :data:`GENESIS`."""
    compile_contracts()
    args = ["--timestamp", str(GENESIS), "--gas-limit", "100000000"]
    with start_anvil(extra_args=args) as anvil:
        yield anvil


@dataclass(frozen=True)
class Keys:
    """Keystore files of anvil accounts 0 (admin), 1 (meter admin), 2 (pauser), 3 (stranger)."""

    password_file: Path
    files: list[Path]

    def of(self, index: int, *, yes: bool = True) -> list[str]:
        """The signing options of account ``index``; with ``--yes`` unless ``yes`` is false
        (a test has no terminal: a command that sends would refuse to ask)."""
        answer = ["--yes"] if yes else []
        key = ["--keystore", str(self.files[index]), "--password-file", str(self.password_file)]
        return [*key, *answer]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    password_file = folder / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    store = Keystore(folder / "keystore", scrypt_n=16)  # fast for tests only
    files = [store.import_private_key(key, PASSWORD).path for key in ANVIL_DEV_KEYS]
    return Keys(password_file, files)


def admin_sandbox(w3: Web3, deployment: Deployment) -> Sandbox:
    """A sandbox on a community the CLI deployed, sending as its admin (anvil's first key)."""
    admin = TransactionSender(
        w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=revert_decoder(), poll_interval=0.01
    )
    return Sandbox(w3=w3, deployment=deployment, admin=admin, decoder=revert_decoder())


def nonce(w3: Web3, address: str) -> int:
    return int(w3.eth.get_transaction_count(Web3.to_checksum_address(address)))


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def deploy_twice(cli: Run, w3: Web3, config: Path, keys: Keys) -> Any:
    """``operator deploy`` of ``config`` as the admin, checked to create the community, then
    again, checked to send nothing and find the same addresses: the first answer's JSON."""
    deployed = as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))
    assert deployed["created"] is True
    sent = nonce(w3, ADMIN)
    again = as_json(cli("operator", "deploy", "-c", config, *keys.of(0), "--json"))
    assert again["created"] is False and again["addresses"] == deployed["addresses"]
    assert nonce(w3, ADMIN) == sent  # idempotent: nothing sent
    return deployed
