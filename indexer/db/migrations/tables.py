"""What the migrations that add chain-derived tables (0005 on) share: the column kinds, the row
id and log columns every such table carries (0004), and creating and dropping a revision's
tables with their indexes. The DDL each revision emits is what it emitted when it was written
(``tests/indexer/test_migrations.py`` compares the migrated schema with the models); a change
here that altered it would rewrite history, so columns a later revision needs differently get
a new helper, never an edit of these."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from indexer.db.types import Amount

#: A revision's indexes, per table: (name, columns).
Indexes = Mapping[str, Sequence[tuple[str, list[str]]]]


def amount(name: str) -> sa.Column[int]:
    """A required ``uint256`` amount column (``NUMERIC(78, 0)``)."""
    return sa.Column(name, Amount(precision=78, scale=0), nullable=False)


def from_log() -> list[SchemaItem]:
    """The row id and the block and log columns (0004)."""
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def create_tables(tables: Callable[[], dict[str, list[SchemaItem]]], indexes: Indexes) -> None:
    """``op.create_table`` of each of ``tables()`` in order, each followed by its indexes."""
    for table, items in tables().items():
        op.create_table(table, *items)
        for name, columns in indexes.get(table, []):
            op.create_index(name, table, columns, unique=False)


def drop_tables(tables: Callable[[], dict[str, list[SchemaItem]]], indexes: Indexes) -> None:
    """The reverse of :func:`create_tables`."""
    for table in reversed(list(tables())):
        for name, _ in reversed(indexes.get(table, [])):
            op.drop_index(name, table_name=table)
        op.drop_table(table)
