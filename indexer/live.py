"""Live feed: the ingester publishes what it committed; API processes stream it to clients.

Two transports behind one interface, like httpx's real and in-memory transports:

- :class:`LocalHub` fans events out inside one process (ingester and API in the same process,
  tests). It is also what every API process uses to serve its own SSE clients.
- With Redis, the ingester's :class:`RedisPublisher` publishes on a pub/sub channel and each API
  process runs a :class:`RedisRelay` that feeds its :class:`LocalHub`, so any number of API
  processes serve the same stream.

Events are published only after the range that produced them was committed; a reorganisation
publishes a ``reorg`` event naming the last block that is still valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from chain.retry import Backoff

logger = logging.getLogger(__name__)

#: Reconnects of the Redis relay: 0.2 s doubling up to 5 s.
RELAY_BACKOFF = Backoff(base=0.2, cap=5.0, jitter=0.0)

DEFAULT_CHANNEL = "enerwise:live"

#: Event names published, by topic.
TOPICS: dict[str, tuple[str, ...]] = {
    "orders": ("OrderPlaced", "OrderCancelled"),
    "clearings": ("SlotCleared",),
    "claims": ("OrderClaimed", "OrderPoolFilled"),
    "readings": ("ReadingAccepted",),
    "commitments": ("OrderCommitted", "OrderRevealed", "CommitmentForfeited"),
    "pool": ("PoolCleared", "PoolSettled", "CommunityPaused", "CommunityResumed"),
}
TOPIC_OF: dict[str, str] = {name: topic for topic, names in TOPICS.items() for name in names}
ALL_TOPICS: tuple[str, ...] = (*TOPICS, "reorg")


@dataclass(frozen=True)
class LiveEvent:
    """One item of the live feed."""

    topic: str
    name: str
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.block_number}-{self.log_index}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> LiveEvent:
        return cls(**json.loads(raw))


class Publisher(Protocol):
    """Where the ingester sends committed events (called from the ingester's thread)."""

    def publish(self, events: Sequence[LiveEvent]) -> None: ...


class NullPublisher:
    """Publishes nothing (an ingester without live clients)."""

    def publish(self, events: Sequence[LiveEvent]) -> None:
        return None


class Subscription:
    """One client's queue; iterate it with ``async for``."""

    def __init__(self, hub: LocalHub, topics: frozenset[str], maxsize: int) -> None:
        self._hub = hub
        self.topics = topics
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize)
        self.loop = asyncio.get_running_loop()
        self.dropped = 0

    def offer(self, event: LiveEvent) -> None:
        """Called on the subscriber's loop; a full queue drops the oldest event."""
        if event.topic not in self.topics:
            return
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[LiveEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[LiveEvent]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


class LocalHub:
    """In-process fan-out; ``publish`` is thread-safe, subscriptions live on event loops."""

    def __init__(self, queue_size: int = 1_000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, events: Sequence[LiveEvent]) -> None:
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            try:
                sub.loop.call_soon_threadsafe(_offer_all, sub, list(events))
            except RuntimeError:  # the subscriber's loop is closed
                self._discard(sub)

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: Iterable[str] = ALL_TOPICS) -> AsyncIterator[Subscription]:
        sub = Subscription(self, frozenset(topics), self.queue_size)
        with self._lock:
            self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._discard(sub)

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.close)

    def _discard(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)


def _offer_all(sub: Subscription, events: list[LiveEvent]) -> None:
    for event in events:
        sub.offer(event)


class FanOut:
    """Publishes to several publishers (e.g. the local hub and Redis)."""

    def __init__(self, *publishers: Publisher) -> None:
        self.publishers = publishers

    def publish(self, events: Sequence[LiveEvent]) -> None:
        for publisher in self.publishers:
            publisher.publish(events)


class RedisPublisher:
    """Publishes each event as JSON on a Redis pub/sub channel (one pipeline per batch)."""

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        import redis

        self.channel = channel
        self._client = redis.Redis.from_url(url)

    def publish(self, events: Sequence[LiveEvent]) -> None:
        if not events:
            return
        import redis

        try:
            pipe = self._client.pipeline(transaction=False)
            for event in events:
                pipe.publish(self.channel, event.to_json())
            pipe.execute()
        except redis.RedisError as exc:  # the feed is best effort; the database is the truth
            logger.warning("could not publish %d live events to Redis: %s", len(events), exc)

    def close(self) -> None:
        self._client.close()


class RedisRelay:
    """Subscribes to the Redis channel and feeds a :class:`LocalHub` (one per API process)."""

    def __init__(self, url: str, hub: LocalHub, channel: str = DEFAULT_CHANNEL) -> None:
        self.url = url
        self.hub = hub
        self.channel = channel
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Relay until cancelled; reconnects with backoff when Redis goes away."""
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        failures = 0
        while True:
            client = aioredis.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.ready.set()
                    failures = 0
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            event = LiveEvent.from_json(message["data"])
                        except (ValueError, TypeError) as exc:
                            logger.warning("ignoring a malformed live event: %s", exc)
                            continue
                        self.hub.publish([event])
            except (RedisError, OSError) as exc:
                self.ready.clear()
                delay = RELAY_BACKOFF.delay(failures)
                failures += 1
                logger.warning(
                    "Redis relay lost its connection (%s); retrying in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
