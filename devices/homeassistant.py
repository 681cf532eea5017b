"""Home Assistant through MQTT discovery: a household's figures as sensors, the agent's mode as
a select.

Discovery configs go to ``<discovery_prefix>/<component>/<node>/<object>/config`` (retained),
states to ``<base_topic>/<household>/<object>`` (retained), availability to
``<base_topic>/<household>/availability`` (``online``; ``offline`` as the MQTT last will, so Home
Assistant shows the entities unavailable when the process dies). Entities, one device per
household:

=======================  =================================================================
object                   what
=======================  =================================================================
``bought_today``         energy bought in the local market today (kWh, ``total_increasing``)
``sold_today``           energy sold in the local market today (kWh, ``total_increasing``)
``slot_price``           the current slot's clearing price (EUR/kWh)
``savings``              savings against the grid tariff (EUR, ``monetary``)
``battery_plan``         the battery's planned power (W, charge positive)
``battery_mode``         the battery's mode (``enum``)
``pending_orders``       open orders of the household
``agent_mode`` (select)  ``auto``, ``hold`` or ``self_consumption``; commands on
                         ``<base>/<household>/agent_mode/set``
=======================  =================================================================

A command that is not one of the options is logged, counted (``invalid_mode``) and ignored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from devices.errors import DeviceOfflineError
from devices.household import AgentMode
from devices.interface import BatteryMode
from oracles.errors import MqttConnectionError
from oracles.sources.mqtt import BrokerSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HouseholdFigures:
    """What Home Assistant shows of a household."""

    bought_today_kwh: float = 0.0
    sold_today_kwh: float = 0.0
    slot_price_eur_kwh: float | None = None
    savings_eur: float = 0.0
    battery_plan_w: float = 0.0
    battery_mode: BatteryMode = BatteryMode.SELF_CONSUMPTION
    pending_orders: int = 0


_SENSORS: dict[str, dict[str, Any]] = {
    "bought_today": {
        "name": "Energy bought locally today",
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
    },
    "sold_today": {
        "name": "Energy sold locally today",
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
    },
    "slot_price": {
        "name": "Slot price",
        "unit_of_measurement": "EUR/kWh",
        "state_class": "measurement",
        "icon": "mdi:cash-clock",
    },
    "savings": {
        "name": "Savings against the tariff",
        "unit_of_measurement": "EUR",
        "device_class": "monetary",
        "state_class": "total",
    },
    "battery_plan": {
        "name": "Battery plan",
        "unit_of_measurement": "W",
        "device_class": "power",
        "state_class": "measurement",
    },
    "battery_mode": {
        "name": "Battery mode",
        "device_class": "enum",
        "options": [m.value for m in BatteryMode],
    },
    "pending_orders": {
        "name": "Pending orders",
        "state_class": "measurement",
        "icon": "mdi:format-list-checks",
    },
}


class HomeAssistantBridge:
    """Publishes a household to Home Assistant and takes its mode commands."""

    def __init__(
        self,
        household: str,
        broker: BrokerSettings,
        *,
        discovery_prefix: str = "homeassistant",
        base_topic: str = "enerwise",
        mode: AgentMode = AgentMode.AUTO,
        on_mode: Callable[[AgentMode], None] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.household = household
        self.broker = broker
        self.discovery_prefix = discovery_prefix.rstrip("/")
        self.base = f"{base_topic.rstrip('/')}/{household}"
        self.mode = mode
        self.on_mode = on_mode or (lambda mode: None)
        self.timeout = timeout
        self.counters: Counter[str] = Counter()
        self._connected = threading.Event()
        self.client = broker.clean_session_client(f"enerwise-ha-{household}")
        self.client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # ------------------------------------------------------------------ topics
    @property
    def availability_topic(self) -> str:
        return f"{self.base}/availability"

    @property
    def command_topic(self) -> str:
        return f"{self.base}/agent_mode/set"

    def config_topic(self, component: str, name: str) -> str:
        return f"{self.discovery_prefix}/{component}/enerwise_{self.household}/{name}/config"

    def _device(self) -> dict[str, Any]:
        return {
            "identifiers": [f"enerwise_{self.household}"],
            "name": f"Enerwise {self.household}",
            "manufacturer": "Enerwise",
            "model": "EnergyChain household agent",
        }

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Every discovery config by its topic."""
        configs: dict[str, dict[str, Any]] = {}
        for name, fields in _SENSORS.items():
            configs[self.config_topic("sensor", name)] = {
                **fields,
                "unique_id": f"enerwise_{self.household}_{name}",
                "object_id": f"enerwise_{self.household}_{name}",
                "state_topic": f"{self.base}/{name}",
                "availability_topic": self.availability_topic,
                "device": self._device(),
            }
        configs[self.config_topic("select", "agent_mode")] = {
            "name": "Agent mode",
            "unique_id": f"enerwise_{self.household}_agent_mode",
            "object_id": f"enerwise_{self.household}_agent_mode",
            "options": [m.value for m in AgentMode],
            "state_topic": f"{self.base}/agent_mode",
            "command_topic": self.command_topic,
            "availability_topic": self.availability_topic,
            "device": self._device(),
        }
        return configs

    # ------------------------------------------------------------------ paho side
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            logger.warning("Home Assistant broker %s refused: %s", self.broker.endpoint, rc)
            return
        for topic, config in self.discovery().items():
            client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.publish(self.availability_topic, "online", qos=1, retain=True)
        client.publish(f"{self.base}/agent_mode", self.mode.value, qos=1, retain=True)
        client.subscribe(self.command_topic, qos=1)

    def _on_subscribe(self, *args: Any) -> None:
        self._connected.set()  # commands reach us from here on

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        text = message.payload.decode(errors="replace").strip()
        try:
            mode = AgentMode(text)
        except ValueError:
            self.counters["invalid_mode"] += 1
            logger.warning(
                "Home Assistant %s: mode %r is not one of %s: ignored",
                self.household,
                text[:40],
                ", ".join(m.value for m in AgentMode),
            )
            return
        self.mode = mode
        client.publish(f"{self.base}/agent_mode", mode.value, qos=1, retain=True)
        try:
            self.on_mode(mode)
        except Exception:  # a callback bug must not kill paho's network thread
            logger.exception("Home Assistant %s: mode callback failed", self.household)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        try:
            self.broker.start(self.client)
        except MqttConnectionError as exc:
            raise DeviceOfflineError(f"Home Assistant: {exc}") from None
        if not self._connected.wait(self.timeout):
            self.client.loop_stop()
            raise DeviceOfflineError(f"Home Assistant broker {self.broker.endpoint}: no answer")

    def publish(self, figures: HouseholdFigures) -> None:
        """Every sensor's state (retained)."""
        states: dict[str, Any] = {
            "bought_today": round(figures.bought_today_kwh, 3),
            "sold_today": round(figures.sold_today_kwh, 3),
            "slot_price": (
                "unknown"
                if figures.slot_price_eur_kwh is None
                else round(figures.slot_price_eur_kwh, 4)
            ),
            "savings": round(figures.savings_eur, 2),
            "battery_plan": round(figures.battery_plan_w),
            "battery_mode": figures.battery_mode.value,
            "pending_orders": figures.pending_orders,
        }
        for name, value in states.items():
            self.client.publish(f"{self.base}/{name}", str(value), qos=1, retain=True)

    def remove(self) -> None:
        """Delete the entities from Home Assistant (empty retained configs and states)."""
        topics = [*self.discovery(), self.availability_topic, f"{self.base}/agent_mode"]
        topics += [f"{self.base}/{name}" for name in _SENSORS]
        infos = [self.client.publish(t, b"", qos=1, retain=True) for t in topics]
        for info in infos:
            info.wait_for_publish(self.timeout)

    def stop(self) -> None:
        info = self.client.publish(self.availability_topic, "offline", qos=1, retain=True)
        info.wait_for_publish(self.timeout)
        self.client.disconnect()
        self.client.loop_stop()
