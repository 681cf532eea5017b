"""Oracle health per meter: when did each meter's last reading arrive, and is that too long ago.

A meter's oracle submits one reading per slot (usually batched right after the slot ends), so
against the chain's time (the latest block's timestamp):

- ``ok``: the last reading is at most :data:`LATE_AFTER_SLOTS` slots old;
- ``late``: older, but at most :data:`SILENT_AFTER_SLOTS` slots;
- ``silent``: older still, or the meter never sent a reading;
- ``inactive``: the meter was deactivated (no readings expected).

Where the last reading comes from, best first: the indexer's API (``--indexer-url``), the
indexer's database (``--database-url`` / ``ENERWISE_DATABASE_URL``: the command line hands in an
:data:`IndexSource` reading it, so this package never imports the indexer), else the registry on
chain (each meter's ``lastTimestamp``). An index bound to another deployment is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from operations.errors import OperatorError

LATE_AFTER_SLOTS = 2
SILENT_AFTER_SLOTS = 8
HEALTH_STATES = ("ok", "late", "silent", "inactive")


def classify(
    last_reading_time: int | None, now: int, slot_seconds: int, *, active: bool = True
) -> str:
    """``ok`` / ``late`` / ``silent`` / ``inactive`` (see the module docstring)."""
    if not active:
        return "inactive"
    if last_reading_time is None or last_reading_time <= 0:
        return "silent"
    age = now - last_reading_time
    if age <= LATE_AFTER_SLOTS * slot_seconds:
        return "ok"
    if age <= SILENT_AFTER_SLOTS * slot_seconds:
        return "late"
    return "silent"


@dataclass(frozen=True)
class LastReading:
    """What a source knows about a meter's readings."""

    meter_id: str
    last_reading_time: int | None
    reading_count: int | None = None
    """How many readings (None: the source does not say, e.g. the chain's registry)."""


class IndexerMismatchError(OperatorError):
    """The index answers for another deployment than the community's."""


def _check_same(kind: str, where: str, indexed: dict[str, Any], registry: str) -> None:
    found = str(indexed.get("registry", ""))
    if found.lower() != registry.lower():
        raise IndexerMismatchError(
            f"{kind} {where} indexes the registry {found or '(none)'}, not this community's "
            f"{registry}: point it at the right deployment or leave it out"
        )


def from_api(base_url: str, registry: str, timeout: float = 10.0) -> tuple[list[LastReading], int]:
    """Last readings from the indexer's public API (``/v1/status``, ``/v1/meters``)."""
    import httpx

    base = base_url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=timeout) as client:
            status = _get(client, "/v1/status", {})
            _check_same("the indexer", base, status["market"]["addresses"], registry)
            out: list[LastReading] = []
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = _get(client, "/v1/meters", params)
                out += [
                    LastReading(
                        str(m["meter_id"]).lower(),
                        m.get("last_reading_time"),
                        m.get("reading_count"),
                    )
                    for m in page["items"]
                ]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            return out, int(status["checkpoint_time"])
    except httpx.HTTPError as exc:
        raise OperatorError(f"--indexer-url: {base} cannot be reached: {exc}") from None


def _get(client: Any, path: str, params: dict[str, Any]) -> Any:
    response = client.get(path, params=params)
    if response.status_code != 200:
        raise OperatorError(
            f"--indexer-url: GET {path} answered {response.status_code}: {response.text[:200]}"
        )
    return response.json()


IndexSource = Callable[[str], list[LastReading]]
"""Last readings from an index, given the community's registry address (refusing another's)."""


def index_readings(
    registry: str, *, indexer_url: str | None = None, database: IndexSource | None = None
) -> tuple[dict[str, LastReading], str] | None:
    """Last readings per meter id from the configured index, and the source's name; None
    when no index is configured (the caller falls back to the chain)."""
    if indexer_url:
        found, _ = from_api(indexer_url, registry)
        return {r.meter_id: r for r in found}, f"indexer {indexer_url.rstrip('/')}"
    if database is not None:
        return {r.meter_id: r for r in database(registry)}, "indexer database"
    return None


@dataclass(frozen=True)
class MeterHealth:
    meter_id: str
    name: str | None
    active: bool
    last_reading_time: int | None
    age_seconds: int | None
    reading_count: int | None
    health: str


def meter_health(
    meters: Iterable[tuple[str, str | None, bool, int | None]],
    readings: dict[str, LastReading] | None,
    now: int,
    slot_seconds: int,
) -> list[MeterHealth]:
    """Health of ``(meter id, name, active, last time on chain)``; ``readings`` from an index
    override the chain's last time where given."""
    out: list[MeterHealth] = []
    for meter_id, name, active, chain_last in meters:
        last: int | None = chain_last if chain_last else None
        count: int | None = None
        if readings is not None:
            seen = readings.get(meter_id.lower())
            last = seen.last_reading_time if seen else None
            count = seen.reading_count if seen else 0
        out.append(
            MeterHealth(
                meter_id=meter_id,
                name=name,
                active=active,
                last_reading_time=last,
                age_seconds=(now - last) if last is not None else None,
                reading_count=count,
                health=classify(last, now, slot_seconds, active=active),
            )
        )
    return out
