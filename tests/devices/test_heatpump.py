"""Heat pump through SG-Ready: the relays per state, comfort limits, Modbus coils and MQTT."""

from __future__ import annotations

import asyncio

import pytest

from devices.errors import DeviceConfigError, DeviceOfflineError, ReadBackMismatchError
from devices.heatpump.comfort import ComfortLimits
from devices.heatpump.controller import ModbusSgReadyHeatPump, MqttSgReadyHeatPump
from devices.heatpump.physics import HeatPumpPhysics
from devices.heatpump.simulator import SimulatedSgReadyModbusServer, SimulatedSgReadyMqttBoard
from devices.interface import HeatPumpCommand, SgReadyState
from devices.modbus import ModbusLink
from oracles.clock import VirtualClock
from oracles.sources.mqtt import BrokerSettings

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("state", "relays"),
    [
        (SgReadyState.LOCKED, (True, False)),
        (SgReadyState.NORMAL, (False, False)),
        (SgReadyState.BOOST, (False, True)),
        (SgReadyState.FORCED, (True, True)),
    ],
)
def test_each_sg_ready_state_has_its_relay_pattern(
    state: SgReadyState, relays: tuple[bool, bool]
) -> None:
    assert state.relays == relays
    assert SgReadyState.from_relays(*relays) == state


def test_comfort_limits_keep_the_agent_within_the_users_range() -> None:
    limits = ComfortLimits(min_state=SgReadyState.NORMAL, max_state=SgReadyState.BOOST)
    assert limits.allowed(SgReadyState.LOCKED, 21.0) == SgReadyState.NORMAL
    assert limits.allowed(SgReadyState.FORCED, 21.0) == SgReadyState.BOOST


def test_a_cold_house_is_never_locked_and_a_warm_one_never_boosted() -> None:
    limits = ComfortLimits(indoor_min_c=20.0, indoor_max_c=23.0)
    assert limits.allowed(SgReadyState.LOCKED, 19.0) == SgReadyState.NORMAL
    assert limits.allowed(SgReadyState.LOCKED, 21.0) == SgReadyState.LOCKED
    assert limits.allowed(SgReadyState.FORCED, 24.0) == SgReadyState.NORMAL
    assert limits.allowed(SgReadyState.LOCKED, 21.0, locked_minutes=130) == SgReadyState.NORMAL


def test_comfort_limits_that_contradict_themselves_are_refused() -> None:
    with pytest.raises(DeviceConfigError, match="min_state 3 is above max_state 2"):
        ComfortLimits(min_state=SgReadyState.BOOST, max_state=SgReadyState.NORMAL)


def test_the_house_cools_while_locked_and_warms_while_forced() -> None:
    clock = VirtualClock(T0)
    physics = HeatPumpPhysics(clock=clock)
    physics.set_state(SgReadyState.LOCKED)
    clock.set(T0 + 3_600)
    assert physics.indoor_c < 21.0
    assert physics.power_w == 0.0
    physics.set_state(SgReadyState.FORCED)
    cooled = physics.indoor_c
    clock.set(T0 + 2 * 3_600)
    assert physics.indoor_c > cooled
    assert physics.power_w == pytest.approx(9_000 / 3.5)


def test_the_relays_are_switched_over_modbus_coils_and_read_back() -> None:
    async def scenario() -> None:
        clock = VirtualClock(T0)
        physics = HeatPumpPhysics(clock=clock)
        server = SimulatedSgReadyModbusServer(physics)
        port = await server.start()
        pump = ModbusSgReadyHeatPump("hp", ModbusLink("127.0.0.1", port))
        try:
            state = await pump.read()
            assert state.state == SgReadyState.NORMAL
            assert state.indoor_c == pytest.approx(21.0)
            for wanted in (SgReadyState.FORCED, SgReadyState.LOCKED, SgReadyState.BOOST):
                assert (await pump.apply(HeatPumpCommand(wanted))).state == wanted
                assert physics.state == wanted
            await pump.safe_default()
            assert physics.state == SgReadyState.NORMAL
        finally:
            await pump.close()
            await server.stop()

    asyncio.run(scenario())


def test_the_relays_are_switched_over_mqtt_and_read_back(topic_prefix: str) -> None:
    async def scenario() -> None:
        physics = HeatPumpPhysics()
        board = SimulatedSgReadyMqttBoard(physics, f"{topic_prefix}-hp")
        board.start()
        pump = MqttSgReadyHeatPump("hp", BrokerSettings(), f"{topic_prefix}-hp", timeout=1.0)
        try:
            await pump.connect()
            assert (await pump.read()).state == SgReadyState.NORMAL
            state = await pump.apply(HeatPumpCommand(SgReadyState.FORCED))
            assert state.state == SgReadyState.FORCED
            assert physics.state == SgReadyState.FORCED
            assert (await pump.read()).indoor_c == pytest.approx(21.0, abs=0.2)
            board.ignore_commands = True
            with pytest.raises(
                ReadBackMismatchError, match="state 2 written, relays read back as state 4"
            ):
                await pump.apply(HeatPumpCommand(SgReadyState.NORMAL))
        finally:
            await pump.close()
            board.stop()

    asyncio.run(scenario())


def test_a_board_that_does_not_answer_is_offline(topic_prefix: str) -> None:
    async def scenario() -> None:
        pump = MqttSgReadyHeatPump("hp", BrokerSettings(), f"{topic_prefix}-none", timeout=0.3)
        try:
            await pump.connect()
            with pytest.raises(DeviceOfflineError, match="no answer on stat/"):
                await pump.read()
        finally:
            await pump.close()

    asyncio.run(scenario())
