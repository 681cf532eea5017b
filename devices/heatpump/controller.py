"""SG-Ready heat pumps: the two relays over Modbus coils or over MQTT (Tasmota relay topics).

Both clients read the relays (and, where wired, the indoor temperature and power), write a
state's two relays and read them back: a relay that reads back otherwise raises
:class:`~devices.errors.ReadBackMismatchError`. The safe default is state 2 (normal operation).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from devices.errors import DeviceOfflineError, ReadBackMismatchError
from devices.interface import DeviceKind, HeatPumpCommand, HeatPumpState, SgReadyState
from devices.modbus import ModbusLink
from oracles.errors import MqttConnectionError
from oracles.sources.mqtt import BrokerSettings


def _mismatch(name: str, wanted: SgReadyState, got: SgReadyState) -> ReadBackMismatchError:
    return ReadBackMismatchError(
        f"heat pump {name}: SG-Ready state {int(wanted)} written, relays read back as state "
        f"{int(got)}",
        point="sg_ready_state",
        wanted=float(wanted),
        got=float(got),
    )


class ModbusSgReadyHeatPump:
    """Relays on two coils; optional input registers for temperature (0.1 °C) and power (W)."""

    kind: DeviceKind = "heat_pump"

    def __init__(
        self,
        name: str,
        link: ModbusLink,
        unit: int = 1,
        *,
        relay_coil: int = 0,
        temperature_register: int | None = 0,
        power_register: int | None = 1,
    ) -> None:
        self.name = name
        self.link = link
        self.unit = unit
        self.relay_coil = relay_coil
        self.temperature_register = temperature_register
        self.power_register = power_register

    async def connect(self) -> None:
        await self.read()

    async def _relay_state(self) -> SgReadyState:
        relay1, relay2 = await self.link.read_coils(self.unit, self.relay_coil, 2)
        return SgReadyState.from_relays(relay1, relay2)

    async def read(self) -> HeatPumpState:
        state = await self._relay_state()
        indoor = power = None
        if self.temperature_register is not None:
            (raw,) = await self.link.read_input(self.unit, self.temperature_register, 1)
            indoor = (raw - 0x10000 if raw >= 0x8000 else raw) / 10.0
        if self.power_register is not None:
            (watts,) = await self.link.read_input(self.unit, self.power_register, 1)
            power = float(watts)
        return HeatPumpState(state=state, indoor_c=indoor, power_w=power)

    async def apply(self, command: HeatPumpCommand) -> HeatPumpState:
        await self.link.write_coils(self.unit, self.relay_coil, list(command.state.relays))
        state = await self.read()
        if state.state != command.state:
            raise _mismatch(self.name, command.state, state.state)
        return state

    async def safe_default(self) -> None:
        await self.apply(HeatPumpCommand(SgReadyState.NORMAL))

    async def close(self) -> None:
        self.link.close()


class MqttSgReadyHeatPump:
    """Relays on a Tasmota-style board: ``cmnd/<topic>/POWERn``, ``stat/<topic>/POWERn``,
    ``tele/<topic>/SENSOR`` (temperature and power, when the board reports them)."""

    kind: DeviceKind = "heat_pump"

    def __init__(
        self, name: str, broker: BrokerSettings, topic: str, *, timeout: float = 3.0
    ) -> None:
        self.name = name
        self.broker = broker
        self.topic = topic
        self.timeout = timeout
        self._relays: dict[int, tuple[bool, float]] = {}
        self._indoor: float | None = None
        self._power: float | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.client = broker.clean_session_client(f"enerwise-hp-{topic}")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # ------------------------------------------------------------------ paho side
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            return
        client.subscribe([(f"stat/{self.topic}/+", 1), (f"tele/{self.topic}/SENSOR", 1)])

    def _on_subscribe(self, *args: Any) -> None:
        self._connected.set()  # answers reach us from here on

    def _on_disconnect(self, *args: Any) -> None:
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        leaf = message.topic.rsplit("/", 1)[-1].upper()
        text = message.payload.decode(errors="replace").strip()
        with self._lock:
            if leaf in ("POWER1", "POWER2") and text.upper() in ("ON", "OFF"):
                self._relays[int(leaf[-1])] = (text.upper() == "ON", time.monotonic())
            elif leaf == "SENSOR":
                try:
                    doc = json.loads(text)
                    self._indoor = float(doc["DS18B20"]["Temperature"])
                    self._power = float(doc["ENERGY"]["Power"])
                except (ValueError, KeyError, TypeError):
                    pass  # a board without the sensor: temperature and power stay unknown

    # ------------------------------------------------------------------ device side
    async def connect(self) -> None:
        try:
            self.broker.start(self.client)
        except MqttConnectionError as exc:
            raise DeviceOfflineError(f"heat pump {self.name}: {exc}") from None
        deadline = time.monotonic() + self.timeout
        while not self._connected.is_set():
            if time.monotonic() > deadline:
                raise DeviceOfflineError(
                    f"heat pump {self.name}: MQTT broker {self.broker.endpoint} did not accept"
                )
            await asyncio.sleep(0.01)

    async def _relays_after(
        self, since: float, wanted: tuple[bool, bool] | None = None
    ) -> tuple[bool, bool]:
        """Both relays as answered after ``since`` (waiting, up to the timeout, for ``wanted``)."""
        deadline = time.monotonic() + self.timeout
        while True:
            with self._lock:
                answers = [self._relays.get(i) for i in (1, 2)]
            fresh = [a[0] for a in answers if a is not None and a[1] >= since]
            if len(fresh) == 2 and (wanted is None or (fresh[0], fresh[1]) == wanted):
                return fresh[0], fresh[1]
            if time.monotonic() > deadline:
                if len(fresh) == 2:
                    return fresh[0], fresh[1]
                raise DeviceOfflineError(
                    f"heat pump {self.name}: no answer on stat/{self.topic}/POWER1..2 within "
                    f"{self.timeout:g} s"
                )
            await asyncio.sleep(0.005)

    async def read(self) -> HeatPumpState:
        since = time.monotonic()
        for i in (1, 2):
            self.client.publish(f"cmnd/{self.topic}/POWER{i}", "", qos=1)
        relays = await self._relays_after(since)
        with self._lock:
            indoor, power = self._indoor, self._power
        return HeatPumpState(SgReadyState.from_relays(*relays), indoor, power)

    async def apply(self, command: HeatPumpCommand) -> HeatPumpState:
        since = time.monotonic()
        for i, relay in enumerate(command.state.relays, start=1):
            self.client.publish(f"cmnd/{self.topic}/POWER{i}", "ON" if relay else "OFF", qos=1)
        relays = await self._relays_after(since, command.state.relays)
        state = SgReadyState.from_relays(*relays)
        if state != command.state:
            raise _mismatch(self.name, command.state, state)
        with self._lock:
            return HeatPumpState(state, self._indoor, self._power)

    async def safe_default(self) -> None:
        await self.apply(HeatPumpCommand(SgReadyState.NORMAL))

    async def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
