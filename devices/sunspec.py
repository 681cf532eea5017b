"""SunSpec information models as register maps in data files, with reads, writes and discovery.

A SunSpec device starts with the marker ``SunS`` (0x5375 0x6E53) at a well-known address
(40000, 0 or 50000), followed by models, each a header (model id, length ``L``) and ``L``
registers, up to the end marker (id 0xFFFF). :func:`discover` walks that chain; a map then only
names points by ``(model, offset)``, so the same map fits any device that carries the model.

A map file (``devices/maps/*.yaml``)::

    name: sunspec124
    models: {124: 24}                 # model id: length L, checked against the device
    points:
      WChaMax: {model: 124, offset: 2, type: uint16, sf: WChaMax_SF, access: rw, min: 0}
      WChaMax_SF: {model: 124, offset: 18, type: sunssf}

``offset`` counts from the model's id register (the id is offset 0, ``L`` offset 1), as in the
SunSpec model definitions. A point's value is ``raw * 10**sf`` where ``sf`` is the value of the
point named by ``sf``; ``min``/``max`` bound writes in engineering units. The shipped maps'
offsets are those of the SunSpec model definitions as pysunspec2 1.3.7 ships them
(``sunspec2/models/json/model_{124,704,802}.json``); ``tests/devices/test_sunspec.py`` pins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.errors import DeviceConfigError, DeviceValueError
from devices.modbus import ModbusExceptionError, ModbusLink
from oracles.config_files import (
    read_config_mapping,
    shipped_names,
    shipped_or_file,
    validate_config_file,
)

MAPS_DIR = Path(__file__).resolve().parent / "maps"
SUNS_MARKER = (0x5375, 0x6E53)
SUNSPEC_STARTS = (40000, 0, 50000)
END_MODEL = 0xFFFF

PointType = Literal[
    "uint16", "int16", "enum16", "bitfield16", "sunssf", "uint32", "int32", "acc32", "bitfield32"
]
_SIZE = {
    "uint16": 1, "int16": 1, "enum16": 1, "bitfield16": 1, "sunssf": 1,
    "uint32": 2, "int32": 2, "acc32": 2, "bitfield32": 2,
}  # fmt: skip
_SIGNED = {"int16", "sunssf", "int32"}
#: Raw values that mean "not implemented" in SunSpec.
_NOT_IMPLEMENTED = {
    "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF, "int16": -0x8000,
    "sunssf": -0x8000, "uint32": 0xFFFFFFFF, "int32": -0x80000000, "acc32": 0,
    "bitfield32": 0xFFFFFFFF,
}  # fmt: skip

Registers = dict[int, int]
"""Absolute register address -> 16-bit word."""


class SunSpecPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: int = Field(ge=1, le=65534)
    offset: int = Field(ge=0, le=65535)
    type: PointType
    sf: str | None = None
    access: Literal["r", "rw"] = "r"
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[int, ...] | None = None
    """The raw values an enum or bitfield may take when written."""

    @property
    def size(self) -> int:
        return _SIZE[self.type]


class SunSpecMap(BaseModel):
    """The points of one or more SunSpec models (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    models: dict[int, int]
    points: dict[str, SunSpecPoint]

    @model_validator(mode="after")
    def _check(self) -> SunSpecMap:
        for name, point in self.points.items():
            if point.model not in self.models:
                raise ValueError(f"point {name}: model {point.model} is not in models")
            if point.offset + point.size > self.models[point.model] + 2:
                raise ValueError(f"point {name}: offset {point.offset} is past the model's end")
            if point.sf is not None and point.sf not in self.points:
                raise ValueError(f"point {name}: scale factor {point.sf} is not a point")
        return self

    def point(self, name: str) -> SunSpecPoint:
        try:
            return self.points[name]
        except KeyError:
            raise DeviceConfigError(f"map {self.name} has no point {name!r}") from None

    def address(self, name: str, bases: Mapping[int, int]) -> int:
        point = self.point(name)
        return bases[point.model] + point.offset

    # ------------------------------------------------------------------ values
    def raw(self, name: str, registers: Mapping[int, int], bases: Mapping[int, int]) -> int | None:
        """The raw integer of a point, None when the device says "not implemented"."""
        point = self.point(name)
        start = self.address(name, bases)
        try:
            words = [registers[start + i] for i in range(point.size)]
        except KeyError:
            raise DeviceValueError(f"map {self.name}: {name} was not read") from None
        return decode_raw(point.type, words)

    def scale(self, name: str, registers: Mapping[int, int], bases: Mapping[int, int]) -> int:
        point = self.point(name)
        if point.sf is None:
            return 0
        sf = self.raw(point.sf, registers, bases)
        if sf is None or not -10 <= sf <= 10:
            raise DeviceValueError(f"map {self.name}: {name} has scale factor {sf}")
        return sf

    def value(self, name: str, registers: Mapping[int, int], bases: Mapping[int, int]) -> float:
        """A point in engineering units; DeviceValueError when it is not implemented."""
        raw = self.raw(name, registers, bases)
        if raw is None:
            raise DeviceValueError(f"map {self.name}: {name} is not available on the device")
        sf = self.scale(name, registers, bases)
        return raw * 10.0**sf if sf else float(raw)

    def encode(self, name: str, value: float, sf: int) -> list[int]:
        """The words that hold ``value`` (engineering units) at scale factor ``sf``.

        Raises DeviceConfigError when the value is outside the point's bounds or type.
        """
        point = self.point(name)
        if (point.min is not None and value < point.min) or (
            point.max is not None and value > point.max
        ):
            raise DeviceConfigError(
                f"map {self.name}: {name} = {value:g} is outside {point.min:g}..{point.max:g}"
                if point.min is not None and point.max is not None
                else f"map {self.name}: {name} = {value:g} is out of range"
            )
        raw = round(value / 10.0**sf)
        return encode_raw(point.type, raw, what=f"map {self.name}: {name}")


def decode_raw(vtype: str, words: list[int]) -> int | None:
    number = 0
    for word in words:
        number = (number << 16) | (word & 0xFFFF)
    if vtype in _SIGNED:
        bits = 16 * len(words)
        if number >= 1 << (bits - 1):
            number -= 1 << bits
    if number == _NOT_IMPLEMENTED[vtype] and vtype != "acc32":
        return None
    return number


def encode_raw(vtype: str, raw: int, *, what: str = "value") -> list[int]:
    size = _SIZE[vtype]
    bits = 16 * size
    low, high = (
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if vtype in _SIGNED else (0, (1 << bits) - 1)
    )
    if not low <= raw <= high:
        raise DeviceConfigError(f"{what}: raw {raw} does not fit {vtype}")
    number = raw & ((1 << bits) - 1)
    return [(number >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def shipped_maps() -> list[str]:
    return shipped_names(MAPS_DIR, (".yaml",))


def load_map(name_or_path: str | Path) -> SunSpecMap:
    """A shipped map by name (``sunspec124``) or a map file."""
    path = shipped_or_file(
        name_or_path, MAPS_DIR, "SunSpec map", suffixes=(".yaml",), error=DeviceConfigError
    )
    data = read_config_mapping(path, "SunSpec map", error=DeviceConfigError)
    data.setdefault("name", path.stem)
    return validate_config_file(
        SunSpecMap, data, path=path, what="SunSpec map", top="map", error=DeviceConfigError
    )


async def discover(
    link: ModbusLink, unit: int, starts: tuple[int, ...] = SUNSPEC_STARTS
) -> dict[int, tuple[int, int]]:
    """The device's models: ``{model id: (address of the id register, length L)}``."""
    for start in starts:
        try:
            marker = await link.read_holding(unit, start, 2)
        except ModbusExceptionError:  # an exception answer means: no marker here
            continue
        if tuple(marker) != SUNS_MARKER:
            continue
        models: dict[int, tuple[int, int]] = {}
        address = start + 2
        for _ in range(64):  # a device with more models than this is broken
            model_id, length = await link.read_holding(unit, address, 2)
            if model_id == END_MODEL:
                return models
            models.setdefault(model_id, (address, length))
            address += 2 + length
        raise DeviceValueError(f"modbus {link.endpoint} unit {unit}: SunSpec chain has no end")
    raise DeviceValueError(
        f"modbus {link.endpoint} unit {unit}: no SunSpec marker at {', '.join(map(str, starts))}"
    )
