"""A simulated charge point (the ``ocpp`` package's charge point side) with an EV plugged in.

It connects to a central system over websockets (OCPP 2.0.1 or 1.6J), boots, reports its
connector, authorises an id token when the EV is plugged in, starts and ends transactions,
sends meter values (energy register in Wh, power in W) on every :meth:`tick`, and obeys
``SetChargingProfile``: its power is the active profile's limit (its own ``default_w`` when no
profile is valid, e.g. after the profile's ``validTo``), at most the EV's and its own maximum,
and 0 below the minimum current an EV accepts (6 A). ``reject_profiles`` makes it answer
``Rejected``, ``follow_profiles = False`` accepts profiles and charges at its default anyway;
:meth:`drop` closes the connection mid-transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.client import ClientConnection, connect

from devices.charger.protocol import ENERGY, POWER, handles, iso, parse_iso, read_periods
from devices.errors import DeviceOfflineError
from oracles.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

MIN_CURRENT_A = 6.0
VOLTS = 230.0


@dataclass
class SimulatedEv:
    capacity_wh: float = 60_000.0
    soc_pct: float = 30.0
    max_w: float = 11_000.0


@dataclass
class _Profile:
    periods: list[tuple[int, float]]
    start: float
    valid_to: float | None


class _Handlers:
    """The charge point's answers to the central system, shared by both versions."""

    sim: SimulatedChargePoint

    def _accept_profile(self, profile: dict[str, Any], schedule: dict[str, Any]) -> str:
        """Take a charging profile (and its schedule) unless told to reject it or it is off."""
        sim = self.sim
        periods = read_periods(schedule)
        unit = schedule["charging_rate_unit"]
        if sim.reject_profiles or unit not in ("W", "A") or any(limit < 0 for _, limit in periods):
            return "Rejected"
        factor = VOLTS * sim.phases if unit == "A" else 1.0
        start, valid_to = schedule.get("start_schedule"), profile.get("valid_to")
        sim.profile = _Profile(
            [(s, limit * factor) for s, limit in periods],
            parse_iso(start) if start else sim.clock.now(),
            parse_iso(valid_to) if valid_to else None,
        )
        sim.profile_count += 1
        return "Accepted"

    def _composite_schedule(self, now: float) -> dict[str, Any]:
        """The schedule in force, as both versions report it: one period, the limit now."""
        return {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": self.sim.limit_w(now)}],
        }


class _ChargePoint201(_Handlers, ChargePoint201):  # type: ignore[misc]
    @handles(Action201.set_charging_profile)
    def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        status = self._accept_profile(charging_profile, charging_profile["charging_schedule"][0])
        return result201.SetChargingProfile(status=status)

    @handles(Action201.get_composite_schedule)
    def on_get_composite_schedule(self, duration: int, evse_id: int, **_: Any) -> Any:
        now = self.sim.clock.now()
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": iso(now),
                **self._composite_schedule(now),
            },
        )

    @handles(Action201.clear_charging_profile)
    def on_clear_charging_profile(self, **_: Any) -> Any:
        self.sim.profile = None
        return result201.ClearChargingProfile(status="Accepted")


class _ChargePoint16(_Handlers, ChargePoint16):  # type: ignore[misc]
    @handles(Action16.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        status = self._accept_profile(
            cs_charging_profiles, cs_charging_profiles["charging_schedule"]
        )
        return result16.SetChargingProfile(status=status)

    @handles(Action16.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, **_: Any) -> Any:
        now = self.sim.clock.now()
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso(now),
            charging_schedule=self._composite_schedule(now),
        )

    @handles(Action16.clear_charging_profile)
    def on_clear_charging_profile(self, **_: Any) -> Any:
        self.sim.profile = None
        return result16.ClearChargingProfile(status="Accepted")


class SimulatedChargePoint:
    """A charge point with one connector and an EV (see the module docstring)."""

    def __init__(
        self,
        central_url: str,
        charge_point_id: str,
        *,
        version: str = "2.0.1",
        ev: SimulatedEv | None = None,
        max_w: float = 11_000.0,
        default_w: float | None = None,
        phases: int = 3,
        clock: Clock | None = None,
    ) -> None:
        if version not in ("2.0.1", "1.6"):
            raise ValueError(f"OCPP version must be 2.0.1 or 1.6, got {version}")
        self.url = f"{central_url.rstrip('/')}/{charge_point_id}"
        self.charge_point_id = charge_point_id
        self.version = version
        self.ev = ev or SimulatedEv()
        self.max_w = max_w
        self.default_w = max_w if default_w is None else default_w
        self.phases = phases
        self.clock = clock or SystemClock()
        self.profile: _Profile | None = None
        self.profile_count = 0
        self.reject_profiles = False
        self.follow_profiles = True
        self.energy_wh = 0.0
        self.power_w = 0.0
        self.transaction_id: str | None = None
        self._seq = itertools.count()
        self._last = self.clock.now()
        self._connection: ClientConnection | None = None
        self._cp: Any = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ physics
    @property
    def min_w(self) -> float:
        return MIN_CURRENT_A * VOLTS * self.phases

    def limit_w(self, now: float) -> float:
        """The limit in force: the profile's period for ``now``, else the default."""
        profile = self.profile
        if profile is None or (profile.valid_to is not None and now >= profile.valid_to):
            return self.default_w
        limit = self.default_w
        for start, value in profile.periods:
            if now >= profile.start + start:
                limit = value
        return limit

    def power_at(self, now: float) -> float:
        """What the EV draws at ``now`` under the limit in force then (a house's grid point)."""
        return self._power(now)

    def _power(self, now: float) -> float:
        if self.transaction_id is None or self.ev.soc_pct >= 100.0:
            return 0.0
        limit = self.limit_w(now) if self.follow_profiles else self.default_w
        power = min(limit, self.max_w, self.ev.max_w)
        return power if power >= self.min_w else 0.0

    # ------------------------------------------------------------------ connection
    async def start(self) -> None:
        subprotocol = "ocpp2.0.1" if self.version == "2.0.1" else "ocpp1.6"
        try:
            self._connection = await connect(self.url, subprotocols=[subprotocol])  # type: ignore[list-item]
        except OSError as exc:
            raise DeviceOfflineError(f"charge point {self.charge_point_id}: {exc}") from None
        cls = _ChargePoint201 if self.version == "2.0.1" else _ChargePoint16
        self._cp = cls(self.charge_point_id, self._connection)
        self._cp.sim = self
        self._task = asyncio.create_task(self._serve())
        now = iso(self.clock.now())
        if self.version == "2.0.1":
            await self._cp.call(
                call201.BootNotification(
                    charging_station={"model": "SimCharger", "vendor_name": "Enerwise"},
                    reason="PowerUp",
                )
            )
            await self._status("Available")
        else:
            await self._cp.call(
                call16.BootNotification(
                    charge_point_model="SimCharger", charge_point_vendor="Enerwise"
                )
            )
            await self._status("Available")
        logger.debug("charge point %s booted at %s", self.charge_point_id, now)

    async def _serve(self) -> None:
        with contextlib.suppress(Exception):
            await self._cp.start()

    async def _status(self, status: str) -> None:
        now = iso(self.clock.now())
        if self.version == "2.0.1":
            v201 = {"Charging": "Occupied", "Preparing": "Occupied", "Finishing": "Occupied"}
            await self._cp.call(
                call201.StatusNotification(
                    timestamp=now,
                    connector_status=v201.get(status, status),
                    evse_id=1,
                    connector_id=1,
                )
            )
        else:
            await self._cp.call(
                call16.StatusNotification(
                    connector_id=1, error_code="NoError", status=status, timestamp=now
                )
            )

    def _sample(self, measurand: str, value: float, unit: str) -> dict[str, Any]:
        """One sampled value as this version writes it (2.0.1: a number, 1.6: a string)."""
        if self.version == "2.0.1":
            return {
                "value": round(value, 1),
                "measurand": measurand,
                "unit_of_measure": {"unit": unit},
            }
        return {"value": f"{value:.1f}", "measurand": measurand, "unit": unit}

    def _meter(self, now: float) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": iso(now),
                "sampled_value": [
                    self._sample(ENERGY, self.energy_wh, "Wh"),
                    self._sample(POWER, self.power_w, "W"),
                ],
            }
        ]

    async def _transaction_event(
        self, event_type: str, trigger: str, now: float, info: dict[str, str], **fields: Any
    ) -> None:
        """An OCPP 2.0.1 ``TransactionEvent`` of the current transaction (``info`` added to its
        transaction info), numbered next and carrying the meter at ``now``."""
        await self._cp.call(
            call201.TransactionEvent(
                event_type=event_type,
                timestamp=iso(now),
                trigger_reason=trigger,
                seq_no=next(self._seq),
                transaction_info={"transaction_id": self.transaction_id, **info},
                meter_value=self._meter(now),
                **fields,
            )
        )

    # ------------------------------------------------------------------ the EV
    async def plug_in(self, id_token: str = "EV-1") -> bool:
        """The EV is plugged in and the token presented; True when a transaction started."""
        now = self.clock.now()
        self._last = now
        if self.version == "2.0.1":
            answer = await self._cp.call(
                call201.Authorize(id_token={"id_token": id_token, "type": "ISO14443"})
            )
            if answer is None or answer.id_token_info["status"] != "Accepted":
                return False
            self.transaction_id = f"tx-{self.charge_point_id}-{next(self._seq)}"
            await self._transaction_event(
                "Started",
                "Authorized",
                now,
                {"charging_state": "Charging"},
                id_token={"id_token": id_token, "type": "ISO14443"},
                evse={"id": 1, "connector_id": 1},
            )
        else:
            answer = await self._cp.call(call16.Authorize(id_tag=id_token))
            if answer is None or answer.id_tag_info["status"] != "Accepted":
                return False
            started = await self._cp.call(
                call16.StartTransaction(
                    connector_id=1,
                    id_tag=id_token,
                    meter_start=round(self.energy_wh),
                    timestamp=iso(now),
                )
            )
            self.transaction_id = str(started.transaction_id)
        await self._status("Charging")
        return True

    async def tick(self) -> None:
        """Charge from the last tick to the clock's now, then send meter values."""
        now = self.clock.now()
        dt_h = max(now - self._last, 0.0) / 3_600.0
        self.power_w = self._power(now)
        delivered = self.power_w * dt_h
        self.energy_wh += delivered
        self.ev.soc_pct = min(100.0, self.ev.soc_pct + 100.0 * delivered / self.ev.capacity_wh)
        self._last = now
        if self.transaction_id is None:
            return
        if self.version == "2.0.1":
            await self._transaction_event("Updated", "MeterValuePeriodic", now, {})
        else:
            await self._cp.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=int(self.transaction_id),
                    meter_value=self._meter(now),
                )
            )

    async def unplug(self) -> None:
        await self.tick()
        now = self.clock.now()
        if self.transaction_id is not None:
            if self.version == "2.0.1":
                await self._transaction_event(
                    "Ended", "EVCommunicationLost", now, {"stopped_reason": "EVDisconnected"}
                )
            else:
                await self._cp.call(
                    call16.StopTransaction(
                        meter_stop=round(self.energy_wh),
                        timestamp=iso(now),
                        transaction_id=int(self.transaction_id),
                    )
                )
            self.transaction_id = None
            self.power_w = 0.0
        await self._status("Available")

    async def send_raw(self, text: str) -> None:
        """Send a frame as it is (tests of unknown or malformed messages)."""
        assert self._connection is not None
        await self._connection.send(text)

    async def drop(self) -> None:
        """Lose the connection (mid-transaction, if one runs)."""
        if self._connection is not None:
            await self._connection.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._connection = None
        self._task = None

    async def stop(self) -> None:
        await self.drop()
