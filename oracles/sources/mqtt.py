"""MQTT meters (paho-mqtt 2, callback API version 2).

One :class:`MqttSubscriber` (one paho client, one network thread) per broker serves every
meter on that broker: QoS 1 subscriptions, a persistent session (``clean_session=False`` and a
stable client id) so that QoS 1 messages published while the oracle was away are delivered when
it comes back, username/password and TLS. Subscriptions are renewed on every (re)connection.
Messages on a topic that no meter claims (a wildcard, or a subscription the persistent session
kept from an older configuration) are reported as ``unknown_topic``.

An :class:`MqttSource` keeps the latest sample of its meter; reading a slot boundary returns the
latest one if it is recent enough (``max_age``), else :class:`NoFreshSampleError`.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from oracles.clock import Clock, SystemClock
from oracles.errors import MqttConnectionError, NoFreshSampleError, PayloadError
from oracles.payloads import Parsed, PayloadFormat
from oracles.sources.base import Sample

logger = logging.getLogger(__name__)

#: Called for every problem: (kind, topic or broker, message). Kinds: malformed_payload,
#: unknown_topic, broker_down, tls_error, auth_refused, subscription_refused.
ErrorHook = Callable[[str, str, str], None]


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach a broker."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    tls: bool = False
    tls_insecure: bool = False
    client_id: str = ""
    clean_session: bool = False
    keepalive: int = 30

    @property
    def endpoint(self) -> str:
        return f"{'mqtts' if self.uses_tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.ca_certs is not None

    def __repr__(self) -> str:  # never show the password
        return f"BrokerSettings({self.endpoint}, user={self.username!r})"

    def clean_session_client(self, default_client_id: str) -> mqtt.Client:
        """A paho client with a clean session that logs in as this broker's user; its id is
        ``client_id``, else ``default_client_id`` (cut to 60 characters). TLS is not set up."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id or default_client_id[:60],
            clean_session=True,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        return client

    def start(self, client: mqtt.Client) -> None:
        """Connect ``client`` to this broker (blocking, once) and start its network thread.

        Raises:
            MqttConnectionError: the broker cannot be reached.
        """
        try:
            client.connect(self.host, self.port, keepalive=self.keepalive)
        except OSError as exc:
            raise MqttConnectionError(f"MQTT broker {self.endpoint}: {exc}") from None
        client.loop_start()


MessageHandler = Callable[[str, bytes, float], None]


class MqttSubscriber:
    """A paho client subscribed (QoS 1) to the topics of the meters on one broker."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        clock: Clock | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.on_error = on_error or (lambda kind, where, message: None)
        self._handlers: dict[str, MessageHandler] = {}
        self._lock = threading.Lock()
        # Set once the broker has granted every subscription of this connection (not at CONNACK:
        # a message published between CONNACK and SUBACK would never reach us).
        self._connected = threading.Event()
        self._pending_subscriptions: set[int] = set()
        self._link_up = False  # CONNACK received, not yet disconnected (guarded by the lock)
        self.last_error: str | None = None
        self._started = False
        if settings.client_id == "" and not settings.clean_session:
            raise ValueError("a persistent MQTT session needs a client id")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=settings.clean_session,
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.max_queued_messages_set(0)
        if settings.username is not None:
            self.client.username_pw_set(settings.username, settings.password)
        if settings.uses_tls:
            self.client.tls_set(
                ca_certs=settings.ca_certs,
                certfile=settings.certfile,
                keyfile=settings.keyfile,
                cert_reqs=ssl.CERT_NONE if settings.tls_insecure else ssl.CERT_REQUIRED,
            )
            self.client.tls_insecure_set(settings.tls_insecure)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # ------------------------------------------------------------------ topics
    def add_topic(self, topic: str, handler: MessageHandler) -> None:
        # A topic added before the connection's snapshot of topics (``_on_connect``) is
        # subscribed there, one added after it here. Never call paho holding the lock: paho
        # calls ``_on_subscribe`` holding a mutex of its own that ``subscribe`` may take too.
        with self._lock:
            self._handlers[topic] = handler
            subscribe_now = self._link_up
        if subscribe_now:
            self.client.subscribe(topic, qos=1)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect in the background (paho's network thread retries until it succeeds)."""
        if self._started:
            return
        self._started = True
        try:
            self.client.connect_async(
                self.settings.host, self.settings.port, keepalive=self.settings.keepalive
            )
        except (OSError, ValueError) as exc:
            self._report("broker_down", f"cannot connect: {exc}")
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> None:
        """Block until connected and subscribed to every topic; :class:`MqttConnectionError`
        with the last reason if not."""
        if not self._connected.wait(timeout):
            reason = self.last_error or "no answer"
            raise MqttConnectionError(f"MQTT broker {self.settings.endpoint}: {reason}")

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    # ------------------------------------------------------------------ paho callbacks
    def _report(self, kind: str, message: str) -> None:
        self.last_error = message
        logger.warning("MQTT broker %s: %s", self.settings.endpoint, message)
        self.on_error(kind, self.settings.endpoint, message)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            kind = "auth_refused" if reason_code.value in (4, 5, 134, 135) else "broker_down"
            self._report(kind, f"connection refused: {reason_code}")
            return
        self.last_error = None
        with self._lock:
            topics = list(self._handlers)
            self._link_up = True
        # No SUBACK is handled before this callback returns (paho's network thread runs both),
        # so every message id is recorded before its answer can arrive.
        mids = set()
        for topic in topics:
            result, mid = client.subscribe(topic, qos=1)
            if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                mids.add(mid)
        with self._lock:
            self._pending_subscriptions = mids
            ready = not mids
        logger.info(
            "MQTT broker %s: connected (session present: %s), %d topics",
            self.settings.endpoint,
            flags.session_present,
            len(topics),
        )
        if ready:
            self._connected.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[Any],
        properties: Any,
    ) -> None:
        for code in reason_codes:
            if code.is_failure:
                self._report("subscription_refused", f"a subscription was refused: {code}")
        with self._lock:
            self._pending_subscriptions.discard(mid)
            ready = not self._pending_subscriptions
        if ready:
            self._connected.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._report("broker_down", "cannot connect (broker down or unreachable)")

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: Any,
        properties: Any,
    ) -> None:
        with self._lock:
            was_connected, self._link_up = self._link_up, False
        self._connected.clear()
        if self._started and was_connected:
            self._report("broker_down", f"disconnected ({reason_code}); reconnecting")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received_at = self.clock.now()
        topic = message.topic
        with self._lock:
            handlers = [h for t, h in self._handlers.items() if mqtt.topic_matches_sub(t, topic)]
        if not handlers:
            logger.warning("MQTT topic %s: no meter listens to it (unknown topic)", topic)
            self.on_error("unknown_topic", topic, f"message on unknown topic {topic}")
            return
        for handler in handlers:
            try:
                handler(topic, bytes(message.payload), received_at)
            except PayloadError as exc:
                logger.warning("%s", exc)
                self.on_error("malformed_payload", topic, str(exc))
            except Exception:  # a handler bug must not kill paho's network thread
                logger.exception("MQTT topic %s: handler failed", topic)


class MqttSource:
    """The latest sample of one meter on an MQTT topic."""

    def __init__(
        self,
        subscriber: MqttSubscriber,
        topic: str,
        payload_format: PayloadFormat,
        *,
        max_age: float = 120.0,
    ) -> None:
        self.subscriber = subscriber
        self.topic = topic
        self.format = payload_format
        self.max_age = max_age
        self._latest: Sample | None = None
        self._power: float | None = None
        self._lock = threading.Lock()
        subscriber.add_topic(topic, self.handle)

    @property
    def description(self) -> str:
        return f"mqtt {self.subscriber.settings.endpoint} {self.topic} ({self.format.name})"

    def handle(self, topic: str, payload: bytes, received_at: float) -> None:
        """Parse one message (raises :class:`PayloadError` on a malformed one)."""
        parsed: Parsed = self.format.parse(topic, payload)
        with self._lock:
            if parsed.power_w is not None:
                self._power = parsed.power_w
            if parsed.import_wh is None:
                if self._latest is not None and parsed.power_w is not None:
                    self._latest = replace(self._latest, power_w=parsed.power_w)
                return
            self._latest = Sample(
                import_wh=parsed.import_wh,
                export_wh=parsed.export_wh if parsed.export_wh is not None else 0.0,
                power_w=parsed.power_w if parsed.power_w is not None else self._power,
                taken_at=received_at,
                device_time=parsed.device_time,
                extras=dict(parsed.extras),
            )

    @property
    def latest(self) -> Sample | None:
        with self._lock:
            return self._latest

    async def start(self) -> None:
        self.subscriber.start()

    async def read(self, boundary: int) -> Sample:
        sample = self.latest
        where = f"mqtt {self.topic}"
        if sample is None:
            state = "" if self.subscriber.connected else f" (broker: {self.subscriber.last_error})"
            raise NoFreshSampleError(f"{where}: no sample received yet{state}")
        age = boundary - sample.taken_at
        if age > self.max_age:
            state = "" if self.subscriber.connected else f"; broker: {self.subscriber.last_error}"
            raise NoFreshSampleError(
                f"{where}: latest sample is {age:.0f} s older than the boundary{state}"
            )
        return sample

    async def close(self) -> None:
        return None
