"""From decoded events to table rows: one handler per event, pure apart from order look-ups.

:class:`RangeApplier` turns the events of one block range (in chain order) into a
:class:`RowBatch`: the rows each table receives. Handlers never update or delete; a row
remembers the log it came from, so writing the same range twice changes nothing.

Vault ledger entries mirror the market contract's accounting (docs/contracts.md):

============== ============================================================================
event          entries (asset: money = payment units, energy = Wh of a slot)
============== ============================================================================
Deposited      +amount money                    Withdrawn       -amount money
EnergyDeposited +amount energy(slot)            EnergyWithdrawn -amount energy(slot)
OrderPlaced    buy: -ceil(qty*price/1000) money; sell: -qty energy(slot)
               (nothing for a revealed order: its escrow comes from the commitment's collateral)
OrderCancelled the order's escrow back
OrderClaimed   buy: +filled energy(slot), +refund money;
               sell: +amount money, +refund energy(slot), treasury +fee money
OrderCommitted -lockedMoney money, -lockedWh energy(slot)              (sealed market)
OrderRevealed  the collateral the order's escrow does not take back: +(lockedMoney - escrow)
               money for a buy (+lockedMoney for a sell), +(lockedWh - qty) energy(slot) for a
               sell (+lockedWh for a buy); the bond is part of it
CommitmentForfeited +refundMoney money, +refundWh energy(slot), treasury +bond money
============== ============================================================================

A sealed market's reveal emits ``OrderPlaced`` (the order, id = commit id) then
``OrderRevealed`` in the same transaction, so both are always in the same range. Its order id
carries no nonce (the bits are the commitment's hash): the order's ``nonce`` column takes its
position on the chain instead (:func:`chain_position`), which orders the orders as placement
nonces do.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from energychain.pool import PoolFill
from indexer.db.types import INT64_MAX
from indexer.events import ChainEvent
from indexer.market_info import NO_SLOT, MarketInfo, order_fields

logger = logging.getLogger(__name__)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class OrderFacts:
    """What a cancel or claim needs to know about an order placed earlier."""

    order_id: str
    owner: str
    slot: int
    is_buy: bool
    tick: int
    qty_wh: int
    escrow: int


#: Looks up orders placed in earlier ranges, by decimal order id.
OrderLookup = Callable[[Iterable[str]], Mapping[str, OrderFacts]]


@dataclass(frozen=True)
class CommitmentFacts:
    """What a reveal needs to know about a commitment posted earlier."""

    commit_id: str
    owner: str
    slot: int
    locked_money: int
    locked_wh: int


#: Looks up commitments posted in earlier ranges, by decimal commit id.
CommitmentLookup = Callable[[Iterable[str]], Mapping[str, CommitmentFacts]]


def _no_commitments(ids: Iterable[str]) -> Mapping[str, CommitmentFacts]:
    return {}


def chain_position(block_number: int, log_index: int) -> int:
    """The ``nonce`` of an order whose id has none (a revealed sealed order): its log's position
    on the chain, ``block_number * 2**20 + log_index`` (fits 64 bits for 2**43 blocks)."""
    return (block_number << 20) | log_index


@dataclass
class RowBatch:
    """Rows per table name, plus slots and accounts first seen, for one range."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    slots: dict[int, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def see_slot(self, slot: int, block: int) -> None:
        self.slots.setdefault(slot, block)

    def see_account(self, address: str, block: int) -> None:
        if address != ZERO_ADDRESS:
            self.accounts.setdefault(address, block)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


def _log_columns(event: ChainEvent) -> dict[str, Any]:
    return {
        "block_number": event.block_number,
        "block_time": event.block_time,
        "tx_hash": event.tx_hash,
        "log_index": event.log_index,
    }


def _cid_text(raw: str) -> str | None:
    """The archive CID as text: UTF-8 when the bytes are printable, else ``0x`` hex."""
    data = bytes.fromhex(raw[2:])
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return text if text.isprintable() else raw


class RangeApplier:
    """Applies the events of one range, in order, to a fresh :class:`RowBatch`."""

    def __init__(
        self,
        info: MarketInfo,
        treasury: str,
        lookup: OrderLookup,
        commitments: CommitmentLookup = _no_commitments,
    ) -> None:
        self.info = info
        self.treasury = treasury
        self._lookup = lookup
        self._lookup_commitments = commitments
        self._orders: dict[str, OrderFacts] = {}
        self._commitments: dict[str, CommitmentFacts] = {}
        self._revealed: set[str] = set()  # order ids revealed in this range
        self._pending_readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._log: dict[str, Any] = {}  # the log columns of the event being applied
        self.batch = RowBatch()
        self._handlers: dict[tuple[str, str], Callable[[ChainEvent], None]] = {
            ("market", "Deposited"): self._deposited,
            ("market", "Withdrawn"): self._withdrawn,
            ("market", "EnergyDeposited"): self._energy_deposited,
            ("market", "EnergyWithdrawn"): self._energy_withdrawn,
            ("market", "OrderPlaced"): self._order_placed,
            ("market", "OrderCancelled"): self._order_cancelled,
            ("market", "SlotCleared"): self._slot_cleared,
            ("market", "OrderClaimed"): self._order_claimed,
            ("market", "FeeChanged"): self._fee_changed,
            ("market", "OrderCommitted"): self._order_committed,
            ("market", "OrderRevealed"): self._order_revealed,
            ("market", "CommitmentForfeited"): self._commitment_forfeited,
            ("registry", "MeterRegistered"): self._meter_registered,
            ("registry", "MeterSignerRotated"): self._meter_rotated,
            ("registry", "MeterDeactivated"): self._meter_deactivated,
            ("registry", "ReadingAccepted"): self._reading_accepted,
            ("registry", "ReadingBatchArchived"): self._batch_archived,
            ("token", "TransferSingle"): self._transfer_single,
            ("token", "TransferBatch"): self._transfer_batch,
            ("pool", "CommunityAdded"): self._community_added,
            ("pool", "GridFeeChanged"): self._grid_fee_changed,
            ("pool", "LimitsPublished"): self._limits_published,
            ("pool", "PoolCleared"): self._pool_cleared,
            ("pool", "CommunityPaused"): self._community_paused,
            ("pool", "CommunityResumed"): self._community_resumed,
            ("pool", "PoolSettled"): self._pool_settled,
            ("market", "PoolFillSettled"): self._market_pool_settled,
            ("market", "OrderPoolFilled"): self._order_pool_filled,
        }

    def apply(self, events: list[ChainEvent]) -> RowBatch:
        """Rows for ``events`` (chain order). Looks up, in one query, orders placed earlier."""
        wanted = {
            str(e.args["orderId"])
            for e in events
            if e.name in ("OrderCancelled", "OrderClaimed") and e.contract == "market"
        }
        placed_here = {str(e.args["orderId"]) for e in events if e.name == "OrderPlaced"}
        missing = wanted - placed_here
        if missing:
            self._orders.update(self._lookup(missing))
        reveals = [e for e in events if e.name == "OrderRevealed" and e.contract == "market"]
        if reveals:
            self._revealed = {str(e.args["orderId"]) for e in reveals}
            committed_here = {str(e.args["commitId"]) for e in events if e.name == "OrderCommitted"}
            earlier = {str(e.args["commitId"]) for e in reveals} - committed_here
            if earlier:
                self._commitments.update(self._lookup_commitments(earlier))
        for event in events:
            # the log columns start every row of this event: built once, copied into each row
            self._log = _log_columns(event)
            self.batch.add(
                "events",
                {
                    **self._log,
                    "contract": event.contract,
                    "name": event.name,
                    "args": jsonable_args(event.args),
                },
            )
            handler = self._handlers.get((event.contract, event.name))
            if handler is not None:
                handler(event)
        for rows in self._pending_readings.values():
            for row in rows:
                self.batch.add("readings", row)
        self._pending_readings.clear()
        return self.batch

    # ------------------------------------------------------------------ vault
    def _ledger(
        self,
        event: ChainEvent,
        entry: int,
        account: str,
        asset: str,
        slot: int | None,
        delta: int,
        reason: str,
    ) -> None:
        if delta == 0:
            return
        self.batch.add(
            "vault_ledger",
            {
                **self._log,
                "entry": entry,
                "account": account,
                "asset": asset,
                "slot": slot,
                "delta": delta,
                "reason": reason,
            },
        )
        self.batch.see_account(account, event.block_number)

    def _deposited(self, e: ChainEvent) -> None:
        self._ledger(e, 0, e.args["account"], "money", None, e.args["amount"], "deposit")

    def _withdrawn(self, e: ChainEvent) -> None:
        self._ledger(e, 0, e.args["account"], "money", None, -e.args["amount"], "withdraw")

    def _energy_deposited(self, e: ChainEvent) -> None:
        slot = int(e.args["slot"])
        self.batch.see_slot(slot, e.block_number)
        self._ledger(e, 0, e.args["account"], "energy", slot, e.args["amountWh"], "deposit")

    def _energy_withdrawn(self, e: ChainEvent) -> None:
        slot = int(e.args["slot"])
        self._ledger(e, 0, e.args["account"], "energy", slot, -e.args["amountWh"], "withdraw")

    # ------------------------------------------------------------------ orders
    def _order_placed(self, e: ChainEvent) -> None:
        a = e.args
        order_id = int(a["orderId"])
        _, fee_bps, nonce = order_fields(order_id)
        slot, tick, qty, is_buy = int(a["slot"]), int(a["tick"]), int(a["qtyWh"]), bool(a["isBuy"])
        escrow = self.info.buy_escrow(qty, tick) if is_buy else qty
        facts = OrderFacts(str(order_id), a["owner"], slot, is_buy, tick, qty, escrow)
        self._orders[facts.order_id] = facts
        revealed = facts.order_id in self._revealed
        if revealed:
            nonce = chain_position(e.block_number, e.log_index)
        self.batch.add(
            "orders",
            {
                **self._log,
                "order_id": facts.order_id,
                "nonce": nonce,
                "owner": facts.owner,
                "slot": slot,
                "is_buy": is_buy,
                "tick": tick,
                "qty_wh": qty,
                "fee_bps": fee_bps,
                "escrow": escrow,
            },
        )
        self.batch.see_slot(slot, e.block_number)
        if revealed:
            return  # the escrow comes from the commitment's collateral (see _order_revealed)
        if is_buy:
            self._ledger(e, 0, facts.owner, "money", None, -escrow, "order")
        else:
            self._ledger(e, 0, facts.owner, "energy", slot, -qty, "order")

    def _order(self, e: ChainEvent) -> OrderFacts | None:
        order_id = str(e.args["orderId"])
        facts = self._orders.get(order_id)
        if facts is None:
            logger.error(
                "%s of unknown order %s in %s: ledger left incomplete", e.name, order_id, e.tx_hash
            )
        return facts

    def _order_cancelled(self, e: ChainEvent) -> None:
        self.batch.add(
            "order_cancellations",
            {
                **self._log,
                "order_id": str(e.args["orderId"]),
                "owner": e.args["owner"],
            },
        )
        facts = self._order(e)
        if facts is None:
            return
        if facts.is_buy:
            self._ledger(e, 0, facts.owner, "money", None, facts.escrow, "cancel")
        else:
            self._ledger(e, 0, facts.owner, "energy", facts.slot, facts.escrow, "cancel")

    def _slot_cleared(self, e: ChainEvent) -> None:
        a = e.args
        slot, volume, tick = int(a["slot"]), int(a["volumeWh"]), int(a["clearingTick"])
        self.batch.add(
            "clearings",
            {
                **self._log,
                "slot": slot,
                "volume_wh": volume,
                "clearing_tick": tick,
                "price": self.info.price(tick) if volume > 0 else 0,
                "buy_marginal_tick": a["buyMarginalTick"],
                "buy_marginal_filled_wh": a["buyMarginalFilledWh"],
                "buy_marginal_total_wh": a["buyMarginalTotalWh"],
                "sell_marginal_tick": a["sellMarginalTick"],
                "sell_marginal_filled_wh": a["sellMarginalFilledWh"],
                "sell_marginal_total_wh": a["sellMarginalTotalWh"],
            },
        )
        self.batch.see_slot(slot, e.block_number)

    def _order_claimed(self, e: ChainEvent) -> None:
        a = e.args
        order_id = int(a["orderId"])
        slot, _, _ = order_fields(order_id)
        filled, amount, fee, refund = (
            int(a["filledWh"]),
            int(a["amount"]),
            int(a["fee"]),
            int(a["refund"]),
        )
        self.batch.add(
            "order_claims",
            {
                **self._log,
                "order_id": str(order_id),
                "owner": a["owner"],
                "slot": slot,
                "filled_wh": filled,
                "amount": amount,
                "fee": fee,
                "refund": refund,
            },
        )
        facts = self._order(e)
        if facts is None:
            return
        if facts.is_buy:
            self._ledger(e, 0, facts.owner, "energy", slot, filled, "claim")
            self._ledger(e, 1, facts.owner, "money", None, refund, "refund")
        else:
            self._ledger(e, 0, facts.owner, "money", None, amount, "claim")
            self._ledger(e, 1, facts.owner, "energy", slot, refund, "refund")
            self._ledger(e, 2, self.treasury, "money", None, fee, "fee")

    # ------------------------------------------------------------------ commitments (sealed)
    def _order_committed(self, e: ChainEvent) -> None:
        a = e.args
        facts = CommitmentFacts(
            str(a["commitId"]),
            a["owner"],
            int(a["slot"]),
            int(a["lockedMoney"]),
            int(a["lockedWh"]),
        )
        self._commitments[facts.commit_id] = facts
        self.batch.add(
            "commitments",
            {
                **self._log,
                "commit_id": facts.commit_id,
                "owner": facts.owner,
                "slot": facts.slot,
                "locked_money": facts.locked_money,
                "locked_wh": facts.locked_wh,
            },
        )
        self.batch.see_slot(facts.slot, e.block_number)
        self._ledger(e, 0, facts.owner, "money", None, -facts.locked_money, "commit")
        self._ledger(e, 1, facts.owner, "energy", facts.slot, -facts.locked_wh, "commit")

    def _order_revealed(self, e: ChainEvent) -> None:
        commit_id, order_id = str(e.args["commitId"]), str(e.args["orderId"])
        commitment = self._commitments.get(commit_id)
        order = self._orders.get(order_id)
        if commitment is None or order is None:
            logger.error(
                "OrderRevealed of unknown %s %s in %s: ledger left incomplete",
                "commitment" if commitment is None else "order",
                commit_id,
                e.tx_hash,
            )
            refund_money = refund_wh = 0
        else:
            refund_money = commitment.locked_money - (order.escrow if order.is_buy else 0)
            refund_wh = commitment.locked_wh - (0 if order.is_buy else order.qty_wh)
            self._ledger(e, 0, order.owner, "money", None, refund_money, "reveal")
            self._ledger(e, 1, order.owner, "energy", order.slot, refund_wh, "reveal")
        self.batch.add(
            "commitment_outcomes",
            {
                **self._log,
                "commit_id": commit_id,
                "kind": "revealed",
                "order_id": order_id,
                "bond": 0,
                "refund_money": refund_money,
                "refund_wh": refund_wh,
            },
        )

    def _commitment_forfeited(self, e: ChainEvent) -> None:
        a = e.args
        commit_id = int(a["commitId"])
        slot, _, _ = order_fields(commit_id)
        bond, refund_money, refund_wh = int(a["bond"]), int(a["refundMoney"]), int(a["refundWh"])
        self.batch.add(
            "commitment_outcomes",
            {
                **self._log,
                "commit_id": str(commit_id),
                "kind": "forfeited",
                "order_id": None,
                "bond": bond,
                "refund_money": refund_money,
                "refund_wh": refund_wh,
            },
        )
        self._ledger(e, 0, a["owner"], "money", None, refund_money, "forfeit")
        self._ledger(e, 1, a["owner"], "energy", slot, refund_wh, "forfeit")
        self._ledger(e, 2, self.treasury, "money", None, bond, "bond")

    def _fee_changed(self, e: ChainEvent) -> None:
        self.treasury = e.args["treasury"]
        self.batch.add(
            "fee_changes",
            {
                **self._log,
                "fee_bps": e.args["feeBps"],
                "treasury": e.args["treasury"],
            },
        )

    # ------------------------------------------------------------------ registry
    def _meter_registered(self, e: ChainEvent) -> None:
        a = e.args
        self.batch.add(
            "meters",
            {
                **self._log,
                "meter_id": a["meterId"],
                "owner": a["owner"],
                "signer": a["signer"],
                "capacity_wh_per_slot": a["capacityWhPerSlot"],
            },
        )
        self.batch.see_account(a["owner"], e.block_number)

    def _meter_rotated(self, e: ChainEvent) -> None:
        self.batch.add(
            "meter_updates",
            {
                **self._log,
                "meter_id": e.args["meterId"],
                "kind": "rotated",
                "signer": e.args["newSigner"],
            },
        )

    def _meter_deactivated(self, e: ChainEvent) -> None:
        self.batch.add(
            "meter_updates",
            {
                **self._log,
                "meter_id": e.args["meterId"],
                "kind": "deactivated",
                "signer": None,
            },
        )

    def _reading_accepted(self, e: ChainEvent) -> None:
        a = e.args
        raw_slot = int(a["slot"])
        slot = None if raw_slot == NO_SLOT else raw_slot
        if slot is not None:
            self.batch.see_slot(slot, e.block_number)
        self._pending_readings[e.tx_hash].append(
            {
                **self._log,
                "meter_id": a["meterId"],
                "seq": a["seq"],
                "reading_time": a["timestamp"],
                "slot": slot,
                "import_delta_wh": a["importDeltaWh"],
                "export_delta_wh": a["exportDeltaWh"],
                "archive_cid": None,
            }
        )

    def _batch_archived(self, e: ChainEvent) -> None:
        cid = _cid_text(e.args["archiveCid"])
        for row in self._pending_readings.pop(e.tx_hash, []):
            row["archive_cid"] = cid
            self.batch.add("readings", row)

    # ------------------------------------------------------------------ token
    def _transfer(self, e: ChainEvent, entry: int, slot: int, amount: int) -> None:
        a = e.args
        self.batch.add(
            "token_transfers",
            {
                **self._log,
                "entry": entry,
                "operator": a["operator"],
                "from_address": a["from"],
                "to_address": a["to"],
                "slot": slot,
                "amount_wh": amount,
            },
        )
        self.batch.see_slot(slot, e.block_number)
        self.batch.see_account(a["from"], e.block_number)
        self.batch.see_account(a["to"], e.block_number)

    def _transfer_single(self, e: ChainEvent) -> None:
        self._transfer(e, 0, int(e.args["id"]), int(e.args["value"]))

    def _transfer_batch(self, e: ChainEvent) -> None:
        for entry, (slot, amount) in enumerate(zip(e.args["ids"], e.args["values"], strict=True)):
            self._transfer(e, entry, int(slot), int(amount))

    # ------------------------------------------------------------------ city pool
    def _community_added(self, e: ChainEvent) -> None:
        self.batch.add(
            "pool_communities",
            {
                **self._log,
                "community_id": int(e.args["communityId"]),
                "market": e.args["market"],
                "levels": int(e.args["levels"]),
            },
        )

    def _grid_fee_changed(self, e: ChainEvent) -> None:
        self.batch.add(
            "pool_fee_changes",
            {
                **self._log,
                "fee_ticks_per_level": int(e.args["feeTicksPerLevel"]),
                "recipient": e.args["recipient"],
            },
        )

    def _limits_published(self, e: ChainEvent) -> None:
        """One row per community: entry ``i`` of both arrays is community ``i``'s (the contract
        checks their lengths against the community count).

        The pool takes any ``uint64`` slot whose gate closure is ahead; one beyond 2^63 - 1 (a
        slot billions of years away) fits no ``slot`` column and is left in ``events`` only,
        with a warning, rather than stop the ingester on every retry.
        """
        slot = int(e.args["slot"])
        if self._beyond_slot_column("LimitsPublished", slot, e):
            return
        imports, exports = e.args["importWh"], e.args["exportWh"]
        if len(imports) != len(exports):
            logger.error(
                "LimitsPublished of slot %d in %s: %d imports, %d exports; skipped",
                slot,
                e.tx_hash,
                len(imports),
                len(exports),
            )
            return
        for community_id, (import_wh, export_wh) in enumerate(zip(imports, exports, strict=True)):
            self.batch.add(
                "pool_limits",
                {
                    **self._log,
                    "slot": slot,
                    "community_id": community_id,
                    "import_wh": int(import_wh),
                    "export_wh": int(export_wh),
                },
            )

    def _pool_cleared(self, e: ChainEvent) -> None:
        """One ``pool_clearings`` row and one ``pool_fills`` row per community (entry ``i`` of
        ``fills`` is community ``i``'s). ``clear`` needs the slot's gate closure passed, so the
        slot fits a ``slot`` column; a larger one is kept in ``events`` only, as for limits."""
        a = e.args
        slot = int(a["slot"])
        if self._beyond_slot_column("PoolCleared", slot, e):
            return
        volume, tick = int(a["volumeWh"]), int(a["clearingTick"])
        self.batch.add(
            "pool_clearings",
            {
                **self._log,
                "slot": slot,
                "volume_wh": volume,
                "clearing_tick": tick,
                "price": self.info.price(tick) if volume > 0 else 0,
                "buy_marginal_tick": int(a["buyMarginalTick"]),
                "sell_marginal_tick": int(a["sellMarginalTick"]),
                "fee_ticks_per_level": int(a["feeTicksPerLevel"]),
            },
        )
        for community_id, fill in enumerate(a["fills"]):
            self.batch.add(
                "pool_fills",
                {**self._log, "slot": slot, "community_id": community_id, **fill_columns(fill)},
            )

    def _community_paused(self, e: ChainEvent) -> None:
        self._pause(e, paused=True)

    def _community_resumed(self, e: ChainEvent) -> None:
        self._pause(e, paused=False)

    def _pause(self, e: ChainEvent, *, paused: bool) -> None:
        self.batch.add(
            "pool_pauses",
            {**self._log, "community_id": int(e.args["communityId"]), "paused": paused},
        )

    # ------------------------------------------------------------------ pool settlement
    def _pool_settled(self, e: ChainEvent) -> None:
        """A ``pool_settlements`` row. ``settle`` needs the slot cleared, and a slot the pool
        cleared fits a ``slot`` column; a larger one is kept in ``events`` only, as for
        clearings."""
        slot = int(e.args["slot"])
        if self._beyond_slot_column("PoolSettled", slot, e):
            return
        self.batch.add(
            "pool_settlements",
            {**self._log, "slot": slot, "fees_paid": int(e.args["feesPaid"])},
        )

    def _market_pool_settled(self, e: ChainEvent) -> None:
        """A ``market_pool_settlements`` row: what the indexed pooled market exchanged with the
        pool in the slot (the tokens move in ``TransferSingle``s of the same transaction)."""
        a = e.args
        slot = int(a["slot"])
        if self._beyond_slot_column("PoolFillSettled", slot, e):
            return
        self.batch.add(
            "market_pool_settlements",
            {
                **self._log,
                "slot": slot,
                "import_wh": int(a["importWh"]),
                "export_wh": int(a["exportWh"]),
                "paid_to_pool": int(a["paidToPool"]),
            },
        )

    def _order_pool_filled(self, e: ChainEvent) -> None:
        """An ``order_pool_fills`` row: the pool's part of the ``OrderClaimed`` the same claim
        emitted (its ``filledWh``, and the ledger rows of that claim, already include it)."""
        order_id = int(e.args["orderId"])
        slot, _, _ = order_fields(order_id)
        self.batch.add(
            "order_pool_fills",
            {
                **self._log,
                "order_id": str(order_id),
                "slot": slot,
                "pool_wh": int(e.args["poolWh"]),
            },
        )

    def _beyond_slot_column(self, name: str, slot: int, e: ChainEvent) -> bool:
        """Whether ``slot`` of event ``name`` fits no ``slot`` column (beyond 2^63 - 1): then it
        is logged and the event is kept in ``events`` only."""
        if slot <= INT64_MAX:
            return False
        logger.warning(
            "%s of slot %d in %s: beyond 2^63 - 1, kept in events only", name, slot, e.tx_hash
        )
        return True


#: The fields of a ``PoolClearing.Fill``, in ABI order, as ``pool_fills`` columns.
FILL_COLUMNS = PoolFill.FIELDS


def fill_columns(fill: Any) -> dict[str, int]:
    """A decoded ``Fill`` (the ABI tuple, in field order) as ``pool_fills`` columns."""
    values = tuple(fill)
    if len(values) != len(FILL_COLUMNS):
        raise ValueError(f"a pool Fill has {len(FILL_COLUMNS)} fields, got {len(values)}")
    return {name: int(v) for name, v in zip(FILL_COLUMNS, values, strict=True)}


def jsonable_fill(fill: Any) -> dict[str, Any]:
    """A decoded ``Fill`` for the live feed: its fields by name, JavaScript-safe."""
    return {name: _js_safe(v) for name, v in fill_columns(fill).items()}


def jsonable_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a JSON column: integers beyond 2**53 become decimal strings (JavaScript
    readers would lose their precision)."""
    out = dict(args)
    for key, value in out.items():
        kind = type(value)
        if kind is int or (kind is not bool and isinstance(value, int)):
            if not -_JS_SAFE <= value <= _JS_SAFE:
                out[key] = str(value)
        elif isinstance(value, list):
            out[key] = [_js_safe(v) for v in value]
    return out


_JS_SAFE = 2**53


def _js_safe(value: Any) -> Any:
    if isinstance(value, list | tuple):  # an array of structs (a pool's fills): each field
        return [_js_safe(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _JS_SAFE:
        return str(value)
    return value
