"""Modbus register maps: data files (YAML or TOML), not code.

A map names the registers of one meter model. Field names are the output names; three have a
meaning for the oracle:

- ``import_wh`` (required) and ``export_wh`` (optional, 0 when absent): cumulative energy
  registers, converted to Wh from their ``unit`` (``Wh``, ``kWh``, ``MWh``);
- ``power_w`` (optional): active power, converted to W from ``W`` or ``kW``.

Any other field (voltages, frequency, ...) is decoded and passed along as an extra value.
A value is ``raw * scale * 10**sf * unit_factor`` where ``sf`` is read from the register at
``scale_factor`` (SunSpec ``sunssf``), if given. ``checks`` are registers that must hold a
fixed value (e.g. the SunSpec model id), so a map pointed at the wrong device fails loudly.

The shipped maps live in ``oracles/maps/`` (``sdm630``, ``sunspec203``); users pass their own
file with ``--map path.yaml``. The same map drives the simulator (:meth:`RegisterMap.encode`),
so simulated meters go through the exact decoding path of real ones.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oracles.config_files import (
    read_config_mapping,
    shipped_names,
    shipped_or_file,
    validate_config_file,
)
from oracles.errors import RegisterValueError

MAPS_DIR = Path(__file__).resolve().parent / "maps"

RegisterType = Literal["holding", "input"]
ValueType = Literal[
    "int16", "uint16", "int32", "uint32", "acc32", "int64", "uint64", "acc64", "float32", "float64"
]

#: struct format and register count of each value type (big-endian within a register).
_FORMATS: dict[str, tuple[str, int]] = {
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "acc32": ("I", 2),
    "int64": ("q", 4),
    "uint64": ("Q", 4),
    "acc64": ("Q", 4),
    "float32": ("f", 2),
    "float64": ("d", 4),
}
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1_000.0, "MWh": 1_000_000.0}
POWER_UNITS = {"W": 1.0, "kW": 1_000.0}
#: SunSpec's "not implemented" value of a ``sunssf`` scale-factor register.
SUNSPEC_SF_NOT_IMPLEMENTED = -32768


class RegisterField(BaseModel):
    """One value: where it lives, how it is encoded, how it scales."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: int = Field(ge=0, le=65535)
    type: ValueType = "float32"
    unit: str | None = None
    scale: float = 1.0
    scale_factor: int | None = Field(default=None, ge=0, le=65535)
    register_type: RegisterType | None = None
    invalid: int | None = None
    """A raw value that means "not available" (e.g. SunSpec 0x8000), refused when read."""

    @property
    def count(self) -> int:
        return _FORMATS[self.type][1]


class RegisterCheck(BaseModel):
    """A register that must hold ``equals`` (e.g. a SunSpec model id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: int = Field(ge=0, le=65535)
    type: ValueType = "uint16"
    equals: int
    register_type: RegisterType | None = None


@dataclass(frozen=True)
class ReadBlock:
    """One Modbus request: ``count`` registers of ``register_type`` from ``start``."""

    register_type: RegisterType
    start: int
    count: int


RegisterValues = dict[tuple[RegisterType, int], int]


class RegisterMap(BaseModel):
    """A meter model's registers (see the module docstring for the file format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    register_type: RegisterType = "holding"
    word_order: Literal["big", "little"] = "big"
    base: int = Field(default=0, ge=0, le=65535)
    """Added to every address of the map (e.g. where a SunSpec model starts)."""
    max_gap: int = Field(default=16, ge=0)
    """Registers between two fields read in one request rather than two."""
    max_block: int = Field(default=125, ge=1, le=125)
    fields: dict[str, RegisterField]
    checks: list[RegisterCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_fields(self) -> RegisterMap:
        if "import_wh" not in self.fields:
            raise ValueError("a register map needs an 'import_wh' field")
        for name in ("import_wh", "export_wh"):
            field = self.fields.get(name)
            if field is not None and (field.unit or "Wh") not in ENERGY_UNITS:
                raise ValueError(f"{name}: unit must be one of {sorted(ENERGY_UNITS)}")
        power = self.fields.get("power_w")
        if power is not None and (power.unit or "W") not in POWER_UNITS:
            raise ValueError(f"power_w: unit must be one of {sorted(POWER_UNITS)}")
        return self

    # ------------------------------------------------------------------ addresses
    def _kind(self, override: RegisterType | None) -> RegisterType:
        return override or self.register_type

    def _spans(self) -> list[tuple[RegisterType, int, int]]:
        spans: list[tuple[RegisterType, int, int]] = []
        for field in self.fields.values():
            kind = self._kind(field.register_type)
            spans.append((kind, self.base + field.address, field.count))
            if field.scale_factor is not None:
                spans.append((kind, self.base + field.scale_factor, 1))
        for check in self.checks:
            spans.append(
                (
                    self._kind(check.register_type),
                    self.base + check.address,
                    _FORMATS[check.type][1],
                )
            )
        return spans

    def plan_reads(self) -> list[ReadBlock]:
        """The fewest requests (of at most ``max_block`` registers) that cover every field."""
        blocks: list[ReadBlock] = []
        for kind in ("holding", "input"):
            spans = sorted((s, s + n) for k, s, n in self._spans() if k == kind)
            current: list[int] | None = None
            for start, end in spans:
                if (
                    current is not None
                    and start <= current[1] + self.max_gap
                    and max(end, current[1]) - current[0] <= self.max_block
                ):
                    current[1] = max(current[1], end)
                    continue
                if current is not None:
                    blocks.append(ReadBlock(kind, current[0], current[1] - current[0]))
                current = [start, end]
            if current is not None:
                blocks.append(ReadBlock(kind, current[0], current[1] - current[0]))
        return blocks

    # ------------------------------------------------------------------ decoding
    def _raw(self, values: RegisterValues, kind: RegisterType, address: int, vtype: str) -> float:
        fmt, count = _FORMATS[vtype]
        try:
            words = [values[(kind, address + i)] for i in range(count)]
        except KeyError as exc:
            raise RegisterValueError(
                f"map {self.name}: register {exc.args[0]} was not read"
            ) from None
        if self.word_order == "little":
            words.reverse()
        data = b"".join(w.to_bytes(2, "big") for w in words)
        value: float = struct.unpack(">" + fmt, data)[0]
        return value

    def decode(self, values: RegisterValues) -> dict[str, float]:
        """Every field in output units; raises :class:`RegisterValueError` on a bad value."""
        for check in self.checks:
            kind = self._kind(check.register_type)
            found = self._raw(values, kind, self.base + check.address, check.type)
            if found != check.equals:
                raise RegisterValueError(
                    f"map {self.name}: register {self.base + check.address} holds {found:g}, "
                    f"expected {check.equals} (wrong map or device?)"
                )
        out: dict[str, float] = {}
        for name, field in self.fields.items():
            kind = self._kind(field.register_type)
            raw = self._raw(values, kind, self.base + field.address, field.type)
            if field.invalid is not None and raw == field.invalid:
                raise RegisterValueError(f"map {self.name}: {name} is not available (raw {raw:g})")
            value = raw * field.scale
            if field.scale_factor is not None:
                sf = int(self._raw(values, kind, self.base + field.scale_factor, "int16"))
                if sf == SUNSPEC_SF_NOT_IMPLEMENTED or not -10 <= sf <= 10:
                    raise RegisterValueError(f"map {self.name}: {name} has scale factor {sf}")
                value *= 10.0**sf
            out[name] = value * _unit_factor(name, field.unit)
        return out

    # ------------------------------------------------------------------ encoding (simulator)
    def encode(self, values: dict[str, float]) -> RegisterValues:
        """Registers that :meth:`decode` turns back into ``values`` (scale factors set to 0)."""
        registers: RegisterValues = {}
        for check in self.checks:
            kind = self._kind(check.register_type)
            self._put(registers, kind, self.base + check.address, check.type, check.equals)
        for name, field in self.fields.items():
            kind = self._kind(field.register_type)
            if field.scale_factor is not None:
                self._put(registers, kind, self.base + field.scale_factor, "int16", 0)
            value = values.get(name, 0.0) / _unit_factor(name, field.unit) / field.scale
            self._put(registers, kind, self.base + field.address, field.type, value)
        return registers

    def _put(
        self, registers: RegisterValues, kind: RegisterType, address: int, vtype: str, value: float
    ) -> None:
        fmt, count = _FORMATS[vtype]
        number: float | int = value if fmt in "fd" else _clamp_int(value, fmt)
        words = [
            int.from_bytes(chunk, "big") for chunk in _chunks(struct.pack(">" + fmt, number), 2)
        ]
        if self.word_order == "little":
            words.reverse()
        for i, word in enumerate(words[:count]):
            registers[(kind, address + i)] = word


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _clamp_int(value: float, fmt: str) -> int:
    bits = {"h": 16, "H": 16, "i": 32, "I": 32, "q": 64, "Q": 64}[fmt]
    signed = fmt.islower()
    low: int = -(2 ** (bits - 1)) if signed else 0
    high: int = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    number = round(value) if math.isfinite(value) else 0
    return max(low, min(high, number))


def _unit_factor(name: str, unit: str | None) -> float:
    if name in ("import_wh", "export_wh"):
        return ENERGY_UNITS[unit or "Wh"]
    if name == "power_w":
        return POWER_UNITS[unit or "W"]
    return 1.0


def shipped_maps() -> list[str]:
    """Names of the maps in ``oracles/maps/``."""
    return shipped_names(MAPS_DIR)


def load_map(name_or_path: str | Path) -> RegisterMap:
    """A shipped map by name (``sdm630``) or a user's map file (``path.yaml``/``.toml``)."""
    path = shipped_or_file(name_or_path, MAPS_DIR, "register map")
    data = read_config_mapping(path, "register map")
    data.setdefault("name", path.stem)
    return validate_config_file(RegisterMap, data, path=path, what="register map", top="map")
