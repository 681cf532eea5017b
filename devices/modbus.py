"""A Modbus TCP connection that reads and writes (pymodbus 3.16 async client).

Registers and coils, one request at a time per connection (devices behind one gateway share it).
A device that answers a request with an exception code raises :class:`ModbusExceptionError` (a
:class:`~devices.errors.WriteRefusedError`: the device refused the request), one that cannot be
reached :class:`~devices.errors.DeviceOfflineError`; every message names the endpoint, the unit,
the address and the exception code by name. A failed request closes the connection; the next
request reconnects.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.pdu import ModbusPDU

from devices.errors import DeviceOfflineError, WriteRefusedError
from oracles.errors import ModbusReadError
from oracles.sources.modbus import ModbusConnection


class ModbusExceptionError(WriteRefusedError):
    """A device answered a request with a Modbus exception code."""


class ModbusLink(ModbusConnection):
    """One TCP connection to a Modbus server (or gateway), shared by its unit ids: the oracles'
    connection (connect on demand, no background reconnects) with writes and coils."""

    def __init__(self, host: str, port: int, *, timeout: float = 2.0) -> None:
        super().__init__(host, port, timeout=timeout, retries=0)

    async def _call(
        self, what: str, unit: int, call: str, *args: object, **kw: object
    ) -> ModbusPDU:
        async with self._lock:
            try:
                client = await self._connected()
                return await self._send(client, unit, what, call, *args, **kw)
            except ModbusReadError as exc:
                if exc.exception_code is None:
                    raise DeviceOfflineError(str(exc)) from None
                raise ModbusExceptionError(str(exc), code=exc.exception_code) from None

    async def read_holding(self, unit: int, address: int, count: int) -> list[int]:
        what = f"reading {count} holding registers at {address}"
        response = await self._call(what, unit, "read_holding_registers", address, count=count)
        return list(response.registers)

    async def read_input(self, unit: int, address: int, count: int) -> list[int]:
        what = f"reading {count} input registers at {address}"
        response = await self._call(what, unit, "read_input_registers", address, count=count)
        return list(response.registers)

    async def read_coils(self, unit: int, address: int, count: int) -> list[bool]:
        what = f"reading {count} coils at {address}"
        response = await self._call(what, unit, "read_coils", address, count=count)
        return [bool(bit) for bit in list(response.bits)[:count]]

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        what = f"writing {len(values)} registers at {address}"
        await self._call(what, unit, "write_registers", address, list(values))

    async def write_coils(self, unit: int, address: int, values: Sequence[bool]) -> None:
        what = f"writing {len(values)} coils at {address}"
        await self._call(what, unit, "write_coils", address, list(values))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
