"""A landed batch stays in the outbox's care until its block is deep enough: a batch whose
transaction left the chain (a reorganisation, a node restarted from an older state) is sent
again, so no signed reading is lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from chain.retry import Backoff
from energychain.meter_reading import MeterReading
from oracles.archive import Archive, LocalArchive
from oracles.config import dev_key
from oracles.outbox import Outbox
from oracles.readings import meter_id_from_name, sign_reading
from oracles.registry import Web3Registry
from oracles.submitter import Submitter
from wallet.signer import LocalKeySigner

FAST = Backoff(base=0.01, cap=0.05, jitter=0.2)


def sign_into(outbox: Outbox, signer: LocalKeySigner, domain: Any, epoch: int, seqs: range) -> None:
    meter_id = meter_id_from_name("a")
    outbox.ensure_meter(meter_id, "a")
    outbox.append([sign_reading(signer, _reading(meter_id, seq, epoch), domain) for seq in seqs])


def _reading(meter_id: bytes, seq: int, epoch: int) -> MeterReading:
    """Reading ``seq`` of a meter read every 60 s from ``epoch``, bound to reading ``seq - 1``."""
    prev_timestamp = epoch + 60 * (seq - 1) if seq > 1 else 0
    return MeterReading(meter_id, seq, epoch + 60 * seq, 10 * seq, 0, seq - 1, prev_timestamp)


def submitter_for(tmp_path: Path, registry: Any, *, confirmations: int) -> Submitter:
    return Submitter(
        Outbox(tmp_path / "outbox.sqlite"),
        Archive(LocalArchive(tmp_path / "archive")),
        registry,
        registry.domain(),
        batch_size=10,
        backoff=FAST,
        confirmations=confirmations,
    )


def signed_submitter(
    tmp_path: Path, registry: Any, signer: LocalKeySigner, *, readings: int
) -> Submitter:
    """A submitter (3 confirmations) whose outbox holds meter a's readings 1..``readings``, read
    every 60 s from the registry's epoch."""
    submitter = submitter_for(tmp_path, registry, confirmations=3)
    epoch = registry.schedule().epoch
    sign_into(submitter.outbox, signer, registry.domain(), epoch, range(1, readings + 1))
    return submitter


def assert_sent_again(again: Any, submitter: Submitter, registry: Any, *, readings: int) -> None:
    """The drain ``again`` reopened every reading of the lost batch and landed them, in order."""
    assert again.reopened == readings
    assert again.accepted == readings
    assert registry.accepted == [(meter_id_from_name("a"), seq) for seq in range(1, readings + 1)]
    assert submitter.outbox.depth() == 0


# ------------------------------------------------------------------------ in memory
@pytest.fixture
def signer(memory_registry: Any) -> LocalKeySigner:
    key = LocalKeySigner(dev_key("a"))
    memory_registry.signers[meter_id_from_name("a")] = key.address
    return key


def test_a_batch_whose_transaction_left_the_chain_is_sent_again(
    tmp_path: Path, memory_registry: Any, signer: LocalKeySigner
) -> None:
    submitter = signed_submitter(tmp_path, memory_registry, signer, readings=3)
    assert submitter.drain().accepted == 3
    assert submitter.outbox.unconfirmed() == 3

    memory_registry.rewind(1)  # the node came back from a state file older than the batch
    again = submitter.drain()

    assert_sent_again(again, submitter, memory_registry, readings=3)


def test_a_batch_mined_again_by_a_reorganisation_accepting_fewer_readings_is_sent_again(
    tmp_path: Path, memory_registry: Any, signer: LocalKeySigner
) -> None:
    """The soak's 24-hour run lost 72 of 596 readings this way: anvil_reorg put a batch's
    transaction in a block whose time refused its readings, and the oracle, seeing the
    transaction on chain, took them as landed."""
    submitter = signed_submitter(tmp_path, memory_registry, signer, readings=3)
    assert submitter.drain().accepted == 3
    ((_, tx_hash, _, _),) = submitter.outbox.unconfirmed_batches()

    memory_registry.rewind(1)
    memory_registry.include_again(tx_hash, accepted=0)
    again = submitter.drain()

    assert_sent_again(again, submitter, memory_registry, readings=3)


def test_a_batch_deep_enough_is_confirmed_and_no_longer_checked(
    tmp_path: Path, memory_registry: Any, signer: LocalKeySigner
) -> None:
    submitter = signed_submitter(tmp_path, memory_registry, signer, readings=2)
    submitter.drain()
    memory_registry.mine(2)  # the batch's block and two on top

    submitter.drain()

    assert submitter.outbox.unconfirmed() == 0
    assert submitter.outbox.unconfirmed_batches() == []


def test_a_node_that_does_not_answer_leaves_landed_batches_as_they_are(
    tmp_path: Path, memory_registry: Any, signer: LocalKeySigner
) -> None:
    submitter = signed_submitter(tmp_path, memory_registry, signer, readings=2)
    submitter.drain()
    memory_registry.down = True

    result = submitter.drain()

    assert result.reopened == 0
    assert submitter.outbox.unconfirmed() == 2
    assert submitter.outbox.depth() == 0


def test_a_reading_ahead_of_the_chains_clock_waits_in_the_outbox_and_lands_later(
    tmp_path: Path, memory_registry: Any, signer: LocalKeySigner
) -> None:
    submitter = signed_submitter(tmp_path, memory_registry, signer, readings=2)
    epoch = memory_registry.schedule().epoch
    memory_registry.max_skew = 0
    memory_registry.now = epoch + 60  # the head went back: seq 2 (epoch + 120) is ahead of it

    refused = submitter.drain()
    assert refused.error is not None and "ReadingInFuture" in refused.error
    assert submitter.outbox.depth() == 2  # the whole batch stays open, nothing rejected

    memory_registry.now = epoch + 900
    time.sleep(refused.retry_in)
    landed = submitter.drain()

    assert landed.accepted == 2 and landed.rejected == 0
    assert memory_registry.accepted == [(meter_id_from_name("a"), 1), (meter_id_from_name("a"), 2)]


def test_an_outbox_from_before_confirmations_opens_with_its_batches_unconfirmed(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, cid TEXT NOT NULL, "
            "size INTEGER NOT NULL, readings INTEGER NOT NULL, status TEXT NOT NULL DEFAULT "
            "'open', attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, tx_hash TEXT, "
            "block_number INTEGER, accepted INTEGER, rejected INTEGER, pinned INTEGER NOT NULL "
            "DEFAULT 0, created_at REAL NOT NULL, done_at REAL)"
        )
        db.execute(
            "INSERT INTO batches (cid, size, readings, status, tx_hash, block_number, created_at) "
            "VALUES ('bafy', 1, 0, 'done', '0x01', 7, 0)"
        )

    with Outbox(path) as outbox:
        assert outbox.unconfirmed_batches() == [(1, "0x01", 7, 0)]


# ------------------------------------------------------------------------ on anvil
def _two_readings_on_anvil(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> tuple[Web3Registry, Submitter]:
    """Meter a registered on anvil, a registry client that waits 5 s for a receipt, and a
    submitter (6 confirmations) whose outbox holds meter a's readings 1 and 2."""
    signers = registry_chain.register(["a"])
    registry = Web3Registry(
        registry_chain.node.rpc_url, registry_chain.registry, relayer, receipt_timeout=5
    )
    submitter = submitter_for(tmp_path, registry, confirmations=6)
    sign_into(submitter.outbox, signers["a"], registry.domain(), registry_chain.epoch, range(1, 3))
    return registry, submitter


@pytest.mark.anvil
def test_a_batch_reverted_off_anvil_is_resubmitted_and_lands(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    registry, submitter = _two_readings_on_anvil(registry_chain, relayer, tmp_path)
    w3 = registry.handle.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    first = submitter.drain()
    assert first.accepted == 2
    assert registry.meter(meter_id_from_name("a")).last is not None

    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    assert registry.meter(meter_id_from_name("a")).last is None  # the batch is gone
    again = submitter.drain()

    assert again.reopened == 2
    assert again.accepted == 2
    last = registry.meter(meter_id_from_name("a")).last
    assert last is not None and last.seq == 2
    logs = registry.handle.contract.events.ReadingAccepted().get_logs(from_block=0)
    assert [int(log["args"]["seq"]) for log in logs] == [1, 2]


@pytest.mark.anvil
def test_a_batch_that_a_reorganisation_mines_again_refusing_its_readings_is_sent_again(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    """The same transaction, re-mined after a front-run of the same readings: on chain, but
    accepting none of them. The readings themselves are on chain once (the front-run's)."""
    registry, submitter = _two_readings_on_anvil(registry_chain, relayer, tmp_path)
    w3 = registry.handle.w3
    assert submitter.drain().accepted == 2
    ((_, tx_hash, _, _),) = submitter.outbox.unconfirmed_batches()
    tx = w3.eth.get_transaction(tx_hash)
    front_run = {
        "from": w3.eth.accounts[7],
        "to": tx["to"],
        "data": tx["input"].to_0x_hex(),
        "gas": hex(2_000_000),
    }
    raw = w3.provider.make_request("eth_getRawTransactionByHash", [tx_hash])["result"]
    w3.provider.make_request("anvil_reorg", [1, [[front_run, 0], [raw, 0]]])
    assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1  # on chain, refusing both

    again = submitter.drain()

    assert again.reopened == 2
    assert submitter.outbox.depth() == 0
    logs = registry.handle.contract.events.ReadingAccepted().get_logs(from_block=0)
    assert [int(log["args"]["seq"]) for log in logs] == [1, 2]
    assert [status for _, status, _ in submitter.outbox.readings()] == ["accepted", "accepted"]
