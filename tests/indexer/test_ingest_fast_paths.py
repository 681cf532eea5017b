"""Fast paths of ingestion: bulk-insert conversions, the COPY fallback, the GC pause."""

from __future__ import annotations

import gc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from indexer import store
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.errors import ValueOutOfRangeError
from indexer.handlers import jsonable_args
from tests.indexer.conftest import Played, snapshot


def _ledger_rows(deltas: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "block_number": 1,
            "block_time": 1,
            "tx_hash": "0x" + "ab" * 32,
            "log_index": i,
            "entry": 0,
            "account": "0x" + "11" * 20,
            "asset": "money",
            "slot": None,
            "delta": delta,
            "reason": "deposit",
        }
        for i, delta in enumerate(deltas)
    ]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/bulk.sqlite3")
    upgrade(engine)
    return engine


def test_sqlite_bulk_inserts_refuse_an_amount_beyond_64_bits(sqlite_engine: Engine) -> None:
    rows = _ledger_rows([5] * store.BULK_ROWS + [2**70])
    with pytest.raises(ValueOutOfRangeError), sqlite_engine.begin() as conn:
        store.insert_ignore(conn, store.TABLES["vault_ledger"], rows)
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vault_ledger")).scalar_one() == 0


def test_sqlite_bulk_inserts_convert_unusual_amounts_and_flags(sqlite_engine: Engine) -> None:
    rows = _ledger_rows([Decimal(7)] + [-3] * store.BULK_ROWS)
    with sqlite_engine.begin() as conn:
        store.insert_ignore(conn, store.TABLES["vault_ledger"], rows)
    with sqlite_engine.connect() as conn:
        deltas = conn.execute(text("SELECT delta, typeof(delta) FROM vault_ledger")).all()
    assert deltas[0] == (7, "integer")
    assert {tuple(d) for d in deltas[1:]} == {(-3, "integer")}


def test_json_safe_arguments_turn_only_big_integers_into_strings() -> None:
    big = 2**53 + 1
    args = {"a": big, "b": True, "c": [1, -big, False], "d": "x", "e": -(2**53), "f": None}
    assert jsonable_args(args) == {
        "a": str(big),
        "b": True,
        "c": [1, str(-big), False],
        "d": "x",
        "e": -(2**53),
        "f": None,
    }
    assert args["a"] == big  # the event's own arguments are left alone


def test_a_replayed_range_falls_back_from_copy_to_insert_on_conflict(
    played: Played, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A direct COPY that meets an existing key is undone to its savepoint and redone as
    ``INSERT ... ON CONFLICT DO NOTHING``: rows whose keys are new still arrive."""
    monkeypatch.setattr(store, "BULK_ROWS", 1)
    engine = make_engine(db_url)
    ingester = played.ingester(engine)
    ingester.sync()
    full = snapshot(engine)
    with engine.begin() as conn:  # lose some rows, then replay everything from the start
        conn.execute(text("DELETE FROM vault_ledger WHERE entry > 0"))
        conn.execute(text("DELETE FROM events WHERE name = 'OrderClaimed'"))
        played.rewind_to_deployment(conn, ingester)
    ingester.sync()
    assert snapshot(engine) == full
    engine.dispose()


def test_a_step_pauses_the_collector_only_while_it_runs(played: Played, engine: Engine) -> None:
    ingester = played.ingester(engine)
    seen: list[bool] = []
    real = ingester._commit

    def spy(*args: Any) -> None:
        seen.append(gc.isenabled())
        real(*args)

    ingester._commit = spy  # type: ignore[method-assign]
    assert gc.isenabled()
    ingester.sync()
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()  # a caller that disabled it keeps it disabled
    try:
        ingester.step()
        assert not gc.isenabled()
    finally:
        gc.enable()
