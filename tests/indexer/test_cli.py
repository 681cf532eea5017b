"""`enerwise indexer migrate | run --once | verify` as an operator types them.

The commands run in process through the console entry point (``main``) against one played chain
for the module (the commands only read it; each test has its own database); a run on a database
never migrated runs as a subprocess, for what only a real process shows (the entry point, one
line on stderr and no traceback).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from chain.local_node import start_anvil
from devchain.sandbox import Sandbox
from indexer.db.engine import make_engine
from tests.in_process import CliResult, run_command
from tests.indexer.conftest import Played
from tests.indexer.scenario import play_round

REPO = Path(__file__).resolve().parents[2]

Run = Callable[..., CliResult]


@pytest.fixture(scope="module")
def played(compiled: None) -> Iterator[Played]:
    """A fresh anvil on which one full round ran, shared by the module's tests (as the
    conftest's ``played``, module-scoped: no command here writes to the chain)."""
    with start_anvil() as node:
        chain = Played(node, Sandbox.at(node.rpc_url), {})
        chain.round = play_round(chain.community)
        yield chain


@pytest.fixture
def indexer_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``enerwise indexer ARGS`` in process, from the repository's root as ``enerwise`` runs."""

    def run(*args: str) -> CliResult:
        with monkeypatch.context() as call:
            call.chdir(REPO)
            return run_command(call, capsys, "indexer", *args)

    return run


def enerwise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "enerwise", "indexer", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _migrate_and_index_once(enerwise: Run, played: Played, tmp_path: Path) -> str:
    """A database migrated and filled by ``indexer run --once``; its URL."""
    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    deployment = played.community.deployment.save(tmp_path / "deployment.json")
    assert enerwise("migrate", "--database-url", db).returncode == 0
    run = enerwise(
        "run", "--once", "--database-url", db, "--rpc-url", played.node.rpc_url,
        "--deployment", str(deployment),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return db


def test_migrate_run_and_verify_agree_with_the_chain(
    indexer_cli: Run, played: Played, tmp_path: Path
) -> None:
    db = _migrate_and_index_once(indexer_cli, played, tmp_path)
    verified = indexer_cli(
        "verify", "--json", "--database-url", db, "--rpc-url", played.node.rpc_url
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True


def test_verify_reports_a_tampered_balance_and_exits_1(
    indexer_cli: Run, played: Played, tmp_path: Path
) -> None:
    db = _migrate_and_index_once(indexer_cli, played, tmp_path)
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE vault_ledger SET delta = delta + 1 WHERE id = 1"))
    engine.dispose()
    verified = indexer_cli("verify", "--database-url", db, "--rpc-url", played.node.rpc_url)
    assert verified.returncode == 1
    assert "difference: vault money" in verified.stderr


def test_run_on_an_unmigrated_database_is_one_line_of_error(played: Played, tmp_path: Path) -> None:
    deployment = played.community.deployment.save(tmp_path / "deployment.json")
    result = enerwise(
        "run",
        "--once",
        "--database-url",
        f"sqlite:///{tmp_path}/new.sqlite3",
        "--rpc-url",
        played.node.rpc_url,
        "--deployment",
        str(deployment),
    )
    assert result.returncode == 1
    assert "enerwise indexer migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_prints_the_apis_document_without_a_server(
    indexer_cli: Run, tmp_path: Path
) -> None:
    out = tmp_path / "openapi.json"
    result = indexer_cli("openapi", "--output", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert "/v1/accounts/{address}/bill" in document["paths"]
    price = document["components"]["schemas"]["OrderPublic"]["properties"]["price"]
    assert price["type"] == "string" and price["pattern"] == "^-?[0-9]+$"
