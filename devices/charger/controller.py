"""An EV charger as a :class:`~devices.interface.Device`: the central system's view of one
charge point, with limits sent as charging profiles and read back from the composite schedule."""

from __future__ import annotations

from devices.charger.csms import CentralSystem
from devices.errors import DeviceOfflineError, ReadBackMismatchError
from devices.interface import ChargerCommand, ChargerState, DeviceKind

#: A limit read back within this many W of the one sent counts as the same (chargers round).
TOLERANCE_W = 1.0


class OcppCharger:
    """One charge point behind :class:`~devices.charger.csms.CentralSystem`."""

    kind: DeviceKind = "charger"

    def __init__(self, name: str, csms: CentralSystem, charge_point_id: str) -> None:
        self.name = name
        self.csms = csms
        self.charge_point_id = charge_point_id

    async def connect(self) -> None:
        record = self.csms.stations.get(self.charge_point_id)
        if record is None or not record.connected:
            raise DeviceOfflineError(
                f"charger {self.name}: charge point {self.charge_point_id} has not connected to "
                f"{self.csms.url}"
            )

    def _record_state(self, limit: float | None) -> ChargerState:
        record = self.csms.stations.get(self.charge_point_id)
        if record is None or not record.connected:
            raise DeviceOfflineError(f"charger {self.name}: not connected")
        return ChargerState(
            connected=True,
            status=record.status,
            transaction_id=record.transaction_id,
            energy_wh=record.energy_wh,
            power_w=record.power_w,
            limit_w=limit,
        )

    async def read(self) -> ChargerState:
        limit = await self.csms.composite_limit(self.charge_point_id)
        return self._record_state(limit)

    async def apply(self, command: ChargerCommand) -> ChargerState:
        periods = [(0, max(0.0, command.limit_w))]
        periods += [(start, max(0.0, w)) for start, w in command.schedule if start > 0]
        await self.csms.set_limit(self.charge_point_id, periods, command.valid_seconds)
        state = await self.read()
        if state.limit_w is None or abs(state.limit_w - periods[0][1]) > TOLERANCE_W:
            raise ReadBackMismatchError(
                f"charger {self.name}: limit {periods[0][1]:g} W sent, the charger reports "
                f"{state.limit_w} W",
                point="limit_w",
                wanted=periods[0][1],
                got=float("nan") if state.limit_w is None else state.limit_w,
            )
        return state

    async def safe_default(self) -> None:
        """Remove our profile: the charger follows its own default again."""
        await self.csms.clear_profiles(self.charge_point_id)

    async def close(self) -> None:
        return None
