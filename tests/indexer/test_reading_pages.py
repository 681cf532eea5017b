"""A rotated meter in the index: rotating its signer restarts the sequence numbers, so its
readings page by reading time and its last seq is the latest reading's, not the highest."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from indexer.community_queries import get_meter, list_readings
from indexer.db.models import Meter, Reading

METER = "0x" + "ab" * 32
#: seq 1..3 signed by the old key, then seq 1..2 by the new one (later times)
TIMES = [1_000, 1_900, 2_800, 3_700, 4_600]
SEQS = [1, 2, 3, 1, 2]


def _index_rotated_meter(engine: Engine) -> None:
    rows = [
        {
            "block_number": 10 + i,
            "block_time": t + 5,
            "tx_hash": "0x" + f"{i:064x}",
            "log_index": 0,
            "meter_id": METER,
            "seq": seq,
            "reading_time": t,
            "slot": None,
            "import_delta_wh": 0,
            "export_delta_wh": 10 * i,
            "archive_cid": None,
        }
        for i, (seq, t) in enumerate(zip(SEQS, TIMES, strict=True))
    ]
    meter = {
        "block_number": 1,
        "block_time": 500,
        "tx_hash": "0x" + "11" * 32,
        "log_index": 0,
        "meter_id": METER,
        "owner": "0x" + "22" * 20,
        "signer": "0x" + "33" * 20,
        "capacity_wh_per_slot": 10_000,
    }
    with engine.begin() as conn:
        conn.execute(insert(Meter), [meter])
        conn.execute(insert(Reading), rows)


def test_a_rotated_meters_repeated_seqs_page_through_every_reading_once_in_time_order(
    engine: Engine,
) -> None:
    _index_rotated_meter(engine)
    seen: list[tuple[int, int]] = []
    after: int | None = None
    with engine.connect() as conn:
        for _ in range(len(TIMES)):
            views, after = list_readings(conn, meter_id=METER, after=after, limit=2)
            seen += [(v.seq, v.reading_time) for v in views]
            if after is None:
                break
    assert seen == list(zip(SEQS, TIMES, strict=True))


def test_a_rotated_meters_last_seq_is_its_latest_readings(engine: Engine) -> None:
    _index_rotated_meter(engine)
    with engine.connect() as conn:
        view = get_meter(conn, meter_id=METER)
    assert view is not None
    assert (view.reading_count, view.last_seq, view.last_reading_time) == (5, 2, 4_600)
