"""Database URLs, engines and sessions: SQLite (a file) by default, PostgreSQL via psycopg 3.

``postgresql://`` and ``postgres://`` URLs are routed to the psycopg 3 driver; SQLite files get
WAL journaling (readers never block the ingester's writes) and a busy timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from chain.paths import run_dir
from indexer.errors import IndexerConfigError


def default_database_url() -> str:
    """``sqlite:///<run dir>/indexer/enerwise.sqlite3`` (the folder is created)."""
    folder = run_dir() / "indexer"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'enerwise.sqlite3'}"


def normalize_url(url: str | None) -> str:
    """The SQLAlchemy URL to use for ``url`` (``None``: the default SQLite file)."""
    if not url:
        return default_database_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise IndexerConfigError(f"database URL {url!r} is not a valid URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise IndexerConfigError(
            f"database {parsed.get_backend_name()!r} is not supported (use sqlite or postgresql)"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise IndexerConfigError("PostgreSQL is reached through psycopg 3: postgresql+psycopg://")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`normalize_url`)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
