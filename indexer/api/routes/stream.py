"""Live feed over Server-Sent Events: new orders, clearings, claims, readings, a sealed
market's commitments (and reorgs)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse

from indexer import metrics
from indexer.api.deps import StateDep
from indexer.api.errors import ApiError
from indexer.live import ALL_TOPICS

router = APIRouter(prefix="/v1", tags=["live"])


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "One SSE event per committed chain event; `event` is the "
            "topic, `data` the JSON LiveEvent.",
        }
    },
)
async def stream(
    request: Request,
    state: StateDep,
    topics: Annotated[
        str, Query(max_length=200, description="Comma-separated topics: " + ", ".join(ALL_TOPICS))
    ] = ",".join(ALL_TOPICS),
) -> EventSourceResponse:
    """Subscribe to the live feed (Server-Sent Events)."""
    wanted = {t.strip() for t in topics.split(",") if t.strip()}
    unknown = wanted - set(ALL_TOPICS)
    if unknown or not wanted:
        raise ApiError(
            422,
            "invalid_topics",
            f"unknown topics {sorted(unknown)}; choose from {', '.join(ALL_TOPICS)}",
        )
    hub = state.hub

    async def events() -> AsyncIterator[dict[str, Any]]:
        metrics.SSE_CLIENTS.inc()
        try:
            async with hub.subscribe(wanted) as subscription:
                yield {"event": "ready", "data": json.dumps({"topics": sorted(wanted)})}
                async for event in subscription:
                    yield {"event": event.topic, "id": event.id, "data": event.to_json()}
        finally:
            metrics.SSE_CLIENTS.dec()

    return EventSourceResponse(events(), ping=int(state.config.stream_ping_seconds) or None)
