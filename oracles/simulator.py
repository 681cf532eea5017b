"""Simulated meters: cumulative registers driven by a power profile, served like real ones.

A :class:`SimulatedMeter` integrates a :class:`Profile` (net power in W at time t: positive
imports, negative exports) into two cumulative registers. It is deterministic: the registers
at time t depend only on the profile, the start time and t. The profile source is pluggable:
anything with ``power_w(t) -> float`` fits, e.g. real PV/load profiles from ``agents/data``,
loaded by ``"package.module:factory"`` (:func:`load_profile`).

Simulated meters are served through the same code paths as hardware:

- :class:`SimulatedModbusServer`: a real pymodbus TCP server, one unit id per meter, its
  registers encoded with a :class:`~oracles.maps.RegisterMap` on every request;
- :class:`SimulatedMqttPublisher`: publishes Tasmota, Shelly or JSON payloads to a broker;
- :class:`SimulatedSource`: in process, for benchmarks and demos without any server.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from oracles.clock import Clock, SystemClock
from oracles.errors import OracleConfigError
from oracles.maps import RegisterMap
from oracles.modbus_server import ModbusRequest, SimulatedModbusDevices
from oracles.sources.base import Sample

logger = logging.getLogger(__name__)


@runtime_checkable
class Profile(Protocol):
    """Net active power in W at unix time ``t`` (positive: import, negative: export)."""

    def power_w(self, t: float) -> float: ...


@dataclass(frozen=True)
class HouseholdProfile:
    """A simple deterministic prosumer: base load with a daily shape, minus rooftop PV.

    Load: ``base_w`` plus morning and evening peaks plus a seeded hourly wobble; PV: a half-sine
    between 06:00 and 18:00 UTC peaking at ``pv_peak_w``. Good enough for demos and tests; real
    profiles plug in through :func:`load_profile`.
    """

    seed: int = 0
    base_w: float = 400.0
    peak_w: float = 1_500.0
    pv_peak_w: float = 3_000.0

    def power_w(self, t: float) -> float:
        hour = (t % 86_400) / 3_600
        morning = math.exp(-(((hour - 7.5) / 1.2) ** 2))
        evening = math.exp(-(((hour - 19.0) / 1.8) ** 2))
        digest = hashlib.sha256(f"{self.seed}:{int(t // 3_600)}".encode()).digest()
        wobble = 0.8 + 0.4 * digest[0] / 255
        load = (self.base_w + self.peak_w * max(morning, evening)) * wobble
        pv = self.pv_peak_w * max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0))
        return load - pv


@dataclass(frozen=True)
class ConstantProfile:
    """Constant net power (tests)."""

    watts: float

    def power_w(self, t: float) -> float:
        return self.watts


def load_profile(spec: str, **kwargs: Any) -> Profile:
    """``household`` / ``constant`` or ``package.module:factory`` called with ``kwargs``."""
    if spec == "household":
        return HouseholdProfile(**kwargs)
    if spec == "constant":
        return ConstantProfile(**kwargs)
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise OracleConfigError(f"profile {spec!r}: use household, constant or module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
        profile = factory(**kwargs)
    except (ImportError, AttributeError, TypeError) as exc:
        raise OracleConfigError(f"profile {spec!r} cannot be loaded: {exc}") from None
    if not isinstance(profile, Profile):
        raise OracleConfigError(f"profile {spec!r} has no power_w(t) method")
    return profile


class SimulatedMeter:
    """Cumulative import/export registers integrated from a profile (thread-safe).

    The registers at ``t`` are the integral from ``start`` with a fixed step (trapezoid rule);
    time never runs backwards (a read before the last one returns the last registers).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        start: float,
        import_wh: float = 0.0,
        export_wh: float = 0.0,
        step: float = 60.0,
    ) -> None:
        self.profile = profile
        self.step = step
        self._t = float(start)
        self._import = float(import_wh)
        self._export = float(export_wh)
        self._power = profile.power_w(start)
        self._read_t = float(start)
        self._lock = threading.Lock()

    def advance(self, t: float) -> tuple[float, float, float]:
        """Registers (import Wh, export Wh) and power (W) at ``t``.

        Integration runs on a fixed grid ``start + k * step``, so the registers at ``t`` do not
        depend on when the meter was read before.
        """
        with self._lock:
            t = max(t, self._read_t)
            while self._t + self.step <= t:
                p1 = self.profile.power_w(self._t + self.step)
                self._import, self._export = self._add(
                    self._import, self._export, self._power, p1, self.step
                )
                self._t += self.step
                self._power = p1
            imp, exp, power = self._import, self._export, self._power
            if t > self._t:  # the part of a grid step up to t (not stored)
                power = self.profile.power_w(t)
                imp, exp = self._add(imp, exp, self._power, power, t - self._t)
            self._read_t = t
            return imp, exp, power

    @staticmethod
    def _add(imp: float, exp: float, p0: float, p1: float, dt: float) -> tuple[float, float]:
        """Trapezoid per sign, so import and export each only grow."""
        if p0 >= 0 and p1 >= 0:
            return imp + (p0 + p1) / 2 * dt / 3_600, exp
        if p0 <= 0 and p1 <= 0:
            return imp, exp - (p0 + p1) / 2 * dt / 3_600
        crossing = dt * abs(p0) / (abs(p0) + abs(p1))  # the sign changes inside the step
        for energy in (p0 * crossing / 2 / 3_600, p1 * (dt - crossing) / 2 / 3_600):
            if energy >= 0:
                imp += energy
            else:
                exp -= energy
        return imp, exp

    def set_registers(self, import_wh: float, export_wh: float) -> None:
        """Overwrite the registers (fault injection: a replaced or reset meter)."""
        with self._lock:
            self._import, self._export = import_wh, export_wh

    def sample(self, t: float, taken_at: float | None = None) -> Sample:
        imp, exp, power = self.advance(t)
        return Sample(imp, exp, power, taken_at if taken_at is not None else t)


class SimulatedSource:
    """A simulated meter read in process (no network)."""

    def __init__(
        self, meter: SimulatedMeter, *, clock: Clock | None = None, name: str = ""
    ) -> None:
        self.meter = meter
        self.clock = clock or SystemClock()
        self.name = name

    @property
    def description(self) -> str:
        return f"simulated {self.name}".strip()

    async def start(self) -> None:
        return None

    async def read(self, boundary: int) -> Sample:
        now = self.clock.now()
        return self.meter.sample(max(boundary, min(now, boundary + 1.0)), taken_at=now)

    async def close(self) -> None:
        return None


def simulated_households(names: Sequence[str], clock: Clock) -> dict[str, SimulatedSource]:
    """One simulated household meter per name, read on ``clock`` from its present: the i-th a
    :class:`HouseholdProfile` of seed i."""
    return {
        name: SimulatedSource(
            SimulatedMeter(HouseholdProfile(seed=i), start=clock.now()), clock=clock
        )
        for i, name in enumerate(names)
    }


# ---------------------------------------------------------------------------------- Modbus
class SimulatedModbusServer(SimulatedModbusDevices):
    """A pymodbus TCP server on loopback serving simulated meters, one unit id each.

    Registers are encoded with ``register_map`` from the meter's state at the clock's time on
    every request, so a client reads exactly what a real meter of that model would show.
    ``faults[unit]`` injects an exception code or a delay (seconds) for one unit.
    """

    def __init__(
        self,
        meters: dict[int, SimulatedMeter],
        register_map: RegisterMap,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not meters:
            raise ValueError("a simulated Modbus server needs at least one meter")
        super().__init__(host=host, port=port)
        self.meters = meters
        self.register_map = register_map
        self.clock = clock or SystemClock()
        self.overrides: dict[int, dict[str, float]] = {}

    def _values(self, unit: int) -> dict[str, float]:
        imp, exp, power = self.meters[unit].advance(self.clock.now())
        values = {"import_wh": imp, "export_wh": exp, "power_w": power}
        for name in self.register_map.fields:
            if name.startswith("voltage"):
                values[name] = 230.0
            elif name.startswith("frequency"):
                values[name] = 50.0
        values.update(self.overrides.get(unit, {}))
        return values

    async def _handle(self, unit: int, request: ModbusRequest) -> ExcCodes | None:
        """The meter's registers at the clock's time."""
        kind = "input" if request.function_code == 4 else "holding"
        start, registers = request.start_address, request.registers
        for (reg_kind, reg_address), word in self.register_map.encode(self._values(unit)).items():
            if reg_kind == kind and 0 <= reg_address - start < len(registers):
                registers[reg_address - start] = word
        return None

    def _log_started(self) -> None:
        logger.info(
            "simulated Modbus server on %s:%d (%d meters)", self.host, self.port, len(self.meters)
        )

    def _devices(self) -> list[SimDevice]:
        blocks = self.register_map.plan_reads()
        low = min(b.start for b in blocks)
        high = max(b.start + b.count for b in blocks)
        devices = []
        for unit in sorted(self.meters):
            data = SimData(address=low, count=high - low, values=0, datatype=DataType.REGISTERS)
            devices.append(SimDevice(id=unit, simdata=[data], action=self._action(unit)))
        return devices


# ---------------------------------------------------------------------------------- MQTT
def render_payload(fmt: str, imp_wh: float, exp_wh: float, power_w: float, t: float) -> bytes:
    """A payload as a Tasmota plug, a Shelly (EM1Data notification) or a plain JSON device."""
    if fmt == "tasmota":
        doc: dict[str, Any] = {
            "Time": _iso_utc(t),
            "ENERGY": {
                "Total": round(imp_wh / 1000, 5),
                "ExportActive": round(exp_wh / 1000, 5),
                "Power": round(power_w),
                "Voltage": 230,
            },
        }
    elif fmt == "shelly":
        doc = {
            "src": "shellyproem50-sim",
            "dst": "enerwise",
            "method": "NotifyStatus",
            "params": {
                "ts": t,
                "em1data:0": {
                    "id": 0,
                    "total_act_energy": round(imp_wh, 2),
                    "total_act_ret_energy": round(exp_wh, 2),
                },
                "em1:0": {"id": 0, "act_power": round(power_w, 1)},
            },
        }
    elif fmt == "json":
        doc = {"import_wh": imp_wh, "export_wh": exp_wh, "power_w": power_w, "ts": t}
    else:
        raise OracleConfigError(f"unknown payload format {fmt!r}")
    return json.dumps(doc).encode()


def _iso_utc(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(t), UTC).isoformat()


class SimulatedMqttPublisher:
    """Publishes simulated meters to a broker (QoS 1), one topic per meter."""

    def __init__(
        self,
        meters: dict[str, SimulatedMeter],
        fmt: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        clock: Clock | None = None,
        client_id: str = "enerwise-sim",
    ) -> None:
        self.meters = meters
        self.fmt = fmt
        self.clock = clock or SystemClock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.max_queued_messages_set(0)
        self.host = host
        self.port = port

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def publish_all(self, t: float) -> int:
        """Publish every meter's registers at ``t``; returns how many were handed to paho."""
        sent = 0
        for topic, meter in self.meters.items():
            imp, exp, power = meter.advance(t)
            info = self.client.publish(topic, render_payload(self.fmt, imp, exp, power, t), qos=1)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                sent += 1
        return sent

    async def run(self, boundaries: Callable[[float], float], offset: float = 0.0) -> None:
        """Publish at every boundary (+ ``offset``) forever: ``boundaries(now)`` gives the next."""
        while True:
            t = boundaries(self.clock.now())
            await self.clock.sleep_until(t + offset)
            self.publish_all(t)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
