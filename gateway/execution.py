"""The agent's plan carried out on the devices, and what they really did, slot by slot.

:class:`HouseholdControl` turns the plan of the running slot into device commands (the
battery's power from the agent's slot plan, the charger's power from its mode with the live PV
surplus, the heat pump's SG-Ready state from the tariff and the surplus), runs one control cycle
(read, write within the limits, read back: :class:`~devices.controller.DeviceController`) and
books plan against actual per device and slot (:class:`SlotOutcome`).

When the battery does not carry out its plan (a ``deviation``, ``refused``, ``mismatch``,
``limited``, ``offline`` or ``out_of_range`` event) the control reports the power the battery
will really run at over the slot (:attr:`ControlResult.follow_kw`: the energy it already moved
plus its present power for the rest of the slot), so the runtime redoes the slot's plan and its
orders on it (:meth:`agents.live.runtime.AgentRuntime.follow`).

Energies: the battery's from its state of charge (stored energy, at the terminals through the
one-way efficiency), the charger's from its energy register, the heat pump's from its power
integrated between cycles (trapezoids). A slot's planned energy: the battery's planned power,
the charger's limit while a transaction runs, the heat pump's power read back after the write.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agents.live.state import SlotPlan
from devices.charger.modes import ChargeMode, ChargerLimits, mode_power
from devices.controller import CycleReport, DeviceController, DevicePlan
from devices.interface import (
    BatteryCommand,
    BatteryMode,
    BatteryState,
    ChargerCommand,
    ChargerState,
    HeatPumpCommand,
    HeatPumpState,
    SgReadyState,
)
from energychain.calendar import SlotCalendar

logger = logging.getLogger(__name__)

#: Events after which the battery's plan is redone on its real state.
FOLLOW_EVENTS = frozenset(
    {"deviation", "refused", "mismatch", "limited", "offline", "out_of_range"}
)
#: A planned battery power below this counts as none (kW).
IDLE_KW = 0.05
#: PV surplus from which the heat pump is asked to boost (W).
BOOST_SURPLUS_W = 1_500.0
#: The day's cheapest quarter of prices must lie this far below its dearest quarter for the
#: heat pump to be boosted or locked on price: a boost heats the house above its set-point and
#: loses more heat, which only a real spread pays for (``enerwise bench week``: with a dynamic
#: tariff in summer, boosting on small spreads cost 1.7 EUR a week; with this rule the agent
#: saved on every one of six weeks of 2018, docs/devices.md).
PRICE_SPREAD_MIN = 0.10
KINDS = ("battery", "charger", "heat_pump")


@dataclass
class DeviceSlot:
    """One device over one slot: what the plan expected and what the device did (Wh)."""

    planned_wh: float = 0.0
    actual_wh: float = 0.0
    refused: int = 0
    events: list[str] = field(default_factory=list)


@dataclass
class SlotOutcome:
    """Plan against actual of every device over one slot."""

    slot: int
    start: float
    devices: dict[str, DeviceSlot] = field(default_factory=dict)
    followed: int = 0

    def line(self) -> dict[str, Any]:
        """One JSON line of the log."""
        return {
            "slot": self.slot,
            "followed": self.followed,
            **{
                kind: {
                    "planned_wh": round(d.planned_wh, 1),
                    "actual_wh": round(d.actual_wh, 1),
                    "refused": d.refused,
                    "events": d.events,
                }
                for kind, d in self.devices.items()
            },
        }


@dataclass
class ControlResult:
    report: CycleReport
    follow_kw: float | None = None
    """The battery power (kW, charging positive) to redo the slot's plan on, when it deviates."""
    closed: SlotOutcome | None = None
    """The previous slot's books, ended by this cycle's reads (a new slot began)."""


@dataclass
class DeviceTotals:
    """Per device kind over a run: slots, the sum of |planned - actual| and refused writes."""

    slots: int = 0
    plan_vs_actual_wh: float = 0.0
    planned_wh: float = 0.0
    actual_wh: float = 0.0
    writes_refused: int = 0

    def add(self, d: DeviceSlot) -> None:
        self.slots += 1
        self.plan_vs_actual_wh += abs(d.planned_wh - d.actual_wh)
        self.planned_wh += d.planned_wh
        self.actual_wh += d.actual_wh
        self.writes_refused += d.refused


@dataclass
class _Readings:
    """What the slot's first and latest cycles read (the energies are differences)."""

    soc_pct: float | None = None
    charger_wh: float | None = None
    heat_pump_w: float | None = None
    heat_pump_t: float | None = None


class HouseholdControl:
    """Carries out the running slot's plan on the devices (see the module docstring).

    Args:
        controller: the household's device controller.
        calendar: the market's slots (:meth:`use_calendar` sets the chain's once known).
        charger_mode: the charger's mode (``plan``: the gateway's :class:`ChargePlanner`).
        charger_limits: its minimum and maximum power.
        efficiency: the battery's one-way efficiency (energy at the terminals from the stored).
        revert_seconds: the battery commands' revert timeout.
        profile_seconds: how long a charging profile holds.
    """

    def __init__(
        self,
        controller: DeviceController,
        *,
        calendar: SlotCalendar | None = None,
        charger_mode: ChargeMode = ChargeMode.MINPV,
        charger_limits: ChargerLimits | None = None,
        efficiency: float = 0.95,
        revert_seconds: int = 60,
        profile_seconds: int = 900,
    ) -> None:
        self.controller = controller
        self.calendar = calendar or SlotCalendar(epoch=0, slot_seconds=900)
        self.slot_seconds = self.calendar.slot_seconds
        self.charger_mode = charger_mode
        self.charger_limits = charger_limits or ChargerLimits()
        self.efficiency = efficiency
        self.revert_seconds = revert_seconds
        self.profile_seconds = profile_seconds
        self.outcome: SlotOutcome | None = None
        self.totals: dict[str, DeviceTotals] = {k: DeviceTotals() for k in KINDS}
        self.counters: Counter[str] = Counter()
        self._first = _Readings()
        self._last = _Readings()
        self._capacity_wh: float | None = None

    # ------------------------------------------------------------------ commands
    def battery_command(self, plan: SlotPlan | None) -> BatteryCommand | None:
        """The battery's command for a slot plan (None: no plan, leave the battery to its own
        rule)."""
        if plan is None:
            return BatteryCommand(BatteryMode.SELF_CONSUMPTION, revert_seconds=self.revert_seconds)
        if abs(plan.decision.battery) < 1e-9:
            return BatteryCommand(BatteryMode.SELF_CONSUMPTION, revert_seconds=self.revert_seconds)
        kw = plan.battery_kw
        if abs(kw) < IDLE_KW:
            return BatteryCommand(BatteryMode.HOLD, revert_seconds=self.revert_seconds)
        mode = BatteryMode.CHARGE if kw > 0 else BatteryMode.DISCHARGE
        return BatteryCommand(mode, abs(kw) * 1000.0, revert_seconds=self.revert_seconds)

    def charger_command(self, surplus_w: float) -> ChargerCommand:
        """The charger's limit in the ``now``, ``minpv`` and ``pv`` modes for the live surplus
        (the plan mode is :class:`gateway.charging.ChargePlanner`'s)."""
        if self.charger_mode == ChargeMode.PLAN:
            return ChargerCommand(0.0, valid_seconds=self.profile_seconds)
        power = mode_power(self.charger_mode, surplus_w, self.charger_limits)
        return ChargerCommand(power, valid_seconds=self.profile_seconds)

    @staticmethod
    def heat_pump_command(
        import_eur_kwh: float, day_prices: list[float], surplus_w: float
    ) -> HeatPumpCommand:
        """Boost on a PV surplus or in the cheapest quarter of the day's prices, lock in the
        dearest quarter, else normal (the comfort limits still decide). Prices count only when
        the cheapest quarter lies ``PRICE_SPREAD_MIN`` below the dearest."""
        if surplus_w >= BOOST_SURPLUS_W:
            return HeatPumpCommand(SgReadyState.BOOST)
        ordered = sorted(day_prices)
        if len(ordered) >= 4 and ordered[0] < ordered[-1]:
            low, high = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
            if low > (1.0 - PRICE_SPREAD_MIN) * high:
                return HeatPumpCommand(SgReadyState.NORMAL)
            if import_eur_kwh <= low:
                return HeatPumpCommand(SgReadyState.BOOST)
            if import_eur_kwh >= high:
                return HeatPumpCommand(SgReadyState.LOCKED)
        return HeatPumpCommand(SgReadyState.NORMAL)

    # ------------------------------------------------------------------ the cycle
    def use_calendar(self, calendar: SlotCalendar) -> None:
        """The chain's slots (before the first cycle)."""
        self.calendar = calendar
        self.slot_seconds = calendar.slot_seconds

    def _slot_of(self, now: float) -> int:
        return self.calendar.slot_of(int(now))

    async def control(
        self, now: float, plan: SlotPlan | None, device_plan: DevicePlan
    ) -> ControlResult:
        """One control cycle for the running slot; books it and says whether to follow.

        The cycle's reads (before its writes) end the previous slot's books when a new slot
        has begun (:attr:`ControlResult.closed`).
        """
        slot = self._slot_of(now)
        report = await self.controller.cycle(device_plan)
        result = ControlResult(report)
        if self.outcome is not None and self.outcome.slot != slot:
            for dev in report.devices:
                self._observe(dev.kind, dev.before, now, None)
            result.closed = self.close_slot()
        if self.outcome is None:
            self.outcome = SlotOutcome(slot, self.calendar.start(slot))
            self._first = _Readings()
        outcome = self.outcome
        follow = False
        for dev in report.devices:
            book = outcome.devices.setdefault(dev.kind, DeviceSlot())
            for event in dev.events:
                self.counters[f"{dev.kind}:{event.kind}"] += 1
                book.events.append(event.kind)
                if event.kind == "refused":
                    book.refused += 1
                if dev.kind == "battery" and event.kind in FOLLOW_EVENTS:
                    follow = True
            self._start(dev.kind, dev.before, now, plan, book)
            self._observe(dev.kind, dev.after if dev.after is not None else dev.before, now, book)
        if follow and plan is not None:
            result.follow_kw = self._battery_kw_over_slot(now, report)
            if result.follow_kw is not None:
                outcome.followed += 1
        return result

    def _start(
        self, kind: str, state: Any, now: float, plan: SlotPlan | None, book: DeviceSlot
    ) -> None:
        """The slot's first reading of a device (read before the write) and its plan."""
        first, hours = self._first, self.slot_seconds / 3_600.0
        if isinstance(state, BatteryState) and first.soc_pct is None:
            self._capacity_wh = state.capacity_wh
            first.soc_pct = self._last.soc_pct = state.soc_pct
            book.planned_wh = (plan.battery_kw if plan is not None else 0.0) * 1000 * hours
        elif isinstance(state, ChargerState) and first.charger_wh is None:
            first.charger_wh = state.energy_wh
        elif isinstance(state, HeatPumpState) and first.heat_pump_w is None:
            first.heat_pump_w = -1.0  # started: the planned energy comes with the read-back
            if state.power_w is not None:
                self._last.heat_pump_w, self._last.heat_pump_t = state.power_w, now

    def _observe(self, kind: str, state: Any, now: float, book: DeviceSlot | None) -> None:
        """A later reading of a device: its energy so far (``book`` None: the next slot's
        first reading, which ends the running one)."""
        book = (
            book if book is not None else (self.outcome.devices.get(kind) if self.outcome else None)
        )
        if book is None:
            return
        first, last, hours = self._first, self._last, self.slot_seconds / 3_600.0
        if isinstance(state, BatteryState):
            last.soc_pct = state.soc_pct
        elif isinstance(state, ChargerState):
            if book.planned_wh == 0.0 and state.transaction_id is not None and state.limit_w:
                book.planned_wh = state.limit_w * hours
            if first.charger_wh is not None:
                book.actual_wh = max(state.energy_wh - first.charger_wh, 0.0)
        elif isinstance(state, HeatPumpState) and state.power_w is not None:
            if first.heat_pump_w == -1.0:
                first.heat_pump_w = state.power_w
                book.planned_wh = state.power_w * hours
            if last.heat_pump_t is not None and last.heat_pump_w is not None:
                dt_h = max(now - last.heat_pump_t, 0.0) / 3_600.0
                book.actual_wh += (last.heat_pump_w + state.power_w) / 2 * dt_h
            last.heat_pump_w, last.heat_pump_t = state.power_w, now

    def _battery_kw_over_slot(self, now: float, report: CycleReport) -> float | None:
        """Energy moved so far plus the present power for the rest of the slot, as kW."""
        battery = next((d for d in report.devices if d.kind == "battery"), None)
        state = None if battery is None else (battery.after or battery.before)
        if not isinstance(state, BatteryState):
            return 0.0 if battery is not None else None  # offline: it follows its own rule
        start = self.calendar.start(self._slot_of(now))
        elapsed = min(max(now - start, 0.0), self.slot_seconds)
        done_wh = self._stored_to_terminal(
            (state.soc_pct - (self._first.soc_pct or state.soc_pct)) / 100 * state.capacity_wh
        )
        rest_wh = state.power_w * (self.slot_seconds - elapsed) / 3_600.0
        return (done_wh + rest_wh) / (self.slot_seconds / 3_600.0) / 1000.0

    def _stored_to_terminal(self, stored_wh: float) -> float:
        return stored_wh / self.efficiency if stored_wh >= 0 else stored_wh * self.efficiency

    def close_slot(self) -> SlotOutcome | None:
        """End the running slot's books (at its boundary, after a last cycle)."""
        outcome = self.outcome
        if outcome is None:
            return None
        battery = outcome.devices.get("battery")
        if battery is not None and self._first.soc_pct is not None and self._capacity_wh:
            stored = (self._last.soc_pct or 0.0) - self._first.soc_pct
            battery.actual_wh = self._stored_to_terminal(stored / 100 * self._capacity_wh)
        for kind, book in outcome.devices.items():
            if math.isfinite(book.actual_wh):
                self.totals[kind].add(book)
        self.outcome = None
        self._first = _Readings()
        self._last = _Readings(
            heat_pump_w=self._last.heat_pump_w, heat_pump_t=self._last.heat_pump_t
        )
        logger.info("slot %d plan vs actual: %s", outcome.slot, outcome.line())
        return outcome

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per kind: slots, plan_vs_actual_wh, planned/actual Wh, writes_refused."""
        return {
            kind: {
                "slots": t.slots,
                "plan_vs_actual_wh": round(t.plan_vs_actual_wh, 1),
                "planned_wh": round(t.planned_wh, 1),
                "actual_wh": round(t.actual_wh, 1),
                "writes_refused": t.writes_refused,
            }
            for kind, t in self.totals.items()
            if t.slots
        }
