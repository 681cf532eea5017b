"""The city pool (issue 17): ``pool_communities``, ``pool_fee_changes`` and ``pool_limits``.

``pool_communities`` holds every ``CommunityAdded`` (community id, market, network levels, the
block it was added in); ``pool_fee_changes`` every ``GridFeeChanged``; ``pool_limits`` one row
per community of every ``LimitsPublished`` (the log's ``entry`` is the community id). All three
are append-only and keyed by their log like every chain-derived table (``(block_number,
log_index[, entry])``, 0004), so a reorganisation's rollback deletes from them like from the
others. A slot's limits are revised by a later publication: every revision is kept and the
queries take the latest, so undoing the latest brings the one before back. The tables stay
empty for a deployment without a pool.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from indexer.db.migrations.tables import amount, create_tables, drop_tables, from_log

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexes of this revision, per table: (name, columns).
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "pool_limits": [
        ("ix_pool_limits_slot", ["slot", "community_id", "block_number", "log_index"]),
    ],
}


def _tables() -> dict[str, list[SchemaItem]]:
    return {
        "pool_communities": [
            sa.Column("community_id", sa.Integer(), nullable=False),
            sa.Column("market", sa.String(length=42), nullable=False),
            sa.Column("levels", sa.SmallInteger(), nullable=False),
            *from_log(),
            sa.UniqueConstraint("community_id", name="uq_pool_communities_community_id"),
            sa.UniqueConstraint("block_number", "log_index", name="uq_pool_communities_log"),
        ],
        "pool_fee_changes": [
            sa.Column("fee_ticks_per_level", sa.Integer(), nullable=False),
            sa.Column("recipient", sa.String(length=42), nullable=False),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_pool_fee_changes_log"),
        ],
        "pool_limits": [
            sa.Column("slot", sa.BigInteger(), nullable=False),
            sa.Column("community_id", sa.Integer(), nullable=False),
            amount("import_wh"),
            amount("export_wh"),
            *from_log(),
            sa.UniqueConstraint(
                "block_number", "log_index", "community_id", name="uq_pool_limits_log"
            ),
        ],
    }


def upgrade() -> None:
    create_tables(_tables, INDEXES)


def downgrade() -> None:
    drop_tables(_tables, INDEXES)
