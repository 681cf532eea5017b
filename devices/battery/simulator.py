"""A simulated SunSpec battery served by a real pymodbus TCP server.

The register image holds ``SunS``, the common model (1) and the storage models of a protocol:
model 124 (:class:`Model124Registers`) or models 802 + 704 (:class:`Model802704Registers`),
then the end marker. Reads show the physics' state (state of charge, power, charge status,
time left before reversion); writes are checked point by point and answered like a device:

- a write to a read-only register or outside every point: exception 2 (illegal data address);
- a value outside the point's range or enum, or beyond the nameplate power: exception 3
  (illegal data value); nothing of that write is applied;
- otherwise the control window of :class:`~devices.battery.physics.BatteryPhysics` follows the
  registers, and the revert timer restarts.

When the revert timer runs out the registers return to their defaults (self-consumption).
``faults[unit]`` injects an exception code or a delay; ``ignore_writes`` makes a unit accept
writes and keep the old values (a read-back mismatch).
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.battery.physics import BatteryPhysics, Window
from devices.errors import DeviceConfigError
from devices.sunspec import SUNS_MARKER, SunSpecMap, decode_raw, encode_raw, load_map
from oracles.modbus_server import ModbusRequest, SimulatedModbusDevices

logger = logging.getLogger(__name__)

START = 40000
COMMON_LENGTH = 66


def _string_words(text: str, registers: int) -> list[int]:
    data = text.encode()[: 2 * registers].ljust(2 * registers, b"\0")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class SunSpecRegisters:
    """A SunSpec register image over :class:`BatteryPhysics` (subclasses: the protocols)."""

    map_name = ""
    #: model id -> length, in the order they sit on the device.
    layout: tuple[tuple[int, int], ...] = ()
    #: scale factors the simulator reports.
    scale_factors: ClassVar[dict[str, int]] = {}

    def __init__(self, physics: BatteryPhysics, *, model: str = "SimBattery") -> None:
        self.physics = physics
        self.map: SunSpecMap = load_map(self.map_name)
        self.image: dict[int, int] = {START: SUNS_MARKER[0], START + 1: SUNS_MARKER[1]}
        address = START + 2
        common = [1, COMMON_LENGTH, *_string_words("Enerwise", 16), *_string_words(model, 16)]
        for i, word in enumerate(common + [0] * (COMMON_LENGTH + 2 - len(common))):
            self.image[address + i] = word
        address += COMMON_LENGTH + 2
        self.bases: dict[int, int] = {}
        for model_id, length in self.layout:
            self.bases[model_id] = address
            self.image[address] = model_id
            self.image[address + 1] = length
            for i in range(length):
                self.image[address + 2 + i] = 0
            address += 2 + length
        self.image[address] = 0xFFFF
        self.image[address + 1] = 0
        self.end = address + 2
        for name, sf in self.scale_factors.items():
            self._put(name, sf, raw=True)
        self._reverts_seen = physics.reverts
        self.ignore_writes = False
        self.defaults()

    # ------------------------------------------------------------------ helpers
    def _put(self, name: str, value: float, *, raw: bool = False) -> None:
        point = self.map.point(name)
        sf = 0 if raw else self.map.scale(name, self.image, self.bases)
        words = encode_raw(point.type, round(value if raw else value / 10.0**sf))
        start = self.map.address(name, self.bases)
        for i, word in enumerate(words):
            self.image[start + i] = word

    def get(self, name: str) -> float:
        return self.map.value(name, self.image, self.bases)

    def get_raw(self, name: str) -> int:
        raw = self.map.raw(name, self.image, self.bases)
        return 0 if raw is None else raw

    # ------------------------------------------------------------------ protocol hooks
    def defaults(self) -> None:
        """Control registers at their defaults (self-consumption)."""

    def refresh(self) -> None:
        """Show the physics' state in the read-only registers."""

    def check(self, values: dict[str, float]) -> ExcCodes | None:
        """Range checks beyond the map's (nameplate limits); None when fine."""
        return None

    def control(self) -> None:
        """Give the physics the window the registers ask for."""

    # ------------------------------------------------------------------ requests
    def read(self, address: int, count: int) -> list[int] | ExcCodes:
        if address < START or address + count > self.end:
            return ExcCodes.ILLEGAL_ADDRESS
        self.physics.advance(self.physics.clock.now())
        if self.physics.reverts != self._reverts_seen:
            self._reverts_seen = self.physics.reverts
            self.defaults()
        self.refresh()
        return [self.image[address + i] for i in range(count)]

    def write(self, address: int, words: list[int]) -> ExcCodes | None:
        end = address + len(words)
        touched: dict[str, float] = {}
        covered: set[int] = set()
        for name, point in self.map.points.items():
            start = self.map.address(name, self.bases)
            span = range(start, start + point.size)
            inside = [a for a in span if address <= a < end]
            if not inside:
                continue
            if point.access != "rw" or len(inside) != point.size:
                return ExcCodes.ILLEGAL_ADDRESS
            covered.update(inside)
            raw = decode_raw(point.type, [words[a - address] for a in span])
            if raw is None:
                return ExcCodes.ILLEGAL_VALUE
            if point.values is not None and raw not in point.values:
                return ExcCodes.ILLEGAL_VALUE
            sf = self.map.scale(name, self.image, self.bases) if point.sf else 0
            value = raw * 10.0**sf
            if (point.min is not None and value < point.min) or (
                point.max is not None and value > point.max
            ):
                return ExcCodes.ILLEGAL_VALUE
            touched[name] = value
        if len(covered) != len(words):
            return ExcCodes.ILLEGAL_ADDRESS
        if (refused := self.check(touched)) is not None:
            return refused
        if self.ignore_writes:
            return None
        for name, value in touched.items():
            self._put(name, value)
        self.control()
        return None


class Model124Registers(SunSpecRegisters):
    """Model 124 storage controls (see ``devices/maps/sunspec124.yaml`` for the semantics)."""

    map_name = "sunspec124"
    layout = ((124, 24),)
    scale_factors: ClassVar[dict[str, int]] = {
        "WChaMax_SF": 0,
        "WChaDisChaGra_SF": 0,
        "VAChaMax_SF": 0,
        "MinRsvPct_SF": 0,
        "ChaState_SF": -2,
        "StorAval_SF": -1,
        "InBatV_SF": -1,
        "InOutWRte_SF": -1,
    }

    def defaults(self) -> None:
        plate = self.physics.nameplate
        self._put("WChaMax", plate.max_charge_w)
        self._put("WChaGra", 100)
        self._put("WDisChaGra", 100)
        self._put("StorCtl_Mod", 0)
        self._put("VAChaMax", plate.max_charge_w)
        self._put("MinRsvPct", plate.soc_min_pct)
        self._put("OutWRte", 100)
        self._put("InWRte", 100)
        self._put("InOutWRte_WinTms", 0)
        self._put("InOutWRte_RvrtTms", 0)
        self._put("InOutWRte_RmpTms", 0)
        self._put("ChaGriSet", 0)

    def refresh(self) -> None:
        physics = self.physics
        plate = physics.nameplate
        soc = physics.soc_pct
        self._put("ChaState", soc)
        above = max(soc - physics.reserve_pct, 0.0) / 100.0 * plate.capacity_wh / plate.voltage_v
        self._put("StorAval", above)
        self._put("InBatV", plate.voltage_v)
        self._put("ChaSt", _charge_status(physics))

    def check(self, values: dict[str, float]) -> ExcCodes | None:
        if values.get("WChaMax", 0.0) > self.physics.nameplate.max_charge_w:
            return ExcCodes.ILLEGAL_VALUE
        mode = int(values.get("StorCtl_Mod", self.get("StorCtl_Mod")))
        charge_limit = values.get("InWRte", self.get("InWRte"))
        discharge_limit = values.get("OutWRte", self.get("OutWRte"))
        if mode == 3 and -discharge_limit > charge_limit:
            return ExcCodes.ILLEGAL_VALUE  # an empty window: at least x % and at most y < x %
        return None

    def control(self) -> None:
        physics = self.physics
        plate = physics.nameplate
        mode = int(self.get("StorCtl_Mod"))
        wmax = self.get("WChaMax")
        high = self.get("InWRte") / 100.0 * wmax if mode & 1 else plate.max_charge_w
        low = -self.get("OutWRte") / 100.0 * wmax if mode & 2 else -plate.max_discharge_w
        physics.reserve_pct = max(plate.soc_min_pct, self.get("MinRsvPct"))
        physics.set_window(
            Window(low, max(low, high), grid_charge=self.get("ChaGriSet") == 1),
            revert_seconds=self.get("InOutWRte_RvrtTms"),
            delay_seconds=self.get("InOutWRte_WinTms"),
            ramp_seconds=self.get("InOutWRte_RmpTms"),
        )


class Model802704Registers(SunSpecRegisters):
    """Models 802 (battery base) and 704 (DER AC controls, active power set-point)."""

    map_name = "sunspec802_704"
    layout = ((802, 62), (704, 65))
    scale_factors: ClassVar[dict[str, int]] = {
        "AHRtg_SF": 0,
        "WHRtg_SF": 1,
        "WChaDisChaMax_SF": 0,
        "SoC_SF": -1,
        "V_SF": -1,
        "A_SF": -1,
        "W_SF": 0,
        "WSet_SF": 0,
        "WSetPct_SF": 0,
    }

    def defaults(self) -> None:
        plate = self.physics.nameplate
        self._put("AHRtg", plate.capacity_wh / plate.voltage_v)
        self._put("WHRtg", plate.capacity_wh)
        self._put("WChaRteMax", plate.max_charge_w)
        self._put("WDisChaRteMax", plate.max_discharge_w)
        self._put("SoCMax", plate.soc_max_pct)
        self._put("SoCMin", plate.soc_min_pct)
        self._put("SoCRsvMax", plate.soc_max_pct)
        self._put("SoCRsvMin", self.physics.reserve_pct)
        self._put("LocRemCtl", 0)
        self._put("State", 3)  # CONNECTED
        self._put("WSetEna", 0)
        self._put("WSetMod", 1)
        self._put("WSet", 0)
        self._put("WSetRvrt", 0)
        self._put("WSetPct", 0)
        self._put("WSetPctRvrt", 0)
        self._put("WSetEnaRvrt", 0)
        self._put("WSetRvrtTms", 0)

    def refresh(self) -> None:
        physics = self.physics
        plate = physics.nameplate
        self._put("SoC", physics.soc_pct)
        self._put("W", physics.power_w)
        self._put("V", plate.voltage_v)
        self._put("A", physics.power_w / plate.voltage_v)
        self._put("ChaSt", _charge_status(physics))
        self._put("Hb", int(time.monotonic()) % 65_536, raw=True)
        self._put("WSetRvrtRem", physics.revert_remaining(), raw=True)

    def check(self, values: dict[str, float]) -> ExcCodes | None:
        plate = self.physics.nameplate
        for name in ("WSet", "WSetRvrt"):
            watts = values.get(name, 0.0)
            if not -plate.max_charge_w <= watts <= plate.max_discharge_w:
                return ExcCodes.ILLEGAL_VALUE
        return None

    def _der_watts(self, enabled: str, watts: str, pct: str) -> float | None:
        if self.get(enabled) != 1:
            return None
        if self.get("WSetMod") == 1:
            return self.get(watts)
        plate = self.physics.nameplate
        share = self.get(pct) / 100.0
        return share * (plate.max_discharge_w if share >= 0 else plate.max_charge_w)

    def control(self) -> None:
        physics = self.physics
        physics.reserve_pct = max(physics.nameplate.soc_min_pct, self.get("SoCRsvMin"))
        der = self._der_watts("WSetEna", "WSet", "WSetPct")
        window = physics.default_window if der is None else Window(-der, -der, grid_charge=True)
        physics.set_window(window, revert_seconds=self.get("WSetRvrtTms"))

    def read(self, address: int, count: int) -> list[int] | ExcCodes:
        reverts = self.physics.reverts
        self.physics.advance(self.physics.clock.now())
        if self.physics.reverts != reverts:
            # IEEE 1547 reversion: the reversion values become the settings.
            self._reverts_seen = self.physics.reverts
            self._put("WSetEna", self.get("WSetEnaRvrt"))
            self._put("WSet", self.get("WSetRvrt"))
            self._put("WSetPct", self.get("WSetPctRvrt"))
            self._put("WSetRvrtTms", 0)
            der = self._der_watts("WSetEna", "WSet", "WSetPct")
            if der is not None:
                self.physics.set_window(Window(-der, -der, grid_charge=True))
        return super().read(address, count)


def _charge_status(physics: BatteryPhysics) -> int:
    """SunSpec ChaSt: 2 empty, 3 discharging, 4 charging, 5 full, 6 holding."""
    soc = physics.soc_pct
    if physics.power_w > 1.0:
        return 4
    if physics.power_w < -1.0:
        return 3
    if soc >= physics.nameplate.soc_max_pct - 0.05:
        return 5
    if soc <= physics.reserve_pct + 0.05:
        return 2
    return 6


PROTOCOLS: dict[str, type[SunSpecRegisters]] = {
    "model124": Model124Registers,
    "model802_704": Model802704Registers,
}


class SimulatedBatteryServer(SimulatedModbusDevices):
    """A pymodbus TCP server on loopback serving simulated SunSpec batteries, one per unit."""

    def __init__(
        self, batteries: dict[int, SunSpecRegisters], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not batteries:
            raise DeviceConfigError("a simulated battery server needs at least one battery")
        super().__init__(host=host, port=port)
        self.batteries = batteries

    async def _handle(self, unit: int, request: ModbusRequest) -> ExcCodes | None:
        registers_of = self.batteries[unit]
        address, count = request.address, request.count
        if request.set_values is not None:
            return registers_of.write(address, [int(v) for v in request.set_values])
        words = registers_of.read(address, count)
        if isinstance(words, ExcCodes):
            return words
        offset = address - request.start_address
        request.registers[offset : offset + count] = words
        return None

    def _devices(self) -> list[SimDevice]:
        devices = []
        for unit, battery in sorted(self.batteries.items()):
            data = SimData(
                address=START, count=battery.end - START, values=0, datatype=DataType.REGISTERS
            )
            devices.append(SimDevice(id=unit, simdata=[data], action=self._action(unit)))
        return devices
