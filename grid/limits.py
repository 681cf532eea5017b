"""What the grid operator publishes per slot, and the events of computing it.

:class:`TransferLimits` is the record the chain side consumes (to be signed by the grid-operator
role and enforced by the city pool): per slot and community, the most it may import from and
export to the pool, in whole Wh. Events are typed records of what went differently from a
plain computation; they never stop a slot: a slot always gets limits (computed, kept from the
last good slot, or zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from grid.errors import LimitsError
from grid.powerflow import ElementKind


@dataclass(frozen=True, slots=True)
class TransferLimits:
    """How much one community may exchange with the city pool in one slot.

    Attributes:
        slot: the slot the limits apply to.
        community_id: the community.
        import_limit_wh: most energy the community may take from the pool (>= 0).
        export_limit_wh: most energy the community may give to the pool (>= 0).
    """

    slot: int
    community_id: str
    import_limit_wh: int
    export_limit_wh: int

    def __post_init__(self) -> None:
        for name in ("slot", "import_limit_wh", "export_limit_wh"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise LimitsError(f"{name} must be a whole number >= 0, got {value!r}")
        if not self.community_id:
            raise LimitsError("community_id must not be empty")

    def allows(self, exchange_wh: float) -> bool:
        """Whether a net exchange (positive = export to the pool) is within the limits."""
        return -self.import_limit_wh <= exchange_wh <= self.export_limit_wh


class Direction(StrEnum):
    """Which way energy crosses a community's boundary."""

    IMPORT = "import"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class PowerFlowDiverged:
    """A power flow the limits or a check depend on did not converge.

    Attributes:
        slot: the slot.
        stage: ``forecast`` (the limits; the last good limits are kept) or ``schedule`` (a
            check after the slot; no verdict on lines and voltages).
    """

    slot: int
    stage: str


@dataclass(frozen=True, slots=True)
class LimitsKept:
    """A community's limits for ``slot`` are those of ``from_slot`` (zero when None: there
    were no good limits yet)."""

    slot: int
    community_id: str
    from_slot: int | None


@dataclass(frozen=True, slots=True)
class NoFeasibleExchange:
    """No exchange of the community keeps the network within its bounds (the forecast itself
    violates them in the community's part of the network, and no exchange tried repairs it):
    its limits are zero."""

    slot: int
    community_id: str


@dataclass(frozen=True, slots=True)
class JointReduction:
    """All communities at their limits at once overloaded a shared element (an MV line, a
    shared transformer, a voltage raised through the MV level): every community's room beyond
    the joint step's start was scaled by ``factor`` in ``direction`` (one common factor: on the
    city network it leaves more room in total than scaling only the communities behind the
    worst element, round by round, and needs fewer power flows)."""

    slot: int
    direction: Direction
    factor: float


@dataclass(frozen=True, slots=True)
class ForecastViolation:
    """The forecast violates a bound at an element outside every community's part of the
    network: no transfer limit can change it, so the limits ignore it."""

    slot: int
    kind: ElementKind
    element: int
    margin: float


@dataclass(frozen=True, slots=True)
class ForecastScaled:
    """Every community at its own safe point nearest its forecast, all at once, broke a bound:
    the common starting point of the joint step moved ``1 - factor`` of the way back towards a
    safe point (the second pass's background when safe, else zero exchange)."""

    slot: int
    factor: float


GridEvent = (
    PowerFlowDiverged
    | LimitsKept
    | NoFeasibleExchange
    | JointReduction
    | ForecastScaled
    | ForecastViolation
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The exchange interval the search found for a community (kW, positive = export).

    Attributes:
        community_id: the community.
        forecast_kw: its forecast exchange.
        low_kw: the lowest safe exchange (``-low_kw`` is the import limit when negative).
        high_kw: the highest safe exchange (the export limit when positive).
    """

    community_id: str
    forecast_kw: float
    low_kw: float
    high_kw: float


@dataclass(frozen=True, slots=True)
class SlotLimits:
    """The limits of one slot with how they came about.

    Attributes:
        slot: the slot.
        limits: one per community, in community order.
        envelopes: the searched intervals (empty when the limits were kept).
        events: what went differently from a plain computation.
        power_flows: power flows run for this slot.
    """

    slot: int
    limits: tuple[TransferLimits, ...]
    envelopes: tuple[Envelope, ...]
    events: tuple[GridEvent, ...]
    power_flows: int

    def of(self, community_id: str) -> TransferLimits:
        """The limits of one community."""
        for limits in self.limits:
            if limits.community_id == community_id:
                return limits
        raise KeyError(community_id)
