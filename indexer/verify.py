"""Reconcile the database with the chain (``enerwise indexer verify``), for auditors.

Every figure the database derives is read back from the contracts *at the checkpoint block*
(so blocks mined meanwhile cause no false alarm) and compared:

- market vault: money balance of every known account (and the treasury), energy balance of
  every (account, slot) in the ledger;
- energy token: ERC-1155 balance of every (account, slot) seen in transfers, and the supply of
  every slot (mints minus burns);
- clearing records of every slot the database holds as cleared, and "not cleared" for the
  other known slots;
- orders: resting orders exist on chain with the same owner; cancelled or claimed ones do not;
- commitments (sealed market): an unrevealed one is stored on chain with the same owner and
  collateral; a revealed or forfeited one is not;
- registry: the running energy totals, and every meter (owner, signer, active, last seq);
- city pool (when the database follows one): the community count and every community (market,
  levels, paused), the grid fee in force, the limits in force of every (slot, community) of
  every slot with a publication, and every clearing of the pool: its stored record
  (``poolClearing``) and its fills, checked against the stored hash (``verifyFills``), and
  whether it was settled (``isSettled``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from chain.artifacts import load_artifact
from chain.calls import ContractReader
from chain.rpc import JsonRpcClient
from energychain.records import EnergyTotals
from indexer import pool_queries, store
from indexer.db.migrate import check_schema
from indexer.db.models import (
    AccountSeen,
    Clearing,
    Commitment,
    CommitmentOutcome,
    Event,
    Meter,
    MeterUpdate,
    Order,
    OrderCancellation,
    OrderClaim,
    PoolClearingRow,
    PoolFillRow,
    PoolLimit,
    PoolSettlement,
    Reading,
    SlotSeen,
    TokenTransfer,
    VaultEntry,
)
from indexer.errors import IndexerConfigError
from indexer.events import EventCatalog
from indexer.handlers import FILL_COLUMNS, ZERO_ADDRESS
from indexer.market_info import MarketInfo

logger = logging.getLogger(__name__)


@dataclass
class VerifyReport:
    """What was compared at ``block`` and every difference found (empty: all equal)."""

    block: int
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def compare(self, kind: str, what: str, database: Any, chain: Any) -> None:
        self.checked[kind] += 1
        if database != chain:
            self.differences.append(f"{kind} {what}: database {database}, chain {chain}")

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "ok": self.ok,
            "checked": dict(self.checked),
            "differences": self.differences,
        }


def verify(engine: Engine, rpc: JsonRpcClient, catalog: EventCatalog | None = None) -> VerifyReport:
    """Compare the database with the chain at the database's checkpoint block.

    Raises:
        DatabaseSchemaError: the database is not at the code's revision (never migrated).
        IndexerConfigError: the database holds no indexed deployment yet.
    """
    check_schema(engine)
    with engine.connect() as conn:
        cp = store.checkpoint(conn)
        info = store.stored_market_info(conn)
    if cp is None or info is None:
        raise IndexerConfigError("the database holds no indexed deployment yet")
    catalog = catalog or EventCatalog.for_deployment(info.addresses)
    market = ContractReader(rpc, info.addresses["market"], catalog.abis["market"])
    token = ContractReader(rpc, info.addresses["energy_token"], catalog.abis["token"])
    registry = ContractReader(rpc, info.addresses["registry"], catalog.abis["registry"])
    report = VerifyReport(block=cp.block_number)
    block = cp.block_number
    with engine.connect() as conn:
        _vault(conn, market, block, report, info.treasury)
        _tokens(conn, token, block, report)
        _clearings(conn, market, block, report)
        _orders(conn, market, block, report)
        if info.sealed:
            sealed = ContractReader(
                rpc, info.addresses["market"], load_artifact("ISealedEnergyMarket").abi
            )
            _commitments(conn, sealed, block, report)
        _registry(conn, registry, block, report)
        pool = pool_queries.pool_address(info)
        if pool is not None:
            _pool(conn, ContractReader(rpc, pool, catalog.abis["pool"]), block, report, info)
    for line in report.differences:
        logger.warning("difference: %s", line)
    return report


def _vault(
    conn: Any, market: ContractReader, block: int, report: VerifyReport, treasury: str
) -> None:
    money = dict(
        conn.execute(
            select(VaultEntry.account, func.sum(VaultEntry.delta))
            .where(VaultEntry.asset == "money")
            .group_by(VaultEntry.account)
        ).all()
    )
    accounts = {a for (a,) in conn.execute(select(AccountSeen.address))} | {treasury}
    ordered = sorted(accounts)
    chain = market.call_many([("balanceOf", [a]) for a in ordered], block)
    for account, on_chain in zip(ordered, chain, strict=True):
        report.compare("vault money", account, int(money.get(account, 0) or 0), int(on_chain))
    energy = conn.execute(
        select(VaultEntry.account, VaultEntry.slot, func.sum(VaultEntry.delta))
        .where(VaultEntry.asset == "energy")
        .group_by(VaultEntry.account, VaultEntry.slot)
    ).all()
    chain = market.call_many([("energyBalanceOf", [a, s]) for a, s, _ in energy], block)
    for (account, slot, total), on_chain in zip(energy, chain, strict=True):
        report.compare("vault energy", f"{account} slot {slot}", int(total or 0), int(on_chain))


def _tokens(conn: Any, token: ContractReader, block: int, report: VerifyReport) -> None:
    balances: dict[tuple[str, int], int] = defaultdict(int)
    for holder_col, sign in ((TokenTransfer.to_address, 1), (TokenTransfer.from_address, -1)):
        rows = conn.execute(
            select(holder_col, TokenTransfer.slot, func.sum(TokenTransfer.amount_wh)).group_by(
                holder_col, TokenTransfer.slot
            )
        )
        for holder, slot, total in rows:
            if holder != ZERO_ADDRESS:
                balances[(holder, int(slot))] += sign * int(total or 0)
    keys = sorted(balances)
    chain = token.call_many([("balanceOf", [a, s]) for a, s in keys], block)
    for (holder, slot), on_chain in zip(keys, chain, strict=True):
        report.compare(
            "token balance", f"{holder} slot {slot}", balances[(holder, slot)], int(on_chain)
        )
    supply: dict[int, int] = defaultdict(int)
    minted = conn.execute(
        select(TokenTransfer.slot, func.sum(TokenTransfer.amount_wh))
        .where(TokenTransfer.from_address == ZERO_ADDRESS)
        .group_by(TokenTransfer.slot)
    )
    for slot, total in minted:
        supply[int(slot)] += int(total or 0)
    burned = conn.execute(
        select(TokenTransfer.slot, func.sum(TokenTransfer.amount_wh))
        .where(TokenTransfer.to_address == ZERO_ADDRESS)
        .group_by(TokenTransfer.slot)
    )
    for slot, total in burned:
        supply[int(slot)] -= int(total or 0)
    slots = sorted(supply)
    chain = token.call_many([("totalSupply", [s]) for s in slots], block)
    for slot, on_chain in zip(slots, chain, strict=True):
        report.compare("token supply", f"slot {slot}", supply[slot], int(on_chain))


def _clearings(conn: Any, market: ContractReader, block: int, report: VerifyReport) -> None:
    cleared = {int(r.slot): r for r in conn.execute(select(Clearing.__table__))}
    slots = sorted({int(s) for (s,) in conn.execute(select(SlotSeen.slot))} | set(cleared))
    chain = market.call_many([("clearing", [s]) for s in slots], block)
    for slot, record in zip(slots, chain, strict=True):
        ours = cleared.get(slot)
        expected: tuple[Any, ...] = (False, 0, 0, 0, 0, 0, 0, 0, 0)
        if ours is not None:
            expected = (
                True,
                int(ours.volume_wh),
                int(ours.clearing_tick),
                int(ours.buy_marginal_tick),
                int(ours.buy_marginal_filled_wh),
                int(ours.buy_marginal_total_wh),
                int(ours.sell_marginal_tick),
                int(ours.sell_marginal_filled_wh),
                int(ours.sell_marginal_total_wh),
            )
        report.compare("clearing", f"slot {slot}", expected, tuple(int(x) for x in record))


def _orders(conn: Any, market: ContractReader, block: int, report: VerifyReport) -> None:
    rows = conn.execute(
        select(Order.order_id, Order.owner, OrderCancellation.id, OrderClaim.id)
        .outerjoin(OrderCancellation, OrderCancellation.order_id == Order.order_id)
        .outerjoin(OrderClaim, OrderClaim.order_id == Order.order_id)
    ).all()
    chain = market.call_many([("order", [int(r[0])]) for r in rows], block)
    for (order_id, owner, cancelled, claimed), on_chain in zip(rows, chain, strict=True):
        live = cancelled is None and claimed is None
        expected = owner if live else ZERO_ADDRESS
        report.compare("order owner", order_id, expected, on_chain[0])


def _commitments(conn: Any, market: ContractReader, block: int, report: VerifyReport) -> None:
    rows = conn.execute(
        select(
            Commitment.commit_id,
            Commitment.owner,
            Commitment.locked_money,
            Commitment.locked_wh,
            CommitmentOutcome.id,
        ).outerjoin(CommitmentOutcome, CommitmentOutcome.commit_id == Commitment.commit_id)
    ).all()
    chain = market.call_many([("commitment", [int(r[0])]) for r in rows], block)
    for (commit_id, owner, money, wh, ended), on_chain in zip(rows, chain, strict=True):
        expected = (ZERO_ADDRESS, 0, 0) if ended is not None else (owner, int(money), int(wh))
        owner_, _agent, money_, wh_ = on_chain  # the Commitment struct
        report.compare("commitment", commit_id, expected, (owner_, int(money_), int(wh_)))


def _registry(conn: Any, registry: ContractReader, block: int, report: VerifyReport) -> None:
    attributed = conn.execute(
        select(func.sum(Reading.export_delta_wh), func.sum(Reading.import_delta_wh)).where(
            Reading.slot.is_not(None)
        )
    ).one()
    unattributed_export = unattributed_import = 0
    for (args,) in conn.execute(select(Event.args).where(Event.name == "EnergyUnattributed")):
        unattributed_export += int(args["exportWh"])
        unattributed_import += int(args["importWh"])
    totals = EnergyTotals.from_fields(registry.read("energyTotals", block=block))
    totals_ours = (
        int(attributed[0] or 0),
        int(attributed[1] or 0),
        unattributed_export,
        unattributed_import,
    )
    report.compare(
        "registry totals",
        "(attributed export, import, unattributed export, import)",
        totals_ours,
        (
            totals.attributed_export_wh,
            totals.attributed_import_wh,
            totals.unattributed_export_wh,
            totals.unattributed_import_wh,
        ),
    )
    meters = conn.execute(
        select(Meter.meter_id, Meter.owner, Meter.signer, Meter.capacity_wh_per_slot)
    ).all()
    last_update: dict[str, list[tuple[str, str | None]]] = {}
    rotated_at: dict[str, tuple[int, int]] = {}
    for row in conn.execute(
        select(
            MeterUpdate.meter_id,
            MeterUpdate.kind,
            MeterUpdate.signer,
            MeterUpdate.block_number,
            MeterUpdate.log_index,
        ).order_by(MeterUpdate.block_number, MeterUpdate.log_index)
    ):
        last_update.setdefault(row.meter_id, []).append((row.kind, row.signer))
        if row.kind == "rotated":
            rotated_at[row.meter_id] = (row.block_number, row.log_index)
    last_seq = dict(
        conn.execute(
            select(Reading.meter_id, func.max(Reading.seq)).group_by(Reading.meter_id)
        ).all()
    )
    # A signer rotation restarts the meter's sequence: the chain's lastSeq is the highest seq
    # since the meter's last rotation (0 until its next reading).
    for meter_id, (rotated_block, rotated_index) in rotated_at.items():
        last_seq[meter_id] = conn.execute(
            select(func.max(Reading.seq)).where(
                Reading.meter_id == meter_id,
                (Reading.block_number > rotated_block)
                | ((Reading.block_number == rotated_block) & (Reading.log_index > rotated_index)),
            )
        ).scalar()
    chain = registry.call_many([("meter", [bytes.fromhex(m.meter_id[2:])]) for m in meters], block)
    for meter, record in zip(meters, chain, strict=True):
        signer, active = meter.signer, True
        for kind, new_signer in last_update.get(meter.meter_id, []):
            if kind == "rotated":
                signer = new_signer
            else:
                active = False
        ours = (
            meter.owner,
            signer,
            int(meter.capacity_wh_per_slot),
            active,
            int(last_seq.get(meter.meter_id, 0) or 0),
        )
        theirs = (record[0], record[1], int(record[2]), bool(record[3]), int(record[4]))
        report.compare("meter", meter.meter_id, ours, theirs)


def _pool(
    conn: Any, pool: ContractReader, block: int, report: VerifyReport, info: MarketInfo
) -> None:
    communities = pool_queries.list_communities(conn)
    report.compare(
        "pool communities", "count", len(communities), int(pool.call("communityCount", block=block))
    )
    chain = pool.call_many([("community", [c.community_id]) for c in communities], block)
    for community, record in zip(communities, chain, strict=True):
        market, levels = record
        report.compare(
            "pool community",
            str(community.community_id),
            (community.market, community.levels),
            (market, int(levels)),
        )
    paused = pool.call_many([("isPaused", [c.community_id]) for c in communities], block)
    for community, on_chain in zip(communities, paused, strict=True):
        report.compare(
            "pool community paused", str(community.community_id), community.paused, bool(on_chain)
        )
    fee = pool_queries.grid_fee(conn, info=info)
    ticks, recipient = pool.call("gridFee", block=block)
    report.compare(
        "pool grid fee",
        "(ticks per level, recipient)",
        (fee.fee_ticks_per_level, fee.recipient or ZERO_ADDRESS),
        (int(ticks), recipient),
    )
    slots = sorted(int(s) for (s,) in conn.execute(select(PoolLimit.slot).distinct()))
    views = pool_queries.slot_limits(conn, info=info, slots=slots)
    entries = [(v.slot, c) for v in views for c in v.communities]
    chain = pool.call_many([("limits", [slot, c.community_id]) for slot, c in entries], block)
    for (slot, c), record in zip(entries, chain, strict=True):
        report.compare(
            "pool limits",
            f"slot {slot} community {c.community_id}",
            (c.published, c.import_wh, c.export_wh),
            (bool(record[0]), int(record[1]), int(record[2])),
        )
    _pool_clearings(conn, pool, block, report)


def _pool_clearings(conn: Any, pool: ContractReader, block: int, report: VerifyReport) -> None:
    """Every clearing of the pool the database holds: the stored record, and the fills (one
    per community, in id order) against the hash the pool stored."""
    clearings = conn.execute(select(PoolClearingRow.__table__).order_by(PoolClearingRow.slot)).all()
    fills: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for fill in conn.execute(
        select(PoolFillRow.__table__).order_by(PoolFillRow.slot, PoolFillRow.community_id)
    ):
        fills[int(fill.slot)].append(tuple(int(getattr(fill, name)) for name in FILL_COLUMNS))
    slots = [int(c.slot) for c in clearings]
    records = pool.call_many([("poolClearing", [slot]) for slot in slots], block)
    checks = pool.call_many([("verifyFills", [slot, fills[slot]]) for slot in slots], block)
    for clearing, record, fills_match in zip(clearings, records, checks, strict=True):
        cleared, fee, tick, buy_marginal, sell_marginal, volume, _ = record
        report.compare(
            "pool clearing",
            f"slot {clearing.slot} (cleared, fee, p*, m_b, m_s, V*)",
            (
                True,
                int(clearing.fee_ticks_per_level),
                int(clearing.clearing_tick),
                int(clearing.buy_marginal_tick),
                int(clearing.sell_marginal_tick),
                int(clearing.volume_wh),
            ),
            (
                bool(cleared),
                int(fee),
                int(tick),
                int(buy_marginal),
                int(sell_marginal),
                int(volume),
            ),
        )
        report.compare("pool fills", f"slot {clearing.slot} match", True, bool(fills_match))
    settled = {int(slot) for (slot,) in conn.execute(select(PoolSettlement.slot))}
    on_chain = pool.call_many([("isSettled", [slot]) for slot in slots], block)
    for slot, is_settled in zip(slots, on_chain, strict=True):
        report.compare("pool settlement", f"slot {slot} settled", slot in settled, bool(is_settled))


__all__ = ["VerifyReport", "verify"]
