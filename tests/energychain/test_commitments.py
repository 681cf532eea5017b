"""Sealed orders: the commitment binds every field, the collateral covers the revealed order, and
the journal keeps each salt on disk from before the commitment is sent until its end."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energychain.commitment_journal import CommitmentJournal, CommitmentJournalError
from energychain.commitments import (
    Collateral,
    CommitmentError,
    SealedOrder,
    hiding_collateral,
    minimum_collateral,
    new_salt,
)
from market.clearing import MarketParams

MARKET = "0x" + "ab" * 20
OWNER = "0x" + "cd" * 20
PARAMS = MarketParams(
    price_floor=80_000, tick_size=120, max_tick=2_000, min_order_wh=10, fee_bps=50
)


def _order(**changes: object) -> SealedOrder:
    order = SealedOrder(17, OWNER, True, 40, 500, b"\x01" * 32)  # type: ignore[arg-type]
    return replace(order, **changes)  # type: ignore[arg-type]


def test_new_salts_are_32_random_bytes() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100 and all(len(s) == 32 for s in salts)


@pytest.mark.parametrize(
    "change",
    [
        {"slot": 18},
        {"owner": "0x" + "ce" * 20},
        {"is_buy": False},
        {"tick": 41},
        {"qty_wh": 501},
        {"salt": b"\x02" * 32},
    ],
)
def test_the_commitment_binds_every_field_of_the_order(change: dict[str, object]) -> None:
    assert _order().commitment(1, MARKET) != _order(**change).commitment(1, MARKET)


def test_the_commitment_binds_the_chain_and_the_market() -> None:
    base = _order().commitment(1, MARKET)
    assert base != _order().commitment(2, MARKET)
    assert base != _order().commitment(1, "0x" + "ac" * 20)
    assert base == _order().commitment(1, MARKET.upper().replace("0X", "0x"))  # case-blind


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"salt": b"\x01" * 31}, "a salt is 32 bytes, not 31"),
        ({"tick": 65_536}, "tick 65536 is not a uint16"),
        ({"qty_wh": 0}, "quantity 0 Wh is not a positive uint64"),
        ({"slot": -1}, "slot -1 is not a uint64"),
    ],
)
def test_a_malformed_sealed_order_is_one_clear_error(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(CommitmentError, match=message):
        _order(**change)


def test_a_buy_locks_its_escrow_or_the_bond_whichever_is_more() -> None:
    escrow = PARAMS.buy_escrow(500, 40)
    assert minimum_collateral(_order(), PARAMS, bond=1) == Collateral(escrow, 0)
    assert minimum_collateral(_order(), PARAMS, bond=escrow + 5) == Collateral(escrow + 5, 0)


def test_a_sell_locks_the_bond_in_money_and_its_energy() -> None:
    assert minimum_collateral(_order(is_buy=False), PARAMS, bond=1_000) == Collateral(1_000, 500)


@given(
    is_buy=st.booleans(),
    tick=st.integers(0, 2_000),
    qty=st.integers(10, 10**9),
    money=st.integers(0, 10**12),
    wh=st.integers(0, 10**9),
)
def test_hiding_collateral_never_falls_below_the_minimum(
    is_buy: bool, tick: int, qty: int, money: int, wh: int
) -> None:
    order = _order(is_buy=is_buy, tick=tick, qty_wh=qty)
    least = minimum_collateral(order, PARAMS, bond=1_000)
    got = hiding_collateral(order, PARAMS, 1_000, money=money, energy_wh=wh)
    assert got.money >= max(least.money, money) and got.energy_wh >= max(least.energy_wh, wh)


# ---- the journal ---------------------------------------------------------------------------


def test_an_intent_and_its_salt_survive_a_reopen(tmp_path: Path) -> None:
    order = _order(salt=new_salt())
    with CommitmentJournal(tmp_path / "c.db") as journal:
        entry = journal.record_intent(1, MARKET, order, Collateral(60_000, 0))
    with CommitmentJournal(tmp_path / "c.db") as journal:
        (again,) = journal.open_entries(1, MARKET)
    assert again == entry
    assert (again.status, again.order.salt) == ("intent", order.salt)


def test_an_intent_is_on_disk_when_the_process_dies_right_after_writing_it(
    tmp_path: Path,
) -> None:
    """The write is durable before record_intent returns: a process killed at once (no close,
    no flush, no atexit) leaves the entry behind."""
    script = f"""
import os
from energychain.commitment_journal import CommitmentJournal
from energychain.commitments import Collateral, SealedOrder
journal = CommitmentJournal({str(tmp_path / "c.db")!r})
journal.record_intent(1, {MARKET!r}, SealedOrder(3, {OWNER!r}, False, 9, 70, b"\\x07" * 32),
                      Collateral(5, 70))
os._exit(0)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    with CommitmentJournal(tmp_path / "c.db") as journal:
        (entry,) = journal.open_entries(1, MARKET)
    assert (entry.order.slot, entry.order.salt, entry.collateral) == (
        3,
        b"\x07" * 32,
        Collateral(5, 70),
    )


def test_a_commitment_follows_intent_committed_revealed(tmp_path: Path) -> None:
    with CommitmentJournal(tmp_path / "c.db") as journal:
        entry = journal.record_intent(1, MARKET, _order(), Collateral(60_000, 0))
        journal.mark_committed(entry.commitment, commit_id=7, tx="0xaa")
        journal.mark_revealed(entry.commitment, order_id=7, tx="0xbb")
        done = journal.get(entry.commitment)
        assert (done.status, done.commit_id, done.order_id) == ("revealed", 7, 7)
        assert journal.open_entries(1, MARKET) == []


def test_recording_the_same_outcome_twice_is_harmless(tmp_path: Path) -> None:
    with CommitmentJournal(tmp_path / "c.db") as journal:
        entry = journal.record_intent(1, MARKET, _order(), Collateral(60_000, 0))
        journal.mark_committed(entry.commitment, commit_id=7)
        journal.mark_committed(entry.commitment, commit_id=7)
        assert journal.get(entry.commitment).status == "committed"


def test_an_impossible_transition_is_refused(tmp_path: Path) -> None:
    with CommitmentJournal(tmp_path / "c.db") as journal:
        entry = journal.record_intent(1, MARKET, _order(), Collateral(60_000, 0))
        with pytest.raises(CommitmentJournalError, match="is intent, cannot become revealed"):
            journal.mark_revealed(entry.commitment, order_id=7)
        assert journal.get(entry.commitment).status == "intent"


def test_a_reused_salt_is_refused(tmp_path: Path) -> None:
    with CommitmentJournal(tmp_path / "c.db") as journal:
        journal.record_intent(1, MARKET, _order(), Collateral(60_000, 0))
        with pytest.raises(CommitmentJournalError, match="in the journal already"):
            journal.record_intent(1, MARKET, _order(), Collateral(60_000, 0))


def test_an_unknown_commitment_is_one_clear_error(tmp_path: Path) -> None:
    with (
        CommitmentJournal(tmp_path / "c.db") as journal,
        pytest.raises(CommitmentJournalError, match="is not in the journal"),
    ):
        journal.mark_committed(b"\x00" * 32, commit_id=1)


def test_the_backup_holds_every_open_salt_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    with CommitmentJournal(tmp_path / "c.db") as journal:
        open_one = journal.record_intent(1, MARKET, _order(salt=b"\x05" * 32), Collateral(1, 0))
        done = journal.record_intent(1, MARKET, _order(salt=b"\x06" * 32), Collateral(1, 0))
        journal.mark_failed(done.commitment, "reverted")
        assert journal.export(tmp_path / "backup.json") == 1
    doc = json.loads((tmp_path / "backup.json").read_text())
    (saved,) = doc["commitments"]
    assert saved["salt"] == "0x" + "05" * 32
    assert saved["commitment"] == "0x" + open_one.commitment.hex()
    assert stat.S_IMODE((tmp_path / "backup.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "c.db").stat().st_mode) == 0o600


def test_a_journal_that_cannot_be_opened_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "c.db").write_text("not a database, just text " * 100)
    with pytest.raises(CommitmentJournalError, match="cannot open the commitment journal"):
        CommitmentJournal(tmp_path / "c.db")


def test_threads_sharing_one_journal_each_record_their_whole_commitment(tmp_path: Path) -> None:
    """A wallet's households commit in parallel through one journal: no transaction of one
    thread may be begun, committed or rolled back by another."""
    from concurrent.futures import ThreadPoolExecutor

    def commit(journal: CommitmentJournal, n: int) -> None:
        entry = journal.record_intent(
            1, MARKET, _order(salt=n.to_bytes(32, "big")), Collateral(1, 0)
        )
        journal.mark_committed(entry.commitment, commit_id=n)

    with CommitmentJournal(tmp_path / "c.db") as journal:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: commit(journal, n), range(1, 201)))
        entries = journal.entries(1, MARKET)
    assert len(entries) == 200
    assert {e.status for e in entries} == {"committed"}
    assert sorted(e.commit_id or 0 for e in entries) == list(range(1, 201))
