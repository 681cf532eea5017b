"""Initial schema: chain-derived tables, indexer state, sign-in nonces, meter requests.

On PostgreSQL with the TimescaleDB extension available, ``readings`` becomes a hypertable on
``reading_time`` (its primary key then includes that column, as TimescaleDB requires); without
it (this project's machines) it stays a plain table with the same indexes.

Every table derived from a log ends with the same columns and keys (:func:`_from_log`); the
indexes of every table are listed once (:data:`INDEXES`) and dropped in reverse order on
downgrade.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

import indexer.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every index of this revision, per table in creation order: (name, columns).
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "accounts": [("ix_accounts_block_number", ["block_number"])],
    "clearings": [("ix_clearings_block_number", ["block_number"])],
    "events": [("ix_events_block_number", ["block_number"]), ("ix_events_name", ["name"])],
    "fee_changes": [("ix_fee_changes_block_number", ["block_number"])],
    "meter_requests": [("ix_meter_requests_requester", ["requester"])],
    "meter_updates": [
        ("ix_meter_updates_block_number", ["block_number"]),
        ("ix_meter_updates_meter", ["meter_id", "block_number"]),
    ],
    "meters": [
        ("ix_meters_block_number", ["block_number"]),
        ("ix_meters_owner", ["owner"]),
    ],
    "order_cancellations": [("ix_order_cancellations_block_number", ["block_number"])],
    "order_claims": [
        ("ix_order_claims_block_number", ["block_number"]),
        ("ix_order_claims_owner", ["owner"]),
        ("ix_order_claims_slot", ["slot"]),
    ],
    "orders": [
        ("ix_orders_block_number", ["block_number"]),
        ("ix_orders_owner_nonce", ["owner", "nonce"]),
        ("ix_orders_slot_nonce", ["slot", "nonce"]),
        ("ix_orders_slot_tick", ["slot", "tick"]),
    ],
    "readings": [
        ("ix_readings_block_number", ["block_number"]),
        ("ix_readings_meter_seq", ["meter_id", "seq"]),
        ("ix_readings_slot", ["slot"]),
        ("ix_readings_time", ["reading_time"]),
    ],
    "siwe_nonces": [("ix_siwe_nonces_expires_at", ["expires_at"])],
    "slots": [("ix_slots_block_number", ["block_number"])],
    "token_transfers": [
        ("ix_token_transfers_block_number", ["block_number"]),
        ("ix_token_transfers_from", ["from_address", "slot"]),
        ("ix_token_transfers_slot", ["slot"]),
        ("ix_token_transfers_to", ["to_address", "slot"]),
    ],
    "vault_ledger": [
        ("ix_vault_ledger_account", ["account", "asset", "slot"]),
        ("ix_vault_ledger_block_number", ["block_number"]),
    ],
}


def _amount() -> indexer.db.types.Amount:
    return indexer.db.types.Amount(precision=78, scale=0)


def _address(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=42), nullable=False)


def _row_id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


LOG_KEY = ("tx_hash", "log_index")
"""What identifies the log a row came from (``entry`` added where one log makes several rows)."""


def _from_log(
    table: str, *, unique: Sequence[str] = (), log_key: Sequence[str] = LOG_KEY
) -> list[SchemaItem]:
    """What a row derived from one log ends with: its block and log columns, the primary key
    ``id``, a unique key per column of ``unique``, and the unique ``log_key``."""
    return [
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        *(sa.UniqueConstraint(column, name=f"uq_{table}_{column}") for column in unique),
        sa.UniqueConstraint(*log_key, name=f"uq_{table}_log"),
    ]


def _tables() -> dict[str, list[SchemaItem]]:
    """Every table of this revision in creation order, with its columns and keys."""
    return {
        "accounts": [
            sa.Column("address", sa.String(length=42), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("address"),
        ],
        "blocks": [
            sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("hash", sa.String(length=66), nullable=False),
            sa.Column("parent_hash", sa.String(length=66), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("number"),
        ],
        "clearings": [
            _row_id(),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            sa.Column("volume_wh", _amount(), nullable=False),
            sa.Column("clearing_tick", sa.Integer(), nullable=False),
            sa.Column("price", _amount(), nullable=False),
            sa.Column("buy_marginal_tick", sa.Integer(), nullable=False),
            sa.Column("buy_marginal_filled_wh", _amount(), nullable=False),
            sa.Column("buy_marginal_total_wh", _amount(), nullable=False),
            sa.Column("sell_marginal_tick", sa.Integer(), nullable=False),
            sa.Column("sell_marginal_filled_wh", _amount(), nullable=False),
            sa.Column("sell_marginal_total_wh", _amount(), nullable=False),
            *_from_log("clearings", unique=["slot"]),
        ],
        "events": [
            _row_id(),
            sa.Column("contract", sa.String(length=16), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("args", sa.JSON(), nullable=False),
            *_from_log("events"),
        ],
        "fee_changes": [
            _row_id(),
            sa.Column("fee_bps", sa.Integer(), nullable=False),
            _address("treasury"),
            *_from_log("fee_changes"),
        ],
        "indexer_state": [
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
        ],
        "meter_requests": [
            _row_id(),
            _address("requester"),
            _address("owner"),
            _address("signer"),
            sa.Column("capacity_wh_per_slot", _amount(), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
        "meter_updates": [
            _row_id(),
            sa.Column("meter_id", sa.String(length=66), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("signer", sa.String(length=42), nullable=True),
            *_from_log("meter_updates"),
        ],
        "meters": [
            _row_id(),
            sa.Column("meter_id", sa.String(length=66), nullable=False),
            _address("owner"),
            _address("signer"),
            sa.Column("capacity_wh_per_slot", _amount(), nullable=False),
            *_from_log("meters", unique=["meter_id"]),
        ],
        "order_cancellations": [
            _row_id(),
            sa.Column("order_id", sa.String(length=80), nullable=False),
            _address("owner"),
            *_from_log("order_cancellations", unique=["order_id"]),
        ],
        "order_claims": [
            _row_id(),
            sa.Column("order_id", sa.String(length=80), nullable=False),
            _address("owner"),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            *(
                sa.Column(name, _amount(), nullable=False)
                for name in ("filled_wh", "amount", "fee", "refund")
            ),
            *_from_log("order_claims", unique=["order_id"]),
        ],
        "orders": [
            _row_id(),
            sa.Column("order_id", sa.String(length=80), nullable=False),
            sa.Column("nonce", sa.BigInteger(), nullable=False),
            _address("owner"),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            sa.Column("is_buy", sa.Boolean(), nullable=False),
            sa.Column("tick", sa.Integer(), nullable=False),
            sa.Column("qty_wh", _amount(), nullable=False),
            sa.Column("fee_bps", sa.Integer(), nullable=False),
            sa.Column("escrow", _amount(), nullable=False),
            *_from_log("orders", unique=["order_id"]),
        ],
        "readings": [
            _row_id(),
            sa.Column("meter_id", sa.String(length=66), nullable=False),
            sa.Column("seq", sa.BigInteger(), nullable=False),
            sa.Column("reading_time", sa.BigInteger(), nullable=False),
            sa.Column("slot", sa.BigInteger(), nullable=True),
            sa.Column("import_delta_wh", _amount(), nullable=False),
            sa.Column("export_delta_wh", _amount(), nullable=False),
            sa.Column("archive_cid", sa.Text(), nullable=True),
            *_from_log("readings", log_key=("reading_time", *LOG_KEY)),
        ],
        "siwe_nonces": [
            sa.Column("nonce", sa.String(length=64), nullable=False),
            sa.Column("issued_at", sa.Float(), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=False),
            sa.Column("used_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("nonce"),
        ],
        "slots": [
            sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("slot"),
        ],
        "token_transfers": [
            _row_id(),
            sa.Column("entry", sa.SmallInteger(), nullable=False),
            _address("operator"),
            _address("from_address"),
            _address("to_address"),
            sa.Column("slot", sa.BigInteger(), nullable=False),
            sa.Column("amount_wh", _amount(), nullable=False),
            *_from_log("token_transfers", log_key=(*LOG_KEY, "entry")),
        ],
        "vault_ledger": [
            _row_id(),
            sa.Column("entry", sa.SmallInteger(), nullable=False),
            _address("account"),
            sa.Column("asset", sa.String(length=8), nullable=False),
            sa.Column("slot", sa.BigInteger(), nullable=True),
            sa.Column("delta", _amount(), nullable=False),
            sa.Column("reason", sa.String(length=32), nullable=False),
            *_from_log("vault_ledger", log_key=(*LOG_KEY, "entry")),
        ],
    }


def upgrade() -> None:
    for table, items in _tables().items():
        op.create_table(table, *items)
        if table in INDEXES:
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name, columns in INDEXES[table]:
                    batch_op.create_index(name, columns, unique=False)
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
    for table in reversed(list(_tables())):
        if table in INDEXES:
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name, _ in reversed(INDEXES[table]):
                    batch_op.drop_index(name)
        op.drop_table(table)
