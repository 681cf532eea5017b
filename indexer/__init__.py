"""The indexer: EnergyChain events into SQLite/PostgreSQL, and the ``/v1`` API over them.

See docs/indexer.md: ``ingest`` (backfill and follow), ``db`` (models, Alembic migrations shipped
as package data), ``api`` (the FastAPI app), ``live`` (SSE fan-out), ``siwe`` (sign-in).
"""
