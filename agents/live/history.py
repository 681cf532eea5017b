"""Forecasts from the household's own history: what its meters and devices saw, slot by slot.

A gateway records, for every ended slot, the household's demand and PV output in Wh
(:meth:`SlotHistory.add`; the grid meter's net energy with the controlled devices taken out,
see :mod:`gateway.observations`). :class:`HistoryForecaster` forecasts from that record, hour
by hour over :data:`~agents.forecasting.base.HORIZON` hours: the mean of the same hour on the
last ``days`` days that the record holds (a seasonal naive forecast over a week), the last
recorded hour where no such day exists yet, zero with no record at all. Prices come from the
household's tariff (a callable: fixed, time of use, day-ahead file or API).

The record is one small JSON file, written atomically, trimmed to ``keep_days``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agents.errors import ConfigError
from agents.forecasting.base import HORIZON
from agents.json_files import write_atomically
from agents.live.forecasts import SlotForecast

HOUR = 3_600
DAY = 86_400

Prices = Callable[[float], tuple[float, float]]
"""``prices(t) -> (import EUR/kWh, export EUR/kWh)`` in force at unix time ``t``."""


class SlotHistory:
    """Demand and PV per ended slot (Wh), by the slot's start (see the module docstring)."""

    def __init__(self, path: Path | None, *, slot_seconds: int = 900, keep_days: int = 28) -> None:
        if slot_seconds <= 0 or HOUR % slot_seconds:
            raise ConfigError(f"slot length {slot_seconds} s does not divide an hour")
        self.path = path
        self.slot_seconds = slot_seconds
        self.keep_days = keep_days
        self.slots: dict[int, tuple[float, float]] = {}
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
            self.slots = {int(k): (float(v[0]), float(v[1])) for k, v in data["slots"].items()}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ConfigError(f"history file {path} is damaged: {exc!r}") from None

    def add(self, start: int, load_wh: float, pv_wh: float) -> None:
        """Record slot ``start``'s demand and PV (negative or non-finite values are refused)."""
        for name, value in (("load", load_wh), ("pv", pv_wh)):
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"slot {start}: {name} {value} Wh is not a measurement")
        self.slots[int(start)] = (float(load_wh), float(pv_wh))
        oldest = int(start) - self.keep_days * DAY
        for old in [s for s in self.slots if s < oldest]:
            del self.slots[old]
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        slots = {str(k): list(v) for k, v in self.slots.items()}
        write_atomically(self.path, {"slots": slots}, indent=None)

    def hour_kw(self, hour_start: int) -> tuple[float, float] | None:
        """Mean ``(load kW, PV kW)`` of the hour starting at ``hour_start`` (None: no slot of it
        recorded)."""
        found = [
            self.slots[s]
            for s in range(hour_start, hour_start + HOUR, self.slot_seconds)
            if s in self.slots
        ]
        if not found:
            return None
        hours = len(found) * self.slot_seconds / HOUR
        return sum(f[0] for f in found) / 1000 / hours, sum(f[1] for f in found) / 1000 / hours

    def slot_pv_kw(self, start: int) -> float | None:
        """Mean PV output (kW) of the slot starting at ``start`` (None: not recorded)."""
        found = self.slots.get(int(start))
        return None if found is None else found[1] / 1000 / (self.slot_seconds / HOUR)

    def last_hour_kw(self, before: int) -> tuple[float, float] | None:
        """The most recent recorded hour starting before ``before``."""
        earlier = [s for s in self.slots if s < before]
        if not earlier:
            return None
        latest = max(earlier)
        return self.hour_kw(latest - latest % HOUR)


class HistoryForecaster:
    """Seasonal naive forecasts from a :class:`SlotHistory`, prices from the tariff."""

    def __init__(self, history: SlotHistory, prices: Prices, *, days: int = 7) -> None:
        if days < 1:
            raise ConfigError(f"forecast days must be >= 1, got {days}")
        self.history = history
        self.prices = prices
        self.days = days

    def _hour(self, hour_start: int, now: int) -> tuple[float, float]:
        same_hours = [self.history.hour_kw(hour_start - d * DAY) for d in range(1, self.days + 1)]
        seen = [v for v in same_hours if v is not None]
        if seen:
            return sum(v[0] for v in seen) / len(seen), sum(v[1] for v in seen) / len(seen)
        return self.history.last_hour_kw(now) or (0.0, 0.0)

    def actual_pv_kw(self, slot_start: int) -> float | None:
        """The recorded PV output of a past slot (None: not recorded)."""
        return self.history.slot_pv_kw(slot_start)

    def forecast(self, slot_start: int) -> SlotForecast:
        first = slot_start - slot_start % HOUR
        load, pv, retail, feed_in = (np.zeros(HORIZON) for _ in range(4))
        for h in range(HORIZON):
            hour = first + h * HOUR
            load[h], pv[h] = self._hour(hour, slot_start)
            retail[h], feed_in[h] = self.prices(max(hour, slot_start))
        return SlotForecast(load_kw=load, pv_kw=pv, retail=retail, feed_in=feed_in)
