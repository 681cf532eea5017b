"""The oracle loop with in-process meters and an in-memory registry (no chain needed)."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from chain.retry import Backoff
from energychain.meter_reading import MeterReading
from oracles.archive import Archive, LocalArchive
from oracles.clock import VirtualClock
from oracles.config import dev_key
from oracles.errors import SubmissionError
from oracles.outbox import Outbox
from oracles.readings import SignedReading, meter_id_from_name
from oracles.registry import BatchOutcome
from oracles.runner import MeterRuntime, OracleRunner
from oracles.simulator import ConstantProfile, SimulatedMeter, SimulatedSource
from oracles.sources.base import Sample
from oracles.submitter import Submitter
from wallet.signer import LocalKeySigner


class FixedSource:
    """A source returning whatever the test puts in ``values`` (or raising ``error``)."""

    description = "fixed"

    def __init__(self, clock: VirtualClock, values: tuple[float, float]) -> None:
        self.clock = clock
        self.values = values
        self.error: Exception | None = None

    async def start(self) -> None:
        return None

    async def read(self, boundary: int) -> Sample:
        if self.error is not None:
            raise self.error
        return Sample(self.values[0], self.values[1], 0.0, self.clock.now())

    async def close(self) -> None:
        return None


def make_runner(
    tmp_path: Path,
    registry: Any,
    names: list[str],
    *,
    sources: dict[str, Any] | None = None,
    clock: VirtualClock | None = None,
    outbox: Outbox | None = None,
) -> OracleRunner:
    schedule = registry.schedule()
    clock = clock or VirtualClock(schedule.epoch + 1)
    outbox = outbox or Outbox(tmp_path / "outbox.sqlite")
    meters = []
    for i, name in enumerate(names):
        signer = LocalKeySigner(dev_key(name))
        registry.signers[meter_id_from_name(name)] = signer.address
        source = (sources or {}).get(name) or SimulatedSource(
            SimulatedMeter(ConstantProfile(1_000.0 * (i + 1)), start=clock.now()), clock=clock
        )
        meters.append(MeterRuntime(name, meter_id_from_name(name), source, signer))
    submitter = Submitter(
        outbox,
        Archive(LocalArchive(tmp_path / "archive")),
        registry,
        registry.domain(),
        batch_size=4,
        backoff=Backoff(base=0.01, cap=0.05, jitter=0.2),
    )
    return OracleRunner(
        meters,
        outbox=outbox,
        domain=registry.domain(),
        schedule=schedule,
        clock=clock,
        registry=registry,
        submitter=submitter,
        read_delay=1.0,
    )


def run_slots(runner: OracleRunner, slots: int) -> None:
    async def scenario() -> None:
        await runner.start()
        await runner.run(slots=slots)

    asyncio.run(scenario())


def simulated_meter_a(registry: Any) -> tuple[VirtualClock, dict[str, SimulatedSource]]:
    """A virtual clock just past the registry's epoch, and meter a drawing a constant 500 W on it
    (a source that outlives a runner: a restarted oracle reads the same meter)."""
    clock = VirtualClock(registry.schedule().epoch + 1)
    meter = SimulatedMeter(ConstantProfile(500.0), start=clock.now())
    return clock, {"a": SimulatedSource(meter, clock=clock)}


def land_two_readings(runner: OracleRunner, registry: Any) -> int:
    """Runs two slots and lands meter a's two readings; the chain's timestamp of reading 2."""
    run_slots(runner, 2)
    assert asyncio.run(runner.drain(timeout=10))
    return int(registry.state[meter_id_from_name("a")].timestamp)


def restart_and_drain(
    tmp_path: Path, registry: Any, clock: VirtualClock, meter: dict[str, SimulatedSource]
) -> None:
    """A new runner of meter a on the same folder, clock and meter runs one slot and lands what
    it has."""
    restarted = make_runner(tmp_path, registry, ["a"], clock=clock, sources=meter)
    run_slots(restarted, 1)
    assert asyncio.run(restarted.drain(timeout=10))


def predecessor(reading: MeterReading) -> tuple[int, int]:
    """(seq, timestamp) of the reading ``reading`` is bound to."""
    return reading.prev_seq, reading.prev_timestamp


def accepted_seqs(registry: Any, meter_id: bytes) -> list[int]:
    """The seqs of ``meter_id``'s readings the registry accepted, in order."""
    return [seq for m, seq in registry.accepted if m == meter_id]


def signed_readings(runner: OracleRunner) -> dict[int, MeterReading]:
    """The readings in the runner's outbox by seq."""
    return {q.signed.reading.seq: q.signed.reading for q, _, _ in runner.outbox.readings()}


def signed_while_down(tmp_path: Path, registry: Any, slots: int) -> tuple[OracleRunner, bytes, int]:
    """Meter a's runner lands readings 1 and 2, then signs ``slots`` more while the registry is
    down (and still is): the runner, the meter's id and the chain's timestamp of reading 2."""
    runner = make_runner(tmp_path, registry, ["a"])
    two = land_two_readings(runner, registry)
    registry.down = True
    run_slots(runner, slots)
    return runner, meter_id_from_name("a"), two


def test_every_slot_signs_one_reading_per_meter_on_the_boundary(
    tmp_path: Path, memory_registry: Any
) -> None:
    runner = make_runner(tmp_path, memory_registry, ["a", "b"])
    run_slots(runner, 3)
    rows = runner.outbox.readings()
    assert len(rows) == 6
    schedule = memory_registry.schedule()
    for queued, _, _ in rows:
        assert schedule.is_boundary(queued.signed.reading.timestamp)
    seqs = [
        q.signed.reading.seq
        for q, _, _ in rows
        if q.signed.reading.meter_id == meter_id_from_name("a")
    ]
    assert seqs == [1, 2, 3]


def test_readings_are_in_the_outbox_before_any_submission(
    tmp_path: Path, memory_registry: Any
) -> None:
    runner = make_runner(tmp_path, memory_registry, ["a"])
    asyncio.run(runner.start())
    asyncio.run(runner.read_slot(memory_registry.schedule().epoch + 60))
    assert memory_registry.submissions == 0
    assert runner.outbox.depth() == 1


def test_chain_down_grows_the_outbox_and_it_drains_in_order_after_recovery(
    tmp_path: Path, memory_registry: Any
) -> None:
    runner = make_runner(tmp_path, memory_registry, ["a", "b"])
    memory_registry.down = True
    run_slots(runner, 5)
    assert runner.submitter is not None
    while not runner.submitter.ready():  # a background attempt may have started a backoff
        time.sleep(0.01)
    assert runner.submitter.drain().error is not None  # still down: nothing lost, nothing sent
    assert runner.outbox.depth() == 10
    assert runner.outbox.counter("submit_failed") >= 1
    memory_registry.down = False
    assert asyncio.run(runner.drain(timeout=10))
    accepted = memory_registry.accepted
    assert len(accepted) == len(set(accepted)) == 10
    for meter in ("a", "b"):
        mid = meter_id_from_name(meter)
        assert [seq for m, seq in accepted if m == mid] == [1, 2, 3, 4, 5]


def test_a_resend_after_a_lost_receipt_lands_each_reading_once(
    tmp_path: Path, memory_registry: Any
) -> None:
    submit = memory_registry.submit
    lost = {"count": 1}

    def submit_then_lose_receipt(readings: list[SignedReading], cid: bytes) -> BatchOutcome:
        outcome = submit(readings, cid)
        if lost["count"]:
            lost["count"] -= 1
            raise SubmissionError("chain: no receipt (node restarted)")
        return outcome

    memory_registry.submit = submit_then_lose_receipt
    runner = make_runner(tmp_path, memory_registry, ["a", "b"])
    run_slots(runner, 2)
    assert asyncio.run(runner.drain(timeout=10))
    assert runner.outbox.totals() == {"pending": 0, "accepted": 4, "rejected": 0}
    assert len(memory_registry.accepted) == len(set(memory_registry.accepted)) == 4
    first = runner.outbox.batches()[-1]
    assert first["attempts"] == 2  # the same batch (same CID) was sent twice


def test_a_restarted_oracle_resumes_from_the_outbox(tmp_path: Path, memory_registry: Any) -> None:
    clock, meter = simulated_meter_a(memory_registry)
    runner = make_runner(tmp_path, memory_registry, ["a"], clock=clock, sources=meter)
    memory_registry.down = True
    run_slots(runner, 2)
    runner.outbox.close()

    memory_registry.down = False
    restart_and_drain(tmp_path, memory_registry, clock, meter)
    assert [seq for _, seq in memory_registry.accepted] == [1, 2, 3]


def test_a_register_going_backwards_holds_the_meter_and_signs_nothing(
    tmp_path: Path, memory_registry: Any
) -> None:
    clock = VirtualClock(memory_registry.schedule().epoch + 1)
    replaced = FixedSource(clock, (5_000.0, 0.0))
    runner = make_runner(
        tmp_path, memory_registry, ["a", "b"], sources={"a": replaced}, clock=clock
    )
    run_slots(runner, 1)
    replaced.values = (12.0, 0.0)  # a new meter counting from zero
    asyncio.run(runner.run(slots=2))
    a = meter_id_from_name("a")
    assert runner.outbox.hold_reason(a) is not None
    assert runner.outbox.last_reading(a) is not None and runner.outbox.last_reading(a).seq == 1  # type: ignore[union-attr]
    assert runner.outbox.counter("register_decreased", "a") == 1
    assert runner.outbox.counter("on_hold", "a") == 1
    assert runner.outbox.last_reading(meter_id_from_name("b")).seq == 3  # type: ignore[union-attr]


def test_a_nan_register_is_counted_and_not_signed(tmp_path: Path, memory_registry: Any) -> None:
    clock = VirtualClock(memory_registry.schedule().epoch + 1)
    broken = FixedSource(clock, (math.nan, 0.0))
    runner = make_runner(tmp_path, memory_registry, ["a", "b"], sources={"a": broken}, clock=clock)
    run_slots(runner, 2)
    assert runner.outbox.counter("invalid_register", "a") == 2
    assert runner.outbox.last_reading(meter_id_from_name("a")) is None


def test_a_missing_key_is_counted_and_other_meters_go_on(
    tmp_path: Path, memory_registry: Any
) -> None:
    runner = make_runner(tmp_path, memory_registry, ["a", "b"])
    runner.meters[0].signer = None
    runner.meters[0].signer_problem = "a: environment variable A_KEY is not set"
    run_slots(runner, 2)
    assert runner.outbox.counter("signer_missing", "a") == 2
    assert runner.outbox.recent_errors(1)[0]["message"].startswith("a: environment variable")
    assert runner.outbox.last_reading(meter_id_from_name("b")).seq == 2  # type: ignore[union-attr]


def test_a_local_clock_behind_the_chain_signs_nothing(tmp_path: Path, memory_registry: Any) -> None:
    runner = make_runner(tmp_path, memory_registry, ["a"])
    memory_registry.now = memory_registry.schedule().epoch + 3_600  # chain an hour ahead
    run_slots(runner, 1)
    assert runner.outbox.counter("clock_skew") == 1
    assert runner.outbox.depth() == 0


def test_the_chain_state_is_adopted_when_the_outbox_was_lost(
    tmp_path: Path, memory_registry: Any
) -> None:
    clock, meter = simulated_meter_a(memory_registry)
    runner = make_runner(tmp_path, memory_registry, ["a"], clock=clock, sources=meter)
    run_slots(runner, 2)
    assert asyncio.run(runner.drain(timeout=10))
    runner.outbox.close()
    (tmp_path / "outbox.sqlite").rename(tmp_path / "lost.sqlite")

    restart_and_drain(tmp_path, memory_registry, clock, meter)
    assert [seq for _, seq in memory_registry.accepted] == [1, 2, 3]


def test_readings_behind_a_refused_one_are_signed_again_and_the_meter_goes_on(
    tmp_path: Path, memory_registry: Any
) -> None:
    # Reading 3 is refused for good (its signature does not verify), and 4 and 5, bound to it,
    # as predecessor mismatches: they are signed again, 4 bound to the chain's last reading (2),
    # 5 to 4, and land.
    runner, meter_id, two = signed_while_down(tmp_path, memory_registry, 3)
    with sqlite3.connect(runner.outbox.path) as db:
        db.execute("UPDATE readings SET signature = ? WHERE seq = 3", (b"\x01" * 65,))
    memory_registry.down = False

    assert asyncio.run(runner.drain(timeout=10))

    assert accepted_seqs(memory_registry, meter_id) == [1, 2, 4, 5]
    statuses = {
        q.signed.reading.seq: (status, reason) for q, status, reason in runner.outbox.readings()
    }
    assert statuses[3] == ("rejected", "ReadingSignatureInvalid")
    assert statuses[4] == statuses[5] == ("accepted", None)
    readings = signed_readings(runner)
    assert predecessor(readings[4]) == (2, two)
    assert predecessor(readings[5]) == (4, readings[4].timestamp)


def test_after_a_signer_rotation_the_waiting_readings_are_signed_by_the_new_key(
    tmp_path: Path, memory_registry: Any
) -> None:
    # The rotation restarts the meter's sequence on chain and keeps its last timestamp: readings
    # 3 and 4, signed by the old key and bound to 2, are refused (predecessor) and signed again
    # by the new key, 3 bound to (0, timestamp of 2) as the new baseline.
    runner, meter_id, two = signed_while_down(tmp_path, memory_registry, 2)
    memory_registry.down = False
    new_key = LocalKeySigner(dev_key("a-rotated"))
    memory_registry.rotate(meter_id, new_key.address)
    runner.meters[0].signer = new_key

    assert asyncio.run(runner.drain(timeout=10))

    assert accepted_seqs(memory_registry, meter_id) == [1, 2, 3, 4]
    readings = signed_readings(runner)
    assert predecessor(readings[3]) == (0, two)
    assert predecessor(readings[4]) == (3, readings[3].timestamp)


def test_a_rotation_landing_while_the_oracle_runs_holds_the_readings_for_the_new_key(
    tmp_path: Path, memory_registry: Any
) -> None:
    # The meter admin rotates while the oracle still signs with the old key: readings 3 and 4
    # are refused (their predecessor names the old sequence). Signing them again with the old
    # key would get them refused for good (signature); they are held, and the oracle restarted
    # with the new key signs them at start: 3 becomes the new baseline, 4 and 5 mint.
    clock, meter = simulated_meter_a(memory_registry)
    runner = make_runner(tmp_path, memory_registry, ["a"], clock=clock, sources=meter)
    meter_id = meter_id_from_name("a")
    two = land_two_readings(runner, memory_registry)
    new_key = LocalKeySigner(dev_key("a-rotated"))
    memory_registry.rotate(meter_id, new_key.address)
    run_slots(runner, 2)
    assert asyncio.run(runner.drain(timeout=10))
    assert accepted_seqs(memory_registry, meter_id) == [1, 2]
    assert [q.signed.reading.seq for q in runner.outbox.unbound(meter_id)] == [3, 4]
    assert runner.outbox.counter("signer_mismatch", "a") >= 1
    runner.outbox.close()

    restarted = make_runner(tmp_path, memory_registry, ["a"], clock=clock, sources=meter)
    memory_registry.signers[meter_id] = new_key.address  # make_runner registered the dev key
    restarted.meters[0].signer = new_key
    run_slots(restarted, 1)
    assert asyncio.run(restarted.drain(timeout=10))
    assert accepted_seqs(memory_registry, meter_id) == [1, 2, 3, 4, 5]
    readings = signed_readings(restarted)
    assert predecessor(readings[3]) == (0, two)
    assert predecessor(readings[4]) == (3, readings[3].timestamp)
