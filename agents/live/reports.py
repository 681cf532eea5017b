"""What one step of the live agent did, for its caller and its log."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.community import Decision


@dataclass(frozen=True, slots=True)
class OrderAction:
    """An order the runtime placed, refused, reconciled or claimed."""

    slot: int
    side: str
    tick: int
    qty_wh: int
    order_id: int | None = None
    reason: str | None = None


@dataclass(slots=True)
class StepReport:
    """What one :meth:`AgentRuntime.step` did.

    Attributes:
        now: the time the step acted at.
        decided_slot: the slot decided in this step (None: already decided or not open).
        decision: the policy's decision for it.
        placed: orders placed (or found on chain by reconciliation).
        refused: orders not sent, with the reason (bounds, budget, balance, window).
        claimed: claimed orders with ``(order_id, filled_wh, amount, refund)``.
        cleared: slots this runtime cleared.
        replanned: slots whose plan was redone on the devices' real state.
        cancelled: orders a re-plan withdrew.
        revealed: sealed market: commitments revealed (their orders now rest in the book).
        forfeited: sealed market: commitments not revealed in their window (bond lost).
        moved: ``(slot, Wh)`` of energy tokens moved into the vault.
        errors: RPC or transaction failures (the step carried on; state stays consistent).
    """

    now: int
    decided_slot: int | None = None
    decision: Decision | None = None
    placed: list[OrderAction] = field(default_factory=list)
    refused: list[OrderAction] = field(default_factory=list)
    claimed: list[tuple[int, int, int, int]] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    replanned: list[int] = field(default_factory=list)
    cancelled: list[OrderAction] = field(default_factory=list)
    revealed: list[OrderAction] = field(default_factory=list)
    forfeited: list[OrderAction] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
