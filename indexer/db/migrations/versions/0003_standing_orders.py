"""Standing orders a household sets in the dApp and its gateway reads (issue 16 item 6,
issue 20 item 1).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import indexer.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standing_orders",
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("sell_min_price", indexer.db.types.Amount(precision=78, scale=0), nullable=True),
        sa.Column(
            "buy_below_tariff", indexer.db.types.Amount(precision=78, scale=0), nullable=True
        ),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account"),
    )


def downgrade() -> None:
    op.drop_table("standing_orders")
