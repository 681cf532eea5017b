"""The grid agent on chain: each slot's transfer limits published to the ``CityPool`` before the
slot's gate closure, signed by the grid operator's key.

:class:`LimitsPublisher` takes the :class:`~grid.limits.SlotLimits` that
:meth:`grid.operator.GridOperator.limits` computed and sends ``publishLimits`` through the
wallet's ``TransactionSender``:

1. **Communities.** :class:`PoolCommunities` names, for every pool community id in order, the
   grid community whose limits it gets. It is checked once against the pool (every pool
   community has a grid community, no grid community is left over) and every slot against the
   slot's limits: a grid community the pool does not know is a :class:`CommunityMappingError`.
2. **Gate closure first.** A slot whose gate has closed on the chain (the latest block's time)
   is refused before anything is written or sent (:class:`GateClosedError`, one line).
3. **A dry run.** The request is estimated (``eth_estimateGas``) before anything is written: a
   refusal of the pool (a key without ``GRID_OPERATOR_ROLE``) comes back as
   :class:`PublicationRevertedError` with the decoded revert, and nothing is half-sent.
4. **Durable before network.** The limits are written to the :class:`PublicationJournal` as an
   ``intent`` (fsynced, renamed into place) before the transaction is sent, and marked
   ``published`` with its block and gas after the receipt. After a crash,
   :meth:`LimitsPublisher.recover` settles every open intent from the chain: limits already
   there (the transaction went out before the crash) are marked published without a second
   send; limits not there are sent again, as they were journaled, while the gate is open, and
   marked ``missed`` once it has closed. A slot published with the same limits is not sent
   twice; different limits before gate closure are a revision (the pool keeps the last).

A slot whose forecast power flow diverged carries the limits the operator kept from its last
good slot (:class:`~grid.limits.LimitsKept`): they are published like any other, and the
publication says so (``kept``) and logs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3.types import TxReceipt

from agents.json_files import OwnedFile
from chain.errors import ContractRevertError
from energychain.pool import CityPool
from grid.errors import (
    CommunityMappingError,
    GateClosedError,
    JournalError,
    PublicationRevertedError,
)
from grid.limits import GridEvent, LimitsKept, PowerFlowDiverged, SlotLimits, TransferLimits
from wallet.errors import TransactionRevertedError
from wallet.transactions import TransactionSender, TxRequest

log = logging.getLogger(__name__)

JOURNAL_FILE = OwnedFile("publication journal", version=1, refusal=JournalError)
STATUSES = ("intent", "published", "failed", "missed")
"""``intent`` (written before the send) -> ``published`` (receipt seen, or found on chain);
``failed`` (the transaction reverted on chain); ``missed`` (an intent whose gate closed before
it could be settled)."""

Send = Callable[[TxRequest], TxReceipt]
"""Sends a request and returns its receipt (tests interpose a crash here)."""


# ---------------------------------------------------------------------------------- communities
@dataclass(frozen=True, slots=True)
class PoolCommunities:
    """Which grid community each pool community is: ``grid_ids[i]`` is pool community ``i``."""

    grid_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.grid_ids:
            raise CommunityMappingError("no communities to map")
        seen: set[str] = set()
        for grid_id in self.grid_ids:
            if not isinstance(grid_id, str) or not grid_id:
                raise CommunityMappingError(f"a grid community id must be a name, got {grid_id!r}")
            if grid_id in seen:
                raise CommunityMappingError(f"grid community {grid_id!r} is mapped twice")
            seen.add(grid_id)

    @classmethod
    def in_order(cls, grid_ids: Iterable[str]) -> PoolCommunities:
        """The ``i``-th grid community is pool community ``i``."""
        return cls(tuple(grid_ids))

    @classmethod
    def of(cls, mapping: Mapping[str, int]) -> PoolCommunities:
        """From ``{grid community: pool community id}``; the ids must be 0..n-1, each once."""
        by_id: dict[int, str] = {}
        for grid_id, pool_id in mapping.items():
            if isinstance(pool_id, bool) or not isinstance(pool_id, int) or pool_id < 0:
                raise CommunityMappingError(
                    f"grid community {grid_id!r}: pool community id must be a whole number "
                    f">= 0, got {pool_id!r}"
                )
            if pool_id in by_id:
                raise CommunityMappingError(
                    f"pool community {pool_id} is mapped twice ({by_id[pool_id]!r}, {grid_id!r})"
                )
            by_id[pool_id] = grid_id
        missing = sorted(set(range(len(by_id))) - set(by_id))
        if missing:
            raise CommunityMappingError(
                f"pool community ids must be 0..{len(by_id) - 1}: {missing[0]} has no grid "
                "community"
            )
        return cls(tuple(by_id[i] for i in range(len(by_id))))

    def check(self, pool_communities: int, grid_ids: Iterable[str] | None = None) -> None:
        """Refuse a mapping that does not cover the pool's communities one to one, or (with
        ``grid_ids``, the operator's communities) names a grid community that does not exist or
        leaves one out."""
        if len(self.grid_ids) != pool_communities:
            raise CommunityMappingError(
                f"the pool has {pool_communities} communities, the mapping "
                f"{len(self.grid_ids)} ({', '.join(self.grid_ids)}): every pool community "
                "needs limits"
            )
        if grid_ids is not None:
            self._match(set(grid_ids), "the grid")

    def _match(self, grid_ids: set[str], where: str) -> None:
        unknown = [g for g in sorted(grid_ids) if g not in self.grid_ids]
        if unknown:
            raise CommunityMappingError(
                f"grid community {unknown[0]!r} is not a community of the pool "
                f"(mapped: {', '.join(self.grid_ids)})"
            )
        absent = [g for g in self.grid_ids if g not in grid_ids]
        if absent:
            raise CommunityMappingError(
                f"pool community {self.grid_ids.index(absent[0])} is grid community "
                f"{absent[0]!r}, which {where} does not have"
            )

    def arrange(self, slot_limits: SlotLimits) -> tuple[TransferLimits, ...]:
        """The slot's limits in pool community order."""
        by_id = {x.community_id: x for x in slot_limits.limits}
        if len(by_id) != len(slot_limits.limits):
            raise CommunityMappingError(f"slot {slot_limits.slot}: a community has two limits")
        self._match(set(by_id), f"the limits of slot {slot_limits.slot}")
        return tuple(by_id[g] for g in self.grid_ids)


# ---------------------------------------------------------------------------------- journal
@dataclass
class JournalEntry:
    """One slot's publication (see :data:`STATUSES`)."""

    slot: int
    import_wh: list[int]
    export_wh: list[int]
    status: str
    kept: bool = False
    tx: str | None = None
    block: int | None = None
    gas_used: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        return cls(**data)


class PublicationJournal:
    """The publisher's durable record: one JSON file, written whole (temp file, fsync, rename).

    ``identity`` (chain id, pool, grid operator) is written into the file; a file that belongs
    to another chain, pool or key is refused.
    """

    def __init__(self, path: str | Path, identity: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.identity = dict(identity)
        self.entries: dict[int, JournalEntry] = {}
        if self.path.is_file():
            self._load()

    def _load(self) -> None:
        data = JOURNAL_FILE.read(self.path, self.identity)
        try:
            self.entries = {
                int(k): JournalEntry.from_json(v) for k, v in data.get("slots", {}).items()
            }
        except (TypeError, ValueError) as exc:
            raise JOURNAL_FILE.damaged(self.path, exc) from None

    def get(self, slot: int) -> JournalEntry | None:
        return self.entries.get(slot)

    def put(self, entry: JournalEntry) -> None:
        """Record ``entry`` and write the file (durable when this returns)."""
        self.entries[entry.slot] = entry
        self.save()

    def open_intents(self) -> list[JournalEntry]:
        return [e for _, e in sorted(self.entries.items()) if e.status == "intent"]

    def save(self) -> None:
        slots = {str(k): v.to_json() for k, v in sorted(self.entries.items())}
        try:
            JOURNAL_FILE.write(self.path, self.identity, {"slots": slots})
        except OSError as exc:
            raise JournalError(f"publication journal {self.path}: {exc}") from None


# ---------------------------------------------------------------------------------- publishing
@dataclass(frozen=True, slots=True)
class Publication:
    """What became of one slot's limits.

    Attributes:
        slot: the slot.
        import_wh / export_wh: the limits sent, in pool community order.
        status: ``published`` (sent now), ``unchanged`` (the same limits were published
            already: nothing sent), ``found`` (a journaled intent was on chain already),
            ``missed`` (an intent whose gate closed before it could be resent).
        kept: the forecast power flow diverged and the last good limits were published.
        events: the grid's events of the slot.
        tx, block, gas_used: the transaction (when one was sent now).
    """

    slot: int
    import_wh: tuple[int, ...]
    export_wh: tuple[int, ...]
    status: str
    kept: bool = False
    events: tuple[GridEvent, ...] = field(default=())
    tx: str | None = None
    block: int | None = None
    gas_used: int | None = None

    @property
    def import_total_wh(self) -> int:
        return sum(self.import_wh)

    @property
    def export_total_wh(self) -> int:
        return sum(self.export_wh)


class LimitsPublisher:
    """Publishes slots' limits to one pool from the grid operator's sender (module docstring).

    Args:
        pool: the pool.
        sender: the grid operator's sender (its key needs ``GRID_OPERATOR_ROLE``).
        communities: the grid community of every pool community, in pool id order.
        journal: where intents are made durable (None: nothing survives a crash).
        send: sends a request and returns its receipt (default ``sender.transact``).
    """

    def __init__(
        self,
        pool: CityPool,
        sender: TransactionSender,
        communities: PoolCommunities,
        *,
        journal: PublicationJournal | None = None,
        send: Send | None = None,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.communities = communities
        self.journal = journal
        self.send = send or sender.transact
        self.count = pool.community_count()
        communities.check(self.count)
        self.calendar = pool.calendar()

    @staticmethod
    def identity(pool: CityPool, sender: TransactionSender) -> dict[str, Any]:
        """What a journal of this pool and key records about them: the chain (its id and its
        first block's hash: a fresh dev chain deploys the pool at the same address), the pool
        and the grid operator."""
        genesis = pool.w3.eth.get_block(0)["hash"]
        return {
            "chain_id": sender.chain_id,
            "genesis": bytes(genesis).hex() if genesis is not None else None,
            "pool": pool.address,
            "operator": sender.address,
        }

    def chain_time(self) -> int:
        """The latest block's timestamp."""
        return int(self.sender.w3.eth.get_block("latest")["timestamp"])

    def check_open(self, slot: int) -> None:
        """Raise :class:`GateClosedError` when ``slot``'s gate has closed on the chain."""
        closure = self.calendar.gate_closure(slot)
        now = self.chain_time()
        if now >= closure:
            raise GateClosedError(
                f"slot {slot}: its gate closed at {closure} (chain time {now}); limits not sent"
            )

    def publish(self, slot_limits: SlotLimits) -> Publication:
        """Publish one slot's limits before its gate closure (see the module docstring)."""
        slot = slot_limits.slot
        ordered = self.communities.arrange(slot_limits)
        imports = [x.import_limit_wh for x in ordered]
        exports = [x.export_limit_wh for x in ordered]
        kept = any(isinstance(e, PowerFlowDiverged) for e in slot_limits.events)
        if kept:
            origins = sorted(
                {str(e.from_slot) for e in slot_limits.events if isinstance(e, LimitsKept)}
            )
            log.warning(
                "slot %d: forecast power flow diverged; publishing the limits kept from slot %s",
                slot,
                ", ".join(origins),
            )
        previous = self.journal.get(slot) if self.journal is not None else None
        if previous is not None and previous.status == "intent":
            self._settle(previous)
        if (
            previous is not None
            and previous.status == "published"
            and (previous.import_wh, previous.export_wh) == (imports, exports)
        ):
            return self._publication(previous, "unchanged", slot_limits.events)
        self.check_open(slot)
        entry = JournalEntry(slot, imports, exports, "intent", kept=kept)
        receipt = self._send(entry)
        return self._publication(entry, "published", slot_limits.events, receipt)

    def recover(self) -> list[Publication]:
        """Settle every intent a crash left open (see the module docstring)."""
        if self.journal is None:
            return []
        return [self._settle(entry) for entry in self.journal.open_intents()]

    # -- internals -------------------------------------------------------------------------

    def _settle(self, entry: JournalEntry) -> Publication:
        on_chain = self.pool.slot_limits(entry.slot)
        if all(x.published for x in on_chain) and (
            [x.import_wh for x in on_chain],
            [x.export_wh for x in on_chain],
        ) == (entry.import_wh, entry.export_wh):
            entry.status = "published"
            self._record(entry)
            return self._publication(entry, "found")
        try:
            self.check_open(entry.slot)
        except GateClosedError as exc:
            entry.status, entry.reason = "missed", str(exc)
            self._record(entry)
            log.error("slot %d: journaled limits never reached the pool: %s", entry.slot, exc)
            return self._publication(entry, "missed")
        receipt = self._send(entry)
        return self._publication(entry, "published", (), receipt)

    def _send(self, entry: JournalEntry) -> TxReceipt:
        request = self.pool.publish_limits(
            entry.slot,
            list(zip(entry.import_wh, entry.export_wh, strict=True)),
            communities=self.count,
        )
        try:
            gas = self.sender.estimate_gas(request)
        except TransactionRevertedError as exc:
            raise self._refused(entry.slot, exc) from None
        self._record(entry)  # durable before network
        try:
            receipt = self.send(TxRequest(request.to, request.data, request.value, gas))
        except TransactionRevertedError as exc:
            if exc.tx_hash is not None:  # mined and reverted: nothing published
                entry.status, entry.tx, entry.reason = "failed", exc.tx_hash, str(exc.reason)
                self._record(entry)
            raise self._refused(entry.slot, exc) from None
        entry.status = "published"
        entry.tx = receipt["transactionHash"].to_0x_hex()
        entry.block = int(receipt["blockNumber"])
        entry.gas_used = int(receipt["gasUsed"])
        self._record(entry)
        return receipt

    def _record(self, entry: JournalEntry) -> None:
        if self.journal is not None:
            self.journal.put(entry)

    def _refused(self, slot: int, exc: TransactionRevertedError) -> Exception:
        reason = exc.reason
        if isinstance(reason, ContractRevertError):
            if reason.name == "LimitsAfterGateClosure":
                return GateClosedError(f"slot {slot}: the pool refused it after gate closure")
            if reason.name == "AccessControlUnauthorizedAccount":
                account = reason.args_decoded[0] if reason.args_decoded else self.sender.address
                return PublicationRevertedError(
                    f"the pool refused the limits of slot {slot}: {account} does not hold "
                    "GRID_OPERATOR_ROLE",
                    reason,
                )
        return PublicationRevertedError(
            f"the pool refused the limits of slot {slot}: {reason or exc}", reason
        )

    @staticmethod
    def _publication(
        entry: JournalEntry,
        status: str,
        events: Sequence[GridEvent] = (),
        receipt: TxReceipt | None = None,
    ) -> Publication:
        return Publication(
            slot=entry.slot,
            import_wh=tuple(entry.import_wh),
            export_wh=tuple(entry.export_wh),
            status=status,
            kept=entry.kept,
            events=tuple(events),
            tx=entry.tx if receipt is not None else None,
            block=entry.block if receipt is not None else None,
            gas_used=entry.gas_used if receipt is not None else None,
        )
