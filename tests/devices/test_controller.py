"""The device controller: a control cycle over battery, charger and heat pump, with events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from pymodbus.constants import ExcCodes

from chain.local_node import free_port
from devices.controller import DeviceController, DevicePlan
from devices.factory import HouseholdDevices, build_devices
from devices.household import AgentMode, Household, LimitsConfig
from devices.interface import (
    BatteryCommand,
    BatteryMode,
    ChargerCommand,
    Device,
    HeatPumpCommand,
    SgReadyState,
)
from devices.simulation import SimulatedHousehold
from oracles.clock import VirtualClock
from oracles.simulator import ConstantProfile

T0 = 1_800_000_000.0
PLAN = DevicePlan(
    battery=BatteryCommand(BatteryMode.CHARGE, 2_000, revert_seconds=60),
    charger=ChargerCommand(limit_w=7_000, valid_seconds=900),
    heat_pump=HeatPumpCommand(SgReadyState.BOOST),
)


@dataclass
class Rig:
    sim: SimulatedHousehold
    devices: HouseholdDevices
    controller: DeviceController
    clock: VirtualClock


@asynccontextmanager
async def household(limits: LimitsConfig | None = None) -> AsyncIterator[Rig]:
    clock = VirtualClock(T0)
    sim = SimulatedHousehold(clock=clock, site=ConstantProfile(500.0))
    await sim.start()
    config = Household.model_validate(sim.config(charger_port=free_port()))
    devices = build_devices(config, clock=clock)
    await devices.start()
    assert devices.csms is not None
    point = await sim.connect_charger(devices.csms.url)
    await devices.csms.wait_for("wallbox-1", lambda r: r.booted)
    await point.plug_in()
    controller = DeviceController(devices.devices, limits=limits, clock=clock)
    try:
        yield Rig(sim, devices, controller, clock)
    finally:
        await devices.close()
        await sim.stop()


def test_a_cycle_reads_applies_and_reads_back_every_device() -> None:
    async def scenario() -> None:
        async with household() as rig:
            report = await rig.controller.cycle(PLAN)
            assert [d.kind for d in report.devices] == ["battery", "charger", "heat_pump"]
            assert all(isinstance(d, Device) for d in rig.devices.devices)
            assert all(d.ok for d in report.devices), report.events
            assert report.events == []
            battery, charger, heat_pump = (d.after for d in report.devices)
            assert battery.mode == BatteryMode.CHARGE and battery.setpoint_w == 2_000
            assert charger.limit_w == 7_000
            assert heat_pump.state == SgReadyState.BOOST
            assert rig.sim.heat_pump.state == SgReadyState.BOOST

    asyncio.run(scenario())


def test_an_offline_device_is_an_event_and_the_others_go_on() -> None:
    async def scenario() -> None:
        async with household() as rig:
            await rig.sim.battery_server.stop()
            report = await rig.controller.cycle(PLAN)
            battery, charger, heat_pump = report.devices
            assert [e.kind for e in battery.events] == ["offline"]
            assert charger.ok and heat_pump.ok
            assert rig.controller.counters["offline"] == 1

    asyncio.run(scenario())


def test_a_refused_write_is_an_event_with_its_code() -> None:
    async def scenario() -> None:
        async with household() as rig:
            rig.sim.heat_pump_server.fault = ExcCodes.DEVICE_BUSY
            report = await rig.controller.cycle(PLAN)
            (event,) = report.devices[2].events
            assert event.kind == "refused" and event.code == 6
            assert "server device busy" in event.line()

    asyncio.run(scenario())


def _writes_ignored(rig: Rig) -> None:
    rig.sim.registers.ignore_writes = True


def _impossible_state_of_charge(rig: Rig) -> None:
    rig.sim.battery.set_soc(-4.0)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        pytest.param(_writes_ignored, "mismatch", id="a_value_read_back_otherwise_is_a_mismatch"),
        pytest.param(
            _impossible_state_of_charge,
            "out_of_range",
            id="an_impossible_state_of_charge_is_out_of_range",
        ),
    ],
)
def test_a_battery_fault_is_its_event(fault: Callable[[Rig], None], kind: str) -> None:
    async def scenario() -> None:
        async with household() as rig:
            fault(rig)
            report = await rig.controller.cycle(PLAN)
            assert [e.kind for e in report.devices[0].events] == [kind]

    asyncio.run(scenario())


def test_a_battery_that_does_not_follow_its_set_point_is_a_deviation() -> None:
    async def scenario() -> None:
        async with household() as rig:
            await rig.controller.cycle(PLAN)
            rig.sim.battery.nameplate = type(rig.sim.battery.nameplate)(max_charge_w=1_000.0)
            rig.clock.set(T0 + 30)
            report = await rig.controller.cycle(PLAN)
            kinds = [e.kind for e in report.devices[0].events]
            assert "deviation" in kinds

    asyncio.run(scenario())


def test_a_charger_that_draws_more_than_its_limit_is_a_deviation() -> None:
    async def scenario() -> None:
        async with household() as rig:
            point = rig.sim.charge_point
            assert point is not None
            point.follow_profiles = False
            await rig.controller.cycle(PLAN)
            rig.clock.set(T0 + 61)
            await point.tick()  # meter values: 11 kW against a 7 kW limit
            assert rig.devices.csms is not None
            await rig.devices.csms.wait_for("wallbox-1", lambda r: r.power_w > 10_000)
            report = await rig.controller.cycle(PLAN)
            (event,) = report.devices[1].events
            assert event.kind == "deviation"
            assert "limit 7000 W, drawing 11000 W" in event.message

    asyncio.run(scenario())


def test_limits_turn_a_discharge_of_an_empty_battery_into_hold() -> None:
    async def scenario() -> None:
        async with household(LimitsConfig(battery_soc_min_pct=60)) as rig:
            plan = DevicePlan(battery=BatteryCommand(BatteryMode.DISCHARGE, 3_000))
            report = await rig.controller.cycle(plan)
            battery = report.devices[0]
            assert [e.kind for e in battery.events] == ["limited"]
            assert battery.after.mode == BatteryMode.HOLD

    asyncio.run(scenario())


def test_comfort_limits_keep_the_heat_pump_out_of_forbidden_states() -> None:
    async def scenario() -> None:
        limits = LimitsConfig.model_validate({"comfort": {"min_state": 2, "max_state": 3}})
        async with household(limits) as rig:
            report = await rig.controller.cycle(
                DevicePlan(heat_pump=HeatPumpCommand(SgReadyState.FORCED))
            )
            assert report.devices[2].after.state == SgReadyState.BOOST
            assert report.devices[2].events[0].kind == "limited"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("mode", "battery_mode"),
    [
        (AgentMode.HOLD, BatteryMode.HOLD),
        (AgentMode.SELF_CONSUMPTION, BatteryMode.SELF_CONSUMPTION),
    ],
)
def test_the_agents_mode_overrides_the_battery_plan(
    mode: AgentMode, battery_mode: BatteryMode
) -> None:
    async def scenario() -> None:
        async with household() as rig:
            rig.controller.mode = mode
            report = await rig.controller.cycle(PLAN)
            assert report.devices[0].after.mode == battery_mode
            assert report.devices[2].after.state == SgReadyState.NORMAL

    asyncio.run(scenario())


def test_safe_defaults_release_every_device() -> None:
    async def scenario() -> None:
        async with household() as rig:
            await rig.controller.cycle(PLAN)
            events = await rig.controller.safe_defaults()
            assert [e.kind for e in events] == ["safe_default"] * 3
            assert all("returned" in e.message for e in events)
            assert rig.sim.heat_pump.state == SgReadyState.NORMAL
            assert rig.sim.registers.get("StorCtl_Mod") == 0
            assert rig.sim.charge_point is not None and rig.sim.charge_point.profile is None

    asyncio.run(scenario())
