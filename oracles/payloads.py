"""MQTT payload formats: Tasmota, Shelly Gen2, and generic JSON configured by field paths.

A format turns one message into a :class:`Parsed` value, or raises :class:`PayloadError`
(malformed JSON, missing or non-numeric field). A message may carry only part of a reading
(a Shelly ``em1:0`` status has power but no energy): fields not in the message are ``None``
and :class:`~oracles.sources.mqtt.MqttSource` merges messages per meter.

- **Tasmota** ``tele/<device>/SENSOR``: ``{"Time": ..., "ENERGY": {"Total": kWh, "Power": W,
  "ExportActive": kWh, ...}}``; lists (multi-channel devices) are summed. ``Time`` is used as
  device time only when it carries a UTC offset (Tasmota ``SetOption52 1``): a naive local time
  cannot be compared with anything.
- **Shelly Gen2** status topics (``<prefix>/status/em1data:0``) and ``NotifyStatus`` /
  ``NotifyFullStatus`` RPC notifications (``<prefix>/events/rpc``): energy from ``em1data``
  (``total_act_energy``, ``total_act_ret_energy``), ``emdata`` (``total_act``,
  ``total_act_ret``), ``switch``/``pm1`` (``aenergy.total``, ``ret_aenergy.total``), all in Wh;
  power from ``em`` (``total_act_power``), ``em1``/``switch``/``pm1`` (``act_power``/``apower``).
- **JSON**: any document; ``import_path`` etc. are dotted paths (``a.b.0.c``) with units.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from oracles.errors import OracleConfigError, PayloadError
from oracles.maps import ENERGY_UNITS, POWER_UNITS


@dataclass(frozen=True)
class Parsed:
    """What one message said (``None``: not in this message)."""

    import_wh: float | None = None
    export_wh: float | None = None
    power_w: float | None = None
    device_time: float | None = None
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def has_energy(self) -> bool:
        return self.import_wh is not None


class PayloadFormat(Protocol):
    name: str

    def parse(self, topic: str, payload: bytes) -> Parsed: ...


def _load_json(topic: str, payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"topic {topic}: malformed JSON ({exc})") from None


def _number(topic: str, name: str, value: Any) -> float:
    """A JSON number (or a list of numbers, summed); NaN/inf pass through for validation."""
    if isinstance(value, list) and value:
        return sum(_number(topic, name, v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"topic {topic}: {name} is not a number ({value!r})")
    return float(value)


# ---------------------------------------------------------------------------------- Tasmota
class _TasmotaEnergy(BaseModel):
    model_config = ConfigDict(extra="allow")

    Total: float | list[float]
    Power: float | list[float] | None = None
    ExportActive: float | list[float] | None = None
    Export: float | list[float] | None = None
    Voltage: float | list[float] | None = None


class _TasmotaSensor(BaseModel):
    model_config = ConfigDict(extra="allow")

    Time: str | None = None
    ENERGY: _TasmotaEnergy


class TasmotaFormat:
    """Tasmota ``tele/<device>/SENSOR`` (and ``stat/<device>/STATUS10`` ``StatusSNS``)."""

    name = "tasmota"

    def parse(self, topic: str, payload: bytes) -> Parsed:
        data = _load_json(topic, payload)
        if isinstance(data, dict) and "StatusSNS" in data:
            data = data["StatusSNS"]
        try:
            sensor = _TasmotaSensor.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PayloadError(f"topic {topic}: Tasmota payload {where}: {first['msg']}") from None
        energy = sensor.ENERGY
        export = energy.ExportActive if energy.ExportActive is not None else energy.Export
        extras: dict[str, float] = {}
        if energy.Voltage is not None:
            voltages = energy.Voltage if isinstance(energy.Voltage, list) else [energy.Voltage]
            for i, v in enumerate(voltages, start=1):
                extras[f"voltage_l{i}_v"] = float(v)
        return Parsed(
            import_wh=_number(topic, "ENERGY.Total", energy.Total) * 1000.0,
            export_wh=_number(topic, "ENERGY.ExportActive", export) * 1000.0
            if export is not None
            else 0.0,
            power_w=_number(topic, "ENERGY.Power", energy.Power)
            if energy.Power is not None
            else None,
            device_time=_aware_time(sensor.Time),
            extras=extras,
        )


def _aware_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


# ---------------------------------------------------------------------------------- Shelly
_SHELLY_ENERGY = {
    "em1data": ("total_act_energy", "total_act_ret_energy"),
    "emdata": ("total_act", "total_act_ret"),
}
_SHELLY_POWER = {"em": "total_act_power", "em1": "act_power", "switch": "apower", "pm1": "apower"}


class ShellyFormat:
    """Shelly Gen2+ status topics and RPC notifications (energy in Wh, power in W).

    ``component`` picks one (``em1data:1`` for the second channel of a Pro EM); by default the
    first component with energy in the message is used.
    """

    name = "shelly"

    def __init__(self, component: str | None = None) -> None:
        self.component = component

    def parse(self, topic: str, payload: bytes) -> Parsed:
        data = _load_json(topic, payload)
        if not isinstance(data, dict):
            raise PayloadError(f"topic {topic}: Shelly payload must be a JSON object")
        device_time: float | None = None
        if "method" in data:  # NotifyStatus / NotifyFullStatus / NotifyEvent
            params = data.get("params")
            if not isinstance(params, dict):
                raise PayloadError(f"topic {topic}: Shelly notification without params")
            ts = params.get("ts")
            device_time = float(ts) if isinstance(ts, int | float) else None
            components = {k: v for k, v in params.items() if isinstance(v, dict)}
        else:  # <prefix>/status/<component>: the topic names the component
            name = topic.rsplit("/", 1)[-1]
            components = {name: data}
        if self.component is not None:
            components = {k: v for k, v in components.items() if k == self.component}
        parsed = Parsed(device_time=device_time)
        energy: tuple[float, float] | None = None
        power: float | None = None
        for key, body in components.items():
            kind = key.split(":", 1)[0]
            if energy is None:
                energy = self._energy(topic, kind, body)
            if power is None and kind in _SHELLY_POWER and _SHELLY_POWER[kind] in body:
                power = _number(topic, f"{key}.{_SHELLY_POWER[kind]}", body[_SHELLY_POWER[kind]])
        if energy is None and power is None:
            raise PayloadError(f"topic {topic}: no Shelly energy or power component in payload")
        if energy is not None:
            parsed = Parsed(
                import_wh=energy[0], export_wh=energy[1], power_w=power, device_time=device_time
            )
        else:
            parsed = Parsed(power_w=power, device_time=device_time)
        return parsed

    @staticmethod
    def _energy(topic: str, kind: str, body: dict[str, Any]) -> tuple[float, float] | None:
        if kind in _SHELLY_ENERGY:
            imp, exp = _SHELLY_ENERGY[kind]
            if imp not in body:
                raise PayloadError(f"topic {topic}: {kind} without {imp}")
            return _number(topic, imp, body[imp]), _number(topic, exp, body.get(exp, 0.0))
        if kind in ("switch", "pm1") and isinstance(body.get("aenergy"), dict):
            total = body["aenergy"].get("total")
            ret = body.get("ret_aenergy", {}).get("total", 0.0)
            return _number(topic, "aenergy.total", total), _number(topic, "ret_aenergy.total", ret)
        return None


# ---------------------------------------------------------------------------------- JSON
class JsonFormatSettings(BaseModel):
    """Field paths (dotted, list indexes allowed) and units of a generic JSON payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    import_path: str
    import_unit: Literal["Wh", "kWh", "MWh"] = "Wh"
    export_path: str | None = None
    export_unit: Literal["Wh", "kWh", "MWh"] = "Wh"
    power_path: str | None = None
    power_unit: Literal["W", "kW"] = "W"
    time_path: str | None = None
    """Unix seconds (number) or an ISO 8601 time with offset."""


class JsonFormat:
    """Any JSON document, read through :class:`JsonFormatSettings`."""

    name = "json"

    def __init__(self, settings: JsonFormatSettings) -> None:
        self.settings = settings

    def parse(self, topic: str, payload: bytes) -> Parsed:
        data = _load_json(topic, payload)
        s = self.settings
        imp = _number(topic, s.import_path, _lookup(topic, data, s.import_path))
        exp = (
            _number(topic, s.export_path, _lookup(topic, data, s.export_path))
            if s.export_path
            else 0.0
        )
        power = (
            _number(topic, s.power_path, _lookup(topic, data, s.power_path))
            if s.power_path
            else None
        )
        device_time: float | None = None
        if s.time_path:
            raw = _lookup(topic, data, s.time_path)
            device_time = float(raw) if isinstance(raw, int | float) else _aware_time(str(raw))
        return Parsed(
            import_wh=imp * ENERGY_UNITS[s.import_unit],
            export_wh=exp * ENERGY_UNITS[s.export_unit],
            power_w=power * POWER_UNITS[s.power_unit] if power is not None else None,
            device_time=device_time,
        )


def _lookup(topic: str, data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PayloadError(f"topic {topic}: field {path} is missing")
    return node


def make_format(
    name: str, *, json_settings: JsonFormatSettings | None = None, component: str | None = None
) -> PayloadFormat:
    """The payload format called ``name`` (``tasmota``, ``shelly``, ``json``)."""
    if name == "tasmota":
        return TasmotaFormat()
    if name == "shelly":
        return ShellyFormat(component)
    if name == "json":
        if json_settings is None:
            raise OracleConfigError("the json payload format needs at least an import path")
        return JsonFormat(json_settings)
    raise OracleConfigError(f"unknown payload format {name!r} (tasmota, shelly, json)")


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
