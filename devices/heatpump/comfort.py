"""The comfort limits a user sets for the heat pump, and the state the agent may choose in them.

The agent asks for an SG-Ready state (lock to shift load away, boost or force to use cheap or
own energy); the user's limits decide what it gets:

- never below ``min_state`` nor above ``max_state`` (e.g. ``min_state: 2`` forbids the lock);
- indoor temperature below ``indoor_min_c``: no lock (at least state 2);
- indoor temperature above ``indoor_max_c``: no boost (at most state 2);
- a lock lasts at most ``max_lock_minutes`` in a row (utility locks are limited the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.errors import DeviceConfigError
from devices.interface import SgReadyState


@dataclass(frozen=True, slots=True)
class ComfortLimits:
    min_state: SgReadyState = SgReadyState.LOCKED
    max_state: SgReadyState = SgReadyState.FORCED
    indoor_min_c: float = 19.5
    indoor_max_c: float = 23.5
    max_lock_minutes: float = 120.0

    def __post_init__(self) -> None:
        if self.min_state > self.max_state:
            raise DeviceConfigError(
                f"comfort: min_state {int(self.min_state)} is above max_state {int(self.max_state)}"
            )
        if self.indoor_min_c >= self.indoor_max_c:
            raise DeviceConfigError(
                f"comfort: indoor_min_c {self.indoor_min_c} must be below indoor_max_c "
                f"{self.indoor_max_c}"
            )

    def allowed(
        self, wanted: SgReadyState, indoor_c: float | None, locked_minutes: float = 0.0
    ) -> SgReadyState:
        """The state closest to ``wanted`` that the limits allow."""
        state = min(max(wanted, self.min_state), self.max_state)
        if state == SgReadyState.LOCKED and (
            (indoor_c is not None and indoor_c < self.indoor_min_c)
            or locked_minutes >= self.max_lock_minutes
        ):
            state = SgReadyState.NORMAL
        if state >= SgReadyState.BOOST and indoor_c is not None and indoor_c > self.indoor_max_c:
            state = SgReadyState.NORMAL
        return SgReadyState(min(max(state, self.min_state), self.max_state))
