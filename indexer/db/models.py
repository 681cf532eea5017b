"""The indexer's tables (SQLAlchemy 2 declarative). Alembic owns their creation.

Every table derived from the chain is append-only and carries the ``block_number`` it came
from, so undoing a reorganisation is one ``DELETE ... WHERE block_number > last_good`` per
table (:data:`CHAIN_DERIVED`); each row is keyed by the log it came from (``tx_hash``,
``log_index``, and ``entry`` where one log makes several rows), so replaying a range inserts
nothing twice. State such as "is this order still resting" or "what is this balance" is computed
from these rows by the queries, never stored in place.

Times are Unix seconds (``block_time`` of the block, ``reading_time`` of a meter reading).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from indexer.db.types import Amount

ADDRESS = 42
HASH = 66


class Base(DeclarativeBase):
    """Declarative base of the indexer's tables."""


class IndexerState(Base):
    """One row: which chain and deployment is indexed, and the checkpoint (last block done)."""

    __tablename__ = "indexer_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    addresses: Mapped[dict[str, Any]] = mapped_column(JSON)
    market: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_block: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH))
    block_time: Mapped[int] = mapped_column(BigInteger)
    head_block: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[float] = mapped_column(Float)


class Block(Base):
    """Hash and parent of every block the indexer stored data from or ended a range at."""

    __tablename__ = "blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(HASH))
    parent_hash: Mapped[str] = mapped_column(String(HASH))
    timestamp: Mapped[int] = mapped_column(BigInteger)


class _FromLog:
    """Columns of a row derived from one log.

    A table's log key is ``(block_number, log_index[, entry])``: unique on the canonical chain
    (a reorganisation deletes every row above the last good block before anything is written
    again), and growing with the chain, so a backfill appends to the end of its index instead
    of inserting at random places as a transaction-hash key did; it also serves
    ``block_number`` range deletes and queries, which needed an index of their own before
    (0004 in the migrations). ``readings`` keeps ``(reading_time, tx_hash, log_index)``, its
    TimescaleDB partition column first, and its own ``block_number`` index.
    """

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, sort_order=-1
    )
    """The row's own key (first column, as in the migrations)."""
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(HASH))
    log_index: Mapped[int] = mapped_column(Integer)


def _log_key(table: str, *more: str) -> UniqueConstraint:
    """The log key ``(block_number, log_index, *more)`` of the chain-derived ``table`` (``more``:
    what tells apart the rows one log makes, e.g. ``entry``)."""
    return UniqueConstraint("block_number", "log_index", *more, name=f"uq_{table}_log")


def _unique(table: str, column: str) -> UniqueConstraint:
    """``column`` is unique in ``table`` (named ``uq_<table>_<column>``)."""
    return UniqueConstraint(column, name=f"uq_{table}_{column}")


class _MarginalLevels:
    """Where a clearing's demand and supply ran out: the tick of each side's marginal level, the
    Wh filled there and the Wh that rested there (``market.clearing.MarginalLevel``)."""

    buy_marginal_tick: Mapped[int] = mapped_column(Integer)
    buy_marginal_filled_wh: Mapped[int] = mapped_column(Amount)
    buy_marginal_total_wh: Mapped[int] = mapped_column(Amount)
    sell_marginal_tick: Mapped[int] = mapped_column(Integer)
    sell_marginal_filled_wh: Mapped[int] = mapped_column(Amount)
    sell_marginal_total_wh: Mapped[int] = mapped_column(Amount)


class _CommunityWh:
    """One community's Wh across its boundary with the city pool in ``slot``: into the
    community (``import_wh``) and out of it (``export_wh``)."""

    slot: Mapped[int] = mapped_column(BigInteger)
    community_id: Mapped[int] = mapped_column(Integer)
    import_wh: Mapped[int] = mapped_column(Amount)
    export_wh: Mapped[int] = mapped_column(Amount)


class Event(_FromLog, Base):
    """Every decoded EnergyChain log, with its arguments (the audit trail and the live feed)."""

    __tablename__ = "events"
    __table_args__ = (_log_key("events"),)

    contract: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class Order(_FromLog, Base):
    """An ``OrderPlaced``: the order as placed, with its escrow."""

    __tablename__ = "orders"
    __table_args__ = (
        _log_key("orders"),
        _unique("orders", "order_id"),
        Index("ix_orders_depth", "slot", "tick", "is_buy", "qty_wh", "order_id"),
        Index("ix_orders_owner_nonce", "owner", "nonce"),
        Index("ix_orders_slot_nonce", "slot", "nonce"),
    )

    order_id: Mapped[str] = mapped_column(String(80))
    nonce: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(ADDRESS))
    slot: Mapped[int] = mapped_column(BigInteger)
    is_buy: Mapped[bool] = mapped_column(Boolean)
    tick: Mapped[int] = mapped_column(Integer)
    qty_wh: Mapped[int] = mapped_column(Amount)
    fee_bps: Mapped[int] = mapped_column(Integer)
    escrow: Mapped[int] = mapped_column(Amount)


class OrderCancellation(_FromLog, Base):
    """An ``OrderCancelled``."""

    __tablename__ = "order_cancellations"
    __table_args__ = (_log_key("order_cancellations"), _unique("order_cancellations", "order_id"))

    order_id: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(String(ADDRESS))


class OrderClaim(_FromLog, Base):
    """An ``OrderClaimed``: what the order settled to."""

    __tablename__ = "order_claims"
    __table_args__ = (
        _log_key("order_claims"),
        _unique("order_claims", "order_id"),
        Index("ix_order_claims_owner", "owner"),
    )

    order_id: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(String(ADDRESS))
    slot: Mapped[int] = mapped_column(BigInteger, index=True)
    filled_wh: Mapped[int] = mapped_column(Amount)
    amount: Mapped[int] = mapped_column(Amount)
    fee: Mapped[int] = mapped_column(Amount)
    refund: Mapped[int] = mapped_column(Amount)


class Commitment(_FromLog, Base):
    """An ``OrderCommitted`` of a sealed market: who committed for which slot and what collateral
    left the vault (``locked_money`` payment units, ``locked_wh`` Wh of ``slot``). The order it
    hides is not on chain until it is revealed (:class:`CommitmentOutcome`)."""

    __tablename__ = "commitments"
    __table_args__ = (
        _log_key("commitments"),
        _unique("commitments", "commit_id"),
        Index("ix_commitments_owner", "owner", "block_number", "log_index"),
        Index("ix_commitments_slot", "slot"),
    )

    commit_id: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(String(ADDRESS))
    slot: Mapped[int] = mapped_column(BigInteger)
    locked_money: Mapped[int] = mapped_column(Amount)
    locked_wh: Mapped[int] = mapped_column(Amount)


class CommitmentOutcome(_FromLog, Base):
    """How a commitment ended: ``revealed`` (an ``OrderRevealed``: its order ``order_id`` joined
    the book, the collateral beyond the order's escrow went back to the vault) or ``forfeited``
    (a ``CommitmentForfeited``: ``bond`` to the treasury, the rest back). ``refund_money`` and
    ``refund_wh`` are what went back to the owner's vault either way; ``bond`` is 0 for a reveal.
    A commitment without an outcome is still ``committed``."""

    __tablename__ = "commitment_outcomes"
    __table_args__ = (_log_key("commitment_outcomes"), _unique("commitment_outcomes", "commit_id"))

    commit_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    bond: Mapped[int] = mapped_column(Amount)
    refund_money: Mapped[int] = mapped_column(Amount)
    refund_wh: Mapped[int] = mapped_column(Amount)


class Clearing(_MarginalLevels, _FromLog, Base):
    """A ``SlotCleared``: the slot's clearing record and its price."""

    __tablename__ = "clearings"
    __table_args__ = (_log_key("clearings"), _unique("clearings", "slot"))

    slot: Mapped[int] = mapped_column(BigInteger)
    volume_wh: Mapped[int] = mapped_column(Amount)
    clearing_tick: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Amount)


class VaultEntry(_FromLog, Base):
    """One change of a market vault balance: ``asset`` is ``money`` (payment units, ``slot``
    NULL) or ``energy`` (Wh of ``slot``); ``delta`` is signed. Balance = sum of deltas."""

    __tablename__ = "vault_ledger"
    __table_args__ = (
        _log_key("vault_ledger", "entry"),
        Index("ix_vault_ledger_account", "account", "asset", "slot"),
    )

    entry: Mapped[int] = mapped_column(SmallInteger)
    account: Mapped[str] = mapped_column(String(ADDRESS))
    asset: Mapped[str] = mapped_column(String(8))
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delta: Mapped[int] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(String(32))


class TokenTransfer(_FromLog, Base):
    """One (id, value) of an ERC-1155 ``TransferSingle``/``TransferBatch`` of the energy token.

    A mint comes from the zero address, a burn (redeem) goes to it."""

    __tablename__ = "token_transfers"
    __table_args__ = (
        _log_key("token_transfers", "entry"),
        Index("ix_token_transfers_to", "to_address", "slot"),
        Index("ix_token_transfers_from", "from_address", "slot"),
        Index("ix_token_transfers_slot", "slot"),
    )

    entry: Mapped[int] = mapped_column(SmallInteger)
    operator: Mapped[str] = mapped_column(String(ADDRESS))
    from_address: Mapped[str] = mapped_column(String(ADDRESS))
    to_address: Mapped[str] = mapped_column(String(ADDRESS))
    slot: Mapped[int] = mapped_column(BigInteger)
    amount_wh: Mapped[int] = mapped_column(Amount)


class Meter(_FromLog, Base):
    """A ``MeterRegistered``."""

    __tablename__ = "meters"
    __table_args__ = (
        _log_key("meters"),
        _unique("meters", "meter_id"),
        Index("ix_meters_owner", "owner"),
    )

    meter_id: Mapped[str] = mapped_column(String(HASH))
    owner: Mapped[str] = mapped_column(String(ADDRESS))
    signer: Mapped[str] = mapped_column(String(ADDRESS))
    capacity_wh_per_slot: Mapped[int] = mapped_column(Amount)


class MeterUpdate(_FromLog, Base):
    """A ``MeterSignerRotated`` (``kind`` rotated, ``signer`` the new key) or
    ``MeterDeactivated`` (``kind`` deactivated)."""

    __tablename__ = "meter_updates"
    __table_args__ = (
        _log_key("meter_updates"),
        Index("ix_meter_updates_meter", "meter_id", "block_number"),
    )

    meter_id: Mapped[str] = mapped_column(String(HASH))
    kind: Mapped[str] = mapped_column(String(16))
    signer: Mapped[str | None] = mapped_column(String(ADDRESS), nullable=True)


class Reading(_FromLog, Base):
    """A ``ReadingAccepted`` (a time series: a TimescaleDB hypertable on ``reading_time`` when the
    extension exists). ``slot`` is NULL when nothing was attributed (baseline or after a gap);
    ``archive_cid`` comes from the batch's ``ReadingBatchArchived``."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("reading_time", "tx_hash", "log_index", name="uq_readings_log"),
        Index("ix_readings_block_number", "block_number"),
        Index("ix_readings_meter_seq", "meter_id", "seq"),
        Index("ix_readings_slot", "slot"),
        Index("ix_readings_time", "reading_time"),
    )

    meter_id: Mapped[str] = mapped_column(String(HASH))
    seq: Mapped[int] = mapped_column(BigInteger)
    reading_time: Mapped[int] = mapped_column(BigInteger)
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    import_delta_wh: Mapped[int] = mapped_column(Amount)
    export_delta_wh: Mapped[int] = mapped_column(Amount)
    archive_cid: Mapped[str | None] = mapped_column(Text, nullable=True)


class FeeChange(_FromLog, Base):
    """A ``FeeChanged``: the fee for new orders and the treasury credited with fees from then on."""

    __tablename__ = "fee_changes"
    __table_args__ = (_log_key("fee_changes"),)

    fee_bps: Mapped[int] = mapped_column(Integer)
    treasury: Mapped[str] = mapped_column(String(ADDRESS))


class PoolCommunity(_FromLog, Base):
    """A ``CommunityAdded`` of the city pool: community ``community_id`` (ids run from 0 in the
    order of addition, never removed) is the market at ``market``, ``levels`` network levels
    below the pool; ``block_number`` is the block it was added in."""

    __tablename__ = "pool_communities"
    __table_args__ = (_log_key("pool_communities"), _unique("pool_communities", "community_id"))

    community_id: Mapped[int] = mapped_column(Integer)
    market: Mapped[str] = mapped_column(String(ADDRESS))
    levels: Mapped[int] = mapped_column(SmallInteger)


class PoolFeeChange(_FromLog, Base):
    """A ``GridFeeChanged`` of the city pool: price ticks per network level crossed, and who is
    paid them, from then on (the fee is 0 and unpaid before the first one)."""

    __tablename__ = "pool_fee_changes"
    __table_args__ = (_log_key("pool_fee_changes"),)

    fee_ticks_per_level: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(ADDRESS))


class PoolLimit(_CommunityWh, _FromLog, Base):
    """One community's entry of a ``LimitsPublished`` of the city pool (``entry`` of the log is
    the community id): the transfer limits of ``slot`` in Wh. A later publication for the same
    slot revises every community's limits; every publication is kept (append-only, so undoing a
    reorganisation brings the revision before back) and the queries take the latest."""

    __tablename__ = "pool_limits"
    __table_args__ = (
        _log_key("pool_limits", "community_id"),
        Index("ix_pool_limits_slot", "slot", "community_id", "block_number", "log_index"),
    )


class PoolClearingRow(_FromLog, Base):
    """A ``PoolCleared`` of the city pool: the pool's clearing of ``slot`` (once per slot).
    ``volume_wh`` is V* (Wh that crossed community boundaries), ``clearing_tick`` p* and
    ``price`` its price per kWh (0 when nothing crossed, like ``clearings``), the marginal ticks
    in pool (fee-shifted) ticks, ``fee_ticks_per_level`` the grid fee in force."""

    __tablename__ = "pool_clearings"
    __table_args__ = (_log_key("pool_clearings"), _unique("pool_clearings", "slot"))

    slot: Mapped[int] = mapped_column(BigInteger)
    volume_wh: Mapped[int] = mapped_column(Amount)
    clearing_tick: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Amount)
    buy_marginal_tick: Mapped[int] = mapped_column(Integer)
    sell_marginal_tick: Mapped[int] = mapped_column(Integer)
    fee_ticks_per_level: Mapped[int] = mapped_column(Integer)


class PoolFillRow(_CommunityWh, _MarginalLevels, _FromLog, Base):
    """One community's ``Fill`` of a ``PoolCleared`` (``entry`` of the log is the community id):
    the Wh it imported from and exported to the pool in ``slot``, and where its residual's
    import and export ran out (the marginal levels, in the community's own ticks; all zero for a
    paused community or one that got nothing)."""

    __tablename__ = "pool_fills"
    __table_args__ = (
        _log_key("pool_fills", "community_id"),
        Index("ix_pool_fills_slot", "slot", "community_id"),
    )


class PoolPause(_FromLog, Base):
    """A ``CommunityPaused`` (``paused`` true) or ``CommunityResumed`` (false) of the city pool:
    a community is paused while its latest such row says so."""

    __tablename__ = "pool_pauses"
    __table_args__ = (
        _log_key("pool_pauses"),
        Index("ix_pool_pauses_community", "community_id", "block_number", "log_index"),
    )

    community_id: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean)


class PoolSettlement(_FromLog, Base):
    """A ``PoolSettled`` of the city pool: ``slot``'s energy and money moved between the pool and
    its communities, and ``fees_paid`` (the grid fees and the rounding) went to the fee
    recipient. A slot settles once."""

    __tablename__ = "pool_settlements"
    __table_args__ = (_log_key("pool_settlements"), _unique("pool_settlements", "slot"))

    slot: Mapped[int] = mapped_column(BigInteger)
    fees_paid: Mapped[int] = mapped_column(Amount)


class MarketPoolSettlement(_FromLog, Base):
    """A ``PoolFillSettled`` of the indexed (pooled) market: in ``slot`` ``import_wh`` came in
    from the pool for ``paid_to_pool`` payment units, ``export_wh`` went out to it."""

    __tablename__ = "market_pool_settlements"
    __table_args__ = (
        _log_key("market_pool_settlements"),
        _unique("market_pool_settlements", "slot"),
    )

    slot: Mapped[int] = mapped_column(BigInteger)
    import_wh: Mapped[int] = mapped_column(Amount)
    export_wh: Mapped[int] = mapped_column(Amount)
    paid_to_pool: Mapped[int] = mapped_column(Amount)


class OrderPoolFill(_FromLog, Base):
    """An ``OrderPoolFilled`` of the indexed (pooled) market: ``pool_wh`` of the order's claimed
    ``filled_wh`` (its :class:`OrderClaim`, same transaction) came through the city pool."""

    __tablename__ = "order_pool_fills"
    __table_args__ = (_log_key("order_pool_fills"), _unique("order_pool_fills", "order_id"))

    order_id: Mapped[str] = mapped_column(String(80))
    slot: Mapped[int] = mapped_column(BigInteger, index=True)
    pool_wh: Mapped[int] = mapped_column(Amount)


class SlotSeen(Base):
    """A slot with any indexed activity, and the first block that showed it."""

    __tablename__ = "slots"

    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class AccountSeen(Base):
    """An account with any indexed activity, and the first block that showed it."""

    __tablename__ = "accounts"

    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class SiweNonce(Base):
    """A Sign-In with Ethereum nonce handed out by the API; usable once, before ``expires_at``."""

    __tablename__ = "siwe_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class MeterRequest(Base):
    """A request, filed through the API, that an operator register a meter on chain."""

    __tablename__ = "meter_requests"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    requester: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    owner: Mapped[str] = mapped_column(String(ADDRESS))
    signer: Mapped[str] = mapped_column(String(ADDRESS))
    capacity_wh_per_slot: Mapped[int] = mapped_column(Amount)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[float] = mapped_column(Float)


class StandingOrder(Base):
    """A household's standing orders, set in the dApp, read by its gateway (payment base units
    per kWh; None: that side is not traded)."""

    __tablename__ = "standing_orders"

    account: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    sell_min_price: Mapped[int | None] = mapped_column(Amount, nullable=True)
    buy_below_tariff: Mapped[int | None] = mapped_column(Amount, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


#: Tables derived from the chain, with the column that names the block a row came from.
CHAIN_DERIVED: tuple[type[Base], ...] = (
    Event,
    Order,
    OrderCancellation,
    OrderClaim,
    Commitment,
    CommitmentOutcome,
    Clearing,
    VaultEntry,
    TokenTransfer,
    Meter,
    MeterUpdate,
    Reading,
    FeeChange,
    PoolCommunity,
    PoolFeeChange,
    PoolLimit,
    PoolClearingRow,
    PoolFillRow,
    PoolPause,
    PoolSettlement,
    MarketPoolSettlement,
    OrderPoolFill,
    SlotSeen,
    AccountSeen,
    Block,
)


def block_column(model: type[Base]) -> Any:
    """The column holding the block number of ``model``'s rows."""
    return model.number if model is Block else model.block_number  # type: ignore[attr-defined]
