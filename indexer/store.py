"""Database side of ingestion: the checkpoint, writing one range, undoing a reorganisation.

Everything a range produces is written in one transaction together with the new checkpoint,
so after a crash the database holds either the whole range or none of it, and a restart
resumes right after the last committed range: no gap, no duplicate. Inserts ignore rows whose
log key already exists, so replaying a range is harmless.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from chain.rpc import BlockHeader
from indexer.db.models import (
    CHAIN_DERIVED,
    AccountSeen,
    Base,
    Block,
    Commitment,
    FeeChange,
    IndexerState,
    Order,
    SlotSeen,
    block_column,
)
from indexer.db.types import INT64_MAX, INT64_MIN, Amount
from indexer.errors import ChainMismatchError, ValueOutOfRangeError
from indexer.handlers import CommitmentFacts, OrderFacts, RowBatch
from indexer.market_info import MarketInfo

STATE_ID = 1
TABLES: dict[str, Table] = dict(Base.metadata.tables)


@dataclass(frozen=True)
class Checkpoint:
    """The last block whose range is committed."""

    block_number: int
    block_hash: str
    block_time: int


#: Above this many rows, :func:`insert_ignore` bypasses SQLAlchemy's per-row processing.
BULK_ROWS = 200


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping any that collide with a unique key (idempotent replay).

    Large batches take the driver's bulk path: PostgreSQL ``COPY`` straight into the table in a
    savepoint (through a temporary table and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
    when a key collides, see :func:`_copy_ignore`); SQLite ``INSERT OR IGNORE`` through
    ``executemany`` on plain tuples. Both skip SQLAlchemy's per-row bind processing, which
    otherwise costs more than the rest of ingestion.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if len(rows) >= BULK_ROWS and table.name != "indexer_state":
        if dialect == "postgresql":
            _copy_ignore(conn, table, rows)
        else:
            _sqlite_ignore(conn, table, rows)
        return
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    conn.execute(stmt, rows)


def _columns(table: Table, rows: list[dict[str, Any]]) -> list[Any]:
    """The columns ``rows`` fill, JSON ones last (:func:`_tuples` appends them encoded)."""
    present = rows[0].keys()
    columns = [c for c in table.columns if c.name in present]
    return [c for c in columns if not isinstance(c.type, JSON)] + [
        c for c in columns if isinstance(c.type, JSON)
    ]


#: One encoder for every JSON value of a bulk insert (``json.dumps`` with non-default
#: separators builds a new encoder per call, which cost more than the encoding itself).
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"))
#: Types sqlite3 binds as they are (a bool as 1/0; an int beyond 64 bits raises OverflowError).
_SQLITE_NATIVE = frozenset({int, bool, str, type(None)})


def _json_text(value: Any) -> str | None:
    return None if value is None else _JSON_ENCODER.encode(value)


def _tuples(columns: list[Any], rows: list[dict[str, Any]], dialect: str) -> list[tuple[Any, ...]]:
    """``rows`` as tuples in ``columns`` order (see :func:`_columns`), JSON encoded.

    The values are picked with ``itemgetter`` (a C loop): a Python ``row.get`` per value cost
    ~15% of a backfill. On SQLite, values of any type but the few sqlite3 binds natively go
    through the per-column conversions.
    """
    plain = [c.name for c in columns if not isinstance(c.type, JSON)]
    encoded = [c.name for c in columns if isinstance(c.type, JSON)]
    names = [*plain, *encoded]
    picked: list[Any]
    try:
        get = itemgetter(*names)
        picked = [(get(row),) for row in rows] if len(names) == 1 else [get(row) for row in rows]
    except KeyError:  # a row without some column: it is NULL there
        picked = [tuple(row.get(n) for n in names) for row in rows]
    data: list[tuple[Any, ...]] = picked
    if encoded:
        split = len(plain)
        data = [values[:split] + tuple(map(_json_text, values[split:])) for values in picked]
    if dialect == "sqlite" and not set(map(type, chain.from_iterable(data))) <= _SQLITE_NATIVE:
        converters = [_sqlite_converter(c) for c in columns]
        data = [
            tuple(f(v) if f else v for f, v in zip(converters, values, strict=True))
            for values in data
        ]
    return data


def _sqlite_converter(column: Any) -> Any:
    """How an unusual value of ``column`` goes to sqlite3 (None: as it is)."""
    if isinstance(column.type, Amount):
        return _sqlite_amount
    if isinstance(column.type, Boolean):
        return lambda v: None if v is None else int(v)
    return None


def _sqlite_amount(value: Any) -> Any:
    if value is None:
        return None
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueOutOfRangeError(
            f"{number} does not fit a 64-bit SQLite integer: use PostgreSQL for this chain"
        )
    return number


def _sqlite_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    columns = _columns(table, rows)
    names = ", ".join(f'"{c.name}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    data = _tuples(columns, rows, "sqlite")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f'INSERT OR IGNORE INTO "{table.name}" ({names}) VALUES ({marks})', data)
    except OverflowError as exc:  # sqlite3's own check of every integer, cheaper than ours
        raise ValueOutOfRangeError(
            f"a {table.name} value does not fit a 64-bit SQLite integer: use PostgreSQL for "
            "this chain"
        ) from exc
    finally:
        cursor.close()


def _copy_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``COPY`` straight into the table in a savepoint; on a key collision (a replayed range),
    back to the savepoint and through a temporary table with ``ON CONFLICT DO NOTHING``.

    The direct ``COPY`` is the normal case (a range is new): it skips writing and re-reading a
    temporary table, and the server inserts the rows while they stream in. Both ways store the
    same rows: all of them when none collides, else those whose keys are new.
    """
    from psycopg.errors import UniqueViolation

    columns = _columns(table, rows)
    names = ", ".join(f'"{c.name}"' for c in columns)
    data = _tuples(columns, rows, "postgresql")
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute("SAVEPOINT enerwise_bulk")
        try:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for values in data:
                    copy.write_row(values)
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT enerwise_bulk")
            temp = f"_bulk_{table.name}"
            cursor.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS "{temp}" '
                f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
            )
            cursor.execute(f'TRUNCATE "{temp}"')
            with cursor.copy(f'COPY "{temp}" ({names}) FROM STDIN') as copy:
                for values in data:
                    copy.write_row(values)
            cursor.execute(
                f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{temp}" '
                "ON CONFLICT DO NOTHING"
            )
        cursor.execute("RELEASE SAVEPOINT enerwise_bulk")


def read_state(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        select(IndexerState.__table__).where(IndexerState.__table__.c.id == STATE_ID)
    ).first()
    return dict(row._mapping) if row is not None else None


def bind_deployment(
    engine: Engine, info: MarketInfo, start_block: int, start_header: BlockHeader
) -> Checkpoint:
    """Bind the database to one deployment (first run) or check it is that one; the checkpoint."""
    with engine.begin() as conn:
        state = read_state(conn)
        if state is None:
            conn.execute(
                TABLES["indexer_state"].insert(),
                {
                    "id": STATE_ID,
                    "chain_id": info.chain_id,
                    "addresses": info.addresses,
                    "market": info.to_json(),
                    "start_block": start_block,
                    "block_number": start_header.number,
                    "block_hash": start_header.hash,
                    "block_time": start_header.timestamp,
                    "head_block": start_header.number,
                    "updated_at": time.time(),
                },
            )
            insert_ignore(conn, TABLES["blocks"], [_block_row(start_header)])
            return Checkpoint(start_header.number, start_header.hash, start_header.timestamp)
        if int(state["chain_id"]) != info.chain_id:
            raise ChainMismatchError(
                f"the database indexes chain {state['chain_id']}, the node is chain "
                f"{info.chain_id}: use another database"
            )
        stored = {k: str(v).lower() for k, v in dict(state["addresses"]).items()}
        wanted = {k: str(v).lower() for k, v in info.addresses.items()}
        if stored != wanted:
            raise ChainMismatchError(
                f"the database indexes the deployment at {state['addresses']}, not "
                f"{info.addresses}: use another database"
            )
        return Checkpoint(
            int(state["block_number"]), str(state["block_hash"]), int(state["block_time"])
        )


def stored_market_info(conn: Connection) -> MarketInfo | None:
    state = read_state(conn)
    return MarketInfo.from_json(dict(state["market"])) if state else None


def checkpoint(conn: Connection) -> Checkpoint | None:
    state = read_state(conn)
    if state is None:
        return None
    return Checkpoint(
        int(state["block_number"]), str(state["block_hash"]), int(state["block_time"])
    )


def current_treasury(conn: Connection, info: MarketInfo) -> str:
    """The treasury in force after the last indexed ``FeeChanged`` (else the deployment's)."""
    row = conn.execute(
        select(FeeChange.treasury)
        .order_by(FeeChange.block_number.desc(), FeeChange.log_index.desc())
        .limit(1)
    ).first()
    return str(row[0]) if row else info.treasury


def lookup_orders(conn: Connection, order_ids: Iterable[str]) -> dict[str, OrderFacts]:
    ids = list(order_ids)
    found: dict[str, OrderFacts] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.execute(
            select(
                Order.order_id,
                Order.owner,
                Order.slot,
                Order.is_buy,
                Order.tick,
                Order.qty_wh,
                Order.escrow,
            ).where(Order.order_id.in_(part))
        )
        for r in rows:
            found[r.order_id] = OrderFacts(
                r.order_id,
                r.owner,
                int(r.slot),
                bool(r.is_buy),
                int(r.tick),
                int(r.qty_wh),
                int(r.escrow),
            )
    return found


def lookup_commitments(conn: Connection, commit_ids: Iterable[str]) -> dict[str, CommitmentFacts]:
    ids = list(commit_ids)
    found: dict[str, CommitmentFacts] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(
                Commitment.commit_id,
                Commitment.owner,
                Commitment.slot,
                Commitment.locked_money,
                Commitment.locked_wh,
            ).where(Commitment.commit_id.in_(ids[start : start + 500]))
        )
        for r in rows:
            found[r.commit_id] = CommitmentFacts(
                r.commit_id, r.owner, int(r.slot), int(r.locked_money), int(r.locked_wh)
            )
    return found


def write_range(
    conn: Connection,
    batch: RowBatch,
    headers: Mapping[int, BlockHeader],
    end: BlockHeader,
    head_block: int,
) -> None:
    """Write one range's rows, its block hashes and the new checkpoint (caller's transaction)."""
    for table_name, rows in batch.rows.items():
        insert_ignore(conn, TABLES[table_name], rows)
    insert_ignore(conn, TABLES["blocks"], [_block_row(h) for h in headers.values()])
    insert_ignore(
        conn, TABLES["slots"], [{"slot": s, "block_number": b} for s, b in batch.slots.items()]
    )
    insert_ignore(
        conn,
        TABLES["accounts"],
        [{"address": a, "block_number": b} for a, b in batch.accounts.items()],
    )
    _update_state(conn, **_checkpoint(end), head_block=head_block)


def note_head(conn: Connection, head_block: int) -> None:
    _update_state(conn, head_block=head_block)


def _update_state(conn: Connection, **values: Any) -> None:
    """Set ``values`` on the indexer's state row, stamped with the time of the update."""
    conn.execute(
        update(IndexerState)
        .where(IndexerState.id == STATE_ID)
        .values(**values, updated_at=time.time())
    )


def _checkpoint(header: BlockHeader) -> dict[str, Any]:
    """The state columns of a checkpoint at ``header``."""
    return {
        "block_number": header.number,
        "block_hash": header.hash,
        "block_time": header.timestamp,
    }


def stored_blocks_desc(conn: Connection, below_or_at: int, limit: int) -> list[tuple[int, str]]:
    rows = conn.execute(
        select(Block.number, Block.hash)
        .where(Block.number <= below_or_at)
        .order_by(Block.number.desc())
        .limit(limit)
    )
    return [(int(n), str(h)) for n, h in rows]


def rollback_to(conn: Connection, good: BlockHeader) -> dict[str, int]:
    """Delete every chain-derived row above ``good`` and move the checkpoint there.

    Returns the number of rows deleted per table.
    """
    deleted: dict[str, int] = {}
    for model in CHAIN_DERIVED:
        column = block_column(model)
        table = TABLES[model.__tablename__]
        result = conn.execute(delete(table).where(column > good.number))
        deleted[model.__tablename__] = int(result.rowcount or 0)
    _update_state(conn, **_checkpoint(good))
    insert_ignore(conn, TABLES["blocks"], [_block_row(good)])
    return deleted


def _block_row(header: BlockHeader) -> dict[str, Any]:
    return {
        "number": header.number,
        "hash": header.hash,
        "parent_hash": header.parent_hash,
        "timestamp": header.timestamp,
    }


__all__ = [
    "AccountSeen",
    "Checkpoint",
    "SlotSeen",
    "bind_deployment",
    "checkpoint",
    "current_treasury",
    "insert_ignore",
    "lookup_commitments",
    "lookup_orders",
    "rollback_to",
    "stored_market_info",
    "write_range",
]
