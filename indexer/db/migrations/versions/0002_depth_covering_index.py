"""Covering index for order-book depth: (slot, tick, is_buy, qty_wh, order_id).

Depth sums ``qty_wh`` per (tick, side) of a slot's orders not cancelled; with every column in the
index the database answers from the index alone (SQLite: 16 ms -> a few ms for 2,000 orders in
a slot). It replaces the (slot, tick) index, its prefix.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_slot_tick")
        batch_op.create_index(
            "ix_orders_depth", ["slot", "tick", "is_buy", "qty_wh", "order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_depth")
        batch_op.create_index("ix_orders_slot_tick", ["slot", "tick"], unique=False)
