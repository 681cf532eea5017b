"""Figures of the grid agent: power flows per second, a day of limits, violations with and
without them (``enerwise grid bench``).

``run()`` draws real-data communities (:mod:`grid.households`), places them on the network,
then for every slot of the day:

1. computes the limits on the forecast (timed: this is the work before each gate closure);
2. checks the *naive* schedule: every household's actual net energy with no limit;
3. checks the schedule *with limits*: each community's actual exchange clipped into its
   published limits along its path (:meth:`~grid.operator.GridOperator.schedule_within`), and
   the same on the forecast the limits were computed on.

Violations are counted as element-slots (a line above 100 % in 3 slots counts 3) and as slots
with at least one. Raw power-flow speed is measured separately for both engines on the day's
actual net energies.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from agents.data.calendar import SLOTS_PER_DAY
from grid.catalogue import build_network
from grid.check import ScheduleReport
from grid.households import Forecast
from grid.limits import SlotLimits
from grid.operator import WH_PER_KW, FloatArray, GridOperator
from grid.powerflow import Engine, make_engine
from grid.scenario import build_scenario


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def check_schedule(
    operator: GridOperator, slot: int, actual_wh: FloatArray, limits: SlotLimits
) -> tuple[ScheduleReport, ScheduleReport, FloatArray]:
    """A slot's actual schedule checked by power flows: ``(without, with, schedule within)``.

    *Without limits* every household exchanges what its meter says (``actual_wh``); *with
    limits* each community's exchange is clipped into its published limits along its path
    (:meth:`~grid.operator.GridOperator.schedule_within`), which is the third item. A report's
    ``violations`` are element-slots (a line above its bound counts once per slot).
    """
    naive = operator.check(slot, actual_wh)
    within = operator.schedule_within(actual_wh, limits)
    return naive, operator.check(slot, within, limits), within


def run(
    network: str = "cigre-mv-kerber",
    communities: int = 10,
    households: int = 100,
    day: str = "2018-06-21",
    *,
    slots: int = SLOTS_PER_DAY,
    forecast: Forecast | str = Forecast.NAIVE,
    share_pv: float = 0.5,
    share_battery: float = 0.25,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the day and return the figures (see the module docstring)."""
    scenario = build_scenario(
        network,
        communities,
        households,
        day,
        slots=slots,
        forecast=forecast,
        share_pv=share_pv,
        share_battery=share_battery,
        seed=seed,
    )
    operator, placed, data, start = (
        scenario.operator,
        scenario.households,
        scenario.data,
        scenario.start,
    )
    grid = operator.network
    speeds = {}
    for engine, count in ((Engine.LIGHTSIM, 2000), (Engine.PANDAPOWER, 100)):
        flow = make_engine(build_network(network), engine)
        loads = [placed.bus_p_mw(data.actual_wh[:, j % slots] / WH_PER_KW) for j in range(count)]
        flow.solve(loads[0])
        began = time.perf_counter()
        for p in loads:
            flow.solve(p)
        speeds[engine.value] = _rate(count, time.perf_counter() - began)

    limits_s = 0.0
    power_flows = []
    events: Counter[str] = Counter()
    counts = Counter[str]()
    curtailed_wh = 0.0
    for j in range(slots):
        slot = start + j
        began = time.perf_counter()
        slot_limits = operator.limits(slot, data.forecast_wh[:, j])
        limits_s += time.perf_counter() - began
        power_flows.append(slot_limits.power_flows)
        events.update(type(e).__name__ for e in slot_limits.events)
        kept = any(type(e).__name__ == "LimitsKept" for e in slot_limits.events)
        naive, limited, limited_schedule = check_schedule(
            operator, slot, data.actual_wh[:, j], slot_limits
        )
        on_forecast = operator.check(
            slot, operator.schedule_within(data.forecast_wh[:, j], slot_limits), slot_limits
        )
        curtailed_wh += float(np.abs(limited_schedule - data.actual_wh[:, j]).sum())
        for name, report in (
            ("naive", naive),
            ("limits", limited),
            ("limits_on_forecast", on_forecast),
        ):
            counts[f"violations_{name}"] += len(report.violations)
            counts[f"slots_with_violations_{name}"] += int(bool(report.violations))
            counts[f"diverged_{name}"] += int(not report.converged)
        if not kept:
            counts["violations_limits_published_slots"] += len(limited.violations)
    return {
        "network": network,
        "buses": grid.n_buses,
        "lines": len(grid.net.line),
        "connections": len(grid.load_buses),
        "communities": communities,
        "households": len(placed),
        "day": day,
        "slots": slots,
        "forecast": str(forecast),
        "share_pv": share_pv,
        "share_battery": share_battery,
        "network_build_s": round(scenario.build_s, 2),
        "data_s": round(scenario.data_s, 1),
        "power_flows_per_s_lightsim": speeds["lightsim"],
        "power_flows_per_s_pandapower": speeds["pandapower"],
        "limits_day_s": round(limits_s, 2),
        "limits_slot_ms_mean": round(1000 * limits_s / slots, 1),
        "power_flows_day": int(sum(power_flows)),
        "power_flows_slot_max": int(max(power_flows)),
        **dict(sorted(counts.items())),
        "curtailed_kwh": round(curtailed_wh / 1000.0, 1),
        "events": dict(sorted(events.items())),
    }
