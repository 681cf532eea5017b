"""What a slot was for the household, from its meters and devices: the agent's history.

The grid meter measures the whole house; the battery and the car are the agent's to plan, so
they are taken out: ``base = grid import - grid export - battery (charging) - car``. With a PV
meter, PV is its export and demand ``base + PV``; without one only the net is known, and a
slot's demand is ``max(base, 0)``, its PV ``max(-base, 0)`` (the agent plans on ``PV - demand``
either way). The heat pump stays in the demand: its SG-Ready state only nudges it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Registers:
    """A meter's import and export registers (Wh) at a boundary."""

    import_wh: float
    export_wh: float


def delta(before: Registers, after: Registers) -> tuple[float, float]:
    """``(imported, exported)`` Wh between two readings (never negative)."""
    return max(after.import_wh - before.import_wh, 0.0), max(
        after.export_wh - before.export_wh, 0.0
    )


def slot_demand_and_pv(
    grid: tuple[float, float],
    battery_wh: float,
    car_wh: float,
    pv_exported_wh: float | None = None,
) -> tuple[float, float]:
    """``(demand Wh, PV Wh)`` of a slot (see the module docstring)."""
    imported, exported = grid
    base = imported - exported - battery_wh - car_wh
    if pv_exported_wh is not None:
        pv = max(pv_exported_wh, 0.0)
        return max(base + pv, 0.0), pv
    return max(base, 0.0), max(-base, 0.0)
