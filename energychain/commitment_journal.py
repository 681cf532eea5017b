"""The commitment journal: a sealed order's salt is on disk before its commitment is sent.

A sealed order that is committed but never revealed forfeits its bond, and it can be revealed
only with its salt (:mod:`energychain.commitments`). So the rule of the oracle outbox and the
agents' order intents applies: the order and its salt are written, durably, *before* the
commitment goes to the network, and the entry follows the commitment to its end::

    intent -> committed -> revealed          (the normal path)
           -> failed                         (the commit transaction reverted: nothing on chain)
           committed -> reclaimed            (never revealed: the bond forfeited, the rest back)

An ``intent`` whose send was lost (a crash between the write and the receipt) is settled from
the chain by its caller, who knows the market; the journal only keeps the facts.

SQLite in WAL mode with ``synchronous=FULL``: every change is fsynced at commit, so a process
killed at any point finds every salt it ever handed to a transaction. One file per wallet (all
its chains, markets and owners: each entry names them). :meth:`CommitmentJournal.export` writes
the open entries, salts included, to a JSON file for a backup (the dApp offers the same
download).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from energychain.commitments import Collateral, SealedOrder
from energychain.errors import EnergyChainError

STATUSES = ("intent", "committed", "revealed", "failed", "reclaimed")
OPEN_STATUSES = ("intent", "committed")
"""Entries whose salt may still be needed (a reveal or a reconciliation)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commitments (
    commitment TEXT PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    market TEXT NOT NULL,
    owner TEXT NOT NULL,
    slot INTEGER NOT NULL,
    is_buy INTEGER NOT NULL,
    tick INTEGER NOT NULL,
    qty_wh INTEGER NOT NULL,
    salt TEXT NOT NULL,
    locked_money TEXT NOT NULL,
    locked_wh INTEGER NOT NULL,
    status TEXT NOT NULL,
    commit_id TEXT,
    order_id TEXT,
    tx TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS commitments_open ON commitments (chain_id, market, status, slot);
"""


class CommitmentJournalError(EnergyChainError):
    """The journal cannot be used, or an entry is not where the caller says (``path`` names
    the file)."""

    def __init__(self, message: str, path: Path | None = None):
        self.path = path
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One sealed order and what became of its commitment."""

    commitment: bytes
    chain_id: int
    market: str
    order: SealedOrder
    collateral: Collateral
    status: str
    commit_id: int | None = None
    order_id: int | None = None
    tx: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        """The entry as a backup file holds it (salt included: keep the file private)."""
        return {
            "commitment": "0x" + self.commitment.hex(),
            "chain_id": self.chain_id,
            "market": self.market,
            "owner": self.order.owner,
            "slot": self.order.slot,
            "side": self.order.side,
            "tick": self.order.tick,
            "qty_wh": self.order.qty_wh,
            "salt": "0x" + self.order.salt.hex(),
            "locked_money": str(self.collateral.money),
            "locked_wh": self.collateral.energy_wh,
            "status": self.status,
            "commit_id": None if self.commit_id is None else str(self.commit_id),
            "order_id": None if self.order_id is None else str(self.order_id),
        }


class CommitmentJournal:
    """The durable record of a wallet's sealed orders (see the module docstring)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise CommitmentJournalError(
                f"cannot open the commitment journal {self.path}: {exc}", self.path
            ) from None
        self._lock = threading.RLock()
        if os.name == "posix":
            os.chmod(self.path, 0o600)  # salts are secrets until revealed

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CommitmentJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # One connection serves every thread (a wallet's households commit in parallel): a
        # transaction is the connection's state, so writers and readers take turns.
        with self._lock:
            yield from self._transaction()

    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK")
            raise CommitmentJournalError(
                f"cannot write the commitment journal {self.path}: {exc}", self.path
            ) from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ writes
    def record_intent(
        self, chain_id: int, market: str, order: SealedOrder, collateral: Collateral
    ) -> JournalEntry:
        """Write ``order`` and its salt before its commitment is sent; returns the entry.

        Raises:
            CommitmentJournalError: the same commitment is recorded already (a salt used twice).
        """
        commitment = order.commitment(chain_id, market)
        with self._write() as db:
            if self._find(commitment) is not None:
                raise CommitmentJournalError(
                    f"commitment 0x{commitment.hex()} is in the journal already (a salt reused)",
                    self.path,
                )
            db.execute(
                "INSERT INTO commitments (commitment, chain_id, market, owner, slot, is_buy, tick,"
                " qty_wh, salt, locked_money, locked_wh, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    commitment.hex(),
                    chain_id,
                    market.lower(),
                    order.owner,
                    order.slot,
                    int(order.is_buy),
                    order.tick,
                    order.qty_wh,
                    order.salt.hex(),
                    str(collateral.money),
                    collateral.energy_wh,
                    "intent",
                ),
            )
        return self.get(commitment)

    def mark_committed(self, commitment: bytes, commit_id: int, tx: str | None = None) -> None:
        """The commitment is on chain as ``commit_id``."""
        self._move(commitment, ("intent",), "committed", commit_id=str(commit_id), tx=tx)

    def mark_failed(self, commitment: bytes, reason: str) -> None:
        """The commit transaction reverted, or the chain has no trace of an ``intent``."""
        self._move(commitment, ("intent",), "failed", reason=reason)

    def mark_revealed(self, commitment: bytes, order_id: int, tx: str | None = None) -> None:
        """The order is revealed and rests in the book as ``order_id``."""
        self._move(commitment, ("committed",), "revealed", order_id=str(order_id), tx=tx)

    def mark_reclaimed(self, commitment: bytes, reason: str) -> None:
        """Never revealed (too late, or the reveal was refused): the bond is forfeited and the
        rest of the collateral reclaimed."""
        self._move(commitment, ("committed",), "reclaimed", reason=reason)

    def _move(
        self, commitment: bytes, sources: tuple[str, ...], status: str, **fields: str | None
    ) -> None:
        with self._write() as db:
            entry = self._find(commitment)
            if entry is None:
                raise CommitmentJournalError(
                    f"commitment 0x{commitment.hex()} is not in the journal", self.path
                )
            if entry.status == status:
                return  # idempotent: a retried step records the same outcome again
            if entry.status not in sources:
                raise CommitmentJournalError(
                    f"commitment 0x{commitment.hex()} is {entry.status}, cannot become {status}",
                    self.path,
                )
            # The column names are this module's own keyword arguments, never user input.
            sets = ", ".join(f"{k} = ?" for k in ("status", *fields))
            db.execute(
                f"UPDATE commitments SET {sets} WHERE commitment = ?",
                (status, *fields.values(), commitment.hex()),
            )

    # ------------------------------------------------------------------ reads
    def get(self, commitment: bytes) -> JournalEntry:
        entry = self._find(commitment)
        if entry is None:
            raise CommitmentJournalError(
                f"commitment 0x{commitment.hex()} is not in the journal", self.path
            )
        return entry

    def open_entries(self, chain_id: int, market: str) -> list[JournalEntry]:
        """Entries of ``market`` whose commitment may still need its salt, oldest slot first."""
        rows = self._rows(
            "SELECT * FROM commitments WHERE chain_id = ? AND market = ? AND status IN (?, ?)"
            " ORDER BY slot, rowid",
            (chain_id, market.lower(), *OPEN_STATUSES),
        )
        return [self._entry(row) for row in rows]

    def entries(self, chain_id: int, market: str, slot: int | None = None) -> list[JournalEntry]:
        """Every entry of ``market`` (of ``slot`` only, when given), oldest first."""
        query = "SELECT * FROM commitments WHERE chain_id = ? AND market = ?"
        args: tuple[object, ...] = (chain_id, market.lower())
        if slot is not None:
            query, args = query + " AND slot = ?", (*args, slot)
        rows = self._rows(query + " ORDER BY slot, rowid", args)
        return [self._entry(row) for row in rows]

    def export(self, path: Path | str) -> int:
        """Write every open entry, salts included, to ``path`` (JSON, mode 0600, replaced
        atomically); returns how many."""
        rows = self._rows(
            "SELECT * FROM commitments WHERE status IN (?, ?) ORDER BY chain_id, market, slot",
            OPEN_STATUSES,
        )
        doc = {"version": 1, "commitments": [self._entry(row).to_json() for row in rows]}
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(doc, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise CommitmentJournalError(f"cannot write {target}: {exc}", target) from None
        return len(rows)

    def _find(self, commitment: bytes) -> JournalEntry | None:
        rows = self._rows("SELECT * FROM commitments WHERE commitment = ?", (commitment.hex(),))
        return self._entry(rows[0]) if rows else None

    def _rows(self, query: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(query, args).fetchall()

    @staticmethod
    def _entry(row: tuple[object, ...]) -> JournalEntry:
        (commitment, chain_id, market, owner, slot, is_buy, tick, qty_wh, salt, money, wh,
         status, commit_id, order_id, tx, reason) = row  # fmt: skip
        order = SealedOrder(
            int(str(slot)),
            owner,  # type: ignore[arg-type]
            bool(is_buy),
            int(str(tick)),
            int(str(qty_wh)),
            bytes.fromhex(str(salt)),
        )
        return JournalEntry(
            commitment=bytes.fromhex(str(commitment)),
            chain_id=int(str(chain_id)),
            market=str(market),
            order=order,
            collateral=Collateral(int(str(money)), int(str(wh))),
            status=str(status),
            commit_id=None if commit_id is None else int(str(commit_id)),
            order_id=None if order_id is None else int(str(order_id)),
            tx=None if tx is None else str(tx),
            reason=None if reason is None else str(reason),
        )
