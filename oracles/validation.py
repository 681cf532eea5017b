"""What makes a sample signable: checks against the meter's last signed reading.

The registry re-checks most of this on chain; checking here first keeps bad data out of the
outbox (nothing is signed that would be rejected) and turns each case into a log line and a
counter. The order is: sample age, device clock, register values, time order, registers not
decreasing (a decrease puts the meter on hold: a replaced or reset meter needs an operator and
is never minted silently), plausibility against the meter's capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from energychain.meter_reading import UINT64_MAX
from oracles.errors import (
    ClockSkewError,
    DuplicateReadingError,
    ImplausibleDeltaError,
    RegisterDecreasedError,
    RegisterValueError,
    StaleSampleError,
)
from oracles.sources.base import Sample, wh


@dataclass(frozen=True)
class ValidationSettings:
    """Limits of :func:`validate_sample`.

    ``max_sample_age``: how far (s) the sample's time may lie from the boundary;
    ``max_device_skew``: how far a device's own clock may differ from the oracle's;
    ``max_register_wh``: larger registers are absurd (default 10^12 Wh = 1 TWh).
    """

    max_sample_age: float = 60.0
    max_device_skew: float = 120.0
    max_register_wh: int = 10**12


@dataclass(frozen=True)
class LastReading:
    """The meter's last signed reading (what the next one is checked against)."""

    seq: int
    timestamp: int
    import_wh: int
    export_wh: int


def check_register(name: str, value: float, limit: int) -> int:
    """``value`` in whole Wh if finite, not negative and not absurd."""
    if math.isnan(value) or math.isinf(value):
        raise RegisterValueError(f"{name} is {value}")
    if value < 0:
        raise RegisterValueError(f"{name} is negative ({value:g} Wh)")
    whole = wh(value)
    if whole > min(limit, UINT64_MAX):
        raise RegisterValueError(f"{name} is absurd ({value:g} Wh > {limit} Wh)")
    return whole


def validate_sample(
    sample: Sample,
    boundary: int,
    last: LastReading | None,
    *,
    slot_seconds: int,
    capacity_wh_per_slot: int | None,
    settings: ValidationSettings,
) -> tuple[int, int]:
    """The registers ``(import_wh, export_wh)`` to sign for ``boundary``.

    Raises a :class:`~oracles.errors.ReadingInvalidError` subclass naming the problem.
    """
    age = abs(sample.taken_at - boundary)
    if age > settings.max_sample_age:
        raise StaleSampleError(
            f"sample taken {sample.taken_at - boundary:+.0f} s from the boundary "
            f"(limit {settings.max_sample_age:.0f} s)"
        )
    if sample.device_time is not None:
        skew = sample.device_time - sample.taken_at
        if abs(skew) > settings.max_device_skew:
            raise ClockSkewError(
                f"device clock is {skew:+.0f} s off (limit {settings.max_device_skew:.0f} s)"
            )
    import_wh = check_register("import register", sample.import_wh, settings.max_register_wh)
    export_wh = check_register("export register", sample.export_wh, settings.max_register_wh)
    if last is None:
        return import_wh, export_wh
    if boundary <= last.timestamp:
        raise DuplicateReadingError(
            f"boundary {boundary} is not after the last signed reading ({last.timestamp})"
        )
    if import_wh < last.import_wh or export_wh < last.export_wh:
        raise RegisterDecreasedError(
            f"register went backwards: import {last.import_wh} -> {import_wh} Wh, "
            f"export {last.export_wh} -> {export_wh} Wh (meter replaced or reset?)"
        )
    if capacity_wh_per_slot is not None:
        slots = (boundary - last.timestamp) // slot_seconds
        limit = capacity_wh_per_slot * max(slots, 1)
        for name, delta in (
            ("import", import_wh - last.import_wh),
            ("export", export_wh - last.export_wh),
        ):
            if delta > limit:
                raise ImplausibleDeltaError(
                    f"{name} grew by {delta} Wh in {slots} slot(s), more than the capacity "
                    f"allows ({limit} Wh)"
                )
    return import_wh, export_wh
