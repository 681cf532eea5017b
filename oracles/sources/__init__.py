"""Where samples come from: Modbus TCP, MQTT, simulated meters.

Every source implements :class:`MeterSource`: ``read(boundary)`` returns the :class:`Sample`
that stands for the slot boundary (or raises a :class:`~oracles.errors.SourceError`).
"""

from __future__ import annotations

from oracles.sources.base import MeterSource, Sample, wh

__all__ = ["MeterSource", "Sample", "wh"]
