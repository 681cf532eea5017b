"""Running a household's devices: the control loop with its watchdog.

:func:`run_devices` starts the watchdog (:mod:`devices.watchdog`), starts the charger's central
system, then cycles: read every device, apply the plan within the limits, read back, report; a
``beat`` to the watchdog after each cycle. On the way out (end of cycles, Ctrl-C, an error) it
returns every device to its safe default and tells the watchdog to stand down.

A plan file (JSON) holds what each device should do::

    {"battery": {"mode": "charge", "power_w": 2000},
     "charger": {"limit_w": 7000},
     "heat_pump": {"state": 3}}

A device the plan leaves out follows the household's modes: the charger's mode (``now``: its
maximum, ``minpv``: its minimum, ``pv``: nothing until the meters tell a surplus), the battery
and heat pump nothing (left as they are).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.charger.modes import ChargeMode, ChargerLimits, mode_power
from devices.controller import CycleReport, DeviceController, DevicePlan
from devices.errors import DeviceConfigError, DeviceError
from devices.events import DeviceEvent
from devices.factory import build_devices
from devices.household import Household
from devices.interface import (
    BatteryCommand,
    BatteryMode,
    ChargerCommand,
    HeatPumpCommand,
    SgReadyState,
)
from devices.watchdog import spawn_watchdog

logger = logging.getLogger(__name__)


def plan_from_json(data: Any, household: Household) -> DevicePlan:
    """A :class:`DevicePlan` from a plan document (see the module docstring)."""
    if not isinstance(data, dict):
        raise DeviceConfigError("a plan must be a JSON object")
    unknown = set(data) - {"battery", "charger", "heat_pump"}
    if unknown:
        raise DeviceConfigError(f"plan: unknown device {sorted(unknown)[0]!r}")
    try:
        battery = heat_pump = None
        if "battery" in data:
            entry = data["battery"]
            revert = household.devices.battery.revert_seconds if household.devices.battery else 60
            battery = BatteryCommand(
                BatteryMode(entry["mode"]), float(entry.get("power_w", 0.0)), revert_seconds=revert
            )
        if "heat_pump" in data:
            heat_pump = HeatPumpCommand(SgReadyState(int(data["heat_pump"]["state"])))
        charger_config = household.devices.charger
        charger = None
        if charger_config is not None:
            limits = ChargerLimits(charger_config.min_w, charger_config.max_w)
            if "charger" in data:
                limit = float(data["charger"]["limit_w"])
            else:
                mode = household.modes.charger
                limit = 0.0 if mode == ChargeMode.PLAN else mode_power(mode, 0.0, limits)
            charger = ChargerCommand(limit, valid_seconds=charger_config.profile_seconds)
    except (KeyError, TypeError, ValueError) as exc:
        raise DeviceConfigError(f"plan: {exc.__class__.__name__}: {exc}") from None
    return DevicePlan(battery=battery, charger=charger, heat_pump=heat_pump)


def load_plan(path: Path, household: Household) -> DevicePlan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeviceConfigError(f"plan file {path} cannot be read: {exc}") from None
    return plan_from_json(data, household)


@dataclass
class RunSummary:
    cycles: int = 0
    cycle_seconds: list[float] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)


async def run_devices(
    household: Household,
    plan: DevicePlan,
    *,
    config_path: Path | None,
    cycles: int | None = None,
    interval: float | None = None,
    watchdog: bool | None = None,
    on_report: Callable[[CycleReport], None] | None = None,
) -> RunSummary:
    """The control loop (see the module docstring); stops after ``cycles`` (None: never)."""
    interval = household.control.interval_seconds if interval is None else interval
    use_watchdog = household.control.watchdog if watchdog is None else watchdog
    guard: subprocess.Popen[bytes] | None = None
    if use_watchdog:
        if config_path is None:
            raise DeviceConfigError("the watchdog needs the household file's path")
        guard = spawn_watchdog(config_path, timeout=max(30.0, 3 * interval))
    summary = RunSummary()
    devices = build_devices(household)
    controller = DeviceController(devices.devices, limits=household.limits)
    controller.mode = household.modes.agent
    try:
        await devices.start()
        while cycles is None or summary.cycles < cycles:
            report = await controller.cycle(plan)
            summary.cycles += 1
            summary.cycle_seconds.append(report.seconds)
            summary.events += report.events
            if on_report is not None:
                on_report(report)
            if guard is not None and guard.stdin is not None:
                guard.stdin.write(b"beat\n")
                guard.stdin.flush()
            if cycles is None or summary.cycles < cycles:
                await asyncio.sleep(interval)
    finally:
        try:
            summary.events += await controller.safe_defaults()
        except DeviceError as exc:  # pragma: no cover - safe_defaults reports per device
            logger.error("safe defaults: %s", exc)
        await devices.close()
        if guard is not None and guard.stdin is not None:
            guard.stdin.write(b"stop\n")
            guard.stdin.close()
            guard.wait(10)
    return summary
