"""A home battery's physics, independent of any protocol: state of charge, power and energy
limits, a control window that a protocol front-end sets, delays, ramps and reversion.

The battery's power (positive while charging) follows a *window* ``[low_w, high_w]``: its
natural power is the household's surplus (self-consumption: charge what PV exports, cover what
the house imports), clipped into the window. The default window is the battery's full range,
so with no control the battery runs self-consumption; ``[p, p]`` forces ``p``. Without grid
charging allowed, the battery never charges beyond the surplus. Power and energy limits apply
on top: never beyond the nameplate power, never above ``soc_max_pct`` or below the reserve.

A window written with ``revert_seconds > 0`` lasts that long unless written again; then the
default window returns (``reverts`` counts how often). Time is the clock's; integration runs in
fixed steps from the last time seen, so the result does not depend on how often it is read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from oracles.clock import Clock, SystemClock
from oracles.simulator import Profile


@dataclass(frozen=True, slots=True)
class BatteryNameplate:
    capacity_wh: float = 10_000.0
    max_charge_w: float = 5_000.0
    max_discharge_w: float = 5_000.0
    efficiency: float = 0.95
    """One way; a round trip keeps ``efficiency**2``."""
    soc_min_pct: float = 5.0
    soc_max_pct: float = 100.0
    voltage_v: float = 400.0


@dataclass(frozen=True, slots=True)
class Window:
    low_w: float
    high_w: float
    grid_charge: bool = False


class BatteryPhysics:
    """State of charge integrated under a control window (thread-safe)."""

    def __init__(
        self,
        nameplate: BatteryNameplate,
        site: Profile,
        *,
        clock: Clock | None = None,
        soc_pct: float = 50.0,
        step_seconds: float = 1.0,
    ) -> None:
        self.nameplate = nameplate
        self.site = site
        self.clock = clock or SystemClock()
        self.step_seconds = step_seconds
        self._lock = threading.RLock()
        self._t = self.clock.now()
        self._soc_wh = nameplate.capacity_wh * soc_pct / 100.0
        self._power_w = 0.0
        self._window = self.default_window
        self._pending: tuple[float, Window] | None = None
        self._written_at = self._t
        self._revert_seconds = 0.0
        self._ramp_w_per_s: float | None = None
        self.reserve_pct = nameplate.soc_min_pct
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self.reverts = 0

    @property
    def default_window(self) -> Window:
        return Window(-self.nameplate.max_discharge_w, self.nameplate.max_charge_w, False)

    # ------------------------------------------------------------------ control
    def set_window(
        self,
        window: Window,
        *,
        revert_seconds: float = 0.0,
        delay_seconds: float = 0.0,
        ramp_seconds: float = 0.0,
    ) -> None:
        """A new control from now on (after ``delay_seconds``); restarts the revert timer."""
        with self._lock:
            now = self.clock.now()
            self.advance(now)
            self._written_at = now
            self._revert_seconds = float(revert_seconds)
            if delay_seconds > 0:
                self._pending = (now + delay_seconds, window)
            else:
                self._pending = None
                self._window = window
            target = self._target(now, window)
            self._ramp_w_per_s = (
                max(abs(target - self._power_w), 1.0) / ramp_seconds if ramp_seconds > 0 else None
            )

    def revert_remaining(self) -> float:
        """Seconds until the control reverts (0 when no timer runs)."""
        with self._lock:
            if self._revert_seconds <= 0:
                return 0.0
            return max(0.0, self._written_at + self._revert_seconds - self.clock.now())

    # ------------------------------------------------------------------ state
    @property
    def soc_pct(self) -> float:
        with self._lock:
            return 100.0 * self._soc_wh / self.nameplate.capacity_wh

    @property
    def power_w(self) -> float:
        with self._lock:
            return self._power_w

    @property
    def window(self) -> Window:
        with self._lock:
            return self._window

    def set_soc(self, soc_pct: float) -> None:
        """Fault injection and tests: put the battery at ``soc_pct``."""
        with self._lock:
            self._soc_wh = self.nameplate.capacity_wh * soc_pct / 100.0

    # ------------------------------------------------------------------ integration
    def _target(self, t: float, window: Window) -> float:
        natural = -self.site.power_w(t)
        target = min(max(natural, window.low_w), window.high_w)
        if not window.grid_charge:
            target = min(target, max(natural, 0.0))
        return target

    def _limit(self, power: float, dt: float) -> float:
        plate = self.nameplate
        power = min(max(power, -plate.max_discharge_w), plate.max_charge_w)
        hours = dt / 3_600.0
        if power > 0:
            room = plate.capacity_wh * plate.soc_max_pct / 100.0 - self._soc_wh
            power = min(power, max(room, 0.0) / (plate.efficiency * hours))
        elif power < 0:
            floor = plate.capacity_wh * self.reserve_pct / 100.0
            power = max(power, -max(self._soc_wh - floor, 0.0) * plate.efficiency / hours)
        return power

    def advance(self, t: float) -> None:
        """Integrate up to ``t`` (no-op for a time already passed)."""
        with self._lock:
            while self._t < t:
                dt = min(self.step_seconds, t - self._t)
                if self._pending is not None and self._t >= self._pending[0]:
                    self._window = self._pending[1]
                    self._pending = None
                if self._revert_seconds > 0 and self._t >= self._written_at + self._revert_seconds:
                    self._window = self.default_window
                    self._pending = None
                    self._revert_seconds = 0.0
                    self._ramp_w_per_s = None
                    self.reverts += 1
                target = self._target(self._t, self._window)
                if self._ramp_w_per_s is not None:
                    most = self._ramp_w_per_s * dt
                    target = min(max(target, self._power_w - most), self._power_w + most)
                power = self._limit(target, dt)
                energy = power * dt / 3_600.0
                if power >= 0:
                    self._soc_wh += energy * self.nameplate.efficiency
                    self.charged_wh += energy
                else:
                    self._soc_wh += energy / self.nameplate.efficiency
                    self.discharged_wh -= energy
                self._power_w = power
                self._t += dt
