"""Run the Alembic migrations shipped in ``indexer/db/migrations`` (no alembic.ini needed).

The application never creates tables itself: ``enerwise indexer migrate`` (or :func:`upgrade`)
brings a database to the head revision, and :func:`check_schema` refuses to run on a database
that is not there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from indexer.errors import DatabaseSchemaError, DatabaseUnreachableError

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and at ``engine`` if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise DatabaseSchemaError("no migrations are packaged")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated).

    Raises:
        DatabaseUnreachableError: the database cannot be opened.
    """
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise unreachable(engine, exc) from None


def unreachable(engine: Engine, exc: OperationalError) -> DatabaseUnreachableError:
    """The one-line error of a database that cannot be opened (URL without the password)."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"
    return DatabaseUnreachableError(f"database {engine.url!r} cannot be opened: {reason}")


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate the database of ``engine`` to ``revision``; returns the revision reached."""
    current_revision(engine)  # a database that cannot be opened: one line, before Alembic
    command.upgrade(alembic_config(engine), revision)
    reached = current_revision(engine) or "base"
    logger.info("database at revision %s", reached)
    return reached


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Raise :class:`DatabaseSchemaError` unless the database is at the head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        raise DatabaseSchemaError(
            f"database is at revision {current or 'none'}, the code needs {head}: "
            "run `enerwise indexer migrate`"
        )


def timescale_enabled(engine: Engine) -> bool:
    """True when the database has the TimescaleDB extension installed (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        ).first()
    return found is not None
