"""The broker and the chain die mid-run: every signed reading still reaches the chain once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chain.local_node import AnvilProcess, free_port, start_anvil
from chain.retry import Backoff
from oracles.archive import Archive, LocalArchive
from oracles.clock import VirtualClock
from oracles.outbox import Outbox
from oracles.payloads import TasmotaFormat
from oracles.readings import meter_id_from_name
from oracles.registry import Web3Registry
from oracles.runner import MeterRuntime, OracleRunner
from oracles.simulator import (
    HouseholdProfile,
    SimulatedMeter,
    SimulatedMqttPublisher,
    SimulatedSource,
)
from oracles.sources.mqtt import BrokerSettings, MqttSource, MqttSubscriber
from oracles.submitter import Submitter
from wallet.signer import LocalKeySigner

pytestmark = pytest.mark.anvil

SLOTS = 18
BROKER_DOWN, BROKER_UP = 4, 7
CHAIN_DOWN, CHAIN_UP = 9, 13


class RestartableAnvil:
    """anvil that keeps its state across a restart on the same port (``--state``)."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.state = state
        self.process: AnvilProcess = self._start()

    def _start(self) -> AnvilProcess:
        return start_anvil(port=self.port, extra_args=["--state", str(self.state)])

    @property
    def rpc_url(self) -> str:
        return self.process.rpc_url

    def stop(self) -> None:
        self.process.stop()  # SIGTERM: anvil writes its state file before it exits

    def start(self) -> None:
        self.process = self._start()


@pytest.fixture
def restartable_anvil(compiled: None, tmp_path: Path) -> Iterator[RestartableAnvil]:
    node = RestartableAnvil(tmp_path / "anvil-state.json")
    yield node
    node.stop()


def test_broker_and_chain_outages_lose_nothing_and_duplicate_nothing(
    broker: Any,
    restartable_anvil: RestartableAnvil,
    deploy_registry_on: Any,
    relayer: LocalKeySigner,
    tmp_path: Path,
) -> None:
    chain = deploy_registry_on(restartable_anvil)
    names = ["plug-1", "plug-2", "house-3"]
    signers = chain.register(names)
    clock = VirtualClock(chain.epoch + 1, pace=0.15)  # ~0.3 s real per slot
    fleet = {
        n: SimulatedMeter(HouseholdProfile(seed=i), start=clock.now()) for i, n in enumerate(names)
    }

    publisher = SimulatedMqttPublisher(
        {f"tele/{n}/SENSOR": fleet[n] for n in names[:2]}, "tasmota", port=broker.port, clock=clock
    )
    subscriber = MqttSubscriber(
        BrokerSettings(port=broker.port, client_id="oracle-faults"), clock=clock
    )
    sources: dict[str, Any] = {
        n: MqttSource(subscriber, f"tele/{n}/SENSOR", TasmotaFormat(), max_age=90)
        for n in names[:2]
    }
    sources["house-3"] = SimulatedSource(fleet["house-3"], clock=clock)
    registry = Web3Registry(
        restartable_anvil.rpc_url, chain.registry, relayer, timeout=2, receipt_timeout=5
    )
    outbox = Outbox(tmp_path / "outbox.sqlite")
    submitter = Submitter(
        outbox,
        Archive(LocalArchive(tmp_path / "archive")),
        registry,
        chain.domain,
        batch_size=4,
        backoff=Backoff(base=0.1, cap=0.5, jitter=0.2),
    )
    runner = OracleRunner(
        [MeterRuntime(n, meter_id_from_name(n), sources[n], signers[n]) for n in names],
        outbox=outbox,
        domain=chain.domain,
        schedule=registry.schedule(),
        clock=clock,
        registry=registry,
        submitter=submitter,
        read_delay=2.0,
        subscribers=[subscriber],
    )

    async def faults() -> None:
        script = {
            BROKER_DOWN: broker.stop,
            BROKER_UP: broker.start,
            CHAIN_DOWN: restartable_anvil.stop,
            CHAIN_UP: restartable_anvil.start,
        }
        while script:
            slot = min(script)
            if runner.slots_done >= slot:
                await asyncio.to_thread(script.pop(slot))
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        publisher.start()
        await runner.start()
        publishing = asyncio.create_task(publisher.run(runner.schedule.next_boundary))
        chaos = asyncio.create_task(faults())
        await runner.run(slots=SLOTS)
        await chaos
        publishing.cancel()
        assert await runner.drain(timeout=60)

    try:
        asyncio.run(scenario())
    finally:
        publisher.stop()
        asyncio.run(runner.close())

    # the outages happened and were counted
    assert outbox.counter("no_fresh_sample") + outbox.counter("clock_skew") > 0
    assert outbox.counter("submit_failed") > 0
    # nothing lost: every signed reading was accepted ...
    totals = outbox.totals()
    assert totals["pending"] == 0 and totals["rejected"] == 0
    signed = {(q.signed.reading.meter_id, q.signed.reading.seq) for q, _, _ in outbox.readings()}
    # ... exactly once, in order
    logs = registry.handle.contract.events.ReadingAccepted().get_logs(from_block=0)
    on_chain = [(bytes(log["args"]["meterId"]), int(log["args"]["seq"])) for log in logs]
    assert len(on_chain) == len(set(on_chain))
    assert set(on_chain) == signed
    for name in names:
        mid = meter_id_from_name(name)
        seqs = [seq for m, seq in on_chain if m == mid]
        assert seqs == list(range(1, len(seqs) + 1))
        assert registry.meter(mid).last == outbox.last_reading(mid)
    # the house meter (no broker in between) signed at every slot, the plugs came back
    assert outbox.last_reading(meter_id_from_name("house-3")).seq == SLOTS  # type: ignore[union-attr]
    last_boundary = runner.last_boundary
    assert last_boundary is not None
    for plug in names[:2]:
        last = outbox.last_reading(meter_id_from_name(plug))
        assert last is not None and last.timestamp >= last_boundary - 3 * 60
