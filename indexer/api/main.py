"""The FastAPI application: ``create_app(engine, config)``.

Routes live in ``api/routes`` (one module per resource), typed dependencies in ``api/deps``,
response models in ``api/schemas``. The app only reads the database the ingester writes (plus
its own sign-in nonces and meter requests), streams the live feed from a :class:`LocalHub`
(fed by Redis when configured), and serves the dApp's static build at ``/`` when it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Hashable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from indexer.api.config import ApiConfig
from indexer.api.deps import AppState
from indexer.api.errors import install_error_handlers
from indexer.api.middleware import MetricsMiddleware, RateLimitMiddleware, ResponseCache
from indexer.api.routes import (
    accounts,
    auth,
    dapp_config,
    health,
    household_bill,
    kpi,
    meters,
    operator,
    pool,
    prices,
    slots,
    standing_orders,
    stream,
)
from indexer.api.sessions import RoleResolver
from indexer.live import LocalHub, RedisRelay
from indexer.store import STATE_ID

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"

#: Paths the API owns: an unknown one among them is the API's JSON 404, never a dApp page.
API_PREFIXES = frozenset({"v1", "docs", "redoc", "openapi.json", "health", "metrics"})


class DappFiles(StaticFiles):
    """The dApp's static export (``next build`` with ``output: "export"``, trailing slashes).

    ``/trade/`` serves ``trade/index.html``; an unknown page gets the export's ``404.html``
    (``html=True``). Paths under the API's prefixes are never answered from the build.
    """

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        if path.replace("\\", "/").split("/", 1)[0] in API_PREFIXES:
            raise StarletteHTTPException(404)
        return path


def index_version(engine: Engine) -> Hashable:
    """What changes whenever the ingester or the API writes a public read's data: the ingester's
    checkpoint row (every range, rollback and head note rewrites ``updated_at``) and the newest
    standing-orders change (the one public table written through the API, perhaps by another
    worker process). The API's cache revalidates its entries against it."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT block_number, block_hash, updated_at FROM indexer_state WHERE id = :id"),
            {"id": STATE_ID},
        ).first()
        standing = conn.execute(text("SELECT max(updated_at) FROM standing_orders")).scalar()
    return None if row is None else (*tuple(row), standing)


def create_app(
    engine: Engine,
    config: ApiConfig | None = None,
    *,
    hub: LocalHub | None = None,
    roles: RoleResolver | None = None,
) -> FastAPI:
    """The API over ``engine``'s database (which must be migrated and indexed by the ingester)."""
    config = config or ApiConfig()
    state = AppState(engine=engine, config=config, hub=hub or LocalHub(), roles=roles)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        relay_task: asyncio.Task[None] | None = None
        if config.redis_url:
            relay = RedisRelay(config.redis_url, state.hub, config.live_channel)
            relay_task = asyncio.create_task(relay.run())
            app.state.relay = relay
        try:
            yield
        finally:
            state.hub.close()
            if relay_task is not None:
                relay_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay_task

    app = FastAPI(
        title="EnergyChain market API",
        version=API_VERSION,
        description="Read API over the EnergyChain indexer: slots, order books, trades, prices, "
        "meters, balances, community KPIs, the city pool's communities and limits, a live feed, "
        "and operator endpoints behind Sign-In with Ethereum.",
        lifespan=lifespan,
    )
    app.state.indexer = state
    install_error_handlers(app)
    for module in (
        health, slots, accounts, household_bill, standing_orders, prices, meters, kpi, pool,
        auth, operator, stream,
    ):  # fmt: skip
        app.include_router(module.router)
    app.include_router(dapp_config.router)
    if config.static_dir is not None and (config.static_dir / "index.html").is_file():
        app.mount("/", DappFiles(directory=config.static_dir, html=True), name="dapp")
    else:

        @app.get("/", include_in_schema=False)
        def root() -> dict[str, Any]:
            return {"name": "EnergyChain market API", "docs": "/docs", "openapi": "/openapi.json"}

    app.add_middleware(
        ResponseCache, ttl=config.response_cache_seconds, version=lambda: index_version(engine)
    )
    app.add_middleware(
        RateLimitMiddleware, per_minute=config.rate_limit_per_minute, burst=config.rate_limit_burst
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Retry-After"],
    )
    app.add_middleware(MetricsMiddleware)
    return app
