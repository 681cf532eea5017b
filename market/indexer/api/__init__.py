"""The indexer's HTTP API (FastAPI): ``create_app`` and its configuration."""

from market.indexer.api.config import ApiConfig
from market.indexer.api.main import create_app

__all__ = ["ApiConfig", "create_app"]
