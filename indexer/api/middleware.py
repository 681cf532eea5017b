"""ASGI middleware: per-client rate limits and request metrics (plain ASGI, no per-request
task overhead)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indexer import metrics

EXEMPT = ("/health", "/metrics")

#: A cached response: (made at, monotonic s), status, headers, body, the index's version then.
_Entry = tuple[float, int, list[tuple[bytes, bytes]], bytes, Hashable | None]


class RateLimitMiddleware:
    """Token bucket per client address: ``burst`` requests at once, ``per_minute`` sustained.

    Over the limit: 429 with a JSON error and ``Retry-After``. ``/health`` and ``/metrics``
    are exempt (probes and scrapers).
    """

    def __init__(self, app: ASGIApp, per_minute: int, burst: int) -> None:
        self.app = app
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        wait = self._take(key)
        if wait > 0:
            body = json.dumps(
                {"error": {"code": "rate_limited", "message": "too many requests: slow down"}}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(max(1, int(wait + 0.999))).encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _take(self, key: str) -> float:
        """0 if a token was taken, else seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if now - self._last_sweep > 60:
                self._sweep(now)
        return wait

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._last_sweep = now


class MetricsMiddleware:
    """Counts requests and observes latency per route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            metrics.HTTP_REQUESTS.labels(scope["method"], name, str(status[0])).inc()
            if name != "/v1/stream":
                metrics.HTTP_LATENCY.labels(name).observe(time.perf_counter() - started)


class ResponseCache:
    """A micro-cache of public GET responses (``/v1/...`` reads), revalidated every ``ttl`` s.

    Hot read endpoints (depth, prices) are asked many times a second by many clients while the
    index changes at most once per ingester step; serving them from memory keeps latency flat
    under load. An entry younger than ``ttl`` is served as it is. Once older, the next request
    asks ``version()`` (the index's version: the ingester's checkpoint row, one tiny query in a
    worker thread): if the index has not changed since the entry was made, the entry is still
    what the index holds and is served (and its clock restarts); otherwise it is recomputed.
    Without ``version`` an old entry is always recomputed. Requests arriving while a
    revalidation or recomputation runs get the old copy. So a client that asks after ``ttl``
    sees what the index held when it asked (the dApp relies on it: it reads once after an
    event) unless a revalidation was already under way.

    Revalidating instead of recomputing (2026-12, issue 19 item 3): with a TTL alone, every key
    was recomputed 4 times a second, and those requests (2 % of the bench's 500 requests/s on
    two keys) waited for a 2,000-order depth query: the p99 was that query. Serving stale copies
    with a background refresh was tried before: it made the dApp show an order as open after
    its slot had cleared. Requests with an ``Authorization`` header, the live stream, sign-in
    and operator routes are never cached. A successful write through the API (a household's
    standing orders) empties the cache: the one who wrote reads what they wrote, at once.
    """

    SKIP = ("/v1/stream", "/v1/auth", "/v1/operator")
    WRITES = ("POST", "PUT", "PATCH", "DELETE")

    def __init__(
        self,
        app: ASGIApp,
        ttl: float,
        max_entries: int = 2_048,
        version: Callable[[], Hashable] | None = None,
    ) -> None:
        self.app = app
        self.ttl = ttl
        self.max_entries = max_entries
        self.version = version
        self._entries: dict[bytes, _Entry] = {}
        self._refreshing: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.ttl > 0 and scope["type"] == "http" and scope["method"] in self.WRITES:
            await self._write(scope, receive, send)
            return
        if (
            self.ttl <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith("/v1/")
            or scope["path"].startswith(self.SKIP)
            or any(name == b"authorization" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        hit = self._entries.get(key)
        if hit is not None and (time.monotonic() - hit[0] < self.ttl or key in self._refreshing):
            await self._serve(hit, scope, send)
            return
        self._refreshing.add(key)
        try:
            version = await self._current_version()
            if hit is not None and version is not None and hit[4] == version:
                self._entries[key] = (time.monotonic(), *hit[1:])
                await self._serve(hit, scope, send)
                return
            await self._fetch(key, scope, receive, send, version)
        finally:
            self._refreshing.discard(key)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a write through; once it succeeded, forget every entry, so this process answers
        its next read with what was written (read-your-writes: a household that saves its
        standing orders sees them at once). Other processes learn of API writes through
        ``version()``, which covers the tables the API writes (see ``index_version``)."""
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if status and status[0] < 400:
                self._entries.clear()

    async def _current_version(self) -> Hashable | None:
        """The index's version now (None: unknown, so nothing is reused)."""
        if self.version is None:
            return None
        try:
            return await anyio.to_thread.run_sync(self.version)
        except Exception:  # the database is down: recompute, and let the route say 503
            return None

    async def _serve(self, entry: _Entry, scope: Scope, send: Send) -> None:
        _, status, headers, body, _ = entry
        etag = next((v for k, v in headers if k == b"etag"), None)
        wanted = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if etag is not None and wanted is not None and etag in wanted:
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [(k, v) for k, v in headers if k != b"content-length"],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _fetch(
        self, key: bytes, scope: Scope, receive: Receive, send: Send, version: Hashable | None
    ) -> None:
        """Answer from the app, keeping a 200 (made at ``version`` of the index) for later."""
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        fetched_at = time.monotonic()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and started.get("status") == 200:
                    if len(self._entries) >= self.max_entries and key not in self._entries:
                        self._entries.clear()
                    self._entries[key] = (
                        fetched_at,
                        200,
                        list(started.get("headers", [])),
                        b"".join(chunks),
                        version,
                    )
            await send(message)

        await self.app(scope, receive, capture)
