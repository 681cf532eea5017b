"""Fixtures of the indexer suite: migrated databases (SQLite and PostgreSQL), played chains.

- ``db_url`` is parametrized: every test that asks for a database runs on a SQLite file and on
  a fresh PostgreSQL database created for this session on 127.0.0.1:5432 (dropped after).
- ``engine`` is an empty, migrated database per test (a copied SQLite template; emptied
  PostgreSQL tables), so tests never see each other's rows.
- ``played`` is one anvil with EnergyChain deployed and a full market round played, shared by
  the read-only tests of a module.
- :func:`chain_template` deploys (and plays) once per module and hands each test the chain as
  it was then (anvil's snapshot and revert, a fresh sandbox): what a module's ``chain`` or
  ``played`` override uses instead of a new anvil and a new deployment per test.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import Connection, Engine, text

from chain.local_node import AnvilProcess, start_anvil
from chain.rpc import JsonRpcClient
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from indexer.api import ApiConfig, create_app
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import IngestConfig, Ingester
from tests.indexer.scenario import play_round

with warnings.catch_warnings():  # starlette deprecates its httpx-based TestClient; still fine
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_ADMIN_URL = os.environ.get(
    "ENERWISE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_available() -> bool:
    try:
        engine = make_engine(PG_ADMIN_URL, pool_pre_ping=False)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, migrated once; dropped at the end."""
    if not _pg_available():
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"enerwise_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (a migration per test would be slower)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty(engine: Engine) -> None:
    """Every row of the schema's tables deleted and every sequence restarted: what ``TRUNCATE
    ... RESTART IDENTITY`` leaves, without its new files and commit flush (0.5 s per test
    against 0.05 s for a test's few rows)."""
    from indexer.db.models import Base

    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):  # the referencing rows first
            conn.execute(table.delete())
        named = "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename)"
        for sequence in list(conn.execute(text(f"{named} FROM pg_sequences")).scalars()):
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


def empty_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of an empty migrated database of the backend the fixture's ``request.param``
    names: a copy of the SQLite template in ``folder``, or the PostgreSQL test database with
    every table emptied (:func:`_empty`)."""
    if request.param == "sqlite":
        path = folder / "indexer.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    _empty(engine)
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty migrated database, SQLite then PostgreSQL."""
    return empty_database(request, tmp_path)


class IndexedChain(Protocol):
    """A test chain that makes an ingester of what it deployed."""

    def ingester(self, engine: Engine) -> Ingester: ...


@contextlib.contextmanager
def indexed_api(
    request: pytest.FixtureRequest, folder: Path, chain: IndexedChain, **config: Any
) -> Iterator[tuple[TestClient, Engine]]:
    """``chain`` indexed into an empty database of the fixture's backend (:func:`empty_database`)
    and a client of the API over it, without rate limit (``config``: more ``ApiConfig``)."""
    engine = make_engine(empty_database(request, folder))
    try:
        chain.ingester(engine).sync()
        app = create_app(engine, ApiConfig(rate_limit_per_minute=0, **config))
        with TestClient(app) as client:
            yield client, engine
    finally:
        engine.dispose()


def indexed_fixture(chain_fixture: str, **config: Any) -> Any:
    """A module fixture, run on each backend: the chain of the fixture named ``chain_fixture``
    indexed (:func:`indexed_api`, ``config``: more ``ApiConfig``), as ``{"client", "engine",
    "chain"}``. Modules over different chains share it: ``indexed = indexed_fixture("...")``."""

    @pytest.fixture(scope="module", params=BACKENDS)
    def indexed(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[dict[str, Any]]:
        chain: IndexedChain = request.getfixturevalue(chain_fixture)
        folder = tmp_path_factory.mktemp(chain_fixture)
        with indexed_api(request, folder, chain, **config) as (client, engine):
            yield {"client": client, "engine": engine, "chain": chain}

    return indexed


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@dataclass
class Played:
    """A chain on which a full market round was played."""

    node: AnvilProcess
    community: Sandbox
    round: dict[str, Any]

    def ingester(self, engine: Engine, **config: Any) -> Ingester:
        return Ingester(
            engine,
            JsonRpcClient(self.node.rpc_url),
            self.community.deployment.addresses,
            self.community.deployment.block_number,
            config=IngestConfig(**config),
        )

    def rewind_to_deployment(self, conn: Connection, ingester: Ingester) -> None:
        """Move the checkpoint back to the block before the deployment, as if every commit
        since had been lost: the next sync replays the whole history."""
        start = ingester.rpc.header(self.community.deployment.block_number - 1)
        assert start is not None
        conn.execute(
            text("UPDATE indexer_state SET block_number = :n, block_hash = :h"),
            {"n": start.number, "h": start.hash},
        )


@dataclass
class ChainTemplate:
    """One anvil with EnergyChain deployed (and a round played), and a snapshot of it then."""

    node: AnvilProcess
    community: Sandbox
    round: dict[str, Any]
    snapshot_id: str

    def restore(self) -> Played:
        """The chain as it was at the snapshot, every later block dropped (anvil forgets a
        snapshot it reverts to: a new one is taken), with a fresh sandbox and round record."""
        dev = self.community.dev
        dev.revert(self.snapshot_id)
        self.snapshot_id = dev.snapshot()
        return Played(self.node, self.community.fresh_copy(), copy.deepcopy(self.round))


@contextlib.contextmanager
def chain_template(
    settings: MarketSettings | None = None, *, play: bool = False
) -> Iterator[ChainTemplate]:
    """A fresh anvil with EnergyChain deployed with ``settings`` (and, with ``play``, the round
    of :func:`play_round` played), snapshotted: for a module fixture whose tests each
    :meth:`~ChainTemplate.restore` it. A new anvil, deployment and round cost about 0.3
    CPU-seconds per test, a revert a tenth of that; a restored chain holds the same blocks,
    accounts and state as a new one (only its clock starts when the module's did)."""
    with start_anvil() as node:
        community = Sandbox.at(node.rpc_url, settings)
        played = play_round(community) if play else {}
        yield ChainTemplate(node, community, played, community.dev.snapshot())


@pytest.fixture(scope="module")
def played_template(compiled: None) -> Iterator[ChainTemplate]:
    """The module's chain on which the round of :func:`play_round` ran, snapshotted: a module
    whose tests each need a played chain of their own overrides ``played`` with its
    :meth:`~ChainTemplate.restore`."""
    with chain_template(play=True) as template:
        yield template


@pytest.fixture
def chain(compiled: None) -> Iterator[Played]:
    """A fresh anvil with EnergyChain deployed (nothing played yet)."""
    with start_anvil() as node:
        yield Played(node, Sandbox.at(node.rpc_url), {})


@pytest.fixture
def played(chain: Played) -> Played:
    """A fresh anvil on which one full round (readings, orders, cancel, clear, claims) ran."""
    chain.round = play_round(chain.community)
    return chain


def query_rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def table_counts(engine: Engine) -> dict[str, int]:
    from indexer.db.models import CHAIN_DERIVED

    with engine.connect() as conn:
        return {
            m.__tablename__: int(
                conn.execute(text(f"SELECT count(*) FROM {m.__tablename__}")).scalar_one()
            )
            for m in CHAIN_DERIVED
        }


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every chain-derived row, without surrogate ids, sorted: two databases holding the same
    facts compare equal. (``blocks`` is left out: which block hashes are kept depends on where
    ranges ended.)"""
    from indexer.db.models import CHAIN_DERIVED, Block

    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for model in CHAIN_DERIVED:
            if model is Block:
                continue
            table = model.__table__
            columns = [c for c in table.columns if c.name != "id"]
            rows = conn.execute(table.select().with_only_columns(*columns)).all()
            result[model.__tablename__] = sorted(tuple(str(v) for v in row) for row in rows)
    return result


def stored_blocks_are_canonical(engine: Engine, rpc: Any) -> bool:
    """Every block hash the database kept is the node's hash at that height."""
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT number, hash FROM blocks")).all()
    headers = rpc.headers([int(n) for n, _ in stored])
    return all(headers[int(n)].hash == h for n, h in stored)
