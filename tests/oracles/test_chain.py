"""Readings on anvil: the registry accepts what the oracle signs, once, and an auditor can
trace every batch from its CID back to signed readings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain.artifacts import load_artifact
from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS
from energychain.meter_reading import MeterReading
from enerwise.cli import app
from oracles.archive import Archive, KuboClient, LocalArchive, cid_to_bytes, encode_batch
from oracles.clock import VirtualClock
from oracles.config import dev_key
from oracles.outbox import Outbox
from oracles.readings import meter_id_from_name, sign_reading
from oracles.registry import Web3Registry
from oracles.runner import MeterRuntime, OracleRunner
from oracles.simulator import simulated_households
from oracles.submitter import Submitter
from oracles.verify import verify_batch
from wallet.signer import LocalKeySigner
from wallet.typed_data import typed_data_digest

pytestmark = pytest.mark.anvil


def run_oracle(
    chain: Any,
    relayer: LocalKeySigner,
    tmp_path: Path,
    names: list[str],
    slots: int,
    archive: Archive | None = None,
) -> tuple[OracleRunner, Web3Registry]:
    signers = chain.register(names)
    registry = Web3Registry(chain.node.rpc_url, chain.registry, relayer)
    clock = VirtualClock(chain.epoch + 1)
    sources = simulated_households(names, clock)
    meters = [MeterRuntime(n, meter_id_from_name(n), sources[n], signers[n]) for n in names]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    archive = archive or Archive(LocalArchive(tmp_path / "archive"))
    submitter = Submitter(outbox, archive, registry, registry.domain(), batch_size=5)
    runner = OracleRunner(
        meters,
        outbox=outbox,
        domain=registry.domain(),
        schedule=registry.schedule(),
        clock=clock,
        registry=registry,
        submitter=submitter,
    )

    async def scenario() -> None:
        await runner.start()
        await runner.run(slots=slots)
        assert await runner.drain(timeout=60)

    asyncio.run(scenario())
    return runner, registry


def accepted_events(registry: Web3Registry) -> list[tuple[bytes, int]]:
    logs = registry.handle.contract.events.ReadingAccepted().get_logs(from_block=0)
    return [(bytes(log["args"]["meterId"]), int(log["args"]["seq"])) for log in logs]


@pytest.fixture
def registry(registry_chain: Any, relayer: LocalKeySigner) -> Web3Registry:
    """The chain's MeterRegistry as the relayer's key submits to it."""
    return Web3Registry(registry_chain.node.rpc_url, registry_chain.registry, relayer)


def test_the_registry_digest_is_the_typed_data_the_meter_signs(registry_chain: Any) -> None:
    registry = Web3Registry(registry_chain.node.rpc_url, registry_chain.registry)
    reading = MeterReading(
        meter_id_from_name("m"),
        3,
        registry_chain.epoch + 120,
        1_000,
        20,
        2,
        registry_chain.epoch + 60,
    )
    on_chain = registry.handle.call("readingDigest", reading.as_tuple())
    assert bytes(on_chain) == typed_data_digest(reading.typed_data(registry.domain()))


def test_every_signed_reading_lands_once_and_in_order(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    runner, registry = run_oracle(registry_chain, relayer, tmp_path, ["a", "b", "c"], slots=4)
    assert runner.outbox.totals() == {"pending": 0, "accepted": 12, "rejected": 0}
    events = accepted_events(registry)
    assert len(events) == len(set(events)) == 12
    for name in ("a", "b", "c"):
        mid = meter_id_from_name(name)
        assert [seq for m, seq in events if m == mid] == [1, 2, 3, 4]
        on_chain = registry.meter(mid).last
        assert on_chain == runner.outbox.last_reading(mid)


def test_each_batch_cid_is_anchored_and_verifies(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    runner, _ = run_oracle(registry_chain, relayer, tmp_path, ["a", "b"], slots=3)
    w3 = connect(registry_chain.node.rpc_url)
    archive = Archive(LocalArchive(tmp_path / "archive"))
    batches = runner.outbox.batches()
    assert batches
    for batch in batches:
        report = verify_batch(
            batch["cid"], archive=archive, w3=w3, registry=registry_chain.registry
        )
        assert report.ok, report.problems
        assert report.readings == report.signatures_valid == report.accepted == batch["readings"]


def test_a_resent_batch_does_no_harm(registry_chain: Any, registry: Web3Registry) -> None:
    signers = registry_chain.register(["a"])
    domain = registry.domain()
    readings = [
        sign_reading(
            signers["a"],
            MeterReading(
                meter_id_from_name("a"),
                seq,
                registry_chain.epoch + 60 * seq,
                10 * seq,
                0,
                seq - 1,
                registry_chain.epoch + 60 * (seq - 1) if seq > 1 else 0,
            ),
            domain,
        )
        for seq in (1, 2)
    ]
    cid = cid_to_bytes("bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq")
    first = registry.submit(readings, cid)
    again = registry.submit(readings, cid)  # e.g. after a crash before the receipt was stored
    assert set(first.results.values()) == {None}
    assert set(again.results.values()) == {None}  # resolved: accepted by the earlier tx
    assert accepted_events(registry) == [(meter_id_from_name("a"), 1), (meter_id_from_name("a"), 2)]


def test_verify_reports_a_reading_signed_by_another_key(
    registry_chain: Any, registry: Web3Registry, tmp_path: Path
) -> None:
    registry_chain.register(["a"])
    intruder = LocalKeySigner(dev_key("not-a"))
    reading = MeterReading.first(meter_id_from_name("a"), registry_chain.epoch + 60, 10, 0)
    batch = [sign_reading(intruder, reading, registry.domain())]
    archive = Archive(LocalArchive(tmp_path))
    cid = archive.store(encode_batch(registry.domain(), batch))
    outcome = registry.submit(batch, cid_to_bytes(cid))
    assert set(outcome.results.values()) == {"ReadingSignatureInvalid"}
    report = verify_batch(
        cid,
        archive=archive,
        w3=connect(registry_chain.node.rpc_url),
        registry=registry_chain.registry,
    )
    assert report.rejected == {"ReadingSignatureInvalid": 1}
    assert any("registered signer" in p for p in report.problems)


def test_verify_detects_a_tampered_archive(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    runner, _ = run_oracle(registry_chain, relayer, tmp_path, ["a"], slots=1)
    cid = runner.outbox.batches()[0]["cid"]
    path = tmp_path / "archive" / cid
    path.write_bytes(path.read_bytes().replace(b'"seq":1', b'"seq":9'))
    report = verify_batch(
        cid,
        archive=Archive(LocalArchive(tmp_path / "archive")),
        w3=connect(registry_chain.node.rpc_url),
        registry=registry_chain.registry,
    )
    assert not report.ok and "hashes to" in report.problems[0]


def test_batches_are_pushed_to_ipfs_and_verify_from_there(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path, fake_kubo: Any
) -> None:
    archive = Archive(LocalArchive(tmp_path / "archive"), KuboClient(fake_kubo.url))
    runner, _ = run_oracle(registry_chain, relayer, tmp_path, ["a"], slots=2, archive=archive)
    runner.submitter.drain()  # type: ignore[union-attr]  # pushes what is not pinned yet
    cids = [b["cid"] for b in runner.outbox.batches()]
    assert set(cids) <= set(fake_kubo.blocks)
    auditor = Archive(LocalArchive(tmp_path / "auditor-has-nothing"), KuboClient(fake_kubo.url))
    report = verify_batch(
        cids[0],
        archive=auditor,
        w3=connect(registry_chain.node.rpc_url),
        registry=registry_chain.registry,
    )
    assert report.ok, report.problems


def test_oracle_verify_command_prints_the_report(
    registry_chain: Any, relayer: LocalKeySigner, tmp_path: Path
) -> None:
    runner, _ = run_oracle(registry_chain, relayer, tmp_path, ["a"], slots=2)
    cid = runner.outbox.batches()[0]["cid"]
    args = [
        "oracle",
        "verify",
        cid,
        "--rpc-url",
        registry_chain.node.rpc_url,
        "--registry",
        registry_chain.registry,
        "--archive-dir",
        str(tmp_path / "archive"),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    (tmp_path / "archive" / cid).write_bytes(b"{}")
    assert CliRunner().invoke(app, args).exit_code == 1


def test_a_reading_relayed_ahead_of_its_batch_is_refused_and_the_batch_mints_both(
    registry_chain: Any, registry: Web3Registry
) -> None:
    # Audit M-2: someone who sees the relayer's batch [2, 3] coming relays 3 alone first. With
    # readings of type version 1 that made 3 a two-slot gap (nothing minted) and refused 2;
    # a version-2 reading names its predecessor, so 3 alone is refused and the batch mints both.
    signers = registry_chain.register(["a"])
    meter_id = meter_id_from_name("a")
    front_runner = Web3Registry(
        registry_chain.node.rpc_url, registry_chain.registry, LocalKeySigner(ANVIL_DEV_KEYS[2])
    )
    domain = registry.domain()
    first = MeterReading.first(meter_id, registry_chain.epoch + 60, 1_000, 0)
    second = first.after(registry_chain.epoch + 120, 1_000, 10)
    third = second.after(registry_chain.epoch + 180, 1_000, 30)
    one, two, three = (sign_reading(signers["a"], r, domain) for r in (first, second, third))
    assert registry.submit([one], b"").results == {(meter_id, 1): None}

    ahead = front_runner.submit([three], b"")
    batch = registry.submit([two, three], b"")

    assert ahead.results == {(meter_id, 3): "ReadingPredecessorMismatch"}
    assert batch.results == {(meter_id, 2): None, (meter_id, 3): None}
    logs = registry.handle.contract.events.ReadingAccepted().get_logs(from_block=0)
    minted = [(int(log["args"]["slot"]), int(log["args"]["exportDeltaWh"])) for log in logs[1:]]
    assert minted == [(1, 10), (2, 20)]  # the slots ending at epoch + 120 and epoch + 180
    token = registry.handle.w3.eth.contract(
        address=registry.handle.call("token"), abi=load_artifact("EnergyToken").abi
    )
    owner = registry_chain.admin.address
    assert [token.functions.balanceOf(owner, slot).call() for slot in (1, 2)] == [10, 20]


def test_after_a_key_rotation_an_old_seq_never_counts_as_a_new_readings_acceptance(
    registry_chain: Any, registry: Web3Registry
) -> None:
    # Rotating a meter's signer restarts its sequence: the new key's seq 1..n overlap the old
    # key's. A new reading refused as "not increasing" is accepted by an earlier transaction
    # only if that transaction accepted this very reading (same seq and timestamp), never
    # because the old key's reading of the same seq was.
    signers = registry_chain.register(["a"])
    meter_id = meter_id_from_name("a")
    domain = registry.domain()
    epoch = registry_chain.epoch
    old = [MeterReading.first(meter_id, epoch + 60, 1_000, 0)]
    for n in (2, 3):
        old.append(old[-1].after(epoch + 60 * n, 1_000, 10 * n))
    first = registry.submit([sign_reading(signers["a"], r, domain) for r in old], b"")
    assert set(first.results.values()) == {None}

    new_key = LocalKeySigner(dev_key("a-rotated"))
    registry_chain.admin.transact(registry.handle.rotate_signer(meter_id, new_key.address))
    kept = old[-1].timestamp
    one = MeterReading(meter_id, 1, kept + 60, 1_000, 40, 0, kept)  # the new baseline
    two = one.after(kept + 120, 1_000, 50)
    three = MeterReading(meter_id, 3, kept + 180, 1_000, 60, 1, one.timestamp)  # skips seq 2
    signed_one, signed_two, signed_three = (
        sign_reading(new_key, r, domain) for r in (one, two, three)
    )
    landed = registry.submit([signed_one, signed_three], b"")
    assert landed.results == {(meter_id, 1): None, (meter_id, 3): None}
    # seq 2 of the new key was never accepted (seq 2 of the old key was): it stays refused
    late = registry.submit([signed_two], b"")
    assert late.results == {(meter_id, 2): "ReadingSeqNotIncreasing"}
    # a resend of what did land is still recognised as accepted
    again = registry.submit([signed_one, signed_three], b"")
    assert again.results == {(meter_id, 1): None, (meter_id, 3): None}
