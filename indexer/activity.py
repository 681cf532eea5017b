"""When each meter's last reading arrived, from the indexer's database (oracle health).

``enerwise operator meter list|status --database-url`` reads it here; the operator tooling gets
it through the command line, so ``operations`` never imports the indexer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from indexer import community_queries, store
from indexer.db.engine import make_engine
from indexer.errors import ChainMismatchError, IndexerConfigError


@dataclass(frozen=True)
class MeterActivity:
    """A meter's readings as indexed: the last one's time and how many there are."""

    meter_id: str
    last_reading_time: int | None
    reading_count: int


def meter_activity(url: str, registry: str) -> tuple[list[MeterActivity], int]:
    """Every indexed meter's activity (ids lower case) and the checkpoint block's time.

    Raises :class:`ChainMismatchError` when the database indexes nothing yet or another
    registry than ``registry``; :class:`IndexerConfigError` when it cannot be read.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            state = store.read_state(conn)
            if state is None:
                raise ChainMismatchError(f"the database {url} has indexed nothing yet")
            found = str(dict(state["addresses"]).get("registry", ""))
            if found.lower() != registry.lower():
                raise ChainMismatchError(
                    f"the database {url} indexes the registry {found or '(none)'}, not this "
                    f"community's {registry}: point it at the right deployment or leave it out"
                )
            out: list[MeterActivity] = []
            after: int | None = None
            while True:
                views, after = community_queries.list_meters(conn, after=after, limit=500)
                out += [
                    MeterActivity(v.meter_id.lower(), v.last_reading_time, v.reading_count)
                    for v in views
                ]
                if after is None:
                    break
            return out, int(state["block_time"])
    except SQLAlchemyError as exc:
        raise IndexerConfigError(f"--database-url: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
