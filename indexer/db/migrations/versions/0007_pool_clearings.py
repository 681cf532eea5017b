"""The city pool's clearings (issue 17): ``pool_clearings``, ``pool_fills`` and ``pool_pauses``.

``pool_clearings`` holds every ``PoolCleared`` (slot, V*, p* and its price, the marginal ticks,
the grid fee per level in force); ``pool_fills`` one row per community of it (the log's
``entry`` is the community id: import and export Wh, the marginal levels of the community's
residual); ``pool_pauses`` every ``CommunityPaused`` (``paused`` true) and ``CommunityResumed``
(false). All three are append-only and keyed by their log like every chain-derived table
(``(block_number, log_index[, entry])``, 0004), so a reorganisation's rollback deletes from
them like from the others. A slot clears once (``uq_pool_clearings_slot``). The tables stay
empty for a deployment without a pool.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from indexer.db.migrations.tables import amount, create_tables, drop_tables, from_log

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexes of this revision, per table: (name, columns).
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "pool_fills": [("ix_pool_fills_slot", ["slot", "community_id"])],
    "pool_pauses": [("ix_pool_pauses_community", ["community_id", "block_number", "log_index"])],
}


def _tables() -> dict[str, list[SchemaItem]]:
    return {
        "pool_clearings": [
            sa.Column("slot", sa.BigInteger(), nullable=False),
            amount("volume_wh"),
            sa.Column("clearing_tick", sa.Integer(), nullable=False),
            amount("price"),
            sa.Column("buy_marginal_tick", sa.Integer(), nullable=False),
            sa.Column("sell_marginal_tick", sa.Integer(), nullable=False),
            sa.Column("fee_ticks_per_level", sa.Integer(), nullable=False),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_pool_clearings_log"),
            sa.UniqueConstraint("slot", name="uq_pool_clearings_slot"),
        ],
        "pool_fills": [
            sa.Column("slot", sa.BigInteger(), nullable=False),
            sa.Column("community_id", sa.Integer(), nullable=False),
            amount("import_wh"),
            amount("export_wh"),
            sa.Column("buy_marginal_tick", sa.Integer(), nullable=False),
            amount("buy_marginal_filled_wh"),
            amount("buy_marginal_total_wh"),
            sa.Column("sell_marginal_tick", sa.Integer(), nullable=False),
            amount("sell_marginal_filled_wh"),
            amount("sell_marginal_total_wh"),
            *from_log(),
            sa.UniqueConstraint(
                "block_number", "log_index", "community_id", name="uq_pool_fills_log"
            ),
        ],
        "pool_pauses": [
            sa.Column("community_id", sa.Integer(), nullable=False),
            sa.Column("paused", sa.Boolean(), nullable=False),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_pool_pauses_log"),
        ],
    }


def upgrade() -> None:
    create_tables(_tables, INDEXES)


def downgrade() -> None:
    drop_tables(_tables, INDEXES)
