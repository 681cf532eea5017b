"""A pymodbus TCP server on loopback for simulated Modbus units: the oracle's simulated meters
(:class:`oracles.simulator.SimulatedModbusServer`) and the simulated devices (battery, heat pump).

A subclass lists its units (:meth:`SimulatedModbusDevices._devices`, built with
:meth:`~SimulatedModbusDevices._action`) and answers each request (:meth:`_handle`); starting,
the free port, stopping and the injected faults (``faults[unit]``: an exception code, or a delay
in seconds, before the unit answers) are here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice

logger = logging.getLogger(__name__)

ModbusAction = Callable[..., Coroutine[Any, Any, ExcCodes | None]]
#: A fault to inject: a Modbus exception code, or a delay in seconds (a timeout).
Fault = ExcCodes | float


@dataclass
class ModbusRequest:
    """One request as pymodbus's simulator hands it to a device's action."""

    function_code: int
    start_address: int
    """The first address of ``registers``."""
    address: int
    count: int
    registers: list[int]
    """What a read answers (filled in place from ``start_address`` on)."""
    set_values: list[int] | list[bool] | None
    """What a write sets (None: a read)."""


class SimulatedModbusDevices:
    """A Modbus TCP server of simulated units (see the module docstring)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.faults: dict[int, Fault] = {}
        self._server: ModbusTcpServer | None = None

    def _devices(self) -> list[SimDevice]:
        """The units served, each with its register blocks and :meth:`_action`."""
        raise NotImplementedError

    async def _handle(self, unit: int, request: ModbusRequest) -> ExcCodes | None:
        """Answer one request to ``unit``: None, or the exception code to answer with."""
        raise NotImplementedError

    def _action(self, unit: int) -> ModbusAction:
        async def action(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            fault = self.faults.get(unit)
            if isinstance(fault, ExcCodes):
                return fault
            if isinstance(fault, float):
                await asyncio.sleep(fault)
            request = ModbusRequest(
                function_code, start_address, address, count, registers, set_values
            )
            return await self._handle(unit, request)

        return action

    async def start(self) -> int:
        """Start listening; returns the port (a free one when ``port`` was 0)."""
        if self.port == 0:
            from chain.local_node import free_port

            self.port = free_port()
        server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        self._log_started()
        return self.port

    def _log_started(self) -> None:
        logger.info("%s on %s:%d", type(self).__name__, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
