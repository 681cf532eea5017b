"""The households' meters and the oracle pipeline that brings their readings on chain.

Every meter integrates its household's planned net power (:class:`PlanProfile`) into cumulative
import and export registers (``oracles.simulator.SimulatedMeter``). How a meter is read differs:

- the first ``modbus_meters`` households sit behind one real Modbus TCP server (pymodbus,
  Eastron SDM630 register map) and are read over TCP by ``oracles.sources.modbus``;
- the next ``mqtt_meters`` publish Tasmota payloads to the MQTT broker and are read by an
  ``oracles.sources.mqtt`` subscriber (skipped, with a note, when no broker answers);
- the rest are read in process (``oracles.simulator.SimulatedSource``).

All of them then take the same path as in production: ``OracleRunner`` validates, signs
(EIP-712, the meter's key) and appends to the SQLite outbox, the ``Submitter`` archives each
batch (CID) and relays it with ``submitReadings``; the registry mints the exported Wh.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devchain.sandbox import Participant, Sandbox
from energychain.calendar import NO_SLOT
from energychain.events import EventReader
from enerwise.demo.community import DayPlan, Household
from oracles.archive import Archive, LocalArchive
from oracles.clock import Clock
from oracles.maps import load_map
from oracles.outbox import Outbox
from oracles.payloads import make_format
from oracles.registry import Web3Registry
from oracles.runner import MeterRuntime, OracleRunner, SlotReport
from oracles.simulator import (
    SimulatedMeter,
    SimulatedModbusServer,
    SimulatedMqttPublisher,
    SimulatedSource,
)
from oracles.sources.base import MeterSource, parse_endpoint
from oracles.sources.modbus import ModbusConnection, ModbusSource
from oracles.sources.mqtt import BrokerSettings, MqttSource, MqttSubscriber
from oracles.submitter import Submitter

logger = logging.getLogger(__name__)

#: Integration step of the simulated meters (s): 60 steps per slot.
METER_STEP_SECONDS = 15.0


#: The net import (Wh) of a household in the ``k``-th replayed slot.
NetOfSlot = Callable[[int], int]


@dataclass(frozen=True)
class PlanProfile:
    """A household's net power, constant within each slot (W, positive imports).

    ``net(k)`` is asked when the meter integrates slot ``k``, i.e. when it is read at the
    slot's end, so a battery decided during the day (an agent's) is already known.
    """

    net: NetOfSlot
    start: int
    slot_seconds: int
    slots: int

    def power_w(self, t: float) -> float:
        k = int((t - self.start) // self.slot_seconds)
        return self.net(min(max(k, 0), self.slots - 1)) * 3_600.0 / self.slot_seconds


@dataclass(frozen=True)
class Metered:
    """What a household's meter put on chain for one slot (from ``ReadingAccepted``)."""

    import_wh: int = 0
    export_wh: int = 0


@dataclass
class MeterFleet:
    """Meters, their servers and publishers, and the oracle reading them."""

    sandbox: Sandbox
    households: list[Household]
    runner: OracleRunner
    clock: Clock
    modbus: SimulatedModbusServer | None = None
    publisher: SimulatedMqttPublisher | None = None
    mqtt_sources: dict[int, MqttSource] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _next_block: int = 0

    @property
    def by_meter_id(self) -> dict[bytes, Household]:
        return {h.meter.meter_id: h for h in self.households}

    # ------------------------------------------------------------------ one boundary
    async def read(self, boundary: int) -> SlotReport:
        """Publish (MQTT), read, sign, persist and submit every meter's reading at ``boundary``."""
        if self.publisher is not None:
            self.publisher.publish_all(boundary)
            await self._await_mqtt(boundary)
        report = await self.runner.read_slot(boundary)
        if not await self.runner.drain(timeout=60.0):
            logger.warning("boundary %d: readings still queued in the outbox", boundary)
        return report

    async def _await_mqtt(self, boundary: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(
                s.latest is not None and s.latest.device_time == boundary
                for s in self.mqtt_sources.values()
            ):
                return
            await asyncio.sleep(0.01)
        logger.warning("boundary %d: not every MQTT meter published in time", boundary)

    def accepted(self) -> dict[int, dict[int, Metered]]:
        """Energy attributed since the last call: ``{slot: {household index: Metered}}``."""
        events = EventReader(self.sandbox.contracts.registry)
        latest = events.head()
        logs = events.read(
            "ReadingAccepted", self._next_block or self.sandbox.deployment.block_number, latest
        )
        self._next_block = latest + 1
        owners = self.by_meter_id
        out: dict[int, dict[int, Metered]] = {}
        for log in logs:
            args = log["args"]
            slot = int(args["slot"])
            member = owners.get(bytes(args["meterId"]))
            if slot == NO_SLOT or member is None:
                continue
            out.setdefault(slot, {})[member.index] = Metered(
                int(args["importDeltaWh"]), int(args["exportDeltaWh"])
            )
        return out

    # ------------------------------------------------------------------ life cycle
    async def close(self) -> None:
        await self.runner.close()
        if self.publisher is not None:
            self.publisher.stop()
        if self.modbus is not None:
            await self.modbus.stop()
        self.runner.outbox.close()


def broker_reachable(broker: str, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at ``broker`` (``host:port``)."""
    host, port = parse_endpoint(broker, 1883)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def start_fleet(
    sandbox: Sandbox,
    plan: DayPlan,
    households: list[Household],
    *,
    clock: Clock,
    start: int,
    nets: dict[int, NetOfSlot],
    relayer: Participant,
    workdir: Path,
    modbus_meters: int,
    mqtt_meters: int,
    mqtt_broker: str,
    run_id: str,
) -> MeterFleet:
    """Start the meters' servers and the oracle; every meter reads from ``start`` on.

    ``nets[i]`` gives household ``i``'s net energy per replayed slot.
    """
    slot_seconds = sandbox.slot_seconds
    meters = {
        h.index: SimulatedMeter(
            PlanProfile(nets[h.index], start, slot_seconds, plan.slots),
            start=start,
            step=METER_STEP_SECONDS,
        )
        for h in households
    }
    notes: list[str] = []
    n_modbus = min(modbus_meters, len(households))
    n_mqtt = min(mqtt_meters, len(households) - n_modbus)
    if n_mqtt and not broker_reachable(mqtt_broker):
        notes.append(f"no MQTT broker at {mqtt_broker}: {n_mqtt} MQTT meters read in process")
        logger.warning("%s", notes[-1])
        n_mqtt = 0
    sources: dict[int, MeterSource] = {}

    modbus: SimulatedModbusServer | None = None
    modbus_members = households[:n_modbus]
    if modbus_members:
        register_map = load_map("sdm630")
        modbus = SimulatedModbusServer(
            {k + 1: meters[h.index] for k, h in enumerate(modbus_members)},
            register_map,
            clock=clock,
        )
        port = await modbus.start()
        connection = ModbusConnection("127.0.0.1", port, timeout=5.0)
        for k, h in enumerate(modbus_members):
            sources[h.index] = ModbusSource(connection, k + 1, register_map, clock=clock)
            h.source = "modbus"
        notes.append(f"Modbus TCP server on 127.0.0.1:{port} ({len(modbus_members)} meters)")

    publisher: SimulatedMqttPublisher | None = None
    subscribers: list[MqttSubscriber] = []
    mqtt_sources: dict[int, MqttSource] = {}
    mqtt_members = households[n_modbus : n_modbus + n_mqtt]
    if mqtt_members:
        host, port = parse_endpoint(mqtt_broker, 1883)
        topics = {h.index: f"enerwise/demo/{run_id}/{h.name}/SENSOR" for h in mqtt_members}
        subscriber = MqttSubscriber(
            BrokerSettings(
                host=host, port=port, client_id=f"enerwise-demo-oracle-{run_id}", clean_session=True
            ),
            clock=clock,
        )
        for h in mqtt_members:
            mqtt_sources[h.index] = MqttSource(
                subscriber, topics[h.index], make_format("tasmota"), max_age=120.0
            )
            sources[h.index] = mqtt_sources[h.index]
            h.source = "mqtt"
        subscribers.append(subscriber)
        publisher = SimulatedMqttPublisher(
            {topics[h.index]: meters[h.index] for h in mqtt_members},
            "tasmota",
            host=host,
            port=port,
            clock=clock,
            client_id=f"enerwise-demo-meters-{run_id}",
        )
        publisher.start()
        subscriber.start()
        deadline = time.monotonic() + 5.0
        while not publisher.client.is_connected() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(subscriber.wait_connected, 5.0)
        notes.append(f"MQTT broker {mqtt_broker}: {len(mqtt_members)} meters publish Tasmota")

    for h in households:
        if h.index not in sources:
            sources[h.index] = SimulatedSource(meters[h.index], clock=clock, name=h.name)

    gateway = Web3Registry(
        sandbox.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        sandbox.contracts.registry.address,
        relayer.sender.signer,
        from_block=sandbox.deployment.block_number,
    )
    domain = gateway.domain()
    outbox = Outbox(workdir / "outbox.sqlite")
    runner = OracleRunner(
        [
            MeterRuntime(
                h.name,
                h.meter.meter_id,
                sources[h.index],
                h.meter.signer,
                capacity_wh_per_slot=None,
            )
            for h in households
        ],
        outbox=outbox,
        domain=domain,
        schedule=gateway.schedule(),
        clock=clock,
        registry=gateway,
        submitter=Submitter(
            outbox, Archive(LocalArchive(workdir / "archive")), gateway, domain, batch_size=500
        ),
        max_clock_skew=float(sandbox.slot_seconds),
        subscribers=subscribers,
    )
    await runner.start()
    return MeterFleet(
        sandbox=sandbox,
        households=households,
        runner=runner,
        clock=clock,
        modbus=modbus,
        publisher=publisher,
        mqtt_sources=mqtt_sources,
        notes=notes,
    )


def sources_summary(households: Sequence[Household]) -> dict[str, int]:
    """How many meters are read each way."""
    out: dict[str, int] = {}
    for h in households:
        out[h.source] = out.get(h.source, 0) + 1
    return out
