"""MQTT meters against a Mosquitto the test starts on a free port."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from enerwise.cli import app
from oracles.errors import MqttConnectionError, NoFreshSampleError
from oracles.payloads import TasmotaFormat
from oracles.simulator import render_payload
from oracles.sources.mqtt import BrokerSettings, MqttSource, MqttSubscriber


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def keep_publishing(port: int, topic: str, payloads: list[bytes], stop: threading.Event) -> None:
    client = publisher(port)
    i = 0
    while not stop.is_set():
        client.publish(topic, payloads[i % len(payloads)], qos=1)
        i += 1
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()


def listen_while_publishing(port: int, topic: str, payloads: list[bytes], *options: str) -> Any:
    """``oracle listen --mqtt`` on the broker at ``port`` with ``options``, while ``payloads``
    are published on ``topic`` over and over; the CLI's result."""
    stop = threading.Event()
    thread = threading.Thread(target=keep_publishing, args=(port, topic, payloads, stop))
    thread.start()
    try:
        return CliRunner().invoke(
            app, ["oracle", "listen", "--mqtt", f"127.0.0.1:{port}", *options, "--json"]
        )
    finally:
        stop.set()
        thread.join()


def test_listen_prints_the_readings_it_parsed_as_json_lines(broker: Any) -> None:
    payloads = [
        render_payload("tasmota", 1_000.0 + i, 5.0, 300.0, 1_800_000_000 + i) for i in range(5)
    ]
    result = listen_while_publishing(
        broker.port,
        "tele/plug1/SENSOR",
        payloads,
        *("--topic", "tele/+/SENSOR", "--format", "tasmota", "--count", "3", "--timeout", "20"),
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    assert all(line["topic"] == "tele/plug1/SENSOR" for line in lines)
    assert all(1_000 <= line["import_wh"] <= 1_005 and line["export_wh"] == 5 for line in lines)


def test_listen_with_the_json_format_uses_field_paths(broker: Any) -> None:
    payload = json.dumps({"m": {"in": 2.5, "out": 0.5, "p": 1.0}}).encode()
    paths = ("--import-path", "m.in", "--export-path", "m.out", "--power-path", "m.p")
    units = ("--import-unit", "kWh", "--export-unit", "kWh")
    result = listen_while_publishing(
        broker.port,
        "x/meter",
        [payload],
        *(
            "--topic",
            "x/meter",
            "--format",
            "json",
            *paths,
            *units,
            "--count",
            "1",
            "--timeout",
            "20",
        ),
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert (line["import_wh"], line["export_wh"], line["power_w"]) == (2_500, 500, 1.0)


def test_malformed_payloads_and_unknown_topics_are_reported_not_fatal(broker: Any) -> None:
    problems: list[tuple[str, str]] = []
    subscriber = MqttSubscriber(
        BrokerSettings(port=broker.port, client_id="oracle-a"),
        on_error=lambda kind, where, message: problems.append((kind, where)),
    )
    source = MqttSource(subscriber, "tele/plug1/SENSOR", TasmotaFormat())
    subscriber.add_topic("tele/#", lambda *a: None)  # a wildcard nobody else claims...
    subscriber.start()
    try:
        subscriber.wait_connected(5)
        client = publisher(broker.port)
        client.publish("tele/plug1/SENSOR", b"{not json", qos=1)
        client.publish("tele/plug1/SENSOR", render_payload("tasmota", 42_000, 0, 5, 0), qos=1)
        wait_for(lambda: source.latest is not None)
        client.loop_stop()
    finally:
        subscriber.stop()
    assert ("malformed_payload", "tele/plug1/SENSOR") in problems
    assert source.latest is not None and round(source.latest.import_wh) == 42_000


def test_a_message_on_a_topic_no_meter_claims_is_an_unknown_topic(broker: Any) -> None:
    problems: list[tuple[str, str]] = []
    subscriber = MqttSubscriber(
        BrokerSettings(port=broker.port, client_id="oracle-b"),
        on_error=lambda kind, where, message: problems.append((kind, where)),
    )
    subscriber.add_topic("tele/plug1/SENSOR", lambda *a: None)
    subscriber.start()
    try:
        subscriber.wait_connected(5)
        # a persistent session can hold subscriptions from an older configuration:
        subscriber.client.subscribe("tele/old-plug/SENSOR", qos=1)
        time.sleep(0.2)
        client = publisher(broker.port)
        client.publish("tele/old-plug/SENSOR", b"{}", qos=1)
        wait_for(lambda: ("unknown_topic", "tele/old-plug/SENSOR") in problems)
        client.loop_stop()
    finally:
        subscriber.stop()


def test_connected_means_every_subscription_was_granted(broker: Any) -> None:
    # A message published the moment wait_connected returns must arrive: the subscriber counts as
    # connected only once the broker acknowledged its subscriptions, not at CONNACK.
    received: list[bytes] = []
    subscriber = MqttSubscriber(BrokerSettings(port=broker.port, client_id="oracle-c"))
    subscriber.add_topic("tele/plug1/SENSOR", lambda t, p, at: received.append(p))
    subscriber.start()
    client = publisher(broker.port)
    try:
        subscriber.wait_connected(5)
        client.publish("tele/plug1/SENSOR", b"first", qos=1)
        wait_for(lambda: received == [b"first"])
    finally:
        client.loop_stop()
        subscriber.stop()


def test_a_topic_added_while_connected_is_subscribed(broker: Any) -> None:
    received: list[bytes] = []
    subscriber = MqttSubscriber(BrokerSettings(port=broker.port, client_id="oracle-e"))
    subscriber.add_topic("tele/plug1/SENSOR", lambda *a: None)
    subscriber.start()
    stop = threading.Event()
    payloads = [b"late"]
    thread = threading.Thread(
        target=keep_publishing, args=(broker.port, "tele/plug2/SENSOR", payloads, stop)
    )
    try:
        subscriber.wait_connected(5)
        subscriber.add_topic("tele/plug2/SENSOR", lambda t, p, at: received.append(p))
        thread.start()
        wait_for(lambda: b"late" in received)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        subscriber.stop()


def test_a_subscription_the_broker_refuses_is_reported() -> None:
    # Mosquitto grants every subscription and filters delivery by its ACL, so the refusal (SUBACK
    # 0x80, as other brokers send for a denied topic) is fed to the callback paho would call.
    problems: list[tuple[str, str]] = []
    subscriber = MqttSubscriber(
        BrokerSettings(port=1883, client_id="oracle-d"),
        on_error=lambda kind, where, message: problems.append((kind, where)),
    )
    refused = ReasonCode(PacketTypes.SUBACK, identifier=0x80)
    subscriber._on_subscribe(subscriber.client, None, 1, [refused], None)
    assert problems == [("subscription_refused", "mqtt://127.0.0.1:1883")]


def test_the_persistent_session_delivers_messages_published_while_away(broker: Any) -> None:
    received: list[bytes] = []
    settings = BrokerSettings(port=broker.port, client_id="oracle-persistent")
    first = MqttSubscriber(settings)
    first.add_topic("tele/plug1/SENSOR", lambda t, p, at: received.append(p))
    first.start()
    first.wait_connected(5)
    time.sleep(0.2)
    first.stop()

    client = publisher(broker.port)
    info = client.publish("tele/plug1/SENSOR", b'{"while": "away"}', qos=1)
    info.wait_for_publish(5)
    client.loop_stop()

    again = MqttSubscriber(settings)
    again.add_topic("tele/plug1/SENSOR", lambda t, p, at: received.append(p))
    again.start()
    try:
        wait_for(lambda: b'{"while": "away"}' in received)
    finally:
        again.stop()


def test_a_broker_that_is_down_is_a_clear_error() -> None:
    from chain.local_node import free_port

    kinds: list[str] = []
    subscriber = MqttSubscriber(
        BrokerSettings(port=free_port(), client_id="oracle-down"),
        on_error=lambda kind, where, message: kinds.append(kind),
    )
    subscriber.start()
    try:
        with pytest.raises(MqttConnectionError, match=r"mqtt://127\.0\.0\.1"):
            subscriber.wait_connected(1.5)
    finally:
        subscriber.stop()
    assert "broker_down" in kinds


def test_tls_against_a_plain_listener_fails_cleanly(broker: Any) -> None:
    subscriber = MqttSubscriber(BrokerSettings(port=broker.port, client_id="oracle-tls", tls=True))
    subscriber.start()
    try:
        with pytest.raises(MqttConnectionError, match="mqtts://"):
            subscriber.wait_connected(1.5)
    finally:
        subscriber.stop()


def test_a_source_without_fresh_samples_says_so(broker: Any) -> None:
    import asyncio

    subscriber = MqttSubscriber(BrokerSettings(port=broker.port, client_id="oracle-c"))
    source = MqttSource(subscriber, "tele/p/SENSOR", TasmotaFormat(), max_age=60)
    with pytest.raises(NoFreshSampleError, match="no sample"):
        asyncio.run(source.read(1_800_000_000))
    source.handle("tele/p/SENSOR", render_payload("tasmota", 1, 0, 0, 0), 1_800_000_000 - 600)
    with pytest.raises(NoFreshSampleError, match="older than the boundary"):
        asyncio.run(source.read(1_800_000_000))
