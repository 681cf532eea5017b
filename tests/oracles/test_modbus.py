"""Modbus TCP meters, against a real pymodbus server on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pymodbus.constants import ExcCodes

from oracles.clock import VirtualClock
from oracles.errors import ModbusReadError
from oracles.maps import load_map
from oracles.simulator import ConstantProfile, SimulatedMeter, SimulatedModbusServer
from oracles.sources.modbus import ModbusConnection, ModbusSource

T0 = 1_800_000_000


async def serve(map_name: str) -> tuple[SimulatedModbusServer, VirtualClock]:
    clock = VirtualClock(T0)
    meters = {
        1: SimulatedMeter(ConstantProfile(2_000.0), start=T0, import_wh=123_456.0),
        2: SimulatedMeter(ConstantProfile(-4_000.0), start=T0, export_wh=10.0),
    }
    server = SimulatedModbusServer(meters, load_map(map_name), clock=clock)
    await server.start()
    return server, clock


@asynccontextmanager
async def connected(
    map_name: str, *, timeout: float = 1, retries: int = 1
) -> AsyncIterator[tuple[SimulatedModbusServer, VirtualClock, ModbusConnection]]:
    """The simulated meters served, and a connection to them; both closed afterwards."""
    server, clock = await serve(map_name)
    connection = ModbusConnection("127.0.0.1", server.port, timeout=timeout, retries=retries)
    try:
        yield server, clock, connection
    finally:
        connection.close()
        await server.stop()


@pytest.mark.parametrize("map_name", ["sdm630", "sunspec203"])
def test_a_meter_is_read_through_its_register_map(map_name: str) -> None:
    async def scenario() -> None:
        async with connected(map_name) as (_, clock, connection):
            first = await ModbusSource(connection, 1, load_map(map_name), clock=clock).read()
            clock.set(T0 + 900)  # 15 minutes at 2 kW
            later = await ModbusSource(connection, 1, load_map(map_name), clock=clock).read()
            exporter = await ModbusSource(connection, 2, load_map(map_name), clock=clock).read()
        assert round(first.import_wh) == 123_456
        assert round(later.import_wh) == 123_956
        assert later.power_w == pytest.approx(2_000.0)
        assert round(exporter.export_wh) == 1_010 and exporter.import_wh == 0

    asyncio.run(scenario())


def test_a_modbus_exception_code_is_reported_with_its_name() -> None:
    async def scenario() -> None:
        async with connected("sdm630") as (server, clock, connection):
            server.faults[1] = ExcCodes.DEVICE_BUSY
            with pytest.raises(ModbusReadError, match="exception code 6") as info:
                await ModbusSource(connection, 1, load_map("sdm630"), clock=clock).read()
            assert info.value.exception_code == 6
            # the other unit on the same connection still answers
            await ModbusSource(connection, 2, load_map("sdm630"), clock=clock).read()

    asyncio.run(scenario())


def test_a_meter_that_does_not_answer_times_out() -> None:
    async def scenario() -> None:
        async with connected("sdm630", timeout=0.3, retries=0) as (server, clock, connection):
            server.faults[1] = 2.0  # seconds of silence
            with pytest.raises(ModbusReadError):
                await ModbusSource(connection, 1, load_map("sdm630"), clock=clock).read()

    asyncio.run(scenario())


def test_no_server_is_a_connection_error() -> None:
    from chain.local_node import free_port

    async def scenario() -> None:
        connection = ModbusConnection("127.0.0.1", free_port(), timeout=0.5)
        with pytest.raises(ModbusReadError, match="cannot connect"):
            await ModbusSource(connection, 1, load_map("sdm630")).read()

    asyncio.run(scenario())
