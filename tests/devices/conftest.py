"""Fixtures of the device tests: simulated devices on loopback, a virtual clock."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import pytest

from devices.battery.controller import SunSpecBattery
from devices.battery.physics import BatteryNameplate, BatteryPhysics
from devices.battery.simulator import PROTOCOLS, SimulatedBatteryServer, SunSpecRegisters
from devices.modbus import ModbusLink
from oracles.clock import VirtualClock
from oracles.simulator import ConstantProfile

T0 = 1_800_000_000.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@dataclass
class BatteryRig:
    """A simulated battery served over Modbus TCP and the controller client talking to it."""

    physics: BatteryPhysics
    registers: SunSpecRegisters
    server: SimulatedBatteryServer
    battery: SunSpecBattery
    clock: VirtualClock

    def later(self, seconds: float) -> None:
        self.clock.set(self.clock.now() + seconds)


BatteryOpener = Callable[..., AbstractAsyncContextManager[BatteryRig]]


@asynccontextmanager
async def _open_battery(
    protocol: str, clock: VirtualClock, *, site_w: float = 500.0, soc_pct: float = 50.0
) -> AsyncIterator[BatteryRig]:
    physics = BatteryPhysics(
        BatteryNameplate(), ConstantProfile(site_w), clock=clock, soc_pct=soc_pct
    )
    registers = PROTOCOLS[protocol](physics)
    server = SimulatedBatteryServer({1: registers})
    port = await server.start()
    link = ModbusLink("127.0.0.1", port)
    battery = SunSpecBattery("battery", link, 1, protocol, capacity_wh=10_000, clock=clock)  # type: ignore[arg-type]
    try:
        await battery.connect()
        yield BatteryRig(physics, registers, server, battery, clock)
    finally:
        await battery.close()
        await server.stop()


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request: pytest.FixtureRequest) -> str:
    """Each battery protocol: model 124, and models 802 + 704."""
    return str(request.param)


@pytest.fixture
def open_battery(clock: VirtualClock) -> Callable[..., AbstractAsyncContextManager[BatteryRig]]:
    """``async with open_battery(protocol) as rig``: a simulated battery on a free port (the
    house imports 500 W) and the controller client connected to it."""
    return functools.partial(_open_battery, clock=clock)


@pytest.fixture
def topic_prefix() -> Iterator[str]:
    """A topic prefix no other test run uses (tests share the machine's Mosquitto)."""
    yield f"enerwise-test-{uuid.uuid4().hex[:12]}"
