"""The durable outbox: every signed reading is on disk before anything goes to the network.

SQLite in WAL mode with ``synchronous=FULL`` (the WAL is fsynced at every commit). A reading is
appended together with the meter's new "last reading" in one transaction, so a crash leaves
either both or neither; its sequence number is the meter's last one plus one.

Readings leave the outbox in insertion order, in batches. A batch gets its archive CID and is
recorded *before* its transaction is sent; after a crash the open batch is sent again, as it
was (same readings, same CID): the registry skips readings whose ``seq`` it has already seen,
so a resend does no harm. Each batch ends with every reading marked ``accepted`` or
``rejected`` (with the registry's reason), and stays *unconfirmed* until its block is deep
enough: while it is not, the submitter looks for its transaction on the current chain after
every change, and a batch whose transaction is gone (a reorganisation, a node restarted from an
older state, a dropped transaction) is reopened, its readings pending again, and sent again.

Errors of the oracle (bad samples, broker down, ...) are counted per meter and kept (the last
1,000) for ``enerwise oracle status``, which reads this file from another process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from energychain.meter_reading import Domain, MeterReading
from oracles.errors import OutboxError
from oracles.readings import SignedReading
from oracles.validation import LastReading

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meters (
    meter_id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    last_timestamp INTEGER,
    last_import_wh INTEGER,
    last_export_wh INTEGER,
    hold_reason TEXT,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cid TEXT NOT NULL,
    size INTEGER NOT NULL,
    readings INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    tx_hash TEXT,
    block_number INTEGER,
    accepted INTEGER,
    rejected INTEGER,
    pinned INTEGER NOT NULL DEFAULT 0,
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    done_at REAL
);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meter_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    import_wh INTEGER NOT NULL,
    export_wh INTEGER NOT NULL,
    prev_seq INTEGER NOT NULL DEFAULT 0,
    prev_timestamp INTEGER NOT NULL DEFAULT 0,
    signature BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    batch_id INTEGER REFERENCES batches(id),
    created_at REAL NOT NULL,
    UNIQUE (meter_id, seq)
);
CREATE INDEX IF NOT EXISTS readings_queue ON readings (status, batch_id, id);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT NOT NULL,
    meter TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, meter)
);
CREATE TABLE IF NOT EXISTS errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    meter TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

KEEP_ERRORS = 1_000

#: The registry's reason for a reading whose predecessor is not its last accepted reading.
PREDECESSOR_MISMATCH = "ReadingPredecessorMismatch"

#: The columns of a queued reading, in :func:`_queued`'s order.
READING_COLUMNS = (
    "id, meter_id, seq, timestamp, import_wh, export_wh, prev_seq, prev_timestamp, signature"
)


@dataclass(frozen=True)
class QueuedReading:
    """A reading in the outbox (``id`` gives the order)."""

    id: int
    signed: SignedReading


@dataclass(frozen=True)
class OpenBatch:
    """A batch recorded but not yet confirmed on chain."""

    id: int
    cid: str
    attempts: int
    readings: list[QueuedReading]


@dataclass(frozen=True)
class MeterStatus:
    meter_id: bytes
    name: str
    last: LastReading | None
    hold_reason: str | None
    pending: int


class Outbox:
    """The SQLite outbox (one connection, shared by threads under a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}
            if "confirmed" not in columns:  # an outbox written before confirmations existed
                self._db.execute(
                    "ALTER TABLE batches ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0"
                )
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
            for column in ("prev_seq", "prev_timestamp"):
                if column not in columns:  # an outbox of version-1 readings (no predecessor)
                    self._db.execute(
                        f"ALTER TABLE readings ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
                    )
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"outbox {self.path} cannot be opened: {exc}") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: {exc}") from None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: {exc}") from None

    # ------------------------------------------------------------------ domain
    def bind_domain(self, domain: Domain) -> None:
        """Record the domain, or refuse one different from the recorded one.

        Signatures are bound to one chain and registry: an outbox must not mix domains.
        """
        value = f"{domain.chain_id}:{domain.registry.lower()}"
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'domain'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('domain', ?)", (value,))
            elif row[0] != value:
                raise OutboxError(
                    f"outbox {self.path} holds readings for {row[0]}, not {value}: "
                    "use another outbox file for another chain or registry"
                )

    def domain(self) -> Domain | None:
        rows = self._query("SELECT value FROM meta WHERE key = 'domain'")
        if not rows:
            return None
        chain_id, registry = str(rows[0][0]).split(":", 1)
        return Domain(int(chain_id), registry)

    # ------------------------------------------------------------------ meters
    def ensure_meter(self, meter_id: bytes, name: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meters (meter_id, name, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (meter_id) DO UPDATE SET name = excluded.name",
                (meter_id, name, time.time()),
            )

    def last_reading(self, meter_id: bytes) -> LastReading | None:
        rows = self._query(
            "SELECT last_seq, last_timestamp, last_import_wh, last_export_wh FROM meters "
            "WHERE meter_id = ?",
            (meter_id,),
        )
        if not rows or rows[0][0] == 0 or rows[0][1] is None:
            return None
        seq, ts, imp, exp = rows[0]
        return LastReading(int(seq), int(ts), int(imp), int(exp))

    def adopt_chain_state(self, meter_id: bytes, last: LastReading) -> bool:
        """Take the chain's last reading when it is ahead of ours (a lost or new outbox)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT last_seq FROM meters WHERE meter_id = ?", (meter_id,)
            ).fetchone()
            if row is None or int(row[0]) >= last.seq:
                return False
            db.execute(
                "UPDATE meters SET last_seq = ?, last_timestamp = ?, last_import_wh = ?, "
                "last_export_wh = ?, updated_at = ? WHERE meter_id = ?",
                (last.seq, last.timestamp, last.import_wh, last.export_wh, time.time(), meter_id),
            )
            return True

    def hold(self, meter_id: bytes, reason: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE meters SET hold_reason = ?, updated_at = ? WHERE meter_id = ?",
                (reason, time.time(), meter_id),
            )

    def release(self, meter_id: bytes) -> bool:
        """Lift a hold; returns whether the meter was held.

        The next reading is still checked against the last signed one: a meter that was
        replaced or reset needs a new meter id (docs/oracles.md), not a release.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT hold_reason FROM meters WHERE meter_id = ?", (meter_id,)
            ).fetchone()
            if row is None:
                return False
            db.execute("UPDATE meters SET hold_reason = NULL WHERE meter_id = ?", (meter_id,))
            return row[0] is not None

    def hold_reason(self, meter_id: bytes) -> str | None:
        rows = self._query("SELECT hold_reason FROM meters WHERE meter_id = ?", (meter_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def meter_names(self) -> dict[bytes, str]:
        return {bytes(m): str(n) for m, n in self._query("SELECT meter_id, name FROM meters")}

    # ------------------------------------------------------------------ readings
    def append(self, readings: list[SignedReading]) -> None:
        """Persist signed readings (one transaction, fsynced) and advance each meter."""
        if not readings:
            return
        now = time.time()
        with self._tx() as db:
            for signed in readings:
                r = signed.reading
                row = db.execute(
                    "SELECT last_seq FROM meters WHERE meter_id = ?", (r.meter_id,)
                ).fetchone()
                expected = (int(row[0]) if row else 0) + 1
                if r.seq != expected:
                    raise OutboxError(
                        f"meter 0x{r.meter_id.hex()}: seq {r.seq} appended, {expected} expected"
                    )
                db.execute(
                    "INSERT INTO readings (meter_id, seq, timestamp, import_wh, export_wh, "
                    "prev_seq, prev_timestamp, signature, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.meter_id,
                        r.seq,
                        r.timestamp,
                        r.import_wh,
                        r.export_wh,
                        r.prev_seq,
                        r.prev_timestamp,
                        signed.signature,
                        now,
                    ),
                )
                db.execute(
                    "UPDATE meters SET last_seq = ?, last_timestamp = ?, last_import_wh = ?, "
                    "last_export_wh = ?, updated_at = ? WHERE meter_id = ?",
                    (r.seq, r.timestamp, r.import_wh, r.export_wh, now, r.meter_id),
                )

    def queued(self, limit: int) -> list[QueuedReading]:
        """The oldest pending readings not in any batch yet."""
        rows = self._query(
            f"SELECT {READING_COLUMNS} FROM readings "
            "WHERE status = 'pending' AND batch_id IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [_queued(row) for row in rows]

    def readings(self, *, status: str | None = None) -> list[tuple[QueuedReading, str, str | None]]:
        """Every reading (optionally of one status) with its status and reason, in order."""
        sql = f"SELECT {READING_COLUMNS}, status, reason FROM readings"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        rows = self._query(sql + " ORDER BY id", params)
        return [(_queued(row[:9]), str(row[9]), row[10]) for row in rows]

    def unbound(self, meter_id: bytes) -> list[QueuedReading]:
        """Readings the registry refused because their predecessor never landed
        (``ReadingPredecessorMismatch``), oldest first: they need signing again, bound to the
        chain's last reading (:meth:`requeue`)."""
        rows = self._query(
            f"SELECT {READING_COLUMNS} FROM readings WHERE meter_id = ? AND status = 'rejected' "
            "AND reason = ? ORDER BY seq",
            (meter_id, PREDECESSOR_MISMATCH),
        )
        return [_queued(row) for row in rows]

    def requeue(self, reading_id: int, signed: SignedReading) -> None:
        """Put a rejected reading back in the queue, signed again with a new predecessor (same
        seq, timestamp and registers)."""
        r = signed.reading
        with self._tx() as db:
            db.execute(
                "UPDATE readings SET prev_seq = ?, prev_timestamp = ?, signature = ?, "
                "status = 'pending', reason = NULL, batch_id = NULL WHERE id = ? AND seq = ?",
                (r.prev_seq, r.prev_timestamp, signed.signature, reading_id, r.seq),
            )

    # ------------------------------------------------------------------ batches
    def create_batch(self, cid: str, size: int, reading_ids: list[int]) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO batches (cid, size, readings, created_at) VALUES (?, ?, ?, ?)",
                (cid, size, len(reading_ids), time.time()),
            )
            batch_id = int(cursor.lastrowid or 0)
            db.executemany(
                "UPDATE readings SET batch_id = ? WHERE id = ? AND batch_id IS NULL",
                [(batch_id, rid) for rid in reading_ids],
            )
            return batch_id

    def open_batch(self) -> OpenBatch | None:
        rows = self._query(
            "SELECT id, cid, attempts FROM batches WHERE status = 'open' ORDER BY id LIMIT 1"
        )
        if not rows:
            return None
        batch_id, cid, attempts = rows[0]
        readings = self._query(
            f"SELECT {READING_COLUMNS} FROM readings WHERE batch_id = ? ORDER BY id",
            (batch_id,),
        )
        return OpenBatch(int(batch_id), str(cid), int(attempts), [_queued(r) for r in readings])

    def batch_failed(self, batch_id: int, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], batch_id),
            )

    def complete_batch(
        self,
        batch_id: int,
        *,
        tx_hash: str,
        block_number: int,
        outcomes: dict[tuple[bytes, int], str | None],
    ) -> tuple[int, int]:
        """Mark the batch done; ``outcomes[(meter_id, seq)]`` is ``None`` (accepted) or a reason.

        Returns ``(accepted, rejected)``.
        """
        accepted = sum(1 for reason in outcomes.values() if reason is None)
        rejected = len(outcomes) - accepted
        with self._tx() as db:
            for (meter_id, seq), reason in outcomes.items():
                db.execute(
                    "UPDATE readings SET status = ?, reason = ? "
                    "WHERE meter_id = ? AND seq = ? AND batch_id = ?",
                    ("accepted" if reason is None else "rejected", reason, meter_id, seq, batch_id),
                )
            db.execute(
                "UPDATE batches SET status = 'done', attempts = attempts + 1, tx_hash = ?, "
                "block_number = ?, accepted = ?, rejected = ?, done_at = ?, last_error = NULL "
                "WHERE id = ?",
                (tx_hash, block_number, accepted, rejected, time.time(), batch_id),
            )
        return accepted, rejected

    def unconfirmed_batches(self) -> list[tuple[int, str, int, int]]:
        """``(id, tx_hash, block, accepted)`` of the landed batches not deep enough yet, oldest
        first (``accepted``: how many of its readings the chain accepted when it landed)."""
        rows = self._query(
            "SELECT id, tx_hash, block_number, accepted FROM batches "
            "WHERE status = 'done' AND confirmed = 0 ORDER BY id"
        )
        return [(int(i), str(tx), int(block), int(n or 0)) for i, tx, block, n in rows]

    def confirm_batch(self, batch_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE batches SET confirmed = 1 WHERE id = ?", (batch_id,))

    def moved_batch(self, batch_id: int, block_number: int) -> None:
        """The batch's transaction is now in another block (re-mined by a reorganisation)."""
        with self._tx() as db:
            db.execute("UPDATE batches SET block_number = ? WHERE id = ?", (block_number, batch_id))

    def reopen_batch(self, batch_id: int, why: str) -> int:
        """The batch's transaction is not on the chain any more: send the batch again.

        Its readings are pending again (same batch, same CID); returns how many.
        """
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE readings SET status = 'pending', reason = NULL WHERE batch_id = ?",
                (batch_id,),
            )
            db.execute(
                "UPDATE batches SET status = 'open', tx_hash = NULL, block_number = NULL, "
                "accepted = NULL, rejected = NULL, done_at = NULL, last_error = ? WHERE id = ?",
                (why[:500], batch_id),
            )
            return int(cursor.rowcount)

    def mark_pinned(self, batch_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE batches SET pinned = 1 WHERE id = ?", (batch_id,))

    def unpinned_cids(self, limit: int = 20) -> list[tuple[int, str]]:
        rows = self._query(
            "SELECT id, cid FROM batches WHERE pinned = 0 ORDER BY id LIMIT ?", (limit,)
        )
        return [(int(i), str(c)) for i, c in rows]

    def batches(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT id, cid, readings, status, attempts, tx_hash, accepted, rejected, pinned, "
            "last_error FROM batches ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        keys = (
            "id",
            "cid",
            "readings",
            "status",
            "attempts",
            "tx_hash",
            "accepted",
            "rejected",
            "pinned",
            "last_error",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ------------------------------------------------------------------ errors and counters
    def count(self, name: str, meter: str = "", n: int = 1) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO counters (name, meter, value) VALUES (?, ?, ?) "
                "ON CONFLICT (name, meter) DO UPDATE SET value = value + excluded.value",
                (name, meter, n),
            )

    def record_error(self, kind: str, meter: str, message: str) -> None:
        """Count an error of ``kind`` for ``meter`` ("" for none) and keep its message."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO counters (name, meter, value) VALUES (?, ?, 1) "
                "ON CONFLICT (name, meter) DO UPDATE SET value = value + 1",
                (kind, meter),
            )
            cursor = db.execute(
                "INSERT INTO errors (at, meter, kind, message) VALUES (?, ?, ?, ?)",
                (time.time(), meter, kind, message[:1_000]),
            )
            last = int(cursor.lastrowid or 0)
            if last % 100 == 0:
                db.execute("DELETE FROM errors WHERE id <= ?", (last - KEEP_ERRORS,))

    def counters(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, meter, value in self._query("SELECT name, meter, value FROM counters"):
            out.setdefault(str(name), {})[str(meter)] = int(value)
        return out

    def counter(self, name: str, meter: str | None = None) -> int:
        if meter is None:
            rows = self._query(
                "SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = ?", (name,)
            )
        else:
            rows = self._query(
                "SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = ? AND meter = ?",
                (name, meter),
            )
        return int(rows[0][0])

    def recent_errors(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT at, meter, kind, message FROM errors ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [{"at": at, "meter": m, "kind": k, "message": msg} for at, m, k, msg in rows]

    # ------------------------------------------------------------------ status
    def depth(self) -> int:
        """Readings signed but not on chain (pending: waiting for, or in, an open batch)."""
        return int(self._query("SELECT COUNT(*) FROM readings WHERE status = 'pending'")[0][0])

    def unconfirmed(self) -> int:
        """Readings on chain in a block not yet deep enough (they may still be reopened)."""
        rows = self._query(
            "SELECT COUNT(*) FROM readings r JOIN batches b ON r.batch_id = b.id "
            "WHERE b.status = 'done' AND b.confirmed = 0"
        )
        return int(rows[0][0])

    def totals(self) -> dict[str, int]:
        rows = self._query("SELECT status, COUNT(*) FROM readings GROUP BY status")
        out = {"pending": 0, "accepted": 0, "rejected": 0}
        out.update({str(s): int(n) for s, n in rows})
        return out

    def meters(self) -> list[MeterStatus]:
        rows = self._query(
            "SELECT m.meter_id, m.name, m.last_seq, m.last_timestamp, m.last_import_wh, "
            "m.last_export_wh, m.hold_reason, "
            "(SELECT COUNT(*) FROM readings r WHERE r.meter_id = m.meter_id "
            " AND r.status = 'pending') FROM meters m ORDER BY m.name"
        )
        out = []
        for meter_id, name, seq, ts, imp, exp, hold, pending in rows:
            last = LastReading(int(seq), int(ts), int(imp), int(exp)) if seq and ts else None
            out.append(MeterStatus(bytes(meter_id), str(name), last, hold, int(pending)))
        return out


def _queued(row: tuple[Any, ...]) -> QueuedReading:
    rid, meter_id, seq, ts, imp, exp, prev_seq, prev_ts, sig = row
    reading = MeterReading(
        bytes(meter_id), int(seq), int(ts), int(imp), int(exp), int(prev_seq), int(prev_ts)
    )
    return QueuedReading(int(rid), SignedReading(reading, bytes(sig)))
