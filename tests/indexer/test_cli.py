"""`enerwise indexer migrate | run --once | verify` as an operator types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from indexer.db.engine import make_engine
from tests.indexer.conftest import Played

REPO = Path(__file__).resolve().parents[2]


def enerwise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "enerwise", "indexer", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _migrate_and_index_once(played: Played, tmp_path: Path) -> str:
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


def test_migrate_run_and_verify_agree_with_the_chain(played: Played, tmp_path: Path) -> None:
    db = _migrate_and_index_once(played, tmp_path)
    verified = enerwise("verify", "--json", "--database-url", db, "--rpc-url", played.node.rpc_url)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True


def test_verify_reports_a_tampered_balance_and_exits_1(played: Played, tmp_path: Path) -> None:
    db = _migrate_and_index_once(played, tmp_path)
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE vault_ledger SET delta = delta + 1 WHERE id = 1"))
    engine.dispose()
    verified = enerwise("verify", "--database-url", db, "--rpc-url", played.node.rpc_url)
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


def test_openapi_prints_the_apis_document_without_a_server(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    result = enerwise("openapi", "--output", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert "/v1/accounts/{address}/bill" in document["paths"]
    price = document["components"]["schemas"]["OrderPublic"]["properties"]["price"]
    assert price["type"] == "string" and price["pattern"] == "^-?[0-9]+$"
