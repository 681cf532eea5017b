"""Ingestion from a real chain: completeness, idempotence, restarts, reorganisations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, text

from chain.rpc import BlockHeader, JsonRpcClient
from indexer import store
from indexer.db.engine import make_engine
from indexer.errors import ChainInconsistentError
from indexer.verify import verify
from tests.indexer.conftest import (
    ChainTemplate,
    Played,
    snapshot,
    stored_blocks_are_canonical,
    table_counts,
)
from wallet.signer import LocalKeySigner


@pytest.fixture
def played(played_template: ChainTemplate) -> Played:
    """A chain on which one full round ran, this test's alone: the module's, reverted to its
    snapshot (instead of a new anvil, deployment and round per test)."""
    return played_template.restore()


def test_a_full_round_lands_in_every_table_and_verifies_against_the_chain(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine)
    ingester.sync()
    counts = table_counts(engine)
    assert counts["orders"] == 7
    assert counts["order_cancellations"] == 1
    assert counts["order_claims"] == 6
    assert counts["clearings"] == 1
    assert counts["meters"] == 2
    assert counts["readings"] == 4
    report = verify(engine, ingester.rpc)
    assert report.ok, report.differences
    assert report.checked["vault money"] >= 5


def test_the_checkpoint_is_the_head_when_caught_up_with_zero_confirmations(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine)
    assert ingester.sync() == ingester.rpc.block_number()


def test_confirmations_keep_the_ingester_behind_the_head(played: Played, engine: Engine) -> None:
    ingester = played.ingester(engine, confirmations=3)
    assert ingester.sync() == ingester.rpc.block_number() - 3


def test_readings_carry_the_archive_cid_of_their_batch(played: Played, engine: Engine) -> None:
    played.ingester(engine).sync()
    with engine.connect() as conn:
        cids = {r[0] for r in conn.execute(text("SELECT archive_cid FROM readings"))}
    assert cids == {"bafkreibaseline", "bafkreislot"}


def test_writing_a_range_twice_inserts_nothing_twice(played: Played, engine: Engine) -> None:
    ingester = played.ingester(engine)
    ingester.sync()
    before = snapshot(engine)
    with engine.begin() as conn:  # pretend the last commit was lost: replay from the start
        played.rewind_to_deployment(conn, ingester)
    ingester.sync()
    assert snapshot(engine) == before


def test_a_restart_resumes_after_the_checkpoint_without_gap_or_duplicate(
    played: Played, db_url: str
) -> None:
    first = make_engine(db_url)
    head = played.ingester(first).rpc.block_number()
    played.ingester(first, initial_range=3, max_range=3).sync(until_block=head // 2)
    with first.connect() as conn:
        halfway = store.checkpoint(conn)
    assert halfway is not None and 0 < halfway.block_number < head
    first.dispose()  # the process "dies" here
    second = make_engine(db_url)
    played.ingester(second).sync()
    report = verify(second, played.ingester(second).rpc)
    assert report.ok, report.differences
    assert table_counts(second)["orders"] == 7
    second.dispose()


def test_a_reorganisation_rewrites_the_database_to_equal_a_fresh_ingest(
    played: Played, db_url: str, tmp_path: object
) -> None:
    c = played.community
    engine = make_engine(db_url)
    ingester = played.ingester(engine)
    buyer, other = c.new_participant(), c.new_participant()
    snapshot_id = c.dev.snapshot()
    c.fund_payment(buyer, 1_000_000)  # blocks that will be dropped
    ingester.sync()
    assert table_counts(engine)["vault_ledger"] > 0
    before_reorg = table_counts(engine)["vault_ledger"]
    c.dev.revert(snapshot_id)
    c.fund_payment(other, 2_000_000)  # a different history of the same height and more
    c.fund_payment(other, 3_000)
    ingester.sync()
    with engine.connect() as conn:
        accounts = {r[0] for r in conn.execute(text("SELECT account FROM vault_ledger"))}
    assert buyer.address not in accounts and other.address in accounts
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    from indexer.db.migrate import upgrade

    upgrade(fresh)
    played.ingester(fresh).sync()
    assert snapshot(engine) == snapshot(fresh)
    assert stored_blocks_are_canonical(engine, ingester.rpc)
    assert verify(engine, ingester.rpc).ok
    assert table_counts(engine)["vault_ledger"] != before_reorg
    engine.dispose()
    fresh.dispose()


def test_a_reorg_of_the_same_height_is_noticed_while_idle(played: Played, engine: Engine) -> None:
    c = played.community
    ingester = played.ingester(engine)
    buyer = c.new_participant()
    snapshot_id = c.dev.snapshot()
    c.fund_payment(buyer, 1_000)
    ingester.sync()
    height = ingester.rpc.block_number()
    c.dev.revert(snapshot_id)
    while ingester.rpc.block_number() < height:
        c.dev.mine()
    result = ingester.step()  # caught up, but the checkpoint block was replaced
    assert result.reorged_to is not None and result.reorged_to < height
    ingester.sync()
    assert verify(engine, ingester.rpc).ok


def test_bulk_inserts_store_exactly_what_row_inserts_store_and_replay_safely(
    played: Played, db_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.db.migrate import upgrade

    rows = make_engine(f"sqlite:///{tmp_path}/rows.sqlite3")
    upgrade(rows)
    played.ingester(rows).sync()
    monkeypatch.setattr(store, "BULK_ROWS", 1)  # every batch through COPY / executemany
    bulk = make_engine(db_url)
    ingester = played.ingester(bulk)
    ingester.sync()
    assert snapshot(bulk) == snapshot(rows)
    with bulk.begin() as conn:  # replay everything through the bulk path: no duplicate
        played.rewind_to_deployment(conn, ingester)
    ingester.sync()
    assert snapshot(bulk) == snapshot(rows)
    assert verify(bulk, ingester.rpc).ok
    rows.dispose()
    bulk.dispose()


class _RehashedGenesis:
    """The node after anvil reloaded its state file: block 0 has a new hash, the blocks after
    it still name the old one as their parent."""

    def __init__(self, rpc: JsonRpcClient) -> None:
        self._rpc = rpc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rpc, name)

    def _fix(self, header: BlockHeader | None) -> BlockHeader | None:
        if header is None or header.number != 0:
            return header
        return replace(header, hash="0x" + "ee" * 32)

    def header(self, number: int) -> BlockHeader | None:
        return self._fix(self._rpc.header(number))

    def headers(self, numbers: list[int]) -> dict[int, BlockHeader]:
        fixed = {n: self._fix(h) for n, h in self._rpc.headers(numbers).items()}
        return {n: h for n, h in fixed.items() if h is not None}


class _BrokenLink(_RehashedGenesis):
    """A node whose block ``broken`` does not name the block before it as its parent."""

    broken = 0

    def _fix(self, header: BlockHeader | None) -> BlockHeader | None:
        if header is None or header.number != self.broken:
            return header
        return replace(header, parent_hash="0x" + "dd" * 32)


def test_a_fresh_ingest_starts_on_the_deployment_block_when_the_genesis_was_rehashed(
    played: Played, engine: Engine
) -> None:
    assert played.community.deployment.block_number == 1  # its parent is the genesis
    ingester = played.ingester(engine)
    ingester.rpc = _RehashedGenesis(ingester.rpc)  # type: ignore[assignment]
    ingester.sync()
    assert verify(engine, played.ingester(engine).rpc).ok


def test_an_ingester_stops_on_a_chain_that_does_not_link_up_instead_of_undoing_forever(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine, initial_range=1, max_range=1)
    checkpoint = ingester.sync(until_block=played.community.deployment.block_number + 1)
    assert checkpoint < ingester.rpc.block_number()
    broken = _BrokenLink(ingester.rpc)
    broken.broken = checkpoint + 1
    ingester.rpc = broken  # type: ignore[assignment]
    with pytest.raises(ChainInconsistentError, match=f"block {checkpoint + 1} on the node"):
        ingester.sync()


def test_verify_follows_a_meter_whose_signer_rotation_restarted_its_sequence(
    chain: Played, engine: Engine
) -> None:
    s = chain.community
    owner = s.new_participant()
    (meter,) = s.register_meters([owner.address], 10_000)
    slot = s.current_slot()
    s.advance_to(s.slot_start(slot + 2))
    s.submit_readings(
        [
            s.signed_reading(meter, s.slot_start(slot), 0, 0),
            s.signed_reading(meter, s.slot_start(slot + 1), 0, 100),
        ]
    )
    new_key = LocalKeySigner(s.random_bytes(32))
    s.admin.transact(s.contracts.registry.rotate_signer(meter.meter_id, new_key.address))
    ingester = chain.ingester(engine)
    ingester.sync()
    report = verify(engine, ingester.rpc)
    assert report.ok, report.differences  # the chain's lastSeq is 0 again, not 2

    meter.signer, meter.seq = new_key, 0  # the new key's first reading: seq 1, a new baseline
    s.submit_readings([s.signed_reading(meter, s.slot_start(slot + 2), 0, 0)])
    ingester.sync()
    report = verify(engine, ingester.rpc)
    assert report.ok, report.differences
