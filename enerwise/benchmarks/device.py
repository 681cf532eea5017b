"""Device control: the latency of a control cycle and what the controller process costs.

``run(hours=1.0, interval=10.0, speed=60.0)``:

1. a child process serves a simulated household (SunSpec battery and SG-Ready heat pump on
   pymodbus servers, an OCPP 2.0.1 charge point with an EV plugged in) on a clock that runs
   ``speed`` times faster than the wall clock, so the battery's charge and the EV's energy move
   as they would over the simulated hour;
2. this process is the controller: it builds the devices from the household file, starts the
   central system, and every ``interval`` simulated seconds runs one control cycle: plan (the
   15-minute slot's battery set-point and heat pump state, the charger's plan-mode schedule on
   the slot prices), then read every device, write, read back.

Figures: ``cycle_p99_ms`` (and p50, max) of the cycle, ``rss_mb`` the controller process's peak
resident memory, ``cpu_pct`` the CPU time the controller process used over the run as a share of
the simulated time it stands for (the CPU an hour of real operation would take, one core = 100).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

from chain.local_node import free_port
from devices.charger.modes import ChargerLimits, SlotForecast, plan_schedule
from devices.controller import DeviceController, DevicePlan
from devices.factory import build_devices
from devices.household import Household
from devices.interface import (
    BatteryCommand,
    BatteryMode,
    ChargerCommand,
    HeatPumpCommand,
    SgReadyState,
)
from devices.simulation import ScaledClock

SLOT_SECONDS = 900
#: one slot's battery set-point and heat pump state, repeating every four slots
_SLOT_PLANS = [
    (BatteryCommand(BatteryMode.CHARGE, 3_000), SgReadyState.BOOST),
    (BatteryCommand(BatteryMode.HOLD), SgReadyState.NORMAL),
    (BatteryCommand(BatteryMode.DISCHARGE, 2_000), SgReadyState.LOCKED),
    (BatteryCommand(BatteryMode.SELF_CONSUMPTION), SgReadyState.NORMAL),
]
_PRICES = [0.31, 0.24, 0.35, 0.28, 0.22, 0.33, 0.27, 0.30]  # EUR/kWh per slot, repeating


def _serve_devices(conn: Connection, speed: float, origin: tuple[float, float]) -> None:
    """The child process: the simulated household until the parent says stop."""
    from devices.simulation import SimulatedHousehold

    async def main() -> None:
        clock = ScaledClock(speed, origin)
        sim = SimulatedHousehold(clock=clock)
        await sim.start()
        conn.send({"battery": sim.battery_server.port, "heat_pump": sim.heat_pump_server.port})
        url = conn.recv()
        point = await sim.connect_charger(url)
        await point.plug_in()
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while not await loop.run_in_executor(None, conn.poll, 60.0 / speed):
            await point.tick()  # meter values every simulated minute
        conn.recv()
        await sim.stop()

    asyncio.run(main())


def _plan(t: float, start: float, limits: ChargerLimits) -> DevicePlan:
    slot = int((t - start) // SLOT_SECONDS)
    battery, heat_pump = _SLOT_PLANS[slot % len(_SLOT_PLANS)]
    slot_start = start + slot * SLOT_SECONDS
    slots = [
        SlotForecast(slot_start + i * SLOT_SECONDS, SLOT_SECONDS, _PRICES[(slot + i) % 8], 0.08)
        for i in range(8)
    ]
    power = plan_schedule(
        slots, departure=slot_start + 8 * SLOT_SECONDS, target_wh=6_000, limits=limits
    )
    schedule = tuple((i * SLOT_SECONDS, p) for i, p in enumerate(power) if i > 0)
    return DevicePlan(
        battery=BatteryCommand(battery.mode, battery.power_w, revert_seconds=60),
        charger=ChargerCommand(power[0], schedule=schedule, valid_seconds=2 * SLOT_SECONDS),
        heat_pump=HeatPumpCommand(heat_pump),
    )


async def _control(
    ports: dict[str, int], conn: Connection, hours: float, interval: float, clock: ScaledClock
) -> dict[str, Any]:
    charger_port = free_port()
    household = Household.model_validate(
        {
            "household": "bench",
            "devices": {
                "battery": {"kind": "sunspec", "host": "127.0.0.1", "port": ports["battery"],
                            "capacity_wh": 10_000, "revert_seconds": 60},
                "charger": {"kind": "ocpp", "charge_point_id": "wallbox-1",
                            "listen": {"host": "127.0.0.1", "port": charger_port}},
                "heat_pump": {"kind": "sgready-modbus", "host": "127.0.0.1",
                              "port": ports["heat_pump"]},
            },
            "limits": {"comfort": {"indoor_min_c": 15, "indoor_max_c": 27}},
        }
    )  # fmt: skip
    devices = build_devices(household, clock=clock)
    await devices.start()
    assert devices.csms is not None
    conn.send(devices.csms.url)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "ready"
    controller = DeviceController(devices.devices, limits=household.limits, clock=clock)
    limits = ChargerLimits()
    cycles = round(hours * 3_600 / interval)
    seconds: list[float] = []
    start = clock.now()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        for n in range(cycles):
            await clock.sleep_until(start + n * interval)
            began = time.perf_counter()
            report = await controller.cycle(_plan(clock.now(), start, limits))
            seconds.append(time.perf_counter() - began)
            if any(e.kind in ("offline", "refused", "mismatch") for e in report.events):
                raise RuntimeError(f"bench cycle {n} failed: {report.events[0].line()}")
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await controller.safe_defaults()
        await devices.close()
    ordered = sorted(seconds)
    simulated = cycles * interval
    return {
        "cycle_p99_ms": round(1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "cycle_p50_ms": round(1e3 * statistics.median(ordered), 2),
        "cycle_max_ms": round(1e3 * ordered[-1], 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_pct": round(100 * cpu / simulated, 3),
        "cpu_seconds": round(cpu, 2),
        "cycles": cycles,
        "interval_s": interval,
        "simulated_s": simulated,
        "wall_s": round(wall, 1),
        "speed": clock.speed,
        "events": dict(controller.counters),
    }


def run(hours: float = 1.0, interval: float = 10.0, speed: float = 60.0) -> dict[str, Any]:
    clock = ScaledClock(speed)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve_devices, args=(child, speed, clock.origin), daemon=True)
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the simulated devices did not start")
        ports = parent.recv()
        figures = asyncio.run(_control(ports, parent, hours, interval, clock))
        parent.send("stop")
        server.join(20)
        return figures
    finally:
        if server.is_alive():
            server.terminate()
            server.join(5)
