"""The faults a soak injects, their seeded schedule, and what each one's recovery took.

Every kind has its own stream of faults: the gaps between two faults of a kind are drawn from
the seed (exponential around ``mean_gap``), so the kinds overlap in every combination (a
reorg while the indexer restarts, the database down while the node is down). A kind has at
most one fault in flight: its next fault is due after the previous one recovered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    ANVIL_RESTART = "anvil_restart"
    REORG = "reorg"
    POSTGRES_RESTART = "postgres_restart"
    REDIS_RESTART = "redis_restart"
    MOSQUITTO_RESTART = "mosquitto_restart"
    INDEXER_KILL = "indexer_kill"
    ORACLE_KILL = "oracle_kill"
    AGENT_KILL = "agent_kill"


KIND_TEXT: dict[FaultKind, str] = {
    FaultKind.ANVIL_RESTART: "anvil stopped, restarted from its state file",
    FaultKind.REORG: "chain reorganisation of 1..5 blocks",
    FaultKind.POSTGRES_RESTART: "PostgreSQL crashed (immediate shutdown), restarted",
    FaultKind.REDIS_RESTART: "Redis killed, restarted (empty)",
    FaultKind.MOSQUITTO_RESTART: "Mosquitto killed, restarted (no persistence)",
    FaultKind.INDEXER_KILL: "indexer SIGKILLed, restarted",
    FaultKind.ORACLE_KILL: "oracle SIGKILLed, restarted",
    FaultKind.AGENT_KILL: "agent runtime SIGKILLed, restarted",
}


@dataclass
class Fault:
    """One injected fault: when (seconds into the soak), how long the service stays down."""

    kind: FaultKind
    down_seconds: float
    depth: int = 0
    """Blocks replaced (reorgs)."""
    injected_at: float = 0.0
    recovered_at: float | None = None
    note: str = ""

    @property
    def recovery_seconds(self) -> float | None:
        if self.recovered_at is None:
            return None
        return self.recovered_at - self.injected_at


class Schedule:
    """The seeded stream of faults per kind (see the module docstring)."""

    def __init__(self, seed: int, kinds: tuple[FaultKind, ...], mean_gap: float) -> None:
        self.kinds = kinds
        self.mean_gap = mean_gap
        self._rng = {kind: random.Random(f"{seed}:{kind.value}") for kind in kinds}

    def first_due(self, kind: FaultKind, now: float) -> float:
        return now + self._rng[kind].uniform(0.2, 1.0) * self.mean_gap

    def next_due(self, kind: FaultKind, now: float) -> float:
        return now + min(self._rng[kind].expovariate(1.0 / self.mean_gap), 3 * self.mean_gap)

    def draw(self, kind: FaultKind) -> Fault:
        rng = self._rng[kind]
        return Fault(kind, down_seconds=round(rng.uniform(0.0, 2.0), 2), depth=rng.randint(1, 5))


@dataclass
class KindStats:
    injected: int = 0
    recovered: int = 0
    recovery_seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        times = sorted(self.recovery_seconds)
        return {
            "injected": self.injected,
            "recovered": self.recovered,
            "recovery_s_median": round(times[len(times) // 2], 2) if times else None,
            "recovery_s_max": round(times[-1], 2) if times else None,
        }


def summarise(faults: list[Fault], kinds: tuple[FaultKind, ...]) -> dict[str, KindStats]:
    stats = {kind.value: KindStats() for kind in kinds}
    for fault in faults:
        row = stats[fault.kind.value]
        row.injected += 1
        if fault.recovery_seconds is not None:
            row.recovered += 1
            row.recovery_seconds.append(fault.recovery_seconds)
    return stats
