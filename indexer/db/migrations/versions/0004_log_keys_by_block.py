"""Log keys by position on the chain: unique ``(block_number, log_index[, entry])``.

Every chain-derived table but ``readings`` was unique on ``(tx_hash, log_index[, entry])``: a
random 66-character key, so a backfill inserted each row at a random place of that index
(page splits, cache misses; on PostgreSQL text comparisons). Keyed by block number the index
grows at its end, and it also serves what the separate ``block_number`` index served (range
deletes after a reorganisation, block queries), which is dropped. The key is as unique as the
old one on the canonical chain the tables hold: a reorganisation deletes every row above the
last good block before anything is written again. ``readings`` (a TimescaleDB hypertable where
available, its partition column first in every unique key) is unchanged.

Backfill of 50k events, old and new schema alternated on one node (docs/indexer.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables keyed by log, and whether one log makes several rows (``entry``).
TABLES: dict[str, bool] = {
    "events": False,
    "orders": False,
    "order_cancellations": False,
    "order_claims": False,
    "clearings": False,
    "vault_ledger": True,
    "token_transfers": True,
    "meters": False,
    "meter_updates": False,
    "fee_changes": False,
}


def _key(first: str, entry: bool) -> list[str]:
    return [first, "log_index", *(["entry"] if entry else [])]


def upgrade() -> None:
    for table, entry in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_log", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_log", _key("block_number", entry))
            batch_op.drop_index(f"ix_{table}_block_number")


def downgrade() -> None:
    for table, entry in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_block_number", ["block_number"], unique=False)
            batch_op.drop_constraint(f"uq_{table}_log", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_log", _key("tx_hash", entry))
