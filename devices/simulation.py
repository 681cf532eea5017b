"""A simulated household on loopback: a SunSpec battery and an SG-Ready heat pump on pymodbus
servers, and an OCPP charge point that connects to a central system. The devices of tests, the
device benchmark, the demo and ``enerwise devices simulate``; :meth:`SimulatedHousehold.config`
gives the ``household.yaml`` data that points at them.

With ``whole_house=True`` the devices share one house: the battery's own rule sees the house's
demand with the heat pump and the car in it (:class:`HouseLoad`), and
:meth:`SimulatedHousehold.grid_profile` is the power at the grid connection (house, heat pump,
car and battery), which a simulated grid meter integrates: what the devices really do is what
the meter sees."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from devices.battery.physics import BatteryNameplate, BatteryPhysics
from devices.battery.simulator import PROTOCOLS, SimulatedBatteryServer, SunSpecRegisters
from devices.charger.simulator import SimulatedChargePoint, SimulatedEv
from devices.errors import DeviceOfflineError
from devices.heatpump.physics import HeatPumpPhysics, HouseThermal
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


@dataclass(frozen=True)
class SlotProfile:
    """Net power per slot from ``start`` (W, positive: import), held constant within a slot:
    a household's real-data demand minus PV, slot by slot (the last value after the end)."""

    start: float
    values_w: tuple[float, ...]
    slot_seconds: float = 900.0

    def power_w(self, t: float) -> float:
        index = int((t - self.start) // self.slot_seconds)
        return self.values_w[min(max(index, 0), len(self.values_w) - 1)]


class HouseLoad:
    """The house as the battery sees it: the base profile, the heat pump and the car."""

    def __init__(self, base: Profile, household: SimulatedHousehold) -> None:
        self.base = base
        self.household = household

    def power_w(self, t: float) -> float:
        sim = self.household
        sim.heat_pump.advance(t)
        point = sim.charge_point
        car = point.power_at(t) if point is not None else 0.0
        return self.base.power_w(t) + sim.heat_pump.power_now_w + car


class GridPoint:
    """The power at the grid connection: the house and the battery (charging imports)."""

    def __init__(self, house: HouseLoad, battery: BatteryPhysics) -> None:
        self.house = house
        self.battery = battery

    def power_w(self, t: float) -> float:
        self.battery.advance(t)
        return self.house.power_w(t) + self.battery.power_w


class SimulatedHousehold:
    """Battery, heat pump and charge point of one simulated household."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        protocol: str = "model124",
        site: Profile | None = None,
        soc_pct: float = 50.0,
        whole_house: bool = False,
        nameplate: BatteryNameplate | None = None,
        house: HouseThermal | None = None,
        ev: SimulatedEv | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.protocol = protocol
        base = site or HouseholdProfile(seed=1)
        self.battery = BatteryPhysics(
            nameplate or BatteryNameplate(), base, clock=self.clock, soc_pct=soc_pct
        )
        self.registers: SunSpecRegisters = PROTOCOLS[protocol](self.battery)
        self.battery_server = SimulatedBatteryServer({1: self.registers})
        self.heat_pump = HeatPumpPhysics(house, clock=self.clock)
        self.heat_pump_server = SimulatedSgReadyModbusServer(self.heat_pump)
        self.charge_point: SimulatedChargePoint | None = None
        self.ev = ev or SimulatedEv()
        self.house = HouseLoad(base, self)
        if whole_house:
            self.battery.site = self.house

    def grid_profile(self) -> GridPoint:
        """The power at the grid connection (a grid meter's profile)."""
        return GridPoint(self.house, self.battery)

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
                central_url, charge_point_id, version=version, clock=self.clock, ev=self.ev
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
