"""The outbox: durable, ordered, never half-written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from energychain.meter_reading import Domain, MeterReading
from oracles.errors import OutboxError
from oracles.outbox import Outbox
from oracles.readings import SignedReading, meter_id_from_name
from oracles.validation import LastReading

A = meter_id_from_name("a")
B = meter_id_from_name("b")
DOMAIN = Domain(31337, "0x" + "22" * 20)


def signed(meter: bytes, seq: int, ts: int = 1_000) -> SignedReading:
    prev_ts = ts + (seq - 1) * 60 if seq > 1 else 0
    reading = MeterReading(meter, seq, ts + seq * 60, seq * 10, 0, seq - 1, prev_ts)
    return SignedReading(reading, b"\x01" * 65)


@pytest.fixture
def box(tmp_path: Path) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.bind_domain(DOMAIN)
    outbox.ensure_meter(A, "a")
    outbox.ensure_meter(B, "b")
    return outbox


def test_outbox_uses_wal_and_full_synchronous_commits(tmp_path: Path) -> None:
    Outbox(tmp_path / "o.sqlite").close()
    db = sqlite3.connect(tmp_path / "o.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    box = Outbox(tmp_path / "o.sqlite")
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_append_advances_the_meters_last_reading(box: Outbox) -> None:
    box.append([signed(A, 1), signed(B, 1), signed(A, 2)])
    assert box.last_reading(A) == LastReading(2, 1_120, 20, 0)
    assert box.depth() == 3


def test_a_wrong_sequence_number_writes_nothing(box: Outbox) -> None:
    with pytest.raises(OutboxError, match="seq 3"):
        box.append([signed(A, 1), signed(A, 3)])
    assert box.depth() == 0
    assert box.last_reading(A) is None


def test_readings_survive_reopening(tmp_path: Path, box: Outbox) -> None:
    box.append([signed(A, 1)])
    box.close()
    again = Outbox(tmp_path / "outbox.sqlite")
    assert [q.signed for q in again.queued(10)] == [signed(A, 1)]
    assert again.last_reading(A) == LastReading(1, 1_060, 10, 0)


def test_queue_is_in_signing_order_and_batches_take_readings_once(box: Outbox) -> None:
    box.append([signed(A, 1), signed(B, 1)])
    box.append([signed(A, 2)])
    queued = box.queued(2)
    assert [(q.signed.reading.meter_id, q.signed.reading.seq) for q in queued] == [(A, 1), (B, 1)]
    batch_id = box.create_batch("bafy-test", 100, [q.id for q in queued])
    assert [q.signed.reading.seq for q in box.queued(10)] == [2]
    open_batch = box.open_batch()
    assert open_batch is not None and open_batch.id == batch_id and len(open_batch.readings) == 2


def test_a_completed_batch_marks_each_reading(box: Outbox) -> None:
    box.append([signed(A, 1), signed(B, 1)])
    batch_id = box.create_batch("bafy-test", 100, [q.id for q in box.queued(10)])
    box.complete_batch(
        batch_id,
        tx_hash="0xabc",
        block_number=7,
        outcomes={(A, 1): None, (B, 1): "ReadingSignatureInvalid"},
    )
    assert box.totals() == {"pending": 0, "accepted": 1, "rejected": 1}
    assert box.open_batch() is None


def test_an_outbox_refuses_another_domain(box: Outbox) -> None:
    with pytest.raises(OutboxError, match="another chain"):
        box.bind_domain(Domain(1, DOMAIN.registry))


def test_the_chain_state_is_adopted_only_when_ahead(box: Outbox) -> None:
    box.append([signed(A, 1)])
    assert not box.adopt_chain_state(A, LastReading(1, 1_060, 10, 0))
    assert box.adopt_chain_state(A, LastReading(9, 5_000, 90, 1))
    assert box.last_reading(A) == LastReading(9, 5_000, 90, 1)


def test_hold_and_release(box: Outbox) -> None:
    box.hold(A, "register went backwards")
    assert box.hold_reason(A) == "register went backwards"
    assert box.release(A)
    assert box.hold_reason(A) is None
    assert not box.release(A)


def test_errors_are_counted_per_kind_and_meter(box: Outbox) -> None:
    box.record_error("stale_sample", "a", "sample taken 300 s before the boundary")
    box.record_error("stale_sample", "a", "again")
    box.record_error("modbus_error", "b", "timeout")
    assert box.counters()["stale_sample"] == {"a": 2}
    assert box.counter("modbus_error") == 1
    assert box.recent_errors(1)[0]["message"] == "timeout"


def test_an_outbox_of_version_1_readings_opens_with_their_predecessors_unknown(
    tmp_path: Path,
) -> None:
    # An outbox written before readings named their predecessor: the columns are added, and a
    # pending old reading reads back with predecessor (0, 0); the registry refuses it as a
    # predecessor mismatch and the oracle signs it again (OracleRunner.rebind).
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, meter_id BLOB NOT NULL, "
            "seq INTEGER NOT NULL, timestamp INTEGER NOT NULL, import_wh INTEGER NOT NULL, "
            "export_wh INTEGER NOT NULL, signature BLOB NOT NULL, status TEXT NOT NULL DEFAULT "
            "'pending', reason TEXT, batch_id INTEGER, created_at REAL NOT NULL, "
            "UNIQUE (meter_id, seq))"
        )
        db.execute(
            "INSERT INTO readings (meter_id, seq, timestamp, import_wh, export_wh, signature, "
            "created_at) VALUES (?, 4, 1240, 40, 0, ?, 0)",
            (A, b"\x01" * 65),
        )

    with Outbox(path) as outbox:
        (queued,) = outbox.queued(10)
        assert queued.signed.reading.seq == 4
        assert (queued.signed.reading.prev_seq, queued.signed.reading.prev_timestamp) == (0, 0)
        outbox.ensure_meter(B, "b")
        outbox.append([signed(B, 1), signed(B, 2)])  # new readings store their predecessor
        assert [q.signed.reading.prev_seq for q in outbox.queued(10)] == [0, 0, 1]
        assert outbox.queued(10)[2].signed.reading.prev_timestamp == signed(B, 1).reading.timestamp
