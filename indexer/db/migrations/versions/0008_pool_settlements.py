"""The city pool's settlements (issue 17): ``pool_settlements``, ``market_pool_settlements`` and
``order_pool_fills``.

``pool_settlements`` holds every ``PoolSettled`` of the pool (the slot and the fees it paid to
the grid fee recipient); ``market_pool_settlements`` every ``PoolFillSettled`` of the indexed
market when it is a ``PooledEnergyMarket`` (the Wh it took from and gave to the pool, and what
it paid for them); ``order_pool_fills`` every ``OrderPoolFilled`` (the part of an order's claimed
``filled_wh`` that came through the pool). All three are append-only and keyed by their log like
every chain-derived table (0004), so a reorganisation's rollback deletes from them like from
the others. A slot settles once, an order is claimed once. The tables stay empty for a
deployment without a pool, or with a plain market.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from indexer.db.migrations.tables import amount, create_tables, drop_tables, from_log

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexes of this revision, per table: (name, columns).
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "order_pool_fills": [("ix_order_pool_fills_slot", ["slot"])],
}


def _tables() -> dict[str, list[SchemaItem]]:
    return {
        "pool_settlements": [
            sa.Column("slot", sa.BigInteger(), nullable=False),
            amount("fees_paid"),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_pool_settlements_log"),
            sa.UniqueConstraint("slot", name="uq_pool_settlements_slot"),
        ],
        "market_pool_settlements": [
            sa.Column("slot", sa.BigInteger(), nullable=False),
            amount("import_wh"),
            amount("export_wh"),
            amount("paid_to_pool"),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_market_pool_settlements_log"),
            sa.UniqueConstraint("slot", name="uq_market_pool_settlements_slot"),
        ],
        "order_pool_fills": [
            sa.Column("order_id", sa.String(length=80), nullable=False),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            amount("pool_wh"),
            *from_log(),
            sa.UniqueConstraint("block_number", "log_index", name="uq_order_pool_fills_log"),
            sa.UniqueConstraint("order_id", name="uq_order_pool_fills_order_id"),
        ],
    }


def upgrade() -> None:
    create_tables(_tables, INDEXES)


def downgrade() -> None:
    drop_tables(_tables, INDEXES)
