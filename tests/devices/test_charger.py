"""EV charger over OCPP 2.0.1 and 1.6J: the central system and a simulated charge point."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from devices.charger.controller import OcppCharger
from devices.charger.csms import CentralSystem
from devices.charger.simulator import SimulatedChargePoint, SimulatedEv
from devices.errors import DeviceOfflineError, WriteRefusedError
from devices.interface import ChargerCommand
from oracles.clock import VirtualClock

T0 = 1_800_000_000.0


@pytest.fixture(params=["2.0.1", "1.6"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def station(
    version: str, clock: VirtualClock, *, tokens: set[str] | None = None
) -> AsyncIterator[tuple[CentralSystem, SimulatedChargePoint, OcppCharger]]:
    csms = CentralSystem(clock=clock, authorized_tokens=tokens)
    await csms.start()
    point = SimulatedChargePoint(csms.url, "cp-1", version=version, clock=clock, ev=SimulatedEv())
    try:
        await point.start()
        await csms.wait_for("cp-1", lambda r: r.booted and r.status == "Available")
        charger = OcppCharger("charger", csms, "cp-1")
        await charger.connect()
        yield csms, point, charger
    finally:
        await point.stop()
        await csms.stop()


def test_a_charge_point_boots_and_reports_its_connector(version: str) -> None:
    async def scenario() -> None:
        async with station(version, VirtualClock(T0)) as (csms, _, charger):
            record = csms.stations["cp-1"]
            assert record.version == ("ocpp2.0.1" if version == "2.0.1" else "ocpp1.6")
            state = await charger.read()
            assert state.connected and state.transaction_id is None
            assert state.limit_w == 11_000.0  # the charger's default: no profile yet

    asyncio.run(scenario())


def test_a_transaction_carries_meter_values_to_the_central_system(version: str) -> None:
    async def scenario() -> None:
        clock = VirtualClock(T0)
        async with station(version, clock, tokens={"EV-1"}) as (csms, point, charger):
            assert await point.plug_in("EV-1")
            record = await csms.wait_for("cp-1", lambda r: r.transaction_id is not None)
            clock.set(T0 + 900)
            await point.tick()
            await csms.wait_for("cp-1", lambda r: r.energy_wh > 0)
            state = await charger.read()
            assert state.energy_wh == pytest.approx(11_000 / 4, rel=1e-3)
            assert state.power_w == pytest.approx(11_000.0)
            assert state.status in ("Occupied", "Charging")
            await point.unplug()
            await csms.wait_for("cp-1", lambda r: r.transaction_id is None)
            assert record.power_w == 0.0

    asyncio.run(scenario())


def test_an_unknown_token_is_refused_and_counted(version: str) -> None:
    async def scenario() -> None:
        async with station(version, VirtualClock(T0), tokens={"EV-1"}) as (csms, point, _):
            assert not await point.plug_in("STRANGER")
            assert csms.counters["auth_refused"] == 1
            assert csms.stations["cp-1"].transaction_id is None

    asyncio.run(scenario())


def test_a_limit_is_sent_as_a_charging_profile_and_read_back(version: str) -> None:
    async def scenario() -> None:
        clock = VirtualClock(T0)
        async with station(version, clock) as (_, point, charger):
            await point.plug_in()
            state = await charger.apply(ChargerCommand(limit_w=5_000, valid_seconds=600))
            assert state.limit_w == pytest.approx(5_000.0)
            clock.set(T0 + 300)
            await point.tick()
            assert point.power_w == pytest.approx(5_000.0)

    asyncio.run(scenario())


def test_the_charger_falls_back_to_its_default_when_the_profile_expires(version: str) -> None:
    async def scenario() -> None:
        clock = VirtualClock(T0)
        async with station(version, clock) as (_, point, charger):
            await point.plug_in()
            await charger.apply(ChargerCommand(limit_w=4_500, valid_seconds=120))
            clock.set(T0 + 121)
            assert (await charger.read()).limit_w == pytest.approx(11_000.0)

    asyncio.run(scenario())


def test_a_schedule_from_a_plan_changes_the_limit_over_time(version: str) -> None:
    async def scenario() -> None:
        clock = VirtualClock(T0)
        async with station(version, clock) as (_, point, charger):
            await point.plug_in()
            await charger.apply(
                ChargerCommand(
                    limit_w=0, schedule=((900, 7_000.0), (1_800, 0.0)), valid_seconds=3_600
                )
            )
            assert point.limit_w(T0 + 100) == 0.0
            assert point.limit_w(T0 + 1_000) == 7_000.0
            assert point.limit_w(T0 + 2_000) == 0.0

    asyncio.run(scenario())


def test_a_rejected_profile_is_a_refused_write_and_counted(version: str) -> None:
    async def scenario() -> None:
        async with station(version, VirtualClock(T0)) as (csms, point, charger):
            point.reject_profiles = True
            with pytest.raises(WriteRefusedError, match="SetChargingProfile Rejected") as info:
                await charger.apply(ChargerCommand(limit_w=5_000))
            assert info.value.code == "Rejected"
            assert csms.counters["profile_rejected"] == 1

    asyncio.run(scenario())


def test_a_charger_that_disconnects_mid_transaction_is_counted_and_offline(version: str) -> None:
    async def scenario() -> None:
        async with station(version, VirtualClock(T0)) as (csms, point, charger):
            await point.plug_in()
            await csms.wait_for("cp-1", lambda r: r.transaction_id is not None)
            await point.drop()
            await csms.wait_for("cp-1", lambda r: not r.connected)
            assert csms.counters["disconnected_in_transaction"] == 1
            with pytest.raises(DeviceOfflineError, match="not connected"):
                await charger.read()

    asyncio.run(scenario())


def test_an_unknown_ocpp_message_is_answered_with_an_error_and_counted(version: str) -> None:
    async def scenario() -> None:
        async with station(version, VirtualClock(T0)) as (csms, point, charger):
            await point.send_raw(json.dumps([2, "x-1", "FlyToTheMoon", {}]))
            await point.send_raw("this is not OCPP")
            for _ in range(200):
                if csms.counters["unknown_action"] and csms.counters["malformed_message"]:
                    break
                await asyncio.sleep(0.01)
            assert csms.counters["unknown_action"] == 1
            assert csms.counters["malformed_message"] == 1
            assert (await charger.read()).connected  # the link survives

    asyncio.run(scenario())


def test_a_charger_that_never_connected_is_offline() -> None:
    async def scenario() -> None:
        csms = CentralSystem()
        await csms.start()
        try:
            with pytest.raises(DeviceOfflineError, match="has not connected"):
                await OcppCharger("charger", csms, "cp-9").connect()
        finally:
            await csms.stop()

    asyncio.run(scenario())
