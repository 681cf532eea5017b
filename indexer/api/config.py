"""Configuration of the API process (built from ``enerwise.settings.Settings`` by the CLI)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from indexer.community_queries import Tariffs


@dataclass
class ApiConfig:
    """Everything ``create_app`` needs besides the database.

    Attributes:
        cors_origins: origins allowed to call the API from a browser.
        rate_limit_per_minute: requests per client (IP) per minute; 0 disables the limit.
        rate_limit_burst: requests a client may send at once before the rate applies.
        tariffs: retail and feed-in tariffs for the KPIs (payment base units per kWh).
        siwe_domain: the ``domain`` Sign-In with Ethereum messages must name (host[:port]).
        session_secret: HMAC key of session tokens; several API processes must share it.
        session_ttl_seconds: lifetime of a session token.
        nonce_ttl_seconds: how long a sign-in nonce may be used.
        rpc_url: node for on-chain role checks at sign-in (None: sign-in is unavailable).
        static_dir: the dApp's static build, served at ``/`` when the folder exists.
        public_rpc_url: the JSON-RPC URL browsers should use, announced by ``/v1/config``
            (None: ``rpc_url``).
        public_api_base: the API's base URL as the dApp sees it ("": the dApp's own origin).
        redis_url: Redis for the live feed across processes (None: in-process only).
        response_cache_seconds: how long public GET responses are served from memory before
            they are revalidated against the index's checkpoint (0 disables the cache).
        explorer_url: a block explorer's base URL for the chain (``<url>/tx/<hash>``), announced
            by ``/v1/config`` (None: the dApp shows no links).
        time_zone: the community's IANA time zone: billing months and days run in it.
    """

    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost:3000"])
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 100
    tariffs: Tariffs = field(default_factory=lambda: Tariffs(retail=320_000, feed_in=80_000))
    siwe_domain: str = "localhost:8000"
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_ttl_seconds: int = 900
    nonce_ttl_seconds: int = 300
    rpc_url: str | None = None
    static_dir: Path | None = None
    public_rpc_url: str | None = None
    public_api_base: str = ""
    redis_url: str | None = None
    live_channel: str = "enerwise:live"
    stream_ping_seconds: float = 15.0
    response_cache_seconds: float = 0.25
    explorer_url: str | None = None
    time_zone: str = "UTC"
