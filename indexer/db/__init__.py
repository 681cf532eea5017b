"""Storage of the indexer: models, engines, migrations (Alembic, shipped in this package)."""

from indexer.db.engine import default_database_url, make_engine, normalize_url
from indexer.db.migrate import check_schema, current_revision, head_revision, upgrade

__all__ = [
    "check_schema",
    "current_revision",
    "default_database_url",
    "head_revision",
    "make_engine",
    "normalize_url",
    "upgrade",
]
