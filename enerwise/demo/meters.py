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
from typing import Any

from devchain.sandbox import Participant, Sandbox
from energychain.calendar import NO_SLOT
from energychain.events import EventReader
from enerwise.demo.community import DayPlan, Household
from oracles.clock import Clock
from oracles.config import OracleConfig
from oracles.maps import load_map
from oracles.registry import Web3Registry
from oracles.runner import OracleRunner, SlotReport, build_runner
from oracles.simulator import (
    Profile,
    SimulatedMeter,
    SimulatedModbusServer,
    SimulatedMqttPublisher,
    SimulatedSource,
)
from oracles.sources.base import parse_endpoint
from oracles.sources.mqtt import MqttSource

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
    profiles: dict[int, Profile] | None = None,
) -> MeterFleet:
    """Start the meters' servers and the oracle; every meter reads from ``start`` on.

    ``nets[i]`` gives household ``i``'s net energy per replayed slot; ``profiles[i]``, when
    given, is household ``i``'s power at its grid point instead (a household whose devices
    really run: the meter integrates what they did). The oracle is the
    production one (:func:`oracles.runner.build_runner` on an oracle config): Modbus and MQTT
    meters are read over the network, the in-process ones from the caller's simulation; every
    meter signs with its key registered on chain (handed over, not written to disk).
    """
    profiles = profiles or {}
    meters = {
        h.index: SimulatedMeter(
            profiles.get(h.index)
            or PlanProfile(nets[h.index], start, sandbox.slot_seconds, plan.slots),
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
    modbus_members = households[:n_modbus]
    mqtt_members = households[n_modbus : n_modbus + n_mqtt]
    sections: dict[int, dict[str, Any]] = {h.index: {"kind": "simulated"} for h in households}

    modbus = await _serve_modbus(modbus_members, meters, sections, clock, notes)
    publisher = _publish_mqtt(mqtt_members, meters, sections, clock, mqtt_broker, run_id)
    runner = build_runner(
        _oracle_config(sandbox, households, sections, workdir),
        clock=clock,
        registry=Web3Registry(
            sandbox.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
            sandbox.contracts.registry.address,
            relayer.sender.signer,
            from_block=sandbox.deployment.block_number,
        ),
        sources={
            h.name: SimulatedSource(meters[h.index], clock=clock, name=h.name)
            for h in households
            if sections[h.index]["kind"] == "simulated"
        },
        signers={h.name: h.meter.signer for h in households},
    )
    await runner.start()
    mqtt_sources = {
        h.index: m.source
        for h, m in zip(households, runner.meters, strict=True)
        if isinstance(m.source, MqttSource)
    }
    if publisher is not None:
        deadline = time.monotonic() + 5.0
        while not publisher.client.is_connected() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for subscriber in runner.subscribers:
            await asyncio.to_thread(subscriber.wait_connected, 5.0)
        notes.append(f"MQTT broker {mqtt_broker}: {len(mqtt_members)} meters publish Tasmota")
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


async def _serve_modbus(
    members: Sequence[Household],
    meters: dict[int, SimulatedMeter],
    sections: dict[int, dict[str, Any]],
    clock: Clock,
    notes: list[str],
) -> SimulatedModbusServer | None:
    """One Modbus TCP server for ``members``' meters; their oracle sections read it."""
    if not members:
        return None
    modbus = SimulatedModbusServer(
        {k + 1: meters[h.index] for k, h in enumerate(members)}, load_map("sdm630"), clock=clock
    )
    port = await modbus.start()
    for k, h in enumerate(members):
        sections[h.index] = {"kind": "modbus", "host": "127.0.0.1", "port": port,
                             "unit": k + 1, "map": "sdm630", "timeout": 5.0}  # fmt: skip
        h.source = "modbus"
    notes.append(f"Modbus TCP server on 127.0.0.1:{port} ({len(members)} meters)")
    return modbus


def _publish_mqtt(
    members: Sequence[Household],
    meters: dict[int, SimulatedMeter],
    sections: dict[int, dict[str, Any]],
    clock: Clock,
    broker: str,
    run_id: str,
) -> SimulatedMqttPublisher | None:
    """``members``' meters publish Tasmota payloads to ``broker``; their sections subscribe."""
    if not members:
        return None
    topics = {h.index: f"enerwise/demo/{run_id}/{h.name}/SENSOR" for h in members}
    for h in members:
        sections[h.index] = {"kind": "mqtt", "broker": broker, "topic": topics[h.index],
                             "format": "tasmota", "max_age": 120.0, "clean_session": True,
                             "client_id": f"enerwise-demo-oracle-{run_id}"}  # fmt: skip
        h.source = "mqtt"
    host, port = parse_endpoint(broker, 1883)
    publisher = SimulatedMqttPublisher(
        {topics[h.index]: meters[h.index] for h in members},
        "tasmota",
        host=host,
        port=port,
        clock=clock,
        client_id=f"enerwise-demo-meters-{run_id}",
    )
    publisher.start()
    return publisher


def _oracle_config(
    sandbox: Sandbox,
    households: Sequence[Household],
    sections: dict[int, dict[str, Any]],
    workdir: Path,
) -> OracleConfig:
    """The oracle config of the demo's meters (keys supplied: they live in memory)."""
    return OracleConfig.model_validate(
        {
            "chain": {
                "rpc_url": sandbox.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
                "registry": sandbox.contracts.registry.address,
                "from_block": sandbox.deployment.block_number,
                "batch_size": 500,
            },
            "outbox": workdir / "outbox.sqlite",
            "archive": {"dir": workdir / "archive"},
            "validation": {"max_clock_skew": float(sandbox.slot_seconds)},
            "meters": [
                {
                    "name": h.name,
                    "id": "0x" + h.meter.meter_id.hex(),
                    "key": {"supplied": True},
                    "source": sections[h.index],
                }
                for h in households
            ],
        }
    )


def sources_summary(households: Sequence[Household]) -> dict[str, int]:
    """How many meters are read each way."""
    out: dict[str, int] = {}
    for h in households:
        out[h.source] = out.get(h.source, 0) + 1
    return out
