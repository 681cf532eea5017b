"""Households of the demo that own real devices: a SunSpec battery on a Modbus TCP server, an
OCPP 2.0.1 charge point with a car plugged in, and an SG-Ready heat pump on Modbus coils
(``devices.simulation.SimulatedHousehold``, on loopback), driven by their agents.

For each such household (the first ``device_households`` agent households) the gateway's
control (:class:`gateway.execution.HouseholdControl` over a
:class:`devices.controller.DeviceController`, the same classes as ``enerwise agent run``) runs
three control cycles per slot: at the boundary (which closes the previous slot's plan-against-
actual books) and 5 and 10 minutes into the slot. The battery's command is the agent's slot
plan (``AgentRuntime``'s battery decision); the charger runs in the plan mode
(:class:`gateway.charging.ChargePlanner` on the agent's forecasts: the car, plugged in when the
day starts, wants ``CAR_TARGET_WH`` within ``CAR_HOURS``); the heat pump follows the gateway's
SG-Ready rule on the day's tariff and the surplus. A battery that does not carry out its plan
makes the agent redo the slot's orders on the battery's real power (``AgentRuntime.follow``).

The household's meter integrates the house (demand minus PV) plus what the devices really
moved in each slot (their plan-against-actual books, closed at the next slot's first cycle,
before the meter is read), so what the devices did is what the meter signs and the chain
mints.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents.tariffs import MICRO_EUR
from chain.local_node import free_port
from devices.battery.physics import BatteryNameplate
from devices.charger.modes import ChargeMode, ChargerLimits
from devices.charger.simulator import SimulatedChargePoint
from devices.controller import DeviceController, DevicePlan
from devices.factory import HouseholdDevices, build_devices
from devices.household import Household as HouseholdFile
from devices.household import PlanConfig
from devices.simulation import SimulatedHousehold
from energychain.calendar import SlotCalendar
from enerwise.demo.community import DayPlan, Household
from enerwise.demo.meters import PlanProfile
from gateway.charging import ChargePlanner
from gateway.execution import KINDS, HouseholdControl, SlotOutcome
from oracles.clock import VirtualClock

logger = logging.getLogger(__name__)

#: Control cycles per slot, as offsets from the slot's start (s).
CYCLE_OFFSETS = (0, 300, 600)
#: The car's wish: this much energy within this many hours of the day's start.
CAR_TARGET_WH = 10_000.0
CAR_HOURS = 1.5
#: The data's time axis (fixed UTC+1), in which the departure is given.
DATA_ZONE = "Etc/GMT-1"


@dataclass
class DeviceHome:
    """One household's simulated devices and the control that drives them."""

    member: Household
    sim: SimulatedHousehold
    devices: HouseholdDevices
    control: HouseholdControl
    point: SimulatedChargePoint | None = None
    planner: ChargePlanner | None = None
    outcomes: dict[int, SlotOutcome] = field(default_factory=dict)
    followed: int = 0


class DeviceHomes:
    """The demo's device households (see the module docstring)."""

    def __init__(
        self, plan: DayPlan, calendar: SlotCalendar, clock: VirtualClock, first_slot: int
    ) -> None:
        self.plan = plan
        self.calendar = calendar
        self.clock = clock
        self.first_slot = first_slot
        self.homes: list[DeviceHome] = []
        self.errors: list[str] = []

    async def start(self, members: list[Household], start: int, runtimes: dict[int, Any]) -> None:
        """Serve each member's devices on loopback and connect their control."""
        for member in members:
            self.homes.append(await self._start_home(member, start, runtimes))

    async def _start_home(
        self, member: Household, start: int, runtimes: dict[int, Any]
    ) -> DeviceHome:
        spec = member.spec.battery
        nameplate = (
            BatteryNameplate(
                capacity_wh=spec.capacity_kwh * 1000,
                max_charge_w=spec.power_kw * 1000,
                max_discharge_w=spec.power_kw * 1000,
                efficiency=spec.efficiency,
            )
            if spec is not None
            else BatteryNameplate()
        )
        base = PlanProfile(
            functools.partial(self._base_net_wh, member.index),
            start,
            self.calendar.slot_seconds,
            self.plan.slots,
        )
        sim = SimulatedHousehold(
            clock=self.clock,
            site=base,
            whole_house=True,
            nameplate=nameplate,
            soc_pct=100 * spec.initial_soc if spec is not None else 50.0,
        )
        await sim.start()
        data = sim.config(charger_port=free_port(), household=member.name)
        data["modes"] = {"agent": "auto", "charger": "minpv"}
        data["control"] = {"interval_seconds": 300, "watchdog": False}
        data["devices"]["battery"]["revert_seconds"] = 900
        household = HouseholdFile.model_validate(data)
        devices = build_devices(household, clock=self.clock)
        await devices.start()
        charger = household.devices.charger
        assert charger is not None
        control = HouseholdControl(
            DeviceController(devices.devices, limits=household.limits, clock=self.clock),
            calendar=self.calendar,
            charger_mode=ChargeMode.MINPV,  # without a forecaster (the plan mode needs one)
            charger_limits=ChargerLimits(charger.min_w, charger.max_w),
            revert_seconds=900,
        )
        home = DeviceHome(member, sim, devices, control)
        url = f"ws://127.0.0.1:{charger.listen.port}"
        home.point = await sim.connect_charger(url, charger.charge_point_id, timeout=30)
        await home.point.plug_in()
        runtime = runtimes.get(member.index)
        forecaster = runtime.decider.forecaster if runtime is not None else None
        if forecaster is not None:
            leave = datetime.fromtimestamp(start + CAR_HOURS * 3_600, ZoneInfo(DATA_ZONE))
            home.planner = ChargePlanner(
                PlanConfig(departure=leave.time(), target_wh=CAR_TARGET_WH),
                control.charger_limits,
                forecaster,
                time_zone=DATA_ZONE,
                slot_seconds=self.calendar.slot_seconds,
            )
        return home

    def _base_net_wh(self, index: int, k: int) -> int:
        """The house alone (demand minus PV, no battery) in replayed slot ``k`` (Wh)."""
        community, data = self.plan.community, self.plan.data_slot(k)
        net_kw = float(community.load_kw[index, data]) - float(community.pv_kw[index, data])
        return round(net_kw * 250.0)

    def net_wh(self, index: int, k: int) -> int:
        """Household ``index``'s net import in replayed slot ``k``: the house alone plus what
        its devices really moved (the slot's books: the battery's energy from its state of
        charge, the car's from the charger's register, the heat pump's from its power)."""
        home = next(h for h in self.homes if h.member.index == index)
        outcome = home.outcomes.get(self.first_slot + k)
        devices = sum(d.actual_wh for d in outcome.devices.values()) if outcome else 0.0
        return round(self._base_net_wh(index, k) + devices)

    def meter_profiles(self, start: int) -> dict[int, Any]:
        """What each device household's meter integrates (asked at the slot's end, once the
        slot's books are closed)."""
        return {
            home.member.index: PlanProfile(
                functools.partial(self.net_wh, home.member.index),
                start,
                self.calendar.slot_seconds,
                self.plan.slots,
            )
            for home in self.homes
        }

    async def cycle(self, now: float, runtimes: dict[int, Any]) -> None:
        """One control cycle of every device household at ``now``."""
        for home in self.homes:
            try:
                await self._cycle(home, now, runtimes.get(home.member.index))
            except Exception as exc:  # one household's devices never stop the market
                self.errors.append(f"{home.member.name}: devices: {exc}")
                logger.warning("devices of %s: %s", home.member.name, exc)

    async def _cycle(self, home: DeviceHome, now: float, runtime: Any) -> None:
        control, sim = home.control, home.sim
        if home.point is not None:
            await home.point.tick()
        slot = self.calendar.slot_of(int(now))
        plan = runtime.state.slot(slot) if runtime is not None else None
        car_w = home.point.power_w if home.point is not None else 0.0
        surplus = -sim.grid_profile().power_w(now) + car_w
        k = slot - self.first_slot
        day = [self.plan.retail(k + j) / MICRO_EUR for j in range(96)]  # the next 24 h
        charger = control.charger_command(surplus)
        if home.planner is not None:
            state = await home.devices.by_kind("charger").read()
            if home.planner.needs_replan(now, state):
                home.planner.replan(now, state)
            charger = home.planner.command(now, valid_seconds=control.profile_seconds)
        device_plan = DevicePlan(
            battery=control.battery_command(plan),
            charger=charger,
            heat_pump=control.heat_pump_command(day[0], day, surplus),
        )
        result = await control.control(now, plan, device_plan)
        if result.closed is not None:
            home.outcomes[result.closed.slot] = result.closed
        if result.follow_kw is not None and runtime is not None:
            home.followed += 1
            try:
                await asyncio.to_thread(runtime.follow, slot, result.follow_kw, int(now))
            except Exception as exc:  # the chain not answering: the devices go on
                self.errors.append(f"{home.member.name}: follow slot {slot}: {exc}")

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per device kind over every device household: count, plan against actual (the sum
        of |planned - actual| per slot, Wh), planned and actual Wh, refused writes."""
        out: dict[str, dict[str, float | int]] = {}
        totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for home in self.homes:
            for kind, row in home.control.summary().items():
                for key, value in row.items():
                    totals[kind][key] += float(value)
        for kind in KINDS:
            row = totals.get(kind, {})
            out[kind] = {
                "count": len(self.homes),
                "slots": int(row.get("slots", 0)),
                "plan_vs_actual_wh": round(row.get("plan_vs_actual_wh", 0.0), 1),
                "planned_wh": round(row.get("planned_wh", 0.0), 1),
                "actual_wh": round(row.get("actual_wh", 0.0), 1),
                "writes_refused": int(row.get("writes_refused", 0)),
            }
        return out

    def household(self, index: int) -> dict[str, Any] | None:
        """One household's devices: plan against actual per kind, re-plans."""
        home = next((h for h in self.homes if h.member.index == index), None)
        if home is None:
            return None
        return {"followed": home.followed, **home.control.summary()}

    async def close(self) -> None:
        """Safe defaults, then stop the devices and their simulators."""
        for home in self.homes:
            try:  # the slot begun at the last boundary lies after the day: not booked
                await home.control.controller.safe_defaults()
            finally:
                await home.devices.close()
                await home.sim.stop()
