"""Simulated SG-Ready heat pumps: the relays on Modbus coils (a real pymodbus server) or on a
Tasmota-style two-relay board over MQTT.

Modbus: coils 0 and 1 are relays 1 and 2; input register 0 is the indoor temperature in 0.1 °C
(int16), input register 1 the electrical power in W.

MQTT (Tasmota topics): ``cmnd/<topic>/POWER1`` and ``POWER2`` with ``ON``/``OFF`` switch a
relay (an empty payload asks for its state); the board answers on ``stat/<topic>/POWERn`` and
publishes ``tele/<topic>/SENSOR`` (``{"DS18B20": {"Temperature": ..}, "ENERGY": {"Power": ..}}``)
after every command.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.heatpump.physics import HeatPumpPhysics
from devices.interface import SgReadyState
from oracles.modbus_server import ModbusRequest, SimulatedModbusDevices

logger = logging.getLogger(__name__)

RELAY_COILS = 0
TEMPERATURE_REGISTER = 0
POWER_REGISTER = 1


class SimulatedSgReadyModbusServer(SimulatedModbusDevices):
    """SG-Ready relays as Modbus coils of one unit, with temperature and power registers."""

    def __init__(
        self, physics: HeatPumpPhysics, *, unit: int = 1, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.physics = physics
        self.unit = unit
        self.fault: ExcCodes | None = None

    def _relays(self) -> tuple[bool, bool]:
        return self.physics.state.relays

    async def _handle(self, unit: int, request: ModbusRequest) -> ExcCodes | None:
        if self.fault is not None:
            return self.fault
        registers, start = request.registers, request.start_address
        if request.function_code in (5, 15) and request.set_values is not None:
            relays = list(self._relays())
            for i, value in enumerate(request.set_values):
                relays[request.address + i] = bool(value)
            self.physics.set_state(SgReadyState.from_relays(relays[0], relays[1]))
            return None
        if request.function_code == 1:
            relay1, relay2 = self._relays()
            registers[0] = int(relay1) | int(relay2) << 1
        elif request.function_code == 4:
            temperature = round(self.physics.indoor_c * 10)
            registers[TEMPERATURE_REGISTER - start] = temperature & 0xFFFF
            registers[POWER_REGISTER - start] = round(self.physics.power_w)
        return None

    def _devices(self) -> list[SimDevice]:
        coils = [SimData(address=RELAY_COILS, count=2, values=False, datatype=DataType.BITS)]
        inputs = [SimData(address=0, count=2, values=0, datatype=DataType.REGISTERS)]
        unused_bits = [SimData(address=0, count=1, values=False, datatype=DataType.BITS)]
        no_holding = [SimData(address=0, count=1, datatype=DataType.INVALID)]
        simdata = (coils, unused_bits, no_holding, inputs)
        return [SimDevice(id=self.unit, simdata=simdata, action=self._action(self.unit))]


class SimulatedSgReadyMqttBoard:
    """A Tasmota-style two-relay board wired to the heat pump's SG-Ready inputs."""

    def __init__(
        self,
        physics: HeatPumpPhysics,
        topic: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
    ) -> None:
        self.physics = physics
        self.topic = topic
        self.ignore_commands = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-{topic}"[:60], clean_session=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._listening = threading.Event()
        self.client.on_subscribe = lambda *args: self._listening.set()
        self.host = host
        self.port = port

    def start(self, timeout: float = 5.0) -> None:
        """Connect and wait until the board listens to its command topics."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._listening.wait(timeout):
            raise TimeoutError(f"simulated relay board {self.topic}: broker did not answer")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe(f"cmnd/{self.topic}/+", qos=1)

    def _publish_state(self, relay: int) -> None:
        """As Tasmota: the commanded relay's state, then the sensor reading."""
        on = self.physics.state.relays[relay - 1]
        self.client.publish(f"stat/{self.topic}/POWER{relay}", "ON" if on else "OFF", qos=1)
        sensor = {
            "DS18B20": {"Temperature": round(self.physics.indoor_c, 1)},
            "ENERGY": {"Power": round(self.physics.power_w)},
        }
        self.client.publish(f"tele/{self.topic}/SENSOR", json.dumps(sensor), qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        command = message.topic.rsplit("/", 1)[-1].upper()
        if command not in ("POWER1", "POWER2"):
            return
        payload = message.payload.decode(errors="replace").strip().upper()
        if payload in ("ON", "OFF", "1", "0") and not self.ignore_commands:
            relays = list(self.physics.state.relays)
            relays[int(command[-1]) - 1] = payload in ("ON", "1")
            self.physics.set_state(SgReadyState.from_relays(relays[0], relays[1]))
        self._publish_state(int(command[-1]))
