"""The central system (CSMS) the household's chargers connect to, over OCPP 2.0.1 or 1.6J.

A charger connects to ``ws://<host>:<port>/<charge point id>`` with the subprotocol
``ocpp2.0.1`` or ``ocpp1.6``. The central system accepts its boot, authorises id tokens (every
token, or those of ``authorized_tokens``), follows its transactions and meter values (energy
register, power), and sends it charging limits as ``SetChargingProfile`` (a
``TxDefaultProfile`` in W that expires after ``valid_seconds``: a charger whose controller
went away falls back to its own default) and reads them back with ``GetCompositeSchedule``.

Problems are counted in :attr:`CentralSystem.counters` and logged, one line each:
``unknown_action`` (a message the central system does not handle, answered with a CallError),
``malformed_message`` (not OCPP-J), ``auth_refused``, ``profile_rejected``,
``disconnected_in_transaction``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType, unpack
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from devices.charger.protocol import ENERGY, POWER, first_limit, handles, iso, schedule_periods
from devices.errors import DeviceOfflineError, WriteRefusedError
from oracles.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

SUBPROTOCOLS = ("ocpp2.0.1", "ocpp1.6")
#: the profile id the central system uses (a new profile with the same id replaces the old).
PROFILE_ID = 1001

EventHook = Callable[[str, str, str], None]


@dataclass
class StationRecord:
    """What the central system knows of one charge point."""

    charge_point_id: str
    version: str
    connected: bool = False
    booted: bool = False
    status: str = "Unknown"
    transaction_id: str | None = None
    energy_wh: float = 0.0
    power_w: float = 0.0
    id_token: str | None = None
    handler: Any = None


def _sampled(meter_value: list[dict[str, Any]] | None) -> dict[str, float]:
    """The last sampled value per measurand (energy in Wh, power in W)."""
    found: dict[str, float] = {}
    for entry in meter_value or []:
        for sample in entry.get("sampled_value", []):
            measurand = sample.get("measurand", ENERGY)
            unit = (sample.get("unit_of_measure") or {}).get("unit") or sample.get("unit")
            try:
                value = float(sample["value"])
            except (KeyError, TypeError, ValueError):
                continue
            if unit in ("kWh", "kW"):
                value *= 1_000.0
            found[measurand] = value
    return found


def _profile(now: float, valid_seconds: int) -> dict[str, Any]:
    """The fields of our ``TxDefaultProfile`` alike in both versions (without id and schedule)."""
    return {
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "valid_from": iso(now),
        "valid_to": iso(now + valid_seconds),
    }


def _schedule(now: float, periods: list[tuple[int, float]], valid_seconds: int) -> dict[str, Any]:
    """The profile's charging schedule, alike in both versions (2.0.1 adds an id)."""
    return {
        "start_schedule": iso(now),
        "duration": valid_seconds,
        "charging_rate_unit": "W",
        "charging_schedule_period": schedule_periods(periods),
    }


class _Station:
    """What both versions' handlers share: the link to the central system and its record,
    counting of unknown and malformed messages, and meter values."""

    csms: CentralSystem
    id: str
    route_map: dict[str, Any]

    def __init__(
        self, charge_point_id: str, connection: ServerConnection, csms: CentralSystem
    ) -> None:
        super().__init__(  # type: ignore[call-arg]  # the version's ChargePoint
            charge_point_id, connection, response_timeout=csms.response_timeout
        )
        self.csms = csms
        self.record = csms.stations[charge_point_id]

    async def route_message(self, raw_msg: str) -> None:
        self._inspect(raw_msg)
        await super().route_message(raw_msg)  # type: ignore[misc]  # the version's ChargePoint

    def _inspect(self, raw: str | bytes) -> None:
        try:
            message = unpack(raw)
        except OCPPError as exc:
            self.csms.report("malformed_message", self.id, f"not an OCPP-J message: {exc}")
            return
        if message.message_type_id == MessageType.Call and message.action not in self.route_map:
            self.csms.report(
                "unknown_action",
                self.id,
                f"unknown OCPP action {message.action!r} answered with a CallError",
            )

    def _record_meter_values(self, meter_value: list[dict[str, Any]] | None) -> None:
        values = _sampled(meter_value)
        self.record.energy_wh = values.get(ENERGY, self.record.energy_wh)
        self.record.power_w = values.get(POWER, self.record.power_w)


class _Station201(_Station, ChargePoint201):  # type: ignore[misc]
    @handles(Action201.boot_notification)
    def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        self.record.booted = True
        return result201.BootNotification(
            current_time=iso(self.csms.clock.now()),
            interval=self.csms.heartbeat_seconds,
            status="Accepted",
        )

    @handles(Action201.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return result201.Heartbeat(current_time=iso(self.csms.clock.now()))

    @handles(Action201.status_notification)
    def on_status(self, connector_status: str, **_: Any) -> Any:
        self.record.status = connector_status
        return result201.StatusNotification()

    @handles(Action201.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        status = self.csms.authorize(self.id, str(id_token.get("id_token", "")))
        return result201.Authorize(id_token_info={"status": status})

    @handles(Action201.transaction_event)
    def on_transaction_event(
        self,
        event_type: str,
        transaction_info: dict[str, Any],
        meter_value: list[dict[str, Any]] | None = None,
        id_token: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        record = self.record
        self._record_meter_values(meter_value)
        if event_type == "Ended":
            record.transaction_id = None
            record.power_w = 0.0
        else:
            record.transaction_id = str(transaction_info["transaction_id"])
        if id_token is None:
            return result201.TransactionEvent()
        status = self.csms.authorize(self.id, str(id_token.get("id_token", "")))
        return result201.TransactionEvent(id_token_info={"status": status})

    @handles(Action201.meter_values)
    def on_meter_values(self, meter_value: list[dict[str, Any]], **_: Any) -> Any:
        self._record_meter_values(meter_value)
        return result201.MeterValues()

    async def set_limit(self, periods: list[tuple[int, float]], valid_seconds: int) -> str:
        now = self.csms.clock.now()
        profile = {
            "id": PROFILE_ID,
            **_profile(now, valid_seconds),
            "charging_schedule": [{"id": 1, **_schedule(now, periods, valid_seconds)}],
        }
        answer = await self.call(
            call201.SetChargingProfile(evse_id=1, charging_profile=profile), suppress=False
        )
        return str(answer.status)

    async def composite_limit(self) -> float | None:
        answer = await self.call(
            call201.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="W"),
            suppress=False,
        )
        return first_limit(answer.schedule) if answer.status == "Accepted" else None

    async def clear_profiles(self) -> str:
        answer = await self.call(
            call201.ClearChargingProfile(charging_profile_id=PROFILE_ID), suppress=False
        )
        return str(answer.status)


class _Station16(_Station, ChargePoint16):  # type: ignore[misc]
    @handles(Action16.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self.record.booted = True
        return result16.BootNotification(
            current_time=iso(self.csms.clock.now()),
            interval=self.csms.heartbeat_seconds,
            status="Accepted",
        )

    @handles(Action16.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return result16.Heartbeat(current_time=iso(self.csms.clock.now()))

    @handles(Action16.status_notification)
    def on_status(self, connector_id: int, status: str, **_: Any) -> Any:
        if connector_id != 0:
            self.record.status = status
        return result16.StatusNotification()

    @handles(Action16.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        return result16.Authorize(id_tag_info={"status": self.csms.authorize(self.id, id_tag)})

    @handles(Action16.start_transaction)
    def on_start(self, connector_id: int, id_tag: str, meter_start: int, **_: Any) -> Any:
        status = self.csms.authorize(self.id, id_tag)
        transaction_id = next(self.csms.transaction_ids)
        if status == "Accepted":
            self.record.transaction_id = str(transaction_id)
            self.record.energy_wh = float(meter_start)
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": status}
        )

    @handles(Action16.stop_transaction)
    def on_stop(self, meter_stop: int, transaction_id: int, **_: Any) -> Any:
        self.record.energy_wh = float(meter_stop)
        self.record.transaction_id = None
        self.record.power_w = 0.0
        return result16.StopTransaction()

    @handles(Action16.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> Any:
        self._record_meter_values(meter_value)
        return result16.MeterValues()

    async def set_limit(self, periods: list[tuple[int, float]], valid_seconds: int) -> str:
        now = self.csms.clock.now()
        profile = {
            "charging_profile_id": PROFILE_ID,
            **_profile(now, valid_seconds),
            "charging_schedule": _schedule(now, periods, valid_seconds),
        }
        answer = await self.call(
            call16.SetChargingProfile(connector_id=1, cs_charging_profiles=profile), suppress=False
        )
        return str(answer.status)

    async def composite_limit(self) -> float | None:
        answer = await self.call(
            call16.GetCompositeSchedule(connector_id=1, duration=60, charging_rate_unit="W"),
            suppress=False,
        )
        return first_limit(answer.charging_schedule) if answer.status == "Accepted" else None

    async def clear_profiles(self) -> str:
        answer = await self.call(call16.ClearChargingProfile(id=PROFILE_ID), suppress=False)
        return str(answer.status)


class CentralSystem:
    """An OCPP central system on a websocket server (see the module docstring)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        authorized_tokens: set[str] | None = None,
        heartbeat_seconds: int = 60,
        response_timeout: float = 5.0,
        clock: Clock | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.authorized_tokens = authorized_tokens
        self.heartbeat_seconds = heartbeat_seconds
        self.response_timeout = response_timeout
        self.clock = clock or SystemClock()
        self.on_event = on_event or (lambda kind, where, message: None)
        self.stations: dict[str, StationRecord] = {}
        self.counters: Counter[str] = Counter()
        self.transaction_ids = itertools.count(1)
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def report(self, kind: str, charge_point_id: str, message: str) -> None:
        self.counters[kind] += 1
        logger.warning("charger %s: %s", charge_point_id, message)
        self.on_event(kind, charge_point_id, message)

    def authorize(self, charge_point_id: str, token: str) -> str:
        if self.authorized_tokens is None or token in self.authorized_tokens:
            self.stations[charge_point_id].id_token = token
            return "Accepted"
        self.report("auth_refused", charge_point_id, f"id token {token!r} refused")
        return "Invalid"

    # ------------------------------------------------------------------ server
    async def start(self) -> int:
        self._server = await serve(
            self._serve,
            self.host,
            self.port,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
        )
        sockets = list(self._server.sockets)
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, connection: ServerConnection) -> None:
        charge_point_id = (connection.request.path if connection.request else "/").strip("/")
        version = connection.subprotocol
        if not charge_point_id or version not in SUBPROTOCOLS:
            self.report(
                "malformed_message",
                charge_point_id or "?",
                f"connection without a charge point id or OCPP subprotocol ({version})",
            )
            await connection.close()
            return
        record = self.stations.get(charge_point_id)
        if record is None or record.version != version:
            record = self.stations[charge_point_id] = StationRecord(charge_point_id, version)
        station: _Station201 | _Station16 = (
            _Station201(charge_point_id, connection, self)
            if version == "ocpp2.0.1"
            else _Station16(charge_point_id, connection, self)
        )
        record.connected = True
        record.handler = station
        logger.info("charger %s connected (%s)", charge_point_id, version)
        try:
            await station.start()
        except ConnectionClosed:
            pass
        finally:
            record.connected = False
            record.handler = None
            if record.transaction_id is not None:
                self.report(
                    "disconnected_in_transaction",
                    charge_point_id,
                    f"disconnected during transaction {record.transaction_id}",
                )

    # ------------------------------------------------------------------ commands
    def _station(self, charge_point_id: str) -> Any:
        record = self.stations.get(charge_point_id)
        if record is None or not record.connected or record.handler is None:
            raise DeviceOfflineError(
                f"charger {charge_point_id}: not connected to the central system"
            )
        return record.handler

    async def _call(self, charge_point_id: str, what: str, coro: Any) -> Any:
        try:
            return await coro
        except TimeoutError:
            raise DeviceOfflineError(f"charger {charge_point_id}: no answer to {what}") from None
        except ConnectionClosed:
            raise DeviceOfflineError(
                f"charger {charge_point_id}: disconnected during {what}"
            ) from None
        except OCPPError as exc:
            raise WriteRefusedError(
                f"charger {charge_point_id}: {what} answered with {exc.__class__.__name__}",
                code=exc.__class__.__name__,
            ) from None

    async def set_limit(
        self, charge_point_id: str, periods: list[tuple[int, float]], valid_seconds: int
    ) -> None:
        """Send a charging profile; WriteRefusedError when the charger rejects it."""
        station = self._station(charge_point_id)
        status = await self._call(
            charge_point_id, "SetChargingProfile", station.set_limit(periods, valid_seconds)
        )
        if status != "Accepted":
            self.report("profile_rejected", charge_point_id, f"SetChargingProfile {status}")
            raise WriteRefusedError(
                f"charger {charge_point_id}: SetChargingProfile {status}", code=status
            )

    async def composite_limit(self, charge_point_id: str) -> float | None:
        station = self._station(charge_point_id)
        result: float | None = await self._call(
            charge_point_id, "GetCompositeSchedule", station.composite_limit()
        )
        return result

    async def clear_profiles(self, charge_point_id: str) -> None:
        station = self._station(charge_point_id)
        await self._call(charge_point_id, "ClearChargingProfile", station.clear_profiles())

    async def wait_for(
        self, charge_point_id: str, check: Callable[[StationRecord], bool], timeout: float = 5.0
    ) -> StationRecord:
        """Wait until the charger's record satisfies ``check``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            record = self.stations.get(charge_point_id)
            if record is not None and check(record):
                return record
            if asyncio.get_running_loop().time() > deadline:
                raise DeviceOfflineError(f"charger {charge_point_id}: not in the expected state")
            await asyncio.sleep(0.01)
