"""The indexer's HTTP API (FastAPI): ``create_app`` and its configuration."""

from indexer.api.config import ApiConfig
from indexer.api.main import create_app

__all__ = ["ApiConfig", "create_app"]
