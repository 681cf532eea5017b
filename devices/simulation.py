"""A simulated household on loopback: a SunSpec battery and an SG-Ready heat pump on pymodbus
servers, and an OCPP charge point that connects to a central system. The devices of tests, the
device benchmark and ``enerwise devices simulate``; :meth:`SimulatedHousehold.config` gives the
``household.yaml`` data that points at them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from devices.battery.physics import BatteryNameplate, BatteryPhysics
from devices.battery.simulator import PROTOCOLS, SimulatedBatteryServer, SunSpecRegisters
from devices.charger.simulator import SimulatedChargePoint, SimulatedEv
from devices.errors import DeviceOfflineError
from devices.heatpump.physics import HeatPumpPhysics
from devices.heatpump.simulator import SimulatedSgReadyModbusServer
from oracles.clock import Clock, SystemClock
from oracles.simulator import HouseholdProfile, Profile


class ScaledClock:
    """Wall-clock time running ``speed`` times faster from ``origin`` = (wall time, clock time)
    (benchmarks, demos). Two processes with the same origin and speed share one time."""

    def __init__(self, speed: float, origin: tuple[float, float] | None = None) -> None:
        self.speed = speed
        self.origin = origin or (time.time(), time.time())

    def now(self) -> float:
        real0, t0 = self.origin
        return t0 + (time.time() - real0) * self.speed

    async def sleep_until(self, t: float) -> None:
        while (delay := t - self.now()) > 0:
            await asyncio.sleep(min(delay / self.speed, 1.0))


class SimulatedHousehold:
    """Battery, heat pump and charge point of one simulated household."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        protocol: str = "model124",
        site: Profile | None = None,
        soc_pct: float = 50.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.protocol = protocol
        self.battery = BatteryPhysics(
            BatteryNameplate(), site or HouseholdProfile(seed=1), clock=self.clock, soc_pct=soc_pct
        )
        self.registers: SunSpecRegisters = PROTOCOLS[protocol](self.battery)
        self.battery_server = SimulatedBatteryServer({1: self.registers})
        self.heat_pump = HeatPumpPhysics(clock=self.clock)
        self.heat_pump_server = SimulatedSgReadyModbusServer(self.heat_pump)
        self.charge_point: SimulatedChargePoint | None = None

    async def start(self) -> None:
        await self.battery_server.start()
        await self.heat_pump_server.start()

    async def connect_charger(
        self,
        central_url: str,
        charge_point_id: str = "wallbox-1",
        *,
        version: str = "2.0.1",
        timeout: float = 20.0,
    ) -> SimulatedChargePoint:
        """Connect the charge point (retrying while the central system is not up yet)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            point = SimulatedChargePoint(
                central_url, charge_point_id, version=version, clock=self.clock, ev=SimulatedEv()
            )
            try:
                await point.start()
                self.charge_point = point
                return point
            except (DeviceOfflineError, OSError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def config(self, *, charger_port: int, household: str = "sim-house") -> dict[str, Any]:
        """``household.yaml`` data for these devices (the charger's central system on
        ``charger_port``)."""
        return {
            "household": household,
            "devices": {
                "battery": {
                    "kind": "sunspec",
                    "protocol": self.protocol,
                    "host": "127.0.0.1",
                    "port": self.battery_server.port,
                    "unit": 1,
                    "capacity_wh": self.battery.nameplate.capacity_wh,
                    "revert_seconds": 30,
                },
                "charger": {
                    "kind": "ocpp",
                    "version": "2.0.1",
                    "charge_point_id": "wallbox-1",
                    "listen": {"host": "127.0.0.1", "port": charger_port},
                },
                "heat_pump": {
                    "kind": "sgready-modbus",
                    "host": "127.0.0.1",
                    "port": self.heat_pump_server.port,
                    "unit": 1,
                },
            },
        }

    async def stop(self) -> None:
        if self.charge_point is not None:
            await self.charge_point.stop()
        await self.heat_pump_server.stop()
        await self.battery_server.stop()
