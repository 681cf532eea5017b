"""Charging modes as EVCC users know them, and the plan mode on prices and forecasts.

- ``now``: as fast as the charger allows;
- ``minpv``: at least the minimum power (6 A), more when PV exports more;
- ``pv``: only PV surplus, nothing while it is below the minimum (an EV does not charge below
  6 A);
- ``plan``: a departure time and a target energy; the energy goes into the cheapest slots before
  departure, a slot's price being the import price where the grid supplies it and the export
  price (what the PV would have earned) where the forecast surplus covers it.

``surplus_w`` is what the house would export without the car (PV minus load, minus the
battery's charging), as the meters see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from devices.errors import DeviceConfigError


class ChargeMode(StrEnum):
    NOW = "now"
    MINPV = "minpv"
    PV = "pv"
    PLAN = "plan"


@dataclass(frozen=True, slots=True)
class ChargerLimits:
    min_w: float = 4_140.0
    """6 A on three phases."""
    max_w: float = 11_000.0

    def __post_init__(self) -> None:
        if not 0 < self.min_w <= self.max_w:
            raise DeviceConfigError(
                f"charger limits: need 0 < min_w <= max_w, got {self.min_w} and {self.max_w}"
            )


def mode_power(mode: ChargeMode, surplus_w: float, limits: ChargerLimits) -> float:
    """The charging power of the ``now``, ``minpv`` and ``pv`` modes for a surplus."""
    if mode == ChargeMode.NOW:
        return limits.max_w
    if mode == ChargeMode.MINPV:
        return min(max(surplus_w, limits.min_w), limits.max_w)
    if mode == ChargeMode.PV:
        return min(surplus_w, limits.max_w) if surplus_w >= limits.min_w else 0.0
    raise DeviceConfigError("the plan mode needs plan_schedule(), not mode_power()")


@dataclass(frozen=True, slots=True)
class SlotForecast:
    """One slot ahead: its start (unix s), length, prices (EUR/kWh) and PV surplus (W)."""

    start: float
    seconds: float
    import_eur_kwh: float
    export_eur_kwh: float
    surplus_w: float = 0.0


def plan_schedule(
    slots: Sequence[SlotForecast],
    *,
    departure: float,
    target_wh: float,
    limits: ChargerLimits,
) -> list[float]:
    """Power per slot (W) that delivers ``target_wh`` before ``departure`` at the least cost.

    Slots are filled cheapest first at full power, the last one partly (never below the
    minimum power: a slot that would get less is filled to the minimum or left out). When the
    slots before departure cannot hold the target, every one of them charges at full power.
    """
    if target_wh < 0:
        raise DeviceConfigError(f"plan: target energy must be >= 0 Wh, got {target_wh}")
    usable = [i for i, s in enumerate(slots) if s.start + s.seconds <= departure]
    power = [0.0] * len(slots)

    def price(slot: SlotForecast, watts: float) -> float:
        own = min(max(slot.surplus_w, 0.0), watts)
        grid = watts - own
        return (own * slot.export_eur_kwh + grid * slot.import_eur_kwh) / max(watts, 1.0)

    remaining = target_wh
    for i in sorted(usable, key=lambda i: (price(slots[i], limits.max_w), slots[i].start)):
        if remaining <= 0:
            break
        hours = slots[i].seconds / 3_600.0
        watts = min(limits.max_w, remaining / hours)
        if watts < limits.min_w:
            watts = limits.min_w
        power[i] = watts
        remaining -= watts * hours
    return power
