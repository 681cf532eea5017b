"""The sample a source delivers, and the source protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


def wh(value: float) -> int:
    """A register value in Wh as a whole number (nearest; float32 registers need rounding)."""
    return round(value)


@dataclass(frozen=True)
class Sample:
    """Register values as read from a meter, before validation.

    ``import_wh``/``export_wh`` are cumulative registers in Wh (floats as decoded: they may be
    NaN or negative on a faulty meter, which validation refuses); ``taken_at`` is when the
    oracle read or received them (its clock), ``device_time`` the meter's own timestamp when
    the payload carries one.
    """

    import_wh: float
    export_wh: float
    power_w: float | None
    taken_at: float
    device_time: float | None = None
    extras: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """JSON output: registers as whole Wh (``None`` when not a finite number)."""

        def whole(value: float) -> int | None:
            return wh(value) if math.isfinite(value) else None

        out: dict[str, Any] = {
            "import_wh": whole(self.import_wh),
            "export_wh": whole(self.export_wh),
            "power_w": self.power_w,
        }
        out.update(self.extras)
        out["taken_at"] = self.taken_at
        if self.device_time is not None:
            out["device_time"] = self.device_time
        return out


@runtime_checkable
class MeterSource(Protocol):
    """A meter: read the sample that stands for a slot boundary."""

    @property
    def description(self) -> str:
        """Where the meter is read (logs, status table), e.g. ``modbus 10.0.0.5:502/1``."""
        ...

    async def start(self) -> None:
        """Open connections (idempotent); failures surface on :meth:`read`."""
        ...

    async def read(self, boundary: int) -> Sample:
        """The sample for ``boundary``; raises :class:`~oracles.errors.SourceError`."""
        ...

    async def close(self) -> None: ...


def parse_endpoint(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``) as a pair; raises ``ValueError``."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)
