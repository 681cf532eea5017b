"""The typed interface between a controller (the device controller, later the agent runtime)
and the household's devices: what a device reports, what it is told, what can go wrong.

Every device is read, told a command, read back, and returned to its safe default::

    state = await device.read()              # BatteryState | ChargerState | HeatPumpState
    state = await device.apply(command)      # writes, then reads back (raises on a refusal)
    await device.safe_default()              # self-consumption / charger default / SG-Ready 2

Power signs follow the device: a battery's ``power_w`` is positive while charging, a charger's
and a heat pump's are what they draw. Energies are Wh, temperatures °C.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Literal, Protocol, TypeVar, runtime_checkable

DeviceKind = Literal["battery", "charger", "heat_pump"]


# ------------------------------------------------------------------------------- battery
class BatteryMode(StrEnum):
    """What a battery is told to do.

    ``self_consumption``: the device's own rule (charge the PV surplus, cover the deficit);
    ``hold``: neither charge nor discharge; ``charge``/``discharge``: at ``power_w`` (the
    device's power and energy limits still apply).
    """

    SELF_CONSUMPTION = "self_consumption"
    HOLD = "hold"
    CHARGE = "charge"
    DISCHARGE = "discharge"


@dataclass(frozen=True, slots=True)
class BatteryCommand:
    mode: BatteryMode
    power_w: float = 0.0
    revert_seconds: int = 60
    """The device returns to self-consumption when no command comes for this long."""


@dataclass(frozen=True, slots=True)
class BatteryState:
    soc_pct: float
    power_w: float
    """Positive while charging, negative while discharging."""
    mode: BatteryMode
    setpoint_w: float
    """The commanded power (charge positive); 0 in self-consumption and hold."""
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    revert_seconds: int
    power_estimated: bool = False
    """True when the device has no power register and ``power_w`` follows from the state of
    charge's change (after losses, so a little below the power at the terminals)."""


# ------------------------------------------------------------------------------- charger
@dataclass(frozen=True, slots=True)
class ChargerCommand:
    """A charging limit: ``limit_w`` now, or a schedule of ``(seconds from now, W)``."""

    limit_w: float
    schedule: tuple[tuple[int, float], ...] = ()
    valid_seconds: int = 900
    """The profile expires after this long: the charger falls back to its own default."""


@dataclass(frozen=True, slots=True)
class ChargerState:
    connected: bool
    status: str
    """The connector's status as the charger reports it (Available, Occupied, Charging, ...)."""
    transaction_id: str | None
    energy_wh: float
    """The energy register of the running transaction (0 without one)."""
    power_w: float
    limit_w: float | None
    """The limit the charger reports in force (composite schedule), None without a profile."""


# ------------------------------------------------------------------------------- heat pump
class SgReadyState(IntEnum):
    """SG-Ready operating states (Bundesverband Wärmepumpe): relays (1, 2) per state."""

    LOCKED = 1  # relays 1:0, utility lock (off)
    NORMAL = 2  # relays 0:0, normal operation
    BOOST = 3  # relays 0:1, switch-on recommended (raise set-points)
    FORCED = 4  # relays 1:1, switch-on command (maximum)

    @property
    def relays(self) -> tuple[bool, bool]:
        return _RELAYS[self]

    @classmethod
    def from_relays(cls, relay1: bool, relay2: bool) -> SgReadyState:
        for state, relays in _RELAYS.items():
            if relays == (relay1, relay2):
                return state
        raise AssertionError("unreachable: four states cover two relays")


_RELAYS = {
    SgReadyState.LOCKED: (True, False),
    SgReadyState.NORMAL: (False, False),
    SgReadyState.BOOST: (False, True),
    SgReadyState.FORCED: (True, True),
}


@dataclass(frozen=True, slots=True)
class HeatPumpCommand:
    state: SgReadyState


@dataclass(frozen=True, slots=True)
class HeatPumpState:
    state: SgReadyState
    indoor_c: float | None
    power_w: float | None


DeviceState = BatteryState | ChargerState | HeatPumpState
DeviceCommand = BatteryCommand | ChargerCommand | HeatPumpCommand

S = TypeVar("S", bound=DeviceState, covariant=True)
C = TypeVar("C", bound=DeviceCommand, contravariant=True)


@runtime_checkable
class Device(Protocol[S, C]):
    """A household device behind its protocol (Modbus/SunSpec, OCPP, SG-Ready)."""

    name: str
    kind: DeviceKind

    async def connect(self) -> None: ...

    async def read(self) -> S: ...

    async def apply(self, command: C) -> S:
        """Write ``command``, read it back; raises WriteRefusedError/ReadBackMismatchError."""
        ...

    async def safe_default(self) -> None: ...

    async def close(self) -> None: ...
