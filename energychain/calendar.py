"""The slot calendar of an EnergyChain market: one formula for every package.

Slot ``k`` runs from ``epoch + k * slot_seconds`` to the next boundary; its orders may be placed
from ``open_ahead_seconds`` before it starts until gate closure, ``settlement_seconds`` after it
ends (the meters' readings of the slot arrive in that window). The registry and the market store
``epoch`` and ``slotSeconds``; the market's parameters hold the two windows
(``MarketParams.settlement_seconds``, ``open_ahead_seconds``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NO_SLOT = 2**256 - 1
"""``ReadingAccepted.slot`` of a reading attributed to no slot (a meter's first, its baseline)."""


@dataclass(frozen=True, slots=True)
class SlotCalendar:
    """Slot boundaries and order windows of one deployment (all times are Unix seconds)."""

    epoch: int
    slot_seconds: int
    settlement_seconds: int = 0
    open_ahead_seconds: int = 0

    def __post_init__(self) -> None:
        if self.slot_seconds <= 0:
            raise ValueError(f"slot_seconds must be positive, not {self.slot_seconds}")

    def slot_of(self, timestamp: int) -> int:
        """The slot running at ``timestamp`` (negative before the epoch)."""
        return (timestamp - self.epoch) // self.slot_seconds

    def start(self, slot: int) -> int:
        """When ``slot`` starts."""
        return self.epoch + slot * self.slot_seconds

    def end(self, slot: int) -> int:
        """When ``slot`` ends (the next one's start)."""
        return self.start(slot + 1)

    def gate_closure(self, slot: int) -> int:
        """The last moment (exclusive) an order of ``slot`` is accepted; clearing may follow."""
        return self.end(slot) + self.settlement_seconds

    def cancel_cutoff(self, slot: int) -> int:
        """The first moment an order of ``slot`` can no longer be cancelled by its owner or agent:
        the last half of the settlement window is firm (``EnergyMarket.cancelCutoff``, audit L-3).
        """
        return self.gate_closure(slot) - self.settlement_seconds // 2

    def opens_at(self, slot: int) -> int:
        """The first moment an order of ``slot`` is accepted (never before time 0)."""
        return max(0, self.start(slot) - self.open_ahead_seconds)

    def order_window(self, slot: int) -> tuple[int, int]:
        """``(opens_at, gate_closure)`` of ``slot``, as ``EnergyMarket.orderWindow`` answers."""
        return self.opens_at(slot), self.gate_closure(slot)

    def is_boundary(self, t: int) -> bool:
        """Whether ``t`` is a slot boundary (meters are read there)."""
        return t >= self.epoch and (t - self.epoch) % self.slot_seconds == 0

    def boundary_at_or_before(self, t: float) -> int:
        """The last boundary at or before ``t`` (a float clock's time)."""
        return self.start(math.floor((t - self.epoch) / self.slot_seconds))

    def next_boundary(self, t: float) -> int:
        """The first boundary strictly after ``t``."""
        return self.boundary_at_or_before(t) + self.slot_seconds

    def slots_starting_in(self, start: int, end: int) -> tuple[int, int]:
        """``(first, last)`` slots whose start lies in ``[start, end)``, never below slot 0
        (``last < first`` when there is none)."""
        first = max(-(-(start - self.epoch) // self.slot_seconds), 0)
        last = -(-(end - self.epoch) // self.slot_seconds) - 1
        return first, last
