"""Modbus TCP meters (pymodbus 3.16 async client), decoded through a register map.

Several meters behind one gateway (same host and port, different unit ids) share one TCP
connection; requests on it are serialised. A failed request closes the connection, so the next
read reconnects: no reconnect loop runs in the background.
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from oracles.clock import Clock, SystemClock
from oracles.errors import ModbusReadError
from oracles.maps import ReadBlock, RegisterMap, RegisterValues
from oracles.sources.base import Sample

logger = logging.getLogger(__name__)

#: Modbus exception codes (Modbus Application Protocol V1.1b3, section 7).
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class ModbusConnection:
    """One TCP connection to a Modbus server or gateway, shared by its unit ids."""

    def __init__(self, host: str, port: int, *, timeout: float = 2.0, retries: int = 1) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.timeout,
            retries=self.retries,
            reconnect_delay=0,  # no background reconnects: the next read reconnects
        )
        if not await client.connect():
            client.close()
            raise ModbusReadError(f"modbus {self.endpoint}: cannot connect")
        self._client = client
        return client

    async def read_blocks(self, unit: int, blocks: list[ReadBlock]) -> RegisterValues:
        """Read every block from ``unit``; raises :class:`ModbusReadError`."""
        values: RegisterValues = {}
        async with self._lock:
            client = await self._connected()
            for block in blocks:
                response = await self._request(client, unit, block)
                registers = list(getattr(response, "registers", []))
                if len(registers) < block.count:
                    self.close()
                    raise ModbusReadError(
                        f"modbus {self.endpoint} unit {unit}: short answer "
                        f"({len(registers)} of {block.count} registers at {block.start})"
                    )
                for i, word in enumerate(registers[: block.count]):
                    values[(block.register_type, block.start + i)] = word
        return values

    async def _request(
        self, client: AsyncModbusTcpClient, unit: int, block: ReadBlock
    ) -> ModbusPDU:
        call = (
            "read_input_registers" if block.register_type == "input" else "read_holding_registers"
        )
        what = f"reading {block.count} {block.register_type} registers at {block.start}"
        return await self._send(client, unit, what, call, block.start, count=block.count)

    async def _send(
        self,
        client: AsyncModbusTcpClient,
        unit: int,
        what: str,
        call: str,
        *args: object,
        **kw: object,
    ) -> ModbusPDU:
        """The answer of ``unit`` to the client's request method ``call``; ``what`` says what the
        request does (``"writing 2 coils at 0"``) in the message of an exception code.

        Raises:
            ModbusReadError: no answer (the connection is closed, so the next request
                reconnects) or an exception response (``exception_code`` set).
        """
        where = f"modbus {self.endpoint} unit {unit}"
        try:
            response: ModbusPDU = await getattr(client, call)(*args, device_id=unit, **kw)
        except ModbusException as exc:
            self.close()
            raise ModbusReadError(f"{where}: {_short(exc)}") from None
        except (TimeoutError, OSError) as exc:
            self.close()
            raise ModbusReadError(f"{where}: {exc.__class__.__name__}: {exc}") from None
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise ModbusReadError(
                f"{where}: exception code {code} ({name}) {what}", exception_code=code
            )
        return response

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _short(exc: Exception) -> str:
    text = str(exc).replace("Modbus Error: ", "")
    return text.splitlines()[0] if text else exc.__class__.__name__


class ModbusSource:
    """A meter read over Modbus TCP through a :class:`RegisterMap`."""

    def __init__(
        self,
        connection: ModbusConnection,
        unit: int,
        register_map: RegisterMap,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.connection = connection
        self.unit = unit
        self.register_map = register_map
        self.clock = clock or SystemClock()
        self._blocks = register_map.plan_reads()

    @property
    def description(self) -> str:
        return f"modbus {self.connection.endpoint}/{self.unit} ({self.register_map.name})"

    async def start(self) -> None:
        return None

    async def read(self, boundary: int = 0) -> Sample:
        taken_at = self.clock.now()
        values = await self.connection.read_blocks(self.unit, self._blocks)
        decoded = self.register_map.decode(values)
        extras = {
            k: v for k, v in decoded.items() if k not in ("import_wh", "export_wh", "power_w")
        }
        return Sample(
            import_wh=decoded["import_wh"],
            export_wh=decoded.get("export_wh", 0.0),
            power_w=decoded.get("power_w"),
            taken_at=taken_at,
            extras=extras,
        )

    async def close(self) -> None:
        self.connection.close()
