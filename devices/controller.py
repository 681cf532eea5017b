"""The device controller: per control cycle, read every device, apply its command within the
household's limits, read back, and report what happened as typed events.

    controller = DeviceController(devices, limits=household.limits)
    report = await controller.cycle(DevicePlan(battery=BatteryCommand(BatteryMode.CHARGE, 2000)))
    report.events        # offline / refused / mismatch / out_of_range / deviation / limited

A device that fails never stops the others. Planned against actual: the battery's measured
power is compared with the power it was told one cycle earlier (unless a limit explains the
gap), the charger's with its limit. :meth:`DeviceController.safe_defaults` returns every device
to its safe default (battery self-consumption, charger default, heat pump SG-Ready 2).

The agent's mode (Home Assistant's select) shapes the plan: ``auto`` follows it, ``hold`` holds
the battery and keeps the heat pump in normal operation, ``self_consumption`` leaves the
battery to its own rule and the heat pump in normal operation. The charger follows its own
mode in all three.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from devices.battery.controller import ESTIMATE_SECONDS
from devices.errors import (
    DeviceError,
    DeviceOfflineError,
    DeviceValueError,
    ReadBackMismatchError,
    WriteRefusedError,
)
from devices.events import DeviceEvent, EventKind
from devices.factory import AnyDevice
from devices.heatpump.comfort import ComfortLimits
from devices.household import AgentMode, LimitsConfig
from devices.interface import (
    BatteryCommand,
    BatteryMode,
    BatteryState,
    ChargerCommand,
    ChargerState,
    DeviceCommand,
    DeviceState,
    HeatPumpCommand,
    HeatPumpState,
    SgReadyState,
)
from oracles.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

#: A charger's power is compared with its limit once the limit has held this long (chargers
#: send meter values about once a minute, so the power seen may predate the limit).
METER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """What each device should do until the next cycle (None: leave it as it is)."""

    battery: BatteryCommand | None = None
    charger: ChargerCommand | None = None
    heat_pump: HeatPumpCommand | None = None

    def for_kind(self, kind: str) -> DeviceCommand | None:
        command: DeviceCommand | None = getattr(self, kind)
        return command


@dataclass
class DeviceReport:
    name: str
    kind: str
    before: DeviceState | None = None
    command: DeviceCommand | None = None
    after: DeviceState | None = None
    events: list[DeviceEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.after is not None


@dataclass
class CycleReport:
    started: float
    seconds: float
    devices: list[DeviceReport]

    @property
    def events(self) -> list[DeviceEvent]:
        return [e for d in self.devices for e in d.events]


def comfort_from(limits: LimitsConfig) -> ComfortLimits:
    c = limits.comfort
    return ComfortLimits(
        min_state=SgReadyState(c.min_state),
        max_state=SgReadyState(c.max_state),
        indoor_min_c=c.indoor_min_c,
        indoor_max_c=c.indoor_max_c,
        max_lock_minutes=c.max_lock_minutes,
    )


class DeviceController:
    """Drives a household's devices, one cycle at a time (see the module docstring)."""

    def __init__(
        self,
        devices: Sequence[AnyDevice],
        *,
        limits: LimitsConfig | None = None,
        clock: Clock | None = None,
        deviation_tolerance_w: float = 250.0,
    ) -> None:
        self.devices = list(devices)
        self.limits = limits or LimitsConfig()
        self.comfort = comfort_from(self.limits)
        self.clock = clock or SystemClock()
        self.deviation_tolerance_w = deviation_tolerance_w
        self.mode = AgentMode.AUTO
        self.counters: Counter[str] = Counter()
        self._told: dict[str, DeviceCommand] = {}
        self._told_since: dict[str, float] = {}
        self._locked_since: float | None = None

    # ------------------------------------------------------------------ events
    def _event(
        self, report: DeviceReport, kind: EventKind, message: str, code: int | str | None = None
    ) -> None:
        event = DeviceEvent(kind, report.name, message, self.clock.now(), code)
        report.events.append(event)
        self.counters[kind] += 1
        log = logger.info if kind == "limited" else logger.warning
        log("%s", event.line())

    def _failure(self, report: DeviceReport, exc: DeviceError) -> None:
        if isinstance(exc, DeviceOfflineError):
            self._event(report, "offline", str(exc))
        elif isinstance(exc, WriteRefusedError):
            self._event(report, "refused", str(exc), exc.code)
        elif isinstance(exc, ReadBackMismatchError):
            self._event(report, "mismatch", str(exc))
        elif isinstance(exc, DeviceValueError):
            self._event(report, "out_of_range", str(exc))
        else:
            self._event(report, "refused", str(exc))

    # ------------------------------------------------------------------ plans and limits
    def _shaped(self, plan: DevicePlan) -> DevicePlan:
        if self.mode == AgentMode.HOLD:
            return replace(
                plan,
                battery=BatteryCommand(BatteryMode.HOLD),
                heat_pump=HeatPumpCommand(SgReadyState.NORMAL),
            )
        if self.mode == AgentMode.SELF_CONSUMPTION:
            return replace(
                plan,
                battery=BatteryCommand(BatteryMode.SELF_CONSUMPTION),
                heat_pump=HeatPumpCommand(SgReadyState.NORMAL),
            )
        return plan

    def _battery_command(
        self, report: DeviceReport, command: BatteryCommand, state: BatteryState
    ) -> BatteryCommand:
        limits = self.limits
        if command.mode == BatteryMode.DISCHARGE and state.soc_pct <= limits.battery_soc_min_pct:
            self._event(report, "limited", f"SoC {state.soc_pct:.1f} % at its minimum: hold")
            return replace(command, mode=BatteryMode.HOLD, power_w=0.0)
        if command.mode == BatteryMode.CHARGE and state.soc_pct >= limits.battery_soc_max_pct:
            self._event(report, "limited", f"SoC {state.soc_pct:.1f} % at its maximum: hold")
            return replace(command, mode=BatteryMode.HOLD, power_w=0.0)
        cap = (
            limits.battery_max_charge_w
            if command.mode == BatteryMode.CHARGE
            else limits.battery_max_discharge_w
        )
        device_cap = (
            state.max_charge_w if command.mode == BatteryMode.CHARGE else state.max_discharge_w
        )
        most = min(c for c in (cap, device_cap) if c is not None)
        if command.power_w > most:
            self._event(report, "limited", f"{command.power_w:.0f} W above {most:.0f} W")
            return replace(command, power_w=most)
        return command

    def _heat_pump_command(
        self, report: DeviceReport, command: HeatPumpCommand, state: HeatPumpState
    ) -> HeatPumpCommand:
        now = self.clock.now()
        if state.state == SgReadyState.LOCKED:
            self._locked_since = self._locked_since or now
        else:
            self._locked_since = None
        locked_minutes = (now - self._locked_since) / 60.0 if self._locked_since else 0.0
        allowed = self.comfort.allowed(command.state, state.indoor_c, locked_minutes)
        if allowed != command.state:
            self._event(
                report,
                "limited",
                f"SG-Ready {int(command.state)} -> {int(allowed)} (indoor {state.indoor_c} °C)",
            )
        return HeatPumpCommand(allowed)

    def _deviation(self, report: DeviceReport, state: DeviceState) -> None:
        told = self._told.get(report.name)
        tolerance = self.deviation_tolerance_w
        if isinstance(state, BatteryState) and isinstance(told, BatteryCommand):
            wanted = {
                BatteryMode.CHARGE: told.power_w,
                BatteryMode.DISCHARGE: -told.power_w,
                BatteryMode.HOLD: 0.0,
            }.get(told.mode)
            at_limit = (
                state.soc_pct <= self.limits.battery_soc_min_pct + 0.5
                or state.soc_pct >= self.limits.battery_soc_max_pct - 0.5
            )
            if state.power_estimated:  # from the state of charge: after losses, lagging
                if self.clock.now() - self._told_since.get(report.name, 0.0) < ESTIMATE_SECONDS:
                    return  # the estimate still covers the previous command
                tolerance = max(tolerance, 0.2 * abs(wanted or 0.0))
            if wanted is not None and not at_limit and abs(state.power_w - wanted) > tolerance:
                self._event(
                    report,
                    "deviation",
                    f"told {wanted:.0f} W, measured {state.power_w:.0f} W",
                )
        if (
            isinstance(state, ChargerState)
            and isinstance(told, ChargerCommand)
            and self.clock.now() - self._told_since.get(report.name, 0.0) >= METER_SECONDS
            and state.power_w > told.limit_w + tolerance
        ):
            message = f"limit {told.limit_w:.0f} W, drawing {state.power_w:.0f} W"
            self._event(report, "deviation", message)

    # ------------------------------------------------------------------ the cycle
    async def _one(self, device: AnyDevice, command: DeviceCommand | None) -> DeviceReport:
        report = DeviceReport(device.name, device.kind)
        try:
            state = await device.read()
            report.before = state
            self._deviation(report, state)
            if command is None:
                report.after = state
                return report
            if isinstance(command, BatteryCommand) and isinstance(state, BatteryState):
                command = self._battery_command(report, command, state)
            elif isinstance(command, HeatPumpCommand) and isinstance(state, HeatPumpState):
                command = self._heat_pump_command(report, command, state)
            report.command = command
            report.after = await device.apply(command)  # type: ignore[arg-type]
            if self._told.get(device.name) != command:
                self._told_since[device.name] = self.clock.now()
            self._told[device.name] = command
        except DeviceError as exc:
            self._failure(report, exc)
        return report

    async def cycle(self, plan: DevicePlan) -> CycleReport:
        """Read, apply and read back every device once."""
        started = self.clock.now()
        began = time.perf_counter()
        plan = self._shaped(plan)
        reports = [await self._one(d, plan.for_kind(d.kind)) for d in self.devices]
        return CycleReport(started, time.perf_counter() - began, reports)

    async def safe_defaults(self) -> list[DeviceEvent]:
        """Every device to its safe default; an event per device that did or did not go."""
        events: list[DeviceEvent] = []
        for device in self.devices:
            report = DeviceReport(device.name, device.kind)
            try:
                await device.safe_default()
                self._event(report, "safe_default", "returned to its safe default")
            except DeviceError as exc:
                self._event(report, "safe_default", f"could not return to its safe default: {exc}")
            events += report.events
        self._told.clear()
        return events
