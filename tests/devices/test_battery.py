"""Home battery over Modbus TCP (SunSpec 124 and 802 + 704): the simulator as the device."""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.constants import ExcCodes

from devices.battery.physics import BatteryNameplate, BatteryPhysics, Window
from devices.errors import DeviceOfflineError, DeviceValueError, ReadBackMismatchError
from devices.interface import BatteryCommand, BatteryMode
from devices.modbus import ModbusExceptionError
from oracles.clock import VirtualClock
from oracles.simulator import ConstantProfile

T0 = 1_800_000_000.0


# ----------------------------------------------------------------------------- physics
def test_the_state_of_charge_integrates_power_with_the_efficiency() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(0.0), clock=clock, soc_pct=50.0)
    physics.set_window(Window(2_000.0, 2_000.0, grid_charge=True))
    clock.set(T0 + 3_600)
    physics.advance(clock.now())
    assert physics.soc_pct == pytest.approx(50.0 + 2_000 * 0.95 / 10_000 * 100)
    assert physics.charged_wh == pytest.approx(2_000.0)


def test_self_consumption_covers_the_house_within_the_power_limit() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(7_000.0), clock=clock)
    clock.set(T0 + 60)
    physics.advance(clock.now())
    assert physics.power_w == pytest.approx(-5_000.0)  # the nameplate's discharge limit


def test_an_empty_battery_stops_at_its_reserve_and_a_full_one_at_its_maximum() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(0.0), clock=clock, soc_pct=6.0)
    physics.set_window(Window(-5_000.0, -5_000.0, grid_charge=True))
    clock.set(T0 + 3_600)
    physics.advance(clock.now())
    assert physics.soc_pct == pytest.approx(5.0)
    physics.set_window(Window(5_000.0, 5_000.0, grid_charge=True))
    clock.set(T0 + 4 * 3_600)
    physics.advance(clock.now())
    assert physics.soc_pct == pytest.approx(100.0)
    assert physics.power_w == pytest.approx(0.0)


def test_without_grid_charging_a_forced_charge_takes_only_the_surplus() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(-800.0), clock=clock)
    physics.set_window(Window(3_000.0, 3_000.0, grid_charge=False))
    clock.set(T0 + 10)
    physics.advance(clock.now())
    assert physics.power_w == pytest.approx(800.0)


def test_a_window_reverts_when_it_is_not_written_again() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(500.0), clock=clock)
    physics.set_window(Window(2_000.0, 2_000.0, grid_charge=True), revert_seconds=60)
    clock.set(T0 + 59)
    physics.advance(clock.now())
    assert physics.power_w == pytest.approx(2_000.0)
    clock.set(T0 + 61)
    physics.advance(clock.now())
    assert physics.reverts == 1
    assert physics.power_w == pytest.approx(-500.0)  # self-consumption again


def test_a_ramp_limits_how_fast_the_power_moves() -> None:
    clock = VirtualClock(T0)
    physics = BatteryPhysics(BatteryNameplate(), ConstantProfile(0.0), clock=clock)
    physics.set_window(Window(4_000.0, 4_000.0, grid_charge=True), ramp_seconds=40)
    clock.set(T0 + 10)
    physics.advance(clock.now())
    assert physics.power_w == pytest.approx(1_000.0)


# ----------------------------------------------------------------------------- over Modbus
def test_the_controller_finds_the_models_and_reads_the_state(open_battery, protocol: str) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            state = await rig.battery.read()
            assert state.soc_pct == pytest.approx(50.0)
            assert state.mode == BatteryMode.SELF_CONSUMPTION
            assert state.max_charge_w == 5_000.0
            rig.later(900)
            state = await rig.battery.read()
            assert state.soc_pct == pytest.approx(rig.physics.soc_pct, abs=0.1)
            assert state.soc_pct < 50.0  # the house's 500 W came from the battery

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("mode", "power_w", "expected_w"),
    [
        (BatteryMode.CHARGE, 2_000.0, 2_000.0),
        (BatteryMode.DISCHARGE, 3_000.0, -3_000.0),
        (BatteryMode.HOLD, 0.0, 0.0),
        (BatteryMode.SELF_CONSUMPTION, 0.0, -500.0),
    ],
)
def test_a_command_is_written_read_back_and_carried_out(
    open_battery, protocol: str, mode: BatteryMode, power_w: float, expected_w: float
) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            state = await rig.battery.apply(BatteryCommand(mode, power_w, revert_seconds=120))
            assert state.mode == mode
            assert state.revert_seconds == 120
            rig.later(60)
            rig.physics.advance(rig.clock.now())
            assert rig.physics.power_w == pytest.approx(expected_w, abs=5.0)

    asyncio.run(scenario())


def test_the_battery_returns_to_self_consumption_when_the_controller_stops_writing(
    open_battery, protocol: str
) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            await rig.battery.apply(BatteryCommand(BatteryMode.CHARGE, 3_000, revert_seconds=60))
            rig.later(30)
            assert (await rig.battery.read()).mode == BatteryMode.CHARGE
            rig.later(31)  # no write for 61 s
            state = await rig.battery.read()
            assert state.mode == BatteryMode.SELF_CONSUMPTION
            assert rig.physics.reverts == 1
            rig.later(10)
            rig.physics.advance(rig.clock.now())
            assert rig.physics.power_w == pytest.approx(-500.0)

    asyncio.run(scenario())


def test_an_out_of_range_write_is_refused_with_illegal_data_value(
    open_battery, protocol: str
) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            point = "InWRte" if protocol == "model124" else "WSetEna"
            address = rig.battery.map.address(point, rig.battery.bases)
            with pytest.raises(
                ModbusExceptionError, match=r"exception code 3 \(illegal data value\)"
            ) as info:
                await rig.battery.link.write_registers(1, address, [5_000])
            assert info.value.code == 3
            assert (await rig.battery.read()).mode == BatteryMode.SELF_CONSUMPTION

    asyncio.run(scenario())


def test_a_power_beyond_the_nameplate_is_refused(open_battery) -> None:
    async def scenario() -> None:
        async with open_battery("model802_704") as rig:
            with pytest.raises(ModbusExceptionError) as info:
                await rig.battery.apply(BatteryCommand(BatteryMode.CHARGE, 9_000))
            assert info.value.code == ExcCodes.ILLEGAL_VALUE

    asyncio.run(scenario())


def test_a_write_to_a_read_only_register_is_an_illegal_address(open_battery, protocol: str) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            point = "ChaState" if protocol == "model124" else "SoC"
            address = rig.battery.map.address(point, rig.battery.bases)
            with pytest.raises(ModbusExceptionError) as info:
                await rig.battery.link.write_registers(1, address, [1])
            assert info.value.code == ExcCodes.ILLEGAL_ADDRESS

    asyncio.run(scenario())


def test_a_write_the_device_ignores_is_a_read_back_mismatch(open_battery, protocol: str) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            rig.registers.ignore_writes = True
            with pytest.raises(ReadBackMismatchError, match="reads back as") as info:
                await rig.battery.apply(BatteryCommand(BatteryMode.CHARGE, 2_000))
            assert "\n" not in str(info.value)

    asyncio.run(scenario())


def test_a_state_of_charge_outside_0_to_100_is_refused(open_battery, protocol: str) -> None:
    async def scenario() -> None:
        async with open_battery(protocol) as rig:
            rig.physics.set_soc(130.0)
            with pytest.raises(DeviceValueError, match=r"state of charge 130 % is not 0..100"):
                await rig.battery.read()

    asyncio.run(scenario())


def test_a_device_that_does_not_answer_is_offline(open_battery) -> None:
    async def scenario() -> None:
        async with open_battery("model124") as rig:
            rig.battery.link.timeout = 0.3
            rig.server.faults[1] = 2.0
            with pytest.raises(DeviceOfflineError, match="unit 1"):
                await rig.battery.read()
            rig.server.faults.clear()
            await rig.server.stop()
            with pytest.raises(DeviceOfflineError, match="cannot connect"):
                await rig.battery.read()

    asyncio.run(scenario())


def test_a_busy_device_answers_with_its_exception_code(open_battery) -> None:
    async def scenario() -> None:
        async with open_battery("model124") as rig:
            rig.server.faults[1] = ExcCodes.DEVICE_BUSY
            with pytest.raises(
                ModbusExceptionError, match=r"exception code 6 \(server device busy\)"
            ):
                await rig.battery.read()

    asyncio.run(scenario())
