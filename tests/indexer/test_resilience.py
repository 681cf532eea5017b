"""Crashes and outages: a killed ingester, an unreachable node, an unavailable database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from chain.retry import Backoff
from chain.rpc import JsonRpcClient
from indexer import metrics, store
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.errors import DatabaseUnreachableError
from indexer.ingest import IngestConfig, Ingester, wait_for
from indexer.verify import verify
from tests.indexer.conftest import ChainTemplate, Played, snapshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def played(played_template: ChainTemplate) -> Played:
    """A chain on which one full round ran, this test's alone: the module's, reverted to its
    snapshot (instead of a new anvil, deployment and round per test)."""
    return played_template.restore()


def _checkpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        cp = store.checkpoint(conn)
    return cp.block_number if cp else -1


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "enerwise", "indexer", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_an_ingester_killed_mid_run_resumes_with_no_gap_and_no_duplicate(
    played: Played, db_url: str, tmp_path: Path
) -> None:
    deployment = played.community.deployment.save(tmp_path / "deployment.json")
    engine = make_engine(db_url)
    head = JsonRpcClient(played.node.rpc_url).block_number()
    common = [
        "--rpc-url",
        played.node.rpc_url,
        "--database-url",
        db_url,
        "--deployment",
        str(deployment),
        "--max-range",
        "1",
        "--poll-interval",
        "0.05",
    ]
    process = _cli("run", *common)
    try:
        assert wait_for(lambda: _checkpoint(engine) > head // 2, timeout=60, interval=0.01)
    finally:
        process.send_signal(signal.SIGKILL)  # no clean shutdown: mid-range at any point
        process.wait(10)
    assert _checkpoint(engine) < head
    restarted = _cli("run", *common, "--once")
    _, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode()[-2000:]
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    upgrade(fresh)
    played.ingester(fresh).sync()
    assert snapshot(engine) == snapshot(fresh)
    engine.dispose()
    fresh.dispose()


class FlakyTransport(httpx.BaseTransport):
    """Refuses the first ``failures`` requests like a node that is down, then forwards."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


def _refuse_connections(engine: Engine, times: int) -> dict[str, int]:
    """The database down for ``engine``'s next ``times`` connections, then back: the
    ``"connects"`` it will still refuse (0 once the ingester got through)."""
    down = {"connects": times}

    @event.listens_for(engine, "do_connect")
    def refuse(*_: Any) -> None:
        if down["connects"] > 0:
            down["connects"] -= 1
            raise OperationalError("connect", {}, Exception("database is down"))

    return down


def _run_until_idle(ingester: Ingester, timeout: float = 60) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=ingester.run, args=(stop,), kwargs={"exit_when_idle": True}, daemon=True
    )
    thread.start()
    thread.join(timeout)
    stop.set()
    assert not thread.is_alive(), "the ingester did not catch up"


def test_an_unreachable_node_pauses_ingestion_which_catches_up_after(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine)
    ingester.prepare()
    ingester.rpc = JsonRpcClient(
        played.node.rpc_url, transport=FlakyTransport(12), backoff=Backoff(base=0.001, attempts=3)
    )
    ingester.config = IngestConfig(outage_backoff=Backoff(base=0.01, cap=0.05))
    paused = metrics.OUTAGES.labels("rpc")._value.get()
    _run_until_idle(ingester)
    assert metrics.OUTAGES.labels("rpc")._value.get() >= paused + 3
    assert verify(engine, ingester.rpc).ok


def test_an_unavailable_database_pauses_ingestion_which_catches_up_after(
    played: Played, db_url: str
) -> None:
    engine = make_engine(db_url, poolclass=NullPool)
    ingester = played.ingester(engine, outage_backoff=Backoff(base=0.01, cap=0.05))
    ingester.prepare()
    down = _refuse_connections(engine, 6)
    paused = metrics.OUTAGES.labels("database")._value.get()
    _run_until_idle(ingester)
    assert down["connects"] == 0
    assert metrics.OUTAGES.labels("database")._value.get() >= paused + 1
    assert verify(engine, ingester.rpc).ok
    engine.dispose()


def test_a_database_that_crashes_after_the_schema_check_is_one_error_naming_it(
    played: Played, db_url: str
) -> None:
    """``prepare`` (what ``indexer run`` does at start) meets a database that answered the
    schema check and then went away (a crash mid-start): DatabaseUnreachableError naming the
    URL without its password, not the driver's OperationalError and its traceback."""
    engine = make_engine(db_url, poolclass=NullPool)
    connects = {"n": 0}

    @event.listens_for(engine, "do_connect")
    def crash_after_first(*_: Any) -> None:
        connects["n"] += 1
        if connects["n"] > 1:
            raise OperationalError("connect", {}, Exception("the database system is shutting down"))

    with pytest.raises(DatabaseUnreachableError, match="the database system is shutting down"):
        played.ingester(engine).prepare()
    assert connects["n"] == 2  # the schema check passed, the next connection failed
    engine.dispose()


def test_a_run_whose_database_is_down_at_its_first_step_waits_and_catches_up(
    played: Played, db_url: str
) -> None:
    """``Ingester.run`` prepares inside its first step when nobody called ``prepare``: a
    database down then is an outage to wait through, like one down later."""
    engine = make_engine(db_url, poolclass=NullPool)
    ingester = played.ingester(engine, outage_backoff=Backoff(base=0.01, cap=0.05))
    down = _refuse_connections(engine, 4)
    _run_until_idle(ingester)
    assert down["connects"] == 0
    assert verify(engine, ingester.rpc).ok
    engine.dispose()


def test_indexer_run_with_its_database_down_at_start_exits_with_one_line(
    played: Played, tmp_path: Path
) -> None:
    """A PostgreSQL server that does not answer at start (a crash, a wrong port): exit 1 and
    one line naming the database, no traceback and no password (a supervisor restarts it)."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    deployment = played.community.deployment.save(tmp_path / "deployment.json")
    process = _cli(
        "run", "--once", "--database-url",
        f"postgresql+psycopg://soak:secret-pw@127.0.0.1:{port}/enerwise",
        "--rpc-url", played.node.rpc_url, "--deployment", str(deployment),
    )  # fmt: skip
    _, stderr = process.communicate(timeout=120)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode == 1
    assert "Traceback" not in stderr.decode()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}/enerwise cannot be opened" in lines[0]
    assert "secret-pw" not in lines[0]


def test_a_database_bound_to_one_deployment_refuses_another(played: Played, engine: Engine) -> None:
    from indexer.errors import ChainMismatchError

    played.ingester(engine).sync()
    other = dict(played.community.deployment.addresses)
    other["market"] = other["registry"]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE indexer_state SET addresses = :a"), {"a": __import__("json").dumps(other)}
        )
    with pytest.raises(ChainMismatchError):
        played.ingester(engine).prepare()


def test_run_loop_sleeps_between_polls_when_caught_up(played: Played, engine: Engine) -> None:
    ingester = played.ingester(engine, poll_interval=0.05)
    stop = threading.Event()
    steps: list[Any] = []
    thread = threading.Thread(
        target=ingester.run, args=(stop,), kwargs={"on_step": steps.append}, daemon=True
    )
    started = time.monotonic()
    thread.start()
    deadline = started + 30  # a loaded machine may take long for the first steps
    while sum(s.idle for s in list(steps)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    elapsed = time.monotonic() - started
    idle = [s for s in steps if s.idle]
    assert len(idle) >= 3  # it keeps polling once caught up
    # ... and sleeps 0.05 s between idle polls: never more of them than the time allows
    assert len(idle) <= elapsed / 0.05 + 1
