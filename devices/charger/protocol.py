"""What both ends of our OCPP link share: timestamps and a typed handler decorator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ocpp.routing import on as _on

F = TypeVar("F", bound=Callable[..., Any])


def handles(action: str) -> Callable[[F], F]:
    """``ocpp.routing.on`` with a type (the library's decorator is untyped)."""
    return cast(Callable[[F], F], _on(action))


def iso(t: float) -> str:
    """An OCPP timestamp: RFC 3339 in UTC with a ``Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
