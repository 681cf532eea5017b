"""Home Assistant MQTT discovery, read back from the machine's Mosquitto (127.0.0.1:1883)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.homeassistant import HomeAssistantBridge, HouseholdFigures
from devices.household import AgentMode
from devices.interface import BatteryMode
from oracles.sources.mqtt import BrokerSettings


class Listener:
    """A plain MQTT client that records the last message per topic under a prefix."""

    def __init__(self, prefix: str) -> None:
        self.messages: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, clean_session=True)
        self.client.on_connect = lambda c, *a: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the test's listener could not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages[message.topic] = bytes(message.payload)

    def wait_for(self, topic: str, value: bytes | None = None, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = self.messages.get(topic)
            if found is not None and (value is None or found == value):
                return found
            time.sleep(0.01)
        raise AssertionError(f"no {value!r} on {topic}; seen {sorted(self.messages)}")

    def clear_retained(self) -> None:
        """Leave nothing retained on the shared broker."""
        with self._lock:
            topics = list(self.messages)
        for topic in topics:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _started_bridge(household: str, topic_prefix: str, **kwargs: Any) -> HomeAssistantBridge:
    """A started bridge of ``household`` on the local broker, its topics under ``topic_prefix``."""
    bridge = HomeAssistantBridge(
        household,
        BrokerSettings(clean_session=True),
        discovery_prefix=f"{topic_prefix}/homeassistant",
        base_topic=f"{topic_prefix}/enerwise",
        **kwargs,
    )
    bridge.start()
    return bridge


@pytest.fixture
def bridge(topic_prefix: str) -> Iterator[tuple[HomeAssistantBridge, Listener, list[AgentMode]]]:
    modes: list[AgentMode] = []
    listener = Listener(topic_prefix)
    bridge = _started_bridge("house-7", topic_prefix, on_mode=modes.append)
    yield bridge, listener, modes
    bridge.remove()
    bridge.stop()
    listener.stop()


def test_discovery_announces_every_sensor_and_the_mode_select(bridge, topic_prefix: str) -> None:
    _, listener, _ = bridge
    base = f"{topic_prefix}/homeassistant"
    sensors = ["bought_today", "sold_today", "slot_price", "savings", "battery_plan",
               "battery_mode", "pending_orders"]  # fmt: skip
    for name in sensors:
        config = json.loads(listener.wait_for(f"{base}/sensor/enerwise_house-7/{name}/config"))
        assert config["unique_id"] == f"enerwise_house-7_{name}"
        assert config["state_topic"] == f"{topic_prefix}/enerwise/house-7/{name}"
        assert config["device"]["identifiers"] == ["enerwise_house-7"]
        assert config["availability_topic"] == f"{topic_prefix}/enerwise/house-7/availability"
    energy = json.loads(listener.wait_for(f"{base}/sensor/enerwise_house-7/bought_today/config"))
    assert (energy["device_class"], energy["unit_of_measurement"]) == ("energy", "kWh")
    assert energy["state_class"] == "total_increasing"
    select = json.loads(listener.wait_for(f"{base}/select/enerwise_house-7/agent_mode/config"))
    assert select["options"] == ["auto", "hold", "self_consumption"]
    assert select["command_topic"] == f"{topic_prefix}/enerwise/house-7/agent_mode/set"
    listener.wait_for(f"{topic_prefix}/enerwise/house-7/availability", b"online")


def test_figures_are_published_as_states(bridge, topic_prefix: str) -> None:
    ha, listener, _ = bridge
    ha.publish(
        HouseholdFigures(
            bought_today_kwh=3.25,
            sold_today_kwh=1.5,
            slot_price_eur_kwh=0.2134,
            savings_eur=0.87,
            battery_plan_w=-2_000,
            battery_mode=BatteryMode.DISCHARGE,
            pending_orders=2,
        )
    )
    state = f"{topic_prefix}/enerwise/house-7"
    assert listener.wait_for(f"{state}/bought_today") == b"3.25"
    assert listener.wait_for(f"{state}/sold_today") == b"1.5"
    assert listener.wait_for(f"{state}/slot_price") == b"0.2134"
    assert listener.wait_for(f"{state}/savings") == b"0.87"
    assert listener.wait_for(f"{state}/battery_plan") == b"-2000"
    assert listener.wait_for(f"{state}/battery_mode") == b"discharge"
    assert listener.wait_for(f"{state}/pending_orders") == b"2"


def test_the_select_sets_the_agents_mode(bridge, topic_prefix: str) -> None:
    ha, listener, modes = bridge
    state = f"{topic_prefix}/enerwise/house-7/agent_mode"
    listener.wait_for(state, b"auto")
    listener.client.publish(ha.command_topic, "hold", qos=1)
    listener.wait_for(state, b"hold")
    assert modes == [AgentMode.HOLD]
    assert ha.mode == AgentMode.HOLD


def test_an_unknown_mode_is_counted_and_ignored(bridge, topic_prefix: str) -> None:
    ha, listener, modes = bridge
    listener.client.publish(ha.command_topic, "turbo", qos=1)
    deadline = time.monotonic() + 5
    while ha.counters["invalid_mode"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ha.counters["invalid_mode"] == 1
    assert modes == []
    assert ha.mode == AgentMode.AUTO


def test_the_entities_go_unavailable_when_the_bridge_stops(topic_prefix: str) -> None:
    listener = Listener(topic_prefix)
    ha = _started_bridge("house-8", topic_prefix)
    availability = f"{topic_prefix}/enerwise/house-8/availability"
    listener.wait_for(availability, b"online")
    ha.stop()
    listener.wait_for(availability, b"offline")
    listener.clear_retained()
    listener.stop()
