"""The API's micro-cache: hot reads from memory for ``ttl``, then recomputed on request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from indexer.api.middleware import ResponseCache


class CountingApp:
    """An ASGI app answering ``version N`` (N counts calls), optionally slowly or failing."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("database went away")
        body = f"version {self.calls}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"etag", b'"v"')]})
        await send({"type": "http.response.body", "body": body})


def scope(path: str = "/v1/slots/1/depth", headers: list[Any] | None = None) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": headers or [],
    }


async def get(cache: ResponseCache, path: str = "/v1/slots/1/depth", **kw: Any) -> tuple[int, str]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await cache(scope(path, **kw), receive, send)
    status = messages[0]["status"]
    return status, b"".join(m.get("body", b"") for m in messages[1:]).decode()


def test_fresh_entries_are_served_from_memory() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=60)
        assert await get(cache) == (200, "version 1")
        assert await get(cache) == (200, "version 1")
        assert app.calls == 1

    asyncio.run(scenario())


def test_the_first_request_after_ttl_sees_fresh_data() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=0.05)
        await get(cache)
        await asyncio.sleep(0.06)
        assert await get(cache) == (200, "version 2")  # what the index holds now
        assert await get(cache) == (200, "version 2")
        assert app.calls == 2

    asyncio.run(scenario())


def test_requests_during_a_recomputation_get_the_previous_copy() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=0.05)
        await get(cache)
        await asyncio.sleep(0.06)
        app.delay = 0.2
        refreshing = asyncio.create_task(get(cache))
        await asyncio.sleep(0.05)  # the recomputation is under way
        assert await get(cache) == (200, "version 1")
        assert await refreshing == (200, "version 2")
        assert app.calls == 2  # one recomputation, not one per request

    asyncio.run(scenario())


def test_a_failed_recomputation_is_retried_by_the_next_request() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=0.02)
        await get(cache)
        await asyncio.sleep(0.03)
        app.fail = True
        with pytest.raises(RuntimeError):
            await get(cache)
        app.fail = False
        assert await get(cache) == (200, "version 3")

    asyncio.run(scenario())


def test_a_cold_key_is_fetched_on_the_request() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=60)
        assert await get(cache, "/v1/prices") == (200, "version 1")
        assert await get(cache, "/v1/slots") == (200, "version 2")

    asyncio.run(scenario())


def test_a_matching_etag_gets_304_from_memory() -> None:
    async def scenario() -> None:
        cache = ResponseCache(CountingApp(), ttl=60)
        await get(cache)
        status, body = await get(cache, headers=[(b"if-none-match", b'"v"')])
        assert (status, body) == (304, "")

    asyncio.run(scenario())


def test_sign_in_operator_and_authorised_requests_bypass_the_cache() -> None:
    async def scenario() -> None:
        app = CountingApp()
        cache = ResponseCache(app, ttl=60)
        await get(cache, "/v1/operator/billing")
        await get(cache, "/v1/operator/billing")
        await get(cache, headers=[(b"authorization", b"Bearer x")])
        await get(cache, headers=[(b"authorization", b"Bearer x")])
        assert app.calls == 4

    asyncio.run(scenario())


class IndexVersion:
    """The index's version as the cache sees it: counts the questions, can fail."""

    def __init__(self) -> None:
        self.value = 1
        self.asked = 0
        self.fail = False

    def __call__(self) -> int:
        self.asked += 1
        if self.fail:
            raise RuntimeError("database went away")
        return self.value


def test_an_old_entry_of_an_unchanged_index_is_served_without_recomputing() -> None:
    async def scenario() -> None:
        app, version = CountingApp(), IndexVersion()
        cache = ResponseCache(app, ttl=0.02, version=version)
        await get(cache)
        await asyncio.sleep(0.03)
        assert await get(cache) == (200, "version 1")  # still what the index holds
        assert app.calls == 1 and version.asked == 2
        assert await get(cache) == (200, "version 1")  # revalidated: fresh for ttl again
        assert version.asked == 2

    asyncio.run(scenario())


def test_an_old_entry_is_recomputed_once_the_index_changed() -> None:
    async def scenario() -> None:
        app, version = CountingApp(), IndexVersion()
        cache = ResponseCache(app, ttl=0.02, version=version)
        await get(cache)
        version.value = 2  # the ingester committed a range
        assert await get(cache) == (200, "version 1")  # within ttl
        await asyncio.sleep(0.03)
        assert await get(cache) == (200, "version 2")
        assert app.calls == 2

    asyncio.run(scenario())


def test_an_unknown_index_version_recomputes_every_old_entry() -> None:
    async def scenario() -> None:
        app, version = CountingApp(), IndexVersion()
        cache = ResponseCache(app, ttl=0.02, version=version)
        await get(cache)
        version.fail = True
        await asyncio.sleep(0.03)
        assert await get(cache) == (200, "version 2")

    asyncio.run(scenario())


def test_the_api_serves_a_committed_range_once_its_entries_are_older_than_ttl(
    played: Any, engine: Any
) -> None:
    from fastapi.testclient import TestClient

    from indexer.api import ApiConfig, create_app

    c = played.community
    ingester = played.ingester(engine)
    ingester.sync()
    app = create_app(engine, ApiConfig(rate_limit_per_minute=0, response_cache_seconds=0.01))
    with TestClient(app) as client:
        before = client.get("/v1/status").json()["checkpoint_block"]
        c.dev.mine()
        time.sleep(0.02)
        assert client.get("/v1/status").json()["checkpoint_block"] == before  # index unchanged
        ingester.sync()
        time.sleep(0.02)
        assert client.get("/v1/status").json()["checkpoint_block"] != before
