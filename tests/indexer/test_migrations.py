"""Schema migrations: the app's tables come from Alembic only, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from indexer.db.engine import make_engine, normalize_url
from indexer.db.migrate import (
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    timescale_enabled,
    upgrade,
)
from indexer.db.models import Base
from indexer.errors import DatabaseSchemaError, IndexerConfigError


def test_a_migrated_database_is_at_the_head_revision(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    check_schema(engine)


def test_the_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_an_empty_database_is_refused_until_migrated(tmp_path: object) -> None:
    empty = make_engine(f"sqlite:///{tmp_path}/empty.sqlite3")
    with pytest.raises(DatabaseSchemaError, match="enerwise indexer migrate"):
        check_schema(empty)
    upgrade(empty)
    check_schema(empty)


def test_downgrade_then_upgrade_restores_the_schema(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_without_timescaledb_readings_is_a_plain_table_with_its_time_index(
    engine: Engine,
) -> None:
    assert timescale_enabled(engine) is False
    indexes = {i["name"] for i in inspect(engine).get_indexes("readings")}
    assert {"ix_readings_time", "ix_readings_meter_seq", "ix_readings_slot"} <= indexes


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_database_urls_are_routed_to_psycopg_3(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_other_databases_are_refused() -> None:
    with pytest.raises(IndexerConfigError):
        normalize_url("mysql://u@h/db")


def _uniques(engine: Engine, table: str) -> set[tuple[str, ...]]:
    return {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints(table)}


def test_the_migrated_unique_keys_and_indexes_are_the_models(engine: Engine) -> None:
    from sqlalchemy import UniqueConstraint

    for name, table in Base.metadata.tables.items():
        declared = {
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        }
        assert _uniques(engine, name) == declared, name
        indexes = {
            i["name"]
            for i in inspect(engine).get_indexes(name)
            if not i.get("duplicates_constraint")  # PostgreSQL lists a unique key's index too
        }
        assert indexes == {i.name for i in table.indexes}, name


def test_log_keys_go_back_to_transaction_hashes_on_downgrade(engine: Engine) -> None:
    downgrade(engine, "0003")
    assert ("tx_hash", "log_index") in _uniques(engine, "events")
    assert "ix_events_block_number" in {i["name"] for i in inspect(engine).get_indexes("events")}
    upgrade(engine)
    assert ("block_number", "log_index") in _uniques(engine, "events")
