"""A heat pump and a house as a first-order thermal model, driven by the SG-Ready state.

Indoor temperature ``T`` follows ``C dT/dt = Q - UA (T - T_out)``. The heat pump's thermal power
``Q`` per state: 1 (locked) none; 2 (normal) a proportional controller towards ``setpoint_c``;
3 (boost) the same towards ``setpoint_c + boost_k``; 4 (forced) the maximum. It draws ``Q/COP``.
Integration runs in fixed steps on the clock's time, like the battery's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from devices.interface import SgReadyState
from oracles.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class HouseThermal:
    outdoor_c: float = 2.0
    ua_w_per_k: float = 200.0
    capacity_wh_per_k: float = 8_000.0
    setpoint_c: float = 21.0
    boost_k: float = 2.0
    gain_w_per_k: float = 3_000.0
    max_thermal_w: float = 9_000.0
    cop: float = 3.5


class HeatPumpPhysics:
    """Indoor temperature and electrical power under an SG-Ready state (thread-safe)."""

    def __init__(
        self,
        house: HouseThermal | None = None,
        *,
        clock: Clock | None = None,
        indoor_c: float = 21.0,
        step_seconds: float = 10.0,
    ) -> None:
        self.house = house or HouseThermal()
        self.clock = clock or SystemClock()
        self.step_seconds = step_seconds
        self.state = SgReadyState.NORMAL
        self._t = self.clock.now()
        self._indoor_c = indoor_c
        self._power_w = 0.0
        self.energy_wh = 0.0
        self._lock = threading.Lock()

    def _thermal_w(self) -> float:
        house = self.house
        if self.state == SgReadyState.LOCKED:
            return 0.0
        if self.state == SgReadyState.FORCED:
            return house.max_thermal_w
        target = house.setpoint_c + (house.boost_k if self.state == SgReadyState.BOOST else 0.0)
        need = house.ua_w_per_k * (target - house.outdoor_c)
        need += house.gain_w_per_k * (target - self._indoor_c)
        return min(max(need, 0.0), house.max_thermal_w)

    def advance(self, t: float) -> None:
        with self._lock:
            house = self.house
            while self._t < t:
                dt = min(self.step_seconds, t - self._t)
                thermal = self._thermal_w()
                loss = house.ua_w_per_k * (self._indoor_c - house.outdoor_c)
                self._indoor_c += (thermal - loss) * dt / 3_600.0 / house.capacity_wh_per_k
                self._power_w = thermal / house.cop
                self.energy_wh += self._power_w * dt / 3_600.0
                self._t += dt

    def set_state(self, state: SgReadyState) -> None:
        self.advance(self.clock.now())
        with self._lock:
            self.state = state

    @property
    def indoor_c(self) -> float:
        self.advance(self.clock.now())
        return self._indoor_c

    @property
    def power_w(self) -> float:
        self.advance(self.clock.now())
        return self._power_w

    @property
    def power_now_w(self) -> float:
        """The power as last integrated (no advance: a caller that advanced to its own time)."""
        return self._power_w
