"""Commitments of a sealed market (issue 15): ``commitments`` and ``commitment_outcomes``.

``commitments`` holds every ``OrderCommitted`` (owner, slot, the collateral locked from the
vault); ``commitment_outcomes`` how each one ended, ``revealed`` (``OrderRevealed``) or
``forfeited`` (``CommitmentForfeited``), with what went back to the vault and the bond. Both are
append-only and keyed by their log like every chain-derived table (``(block_number,
log_index)``, 0004), so a reorganisation's rollback deletes from them like from the others; a
commitment's status is derived (no outcome: ``committed``), never updated in place.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from indexer.db.migrations.tables import amount, create_tables, drop_tables, from_log

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexes of this revision, per table: (name, columns).
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "commitments": [
        ("ix_commitments_owner", ["owner", "block_number", "log_index"]),
        ("ix_commitments_slot", ["slot"]),
    ],
}


def _from_log(table: str) -> list[SchemaItem]:
    """The row id, block and log columns, the unique commit id and the log key (0004)."""
    return [
        *from_log(),
        sa.UniqueConstraint("commit_id", name=f"uq_{table}_commit_id"),
        sa.UniqueConstraint("block_number", "log_index", name=f"uq_{table}_log"),
    ]


def _tables() -> dict[str, list[SchemaItem]]:
    return {
        "commitments": [
            sa.Column("commit_id", sa.String(length=80), nullable=False),
            sa.Column("owner", sa.String(length=42), nullable=False),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            amount("locked_money"),
            amount("locked_wh"),
            *_from_log("commitments"),
        ],
        "commitment_outcomes": [
            sa.Column("commit_id", sa.String(length=80), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("order_id", sa.String(length=80), nullable=True),
            amount("bond"),
            amount("refund_money"),
            amount("refund_wh"),
            *_from_log("commitment_outcomes"),
        ],
    }


def upgrade() -> None:
    create_tables(_tables, INDEXES)


def downgrade() -> None:
    drop_tables(_tables, INDEXES)
