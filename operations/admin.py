"""Day-to-day market operation: pause, unpause, status (with a solvency check), clear due slots."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from energychain.deploy import Deployment, EnergyChain
from energychain.events import EventReader
from energychain.records import AdminHandover
from energychain.sealed_market import SealedMarket
from operations.context import Approve, Community, approved, require_role
from operations.health import IndexSource, MeterHealth
from operations.meters import health_of_meters
from wallet.errors import TransactionRevertedError
from wallet.transactions import TransactionSender

Target = Literal["market", "registry", "both"]


def set_paused(
    community: Community,
    sender: TransactionSender,
    paused: bool,
    target: Target = "both",
    *,
    approve: Approve | None = None,
) -> list[str]:
    """Pause (or unpause) order placement and/or reading submission; returns what changed.

    Contracts already in the wanted state are skipped, so the command is safe to repeat.
    """
    contracts = community.contracts()
    names = ["market", "registry"] if target == "both" else [target]
    for name in names:
        require_role(contracts, name, "PAUSER_ROLE", sender.address)
    handles = {"market": contracts.market, "registry": contracts.registry}
    changed = [name for name in names if handles[name].paused() != paused]
    if changed:
        verb = "pause" if paused else "unpause"
        approved(approve, [f"{verb} the {name} ({handles[name].address})" for name in changed])
    for name in changed:
        handle = handles[name]
        sender.transact(handle.pause() if paused else handle.unpause())
    return changed


def set_fee(
    community: Community, sender: TransactionSender, *, approve: Approve | None = None
) -> tuple[int, str] | None:
    """Bring the market's fee and treasury to the config's; None when they already match."""
    contracts = community.contracts()
    config = community.config
    params = contracts.market.params()
    current = (params.fee_bps, params.treasury)
    if current == (config.fee_bps, config.treasury):
        return None
    require_role(contracts, "market", "DEFAULT_ADMIN_ROLE", sender.address)
    approved(
        approve,
        [
            f"set the fee from {current[0]} bps to {current[1]} to {config.fee_bps} bps to "
            f"{config.treasury} (resting orders keep the fee of their placement)"
        ],
    )
    sender.transact(contracts.market.set_fee(config.fee_bps, config.treasury))
    return current


@dataclass
class Solvency:
    """Vault holdings implied by the vault's events against the tokens the market holds."""

    payment_vault: int
    payment_held: int
    energy_vault: dict[int, int] = field(default_factory=dict)
    energy_held: dict[int, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        out: list[str] = []
        if self.payment_held < self.payment_vault:
            out.append(
                f"payment: the market holds {self.payment_held}, the vault owes "
                f"{self.payment_vault}"
            )
        for slot, owed in sorted(self.energy_vault.items()):
            held = self.energy_held.get(slot, 0)
            if held < owed:
                out.append(f"energy slot {slot}: the market holds {held} Wh, owes {owed} Wh")
        return out

    @property
    def solvent(self) -> bool:
        return not self.problems


@dataclass
class MarketStatus:
    now: int
    current_slot: int
    market_paused: bool
    registry_paused: bool
    open_slots: list[int]
    """Slots with orders (or, sealed, commitments) whose window is still open (now < gate
    closure)."""
    due_slots: list[int]
    """Slots with orders, past gate closure (sealed: past the reveal window) and not cleared:
    `clear-due` clears them."""
    void_slots: list[int]
    """Slots with orders nobody cleared within the market's clear window (``voidAt``): they never
    clear, and anyone may cancel their orders to refund the escrows."""
    cleared_slots: int
    solvency: Solvency
    oracle_health: list[MeterHealth] = field(default_factory=list)
    """Per registered meter: last reading and ok / late / silent / inactive."""
    health_source: str = ""
    admin: AdminHandover | None = None
    """The admin of the registry and the market, and a pending handover."""
    revealing_slots: list[int] = field(default_factory=list)
    """Sealed market: slots past gate closure whose reveal window is still open (they clear
    after it)."""


def _order_slots(contracts: EnergyChain, deployment: Deployment) -> set[int]:
    """Slots with orders, and in a sealed market slots with commitments (revealed or not)."""
    events = EventReader(contracts.market)
    names = ["OrderPlaced"]
    if isinstance(contracts.market, SealedMarket):
        names.append("OrderCommitted")
    return {
        int(e["args"]["slot"]) for name in names for e in events.read(name, deployment.block_number)
    }


def _now(community: Community) -> int:
    return int(community.w3.eth.get_block("latest")["timestamp"])


def solvency(contracts: EnergyChain, deployment: Deployment) -> Solvency:
    """Net deposits per the vault's events against the market's token balances."""
    start = deployment.block_number
    market = contracts.market
    events = EventReader(market)
    paid_in = sum(int(e["args"]["amount"]) for e in events.read("Deposited", start))
    paid_out = sum(int(e["args"]["amount"]) for e in events.read("Withdrawn", start))
    energy: dict[int, int] = defaultdict(int)
    for e in events.read("EnergyDeposited", start):
        energy[int(e["args"]["slot"])] += int(e["args"]["amountWh"])
    for e in events.read("EnergyWithdrawn", start):
        energy[int(e["args"]["slot"])] -= int(e["args"]["amountWh"])
    return Solvency(
        payment_vault=paid_in - paid_out,
        payment_held=contracts.payment.balance_of(market.address),
        energy_vault=dict(energy),
        energy_held={slot: contracts.token.balance_of(market.address, slot) for slot in energy},
    )


def market_status(
    community: Community,
    *,
    indexer_url: str | None = None,
    database: IndexSource | None = None,
    with_health: bool = True,
) -> MarketStatus:
    """Slots, pause state, solvency and oracle health (from the index when one is given)."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    now = _now(community)
    calendar = contracts.market.calendar()
    open_slots: list[int] = []
    due: list[int] = []
    void: list[int] = []
    revealing: list[int] = []
    cleared = 0
    window = int(contracts.market.call("CLEAR_WINDOW_SECONDS"))
    market = contracts.market
    reveal_seconds = market.reveal_seconds() if isinstance(market, SealedMarket) else None
    for slot in sorted(_order_slots(contracts, deployment)):
        closure = calendar.gate_closure(slot)
        if market.clearing(slot).cleared:
            cleared += 1
        elif now >= closure + window:
            void.append(slot)
        elif reveal_seconds is not None and closure <= now <= closure + reveal_seconds:
            revealing.append(slot)
        elif now >= closure:
            due.append(slot)
        else:
            open_slots.append(slot)
    health, source = (
        health_of_meters(community, indexer_url=indexer_url, database=database)
        if with_health
        else ([], "")
    )
    return MarketStatus(
        now=now,
        current_slot=max(calendar.slot_of(now), 0),
        market_paused=contracts.market.paused(),
        registry_paused=contracts.registry.paused(),
        open_slots=open_slots,
        due_slots=due,
        void_slots=void,
        revealing_slots=revealing,
        cleared_slots=cleared,
        solvency=solvency(contracts, deployment),
        oracle_health=health,
        health_source=source,
        admin=contracts.registry.admin_handover(),
    )


@dataclass(frozen=True)
class ClearedSlot:
    slot: int
    volume_wh: int
    clearing_tick: int


def clear_due(
    community: Community, sender: TransactionSender, *, approve: Approve | None = None
) -> list[ClearedSlot]:
    """Clear every slot with orders that is past gate closure (in a sealed market: past its
    reveal window) and not cleared yet.

    Anyone may clear; a slot someone else cleared meanwhile is skipped (``AlreadyCleared``). A slot
    nobody cleared within the market's clear window is void and never tried (``SlotVoid`` is
    skipped too, should the window end between the status read and the transaction): its orders
    are refunded by cancelling them instead. The gas is estimated per slot, since clearing costs
    O(non-empty ticks), up to about 8.7M gas for a full book.
    """
    status = market_status(community, with_health=False)
    contracts = community.contracts()
    if status.due_slots:
        approved(approve, [f"clear slot {slot}" for slot in status.due_slots])
    done: list[ClearedSlot] = []
    for slot in status.due_slots:
        try:
            receipt = sender.transact(contracts.market.clear(slot))
        except TransactionRevertedError as exc:
            if getattr(exc.reason, "name", "") in ("AlreadyCleared", "SlotVoid"):
                continue
            raise
        event = contracts.market.events(receipt, "SlotCleared")[0]["args"]
        done.append(ClearedSlot(slot, int(event["volumeWh"]), int(event["clearingTick"])))
    return done
