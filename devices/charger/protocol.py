"""What both ends of our OCPP link share, in either version: timestamps, a typed handler
decorator, the measurands and the charging schedule's periods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ocpp.routing import on as _on

F = TypeVar("F", bound=Callable[..., Any])

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


def handles(action: str) -> Callable[[F], F]:
    """``ocpp.routing.on`` with a type (the library's decorator is untyped)."""
    return cast(Callable[[F], F], _on(action))


def iso(t: float) -> str:
    """An OCPP timestamp: RFC 3339 in UTC with a ``Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def schedule_periods(periods: list[tuple[int, float]]) -> list[dict[str, Any]]:
    """``(start second, limit)`` pairs as a schedule's ``charging_schedule_period``."""
    return [{"start_period": start, "limit": round(limit, 1)} for start, limit in periods]


def read_periods(schedule: dict[str, Any]) -> list[tuple[int, float]]:
    """A schedule's ``charging_schedule_period`` as ``(start second, limit)`` pairs."""
    return [
        (int(p["start_period"]), float(p["limit"])) for p in schedule["charging_schedule_period"]
    ]


def first_limit(schedule: dict[str, Any] | None) -> float | None:
    """The limit of a schedule's first period (None: no schedule or no period)."""
    periods = (schedule or {}).get("charging_schedule_period") or []
    return float(periods[0]["limit"]) if periods else None
