"""Application settings: ``ENERWISE_*`` environment variables, an optional config file, flags.

Precedence, highest first: command-line flags (passed as overrides), environment variables,
the config file (YAML or TOML, ``--config`` or ``ENERWISE_CONFIG``), the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from enerwise.errors import SettingsError


class Settings(BaseSettings):
    """Everything the application can be configured with."""

    model_config = SettingsConfigDict(env_prefix="ENERWISE_", extra="forbid")

    rpc_url: str | None = None
    """JSON-RPC endpoint; unset means the local chain started by ``enerwise chain up``."""
    ws_url: str | None = None
    """Websocket endpoint for new-block notifications (``eth_subscribe``); unset: the RPC URL
    with ``ws(s)://`` (anvil, reth); ``off``: poll only."""
    confirmations: int = 0
    database_url: str | None = None
    redis_url: str | None = None
    # indexer API (`enerwise indexer serve`); money in payment base units per kWh
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    cors_origins: str = "http://localhost:3000,http://127.0.0.1:3000"
    """Comma-separated origins allowed to call the API from a browser."""
    rate_limit_per_minute: int = 600
    retail_tariff: int = 320_000
    feed_in_tariff: int = 80_000
    siwe_domain: str | None = None
    """Domain Sign-In with Ethereum messages must name; default ``api_host:api_port``."""
    session_secret: str | None = None
    """HMAC key of API session tokens; set it when several API processes run."""
    explorer_url: str | None = None
    """Block explorer of the chain, announced to the dApp (default: the deployment record's,
    written from community.yaml's ``chain.explorer_url``; none: no links)."""
    time_zone: str | None = None
    """IANA time zone of the community's bills (default: the deployment record's, else UTC)."""
    pool_address: str | None = None
    """A ``CityPool`` the indexer follows beside the market (its communities, grid fee and
    published limits); default: the deployment record's ``city_pool`` address, if any."""


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path} is not valid: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a mapping of settings")
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults < config file < environment < ``overrides`` (None ignored)."""
    file_path = config_file or (Path(p) if (p := os.environ.get("ENERWISE_CONFIG")) else None)
    from_file = _read_config_file(file_path) if file_path else {}
    env_values = {
        name: os.environ[f"ENERWISE_{name.upper()}"]
        for name in Settings.model_fields
        if f"ENERWISE_{name.upper()}" in os.environ
    }
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings.model_validate({**from_file, **env_values, **flags})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"setting {field}: {first['msg']}") from None
