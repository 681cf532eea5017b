"""Initial schema: chain-derived tables, indexer state, sign-in nonces, meter requests.

On PostgreSQL with the TimescaleDB extension available, ``readings`` becomes a hypertable on
``reading_time`` (its primary key then includes that column, as TimescaleDB requires); without
it (this project's machines) it stays a plain table with the same indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import indexer.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accounts_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "clearings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("volume_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("clearing_tick", sa.Integer(), nullable=False),
        sa.Column("price", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("buy_marginal_tick", sa.Integer(), nullable=False),
        sa.Column(
            "buy_marginal_filled_wh",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column(
            "buy_marginal_total_wh",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column("sell_marginal_tick", sa.Integer(), nullable=False),
        sa.Column(
            "sell_marginal_filled_wh",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column(
            "sell_marginal_total_wh",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot", name="uq_clearings_slot"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_clearings_log"),
    )
    with op.batch_alter_table("clearings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clearings_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contract", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_events_log"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_name"), ["name"], unique=False)

    op.create_table(
        "fee_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("treasury", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_fee_changes_log"),
    )
    with op.batch_alter_table("fee_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fee_changes_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "indexer_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("market", sa.JSON(), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("head_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "meter_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("requester", sa.String(length=42), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column(
            "capacity_wh_per_slot",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meter_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_requests_requester"), ["requester"], unique=False
        )

    op.create_table(
        "meter_updates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.String(length=66), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_meter_updates_log"),
    )
    with op.batch_alter_table("meter_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_updates_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index("ix_meter_updates_meter", ["meter_id", "block_number"], unique=False)

    op.create_table(
        "meters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.String(length=66), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column(
            "capacity_wh_per_slot",
            indexer.db.types.Amount(precision=78, scale=0),
            nullable=False,
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meter_id", name="uq_meters_meter_id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_meters_log"),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meters_block_number"), ["block_number"], unique=False)
        batch_op.create_index("ix_meters_owner", ["owner"], unique=False)

    op.create_table(
        "order_cancellations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", name="uq_order_cancellations_order_id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_order_cancellations_log"),
    )
    with op.batch_alter_table("order_cancellations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_cancellations_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "order_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("filled_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("amount", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("fee", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("refund", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", name="uq_order_claims_order_id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_order_claims_log"),
    )
    with op.batch_alter_table("order_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_claims_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index("ix_order_claims_owner", ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_claims_slot"), ["slot"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=80), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("is_buy", sa.Boolean(), nullable=False),
        sa.Column("tick", sa.Integer(), nullable=False),
        sa.Column("qty_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("escrow", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", name="uq_orders_order_id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_orders_log"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_block_number"), ["block_number"], unique=False)
        batch_op.create_index("ix_orders_owner_nonce", ["owner", "nonce"], unique=False)
        batch_op.create_index("ix_orders_slot_nonce", ["slot", "nonce"], unique=False)
        batch_op.create_index("ix_orders_slot_tick", ["slot", "tick"], unique=False)

    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.String(length=66), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("reading_time", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column(
            "import_delta_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False
        ),
        sa.Column(
            "export_delta_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False
        ),
        sa.Column("archive_cid", sa.Text(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reading_time", "tx_hash", "log_index", name="uq_readings_log"),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_readings_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index("ix_readings_meter_seq", ["meter_id", "seq"], unique=False)
        batch_op.create_index("ix_readings_slot", ["slot"], unique=False)
        batch_op.create_index("ix_readings_time", ["reading_time"], unique=False)

    op.create_table(
        "siwe_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("siwe_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_siwe_nonces_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "slots",
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot"),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slots_block_number"), ["block_number"], unique=False)

    op.create_table(
        "token_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry", sa.SmallInteger(), nullable=False),
        sa.Column("operator", sa.String(length=42), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("amount_wh", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", "entry", name="uq_token_transfers_log"),
    )
    with op.batch_alter_table("token_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_transfers_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index("ix_token_transfers_from", ["from_address", "slot"], unique=False)
        batch_op.create_index("ix_token_transfers_slot", ["slot"], unique=False)
        batch_op.create_index("ix_token_transfers_to", ["to_address", "slot"], unique=False)

    op.create_table(
        "vault_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry", sa.SmallInteger(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("delta", indexer.db.types.Amount(precision=78, scale=0), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", "entry", name="uq_vault_ledger_log"),
    )
    with op.batch_alter_table("vault_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_vault_ledger_account", ["account", "asset", "slot"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_vault_ledger_block_number"), ["block_number"], unique=False
        )
    _readings_hypertable()


def _readings_hypertable() -> None:
    """Make ``readings`` a TimescaleDB hypertable when the extension can be had."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.execute("ALTER TABLE readings DROP CONSTRAINT readings_pkey")
    op.execute("ALTER TABLE readings ADD PRIMARY KEY (id, reading_time)")
    op.execute(
        "SELECT create_hypertable('readings', 'reading_time', "
        "chunk_time_interval => 604800, migrate_data => true)"
    )


def downgrade() -> None:
    with op.batch_alter_table("vault_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_ledger_block_number"))
        batch_op.drop_index("ix_vault_ledger_account")

    op.drop_table("vault_ledger")
    with op.batch_alter_table("token_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_token_transfers_to")
        batch_op.drop_index("ix_token_transfers_slot")
        batch_op.drop_index("ix_token_transfers_from")
        batch_op.drop_index(batch_op.f("ix_token_transfers_block_number"))

    op.drop_table("token_transfers")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slots_block_number"))

    op.drop_table("slots")
    with op.batch_alter_table("siwe_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_siwe_nonces_expires_at"))

    op.drop_table("siwe_nonces")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_time")
        batch_op.drop_index("ix_readings_slot")
        batch_op.drop_index("ix_readings_meter_seq")
        batch_op.drop_index(batch_op.f("ix_readings_block_number"))

    op.drop_table("readings")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_slot_tick")
        batch_op.drop_index("ix_orders_slot_nonce")
        batch_op.drop_index("ix_orders_owner_nonce")
        batch_op.drop_index(batch_op.f("ix_orders_block_number"))

    op.drop_table("orders")
    with op.batch_alter_table("order_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_claims_slot"))
        batch_op.drop_index("ix_order_claims_owner")
        batch_op.drop_index(batch_op.f("ix_order_claims_block_number"))

    op.drop_table("order_claims")
    with op.batch_alter_table("order_cancellations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_cancellations_block_number"))

    op.drop_table("order_cancellations")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index("ix_meters_owner")
        batch_op.drop_index(batch_op.f("ix_meters_block_number"))

    op.drop_table("meters")
    with op.batch_alter_table("meter_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_meter_updates_meter")
        batch_op.drop_index(batch_op.f("ix_meter_updates_block_number"))

    op.drop_table("meter_updates")
    with op.batch_alter_table("meter_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_requests_requester"))

    op.drop_table("meter_requests")
    op.drop_table("indexer_state")
    with op.batch_alter_table("fee_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_changes_block_number"))

    op.drop_table("fee_changes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_name"))
        batch_op.drop_index(batch_op.f("ix_events_block_number"))

    op.drop_table("events")
    with op.batch_alter_table("clearings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clearings_block_number"))

    op.drop_table("clearings")
    op.drop_table("blocks")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_block_number"))

    op.drop_table("accounts")
