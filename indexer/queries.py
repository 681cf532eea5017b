"""Read models of the API: every query the routes need, keyword-only, returning dataclasses.

Derived state is computed here from the append-only tables: an order is ``open`` until a
cancel or claim row exists; a balance is the sum of its ledger rows; a slot's status comes from
the slot clock and the chain time of the checkpoint block (not the server's clock, so a local
chain whose time was moved forward reads right); fills come from the clearing record through
the reference rule in ``market.clearing`` (the claim's figures once it is claimed).

Pagination is by keyset: each list returns ``next_after``, the key to pass back as ``after``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from indexer import store
from indexer.db.models import (
    Clearing,
    Commitment,
    CommitmentOutcome,
    Order,
    OrderCancellation,
    OrderClaim,
    OrderPoolFill,
    SlotSeen,
    TokenTransfer,
)
from indexer.handlers import chain_position
from indexer.keyset import past, read_page, within
from indexer.market_info import MarketInfo
from indexer.rows import MarginalLevelsView, log_origin, marginal_levels
from market.clearing import (
    ClearingRecord,
    MarginalLevel,
    MarketParams,
    Side,
    is_rationed,
    outcome,
)
from market.clearing import Order as ClearingOrder

SLOT_STATUSES = ("upcoming", "open", "closed", "cleared")
ORDER_STATUSES = ("open", "cancelled", "claimed")
COMMITMENT_STATUSES = ("committed", "revealed", "forfeited")


@dataclass(frozen=True)
class ChainClock:
    """The indexed chain's "now": the checkpoint block."""

    block_number: int
    block_time: int
    head_block: int
    updated_at: float


def chain_clock(conn: Connection) -> ChainClock | None:
    state = store.read_state(conn)
    if state is None:
        return None
    return ChainClock(
        int(state["block_number"]),
        int(state["block_time"]),
        int(state["head_block"]),
        float(state["updated_at"]),
    )


# ---------------------------------------------------------------------- slots
@dataclass(frozen=True)
class ClearingView(MarginalLevelsView):
    volume_wh: int
    clearing_tick: int
    price: int
    block_number: int
    block_time: int
    tx_hash: str


@dataclass(frozen=True)
class CommitmentCounts:
    """A sealed market slot's commitments: how many were posted, revealed and forfeited."""

    commitments: int = 0
    revealed: int = 0
    forfeited: int = 0

    @property
    def pending(self) -> int:
        """Commitments neither revealed nor forfeited yet."""
        return self.commitments - self.revealed - self.forfeited


@dataclass(frozen=True)
class SlotView:
    slot: int
    start_time: int
    end_time: int
    opens_at: int
    gate_closure: int
    status: str
    clearing: ClearingView | None
    reveal_ends: int | None = None
    """Sealed market: the last second of the reveal window (None in open mode)."""
    commitments: int | None = None
    """Sealed market: commitments posted for the slot (None in open mode)."""
    revealed: int | None = None
    forfeited: int | None = None

    @property
    def final(self) -> bool:
        """Nothing about the slot changes any more: cleared, and no commitment still open
        (a sealed slot's unrevealed commitments are forfeited after its clearing)."""
        pending = (self.commitments or 0) - (self.revealed or 0) - (self.forfeited or 0)
        return self.status == "cleared" and pending == 0


def slot_status(info: MarketInfo, slot: int, now: int, cleared: bool) -> str:
    if cleared:
        return "cleared"
    if now < info.opens_at(slot):
        return "upcoming"
    if now < info.gate_closure(slot):
        return "open"
    return "closed"


def _clearing_view(row: Any) -> ClearingView:
    return ClearingView(
        volume_wh=int(row.volume_wh),
        clearing_tick=int(row.clearing_tick),
        price=int(row.price),
        **marginal_levels(row),
        **log_origin(row),
    )


def _slot_view(
    info: MarketInfo,
    slot: int,
    now: int,
    clearing: Any | None,
    counts: CommitmentCounts | None = None,
) -> SlotView:
    """The slot's view; ``counts`` its commitments in a sealed market (None: open market)."""
    return SlotView(
        slot=slot,
        start_time=info.slot_start(slot),
        end_time=info.slot_end(slot),
        opens_at=info.opens_at(slot),
        gate_closure=info.gate_closure(slot),
        status=slot_status(info, slot, now, clearing is not None),
        clearing=_clearing_view(clearing) if clearing is not None else None,
        reveal_ends=info.reveal_ends(slot),
        commitments=counts.commitments if counts is not None else None,
        revealed=counts.revealed if counts is not None else None,
        forfeited=counts.forfeited if counts is not None else None,
    )


def commitment_counts(conn: Connection, *, slots: list[int]) -> dict[int, CommitmentCounts]:
    """Commitments posted, revealed and forfeited per slot of ``slots`` (slots without any are
    left out). Only counts: what a commitment hides is not on chain before its reveal."""
    if not slots:
        return {}
    kind = CommitmentOutcome.kind
    rows = conn.execute(
        select(
            Commitment.slot,
            func.count(Commitment.id),
            func.sum(case((kind == "revealed", 1), else_=0)),
            func.sum(case((kind == "forfeited", 1), else_=0)),
        )
        .outerjoin(CommitmentOutcome, CommitmentOutcome.commit_id == Commitment.commit_id)
        .where(Commitment.slot.in_(slots))
        .group_by(Commitment.slot)
    ).all()
    return {
        int(slot): CommitmentCounts(int(n or 0), int(revealed or 0), int(forfeited or 0))
        for slot, n, revealed, forfeited in rows
    }


def _counts_of(
    conn: Connection, info: MarketInfo, slots: list[int]
) -> dict[int, CommitmentCounts] | None:
    """Commitment counts of ``slots`` in a sealed market (zero where none); None when open."""
    if not info.sealed:
        return None
    found = commitment_counts(conn, slots=slots)
    return {slot: found.get(slot, CommitmentCounts()) for slot in slots}


def get_slot(conn: Connection, *, info: MarketInfo, slot: int, now: int) -> SlotView | None:
    """The slot if the index saw any activity for it, else ``None``."""
    seen = conn.execute(select(SlotSeen.slot).where(SlotSeen.slot == slot)).first()
    if seen is None:
        return None
    clearing = conn.execute(select(Clearing.__table__).where(Clearing.slot == slot)).first()
    counts = _counts_of(conn, info, [slot])
    return _slot_view(info, slot, now, clearing, counts[slot] if counts is not None else None)


def list_slots(
    conn: Connection,
    *,
    info: MarketInfo,
    now: int,
    status: str | None = None,
    from_slot: int | None = None,
    to_slot: int | None = None,
    after: int | None = None,
    limit: int = 100,
    descending: bool = True,
) -> tuple[list[SlotView], int | None]:
    """Slots with activity, newest first by default, optionally of one status."""
    c = Clearing.__table__.c
    query = select(SlotSeen.slot, Clearing.__table__).outerjoin(
        Clearing, Clearing.slot == SlotSeen.slot
    )
    query = query.where(
        *within(SlotSeen.slot, from_slot, to_slot),
        *past(SlotSeen.slot, after, descending=descending),
    )
    if status is not None:
        first_unclosed = info.calendar.slot_of(now - info.settlement_seconds)
        first_upcoming = info.calendar.slot_of(now + info.open_ahead_seconds) + 1
        if status == "cleared":
            query = query.where(c.slot.is_not(None))
        else:
            query = query.where(c.slot.is_(None))
            if status == "closed":
                query = query.where(SlotSeen.slot < first_unclosed)
            elif status == "open":
                query = query.where(SlotSeen.slot >= first_unclosed, SlotSeen.slot < first_upcoming)
            else:
                query = query.where(SlotSeen.slot >= first_upcoming)
    order = SlotSeen.slot.desc() if descending else SlotSeen.slot.asc()
    rows, next_after = read_page(conn, query.order_by(order), limit=limit, key=lambda r: int(r[0]))
    counts = _counts_of(conn, info, [int(r[0]) for r in rows])
    views = [
        _slot_view(
            info,
            int(r[0]),
            now,
            r if r.volume_wh is not None else None,
            counts[int(r[0])] if counts is not None else None,
        )
        for r in rows
    ]
    return views, next_after


@dataclass(frozen=True)
class SlotStats:
    order_count: int
    open_order_count: int
    buy_wh: int
    sell_wh: int
    minted_wh: int


def slot_stats(conn: Connection, *, slot: int) -> SlotStats:
    cancelled = OrderCancellation.id.is_not(None)
    row = conn.execute(
        select(
            func.count(Order.id),
            func.sum(case((and_(~cancelled, OrderClaim.id.is_(None)), 1), else_=0)),
            func.sum(case((and_(Order.is_buy, ~cancelled), Order.qty_wh), else_=0)),
            func.sum(case((and_(~Order.is_buy, ~cancelled), Order.qty_wh), else_=0)),
        )
        .select_from(Order)
        .outerjoin(OrderCancellation, OrderCancellation.order_id == Order.order_id)
        .outerjoin(OrderClaim, OrderClaim.order_id == Order.order_id)
        .where(Order.slot == slot)
    ).one()
    minted = conn.execute(
        select(func.sum(TokenTransfer.amount_wh)).where(
            TokenTransfer.slot == slot,
            TokenTransfer.from_address == "0x0000000000000000000000000000000000000000",
        )
    ).scalar()
    return SlotStats(
        int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), int(minted or 0)
    )


# ---------------------------------------------------------------------- commitments
@dataclass(frozen=True)
class CommitmentView:
    commit_id: str
    owner: str
    slot: int
    locked_money: int
    locked_wh: int
    status: str
    order_id: str | None
    bond: int | None
    refund_money: int | None
    refund_wh: int | None
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
    ended_block_number: int | None
    ended_tx_hash: str | None
    position: int
    """The commitment's log position on the chain: the keyset of its lists."""


def list_commitments(
    conn: Connection,
    *,
    owner: str | None = None,
    slot: int | None = None,
    status: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[CommitmentView], int | None]:
    """Commitments of a sealed market, newest first, with their status: ``committed`` until an
    outcome row exists, then ``revealed`` or ``forfeited``."""
    c, o = Commitment, CommitmentOutcome
    position = c.block_number * (1 << 20) + c.log_index  # handlers.chain_position
    query = select(
        c.commit_id,
        c.owner,
        c.slot,
        c.locked_money,
        c.locked_wh,
        c.block_number,
        c.block_time,
        c.tx_hash,
        c.log_index,
        o.kind,
        o.order_id,
        o.bond,
        o.refund_money,
        o.refund_wh,
        o.block_number.label("ended_block_number"),
        o.tx_hash.label("ended_tx_hash"),
    ).outerjoin(o, o.commit_id == c.commit_id)
    if owner is not None:
        query = query.where(c.owner == owner)
    if slot is not None:
        query = query.where(c.slot == slot)
    if status == "committed":
        query = query.where(o.id.is_(None))
    elif status is not None:
        query = query.where(o.kind == status)
    rows, next_after = read_page(
        conn,
        query.where(*past(position, after, descending=True)).order_by(
            c.block_number.desc(), c.log_index.desc()
        ),
        limit=limit,
        key=lambda r: chain_position(int(r.block_number), int(r.log_index)),
    )
    return [_commitment_view(r) for r in rows], next_after


def _commitment_view(r: Any) -> CommitmentView:
    ended = r.kind is not None
    return CommitmentView(
        commit_id=str(r.commit_id),
        owner=str(r.owner),
        slot=int(r.slot),
        locked_money=int(r.locked_money),
        locked_wh=int(r.locked_wh),
        status=str(r.kind) if ended else "committed",
        order_id=str(r.order_id) if r.order_id is not None else None,
        bond=int(r.bond) if ended else None,
        refund_money=int(r.refund_money) if ended else None,
        refund_wh=int(r.refund_wh) if ended else None,
        **log_origin(r),
        log_index=int(r.log_index),
        ended_block_number=int(r.ended_block_number) if ended else None,
        ended_tx_hash=str(r.ended_tx_hash) if ended else None,
        position=chain_position(int(r.block_number), int(r.log_index)),
    )


# ---------------------------------------------------------------------- depth
@dataclass(frozen=True)
class DepthLevelView:
    tick: int
    price: int
    buy_wh: int
    sell_wh: int


@dataclass(frozen=True)
class DepthView:
    slot: int
    levels: list[DepthLevelView]
    best_bid_tick: int | None
    best_ask_tick: int | None
    total_buy_wh: int
    total_sell_wh: int


def depth(conn: Connection, *, info: MarketInfo, slot: int) -> DepthView:
    """Quantity per tick and side of the slot's orders that were not cancelled (the book as it
    rests, or as it stood at gate closure once the slot is closed)."""
    rows = conn.execute(
        select(Order.tick, Order.is_buy, func.sum(Order.qty_wh))
        .outerjoin(OrderCancellation, OrderCancellation.order_id == Order.order_id)
        .where(Order.slot == slot, OrderCancellation.id.is_(None))
        .group_by(Order.tick, Order.is_buy)
    ).all()
    levels: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for tick, is_buy, total in rows:
        levels[int(tick)][0 if is_buy else 1] += int(total or 0)
    ordered = [
        DepthLevelView(tick=t, price=info.price(t), buy_wh=v[0], sell_wh=v[1])
        for t, v in sorted(levels.items())
    ]
    bids = [lv.tick for lv in ordered if lv.buy_wh]
    asks = [lv.tick for lv in ordered if lv.sell_wh]
    return DepthView(
        slot=slot,
        levels=ordered,
        best_bid_tick=max(bids) if bids else None,
        best_ask_tick=min(asks) if asks else None,
        total_buy_wh=sum(lv.buy_wh for lv in ordered),
        total_sell_wh=sum(lv.sell_wh for lv in ordered),
    )


# ---------------------------------------------------------------------- orders and fills
@dataclass(frozen=True)
class OrderHeadView:
    """What every view of an order starts with: its id, the owner's nonce, owner, slot, side
    and tick (:func:`_order_head`)."""

    order_id: str
    nonce: int
    owner: str
    slot: int
    side: str
    tick: int


@dataclass(frozen=True)
class OrderView(OrderHeadView):
    price: int
    qty_wh: int
    escrow: int
    fee_bps: int
    status: str
    block_number: int
    block_time: int
    tx_hash: str


@dataclass(frozen=True)
class FillView(OrderHeadView):
    qty_wh: int
    filled_wh: int
    price: int
    amount: int
    fee: int
    refund: int
    claimed: bool
    pool_filled_wh: int | None


#: What every read of an order starts with: its id, the owner's nonce, owner, slot, side, tick
#: and quantity (the columns of :class:`OrderView` and :class:`FillView` alike).
_ORDER_HEAD = (
    Order.order_id,
    Order.nonce,
    Order.owner,
    Order.slot,
    Order.is_buy,
    Order.tick,
    Order.qty_wh,
)


def _order_head(r: Any) -> dict[str, Any]:
    """The :class:`OrderHeadView` fields of a row read with :data:`_ORDER_HEAD`."""
    return {
        "order_id": str(r.order_id),
        "nonce": int(r.nonce),
        "owner": str(r.owner),
        "slot": int(r.slot),
        "side": "buy" if r.is_buy else "sell",
        "tick": int(r.tick),
    }


def _order_query() -> Any:
    return (
        select(
            *_ORDER_HEAD,
            Order.escrow,
            Order.fee_bps,
            Order.block_number,
            Order.block_time,
            Order.tx_hash,
            OrderCancellation.id.label("cancel_id"),
            OrderClaim.id.label("claim_id"),
        )
        .outerjoin(OrderCancellation, OrderCancellation.order_id == Order.order_id)
        .outerjoin(OrderClaim, OrderClaim.order_id == Order.order_id)
    )


def _order_view(info: MarketInfo, r: Any) -> OrderView:
    status = (
        "cancelled"
        if r.cancel_id is not None
        else ("claimed" if r.claim_id is not None else "open")
    )
    return OrderView(
        **_order_head(r),
        price=info.price(int(r.tick)),
        qty_wh=int(r.qty_wh),
        escrow=int(r.escrow),
        fee_bps=int(r.fee_bps),
        status=status,
        **log_origin(r),
    )


def _status_filter(query: Any, status: str | None) -> Any:
    if status == "open":
        return query.where(OrderCancellation.id.is_(None), OrderClaim.id.is_(None))
    if status == "cancelled":
        return query.where(OrderCancellation.id.is_not(None))
    if status == "claimed":
        return query.where(OrderClaim.id.is_not(None))
    return query


def list_orders(
    conn: Connection,
    *,
    info: MarketInfo,
    owner: str | None = None,
    slot: int | None = None,
    status: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[OrderView], int | None]:
    """Orders, newest first (by nonce)."""
    query = _order_query()
    if owner is not None:
        query = query.where(Order.owner == owner)
    if slot is not None:
        query = query.where(Order.slot == slot)
    query = _status_filter(query.where(*past(Order.nonce, after, descending=True)), status)
    rows, next_after = read_page(
        conn, query.order_by(Order.nonce.desc()), limit=limit, key=lambda r: int(r.nonce)
    )
    return [_order_view(info, r) for r in rows], next_after


def get_order(conn: Connection, *, info: MarketInfo, order_id: str) -> OrderView | None:
    row = conn.execute(_order_query().where(Order.order_id == order_id)).first()
    return _order_view(info, row) if row is not None else None


def _record(row: Any, info: MarketInfo) -> ClearingRecord:
    volume = int(row.volume_wh)
    if volume == 0:
        zero = MarginalLevel(0, 0, 0)
        return ClearingRecord(False, 0, 0, 0, zero, zero)
    return ClearingRecord(
        cleared=True,
        volume_wh=volume,
        clearing_tick=int(row.clearing_tick),
        price_per_kwh=info.price(int(row.clearing_tick)),
        buy_marginal=MarginalLevel(
            int(row.buy_marginal_tick),
            int(row.buy_marginal_filled_wh),
            int(row.buy_marginal_total_wh),
        ),
        sell_marginal=MarginalLevel(
            int(row.sell_marginal_tick),
            int(row.sell_marginal_filled_wh),
            int(row.sell_marginal_total_wh),
        ),
    )


def list_fills(
    conn: Connection,
    *,
    info: MarketInfo,
    owner: str | None = None,
    slot: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[FillView], int | None]:
    """Fills (orders of cleared slots that traded), newest first; claimed orders report their
    claim, unclaimed ones what the clearing rule gives them."""
    cl = Clearing.__table__.c
    query = (
        select(
            *_ORDER_HEAD,
            Order.fee_bps,
            cl.volume_wh,
            cl.clearing_tick,
            cl.buy_marginal_tick,
            cl.buy_marginal_filled_wh,
            cl.buy_marginal_total_wh,
            cl.sell_marginal_tick,
            cl.sell_marginal_filled_wh,
            cl.sell_marginal_total_wh,
            OrderClaim.id.label("claim_id"),
            OrderClaim.filled_wh,
            OrderClaim.amount,
            OrderClaim.fee,
            OrderClaim.refund,
            OrderPoolFill.pool_wh,
        )
        .join(Clearing, Clearing.slot == Order.slot)
        .outerjoin(OrderCancellation, OrderCancellation.order_id == Order.order_id)
        .outerjoin(OrderClaim, OrderClaim.order_id == Order.order_id)
        .outerjoin(OrderPoolFill, OrderPoolFill.order_id == Order.order_id)
        # a pooled market's order may have filled through the pool alone
        .where(OrderCancellation.id.is_(None), or_(cl.volume_wh > 0, OrderPoolFill.id.is_not(None)))
    )
    if owner is not None:
        query = query.where(Order.owner == owner)
    if slot is not None:
        query = query.where(Order.slot == slot)
    fills: list[FillView] = []
    cursor = after
    # orders that did not trade are skipped, so read in chunks until the page is full
    while len(fills) <= limit:
        chunk = query
        if cursor is not None:
            chunk = chunk.where(Order.nonce < cursor)
        rows = conn.execute(chunk.order_by(Order.nonce.desc()).limit(4 * limit + 1)).all()
        for r in rows:
            fill = _fill(conn, info, r)
            if fill.filled_wh > 0:
                fills.append(fill)
        if len(rows) <= 4 * limit or not rows:
            break
        cursor = int(rows[-1].nonce)
    page = fills[:limit]
    return page, (page[-1].nonce if len(fills) > limit and page else None)


def _claimed_at_level(conn: Connection, slot: int, is_buy: bool, tick: int) -> int:
    """Wh of the claimed orders at one level of a slot: what its rationed shares count from."""
    total = conn.execute(
        select(func.coalesce(func.sum(Order.qty_wh), 0))
        .join(OrderClaim, OrderClaim.order_id == Order.order_id)
        .where(Order.slot == slot, Order.is_buy == is_buy, Order.tick == tick)
    ).scalar_one()
    return int(total)


def _fill(conn: Connection, info: MarketInfo, r: Any) -> FillView:
    record = _record(r, info)
    side = "buy" if r.is_buy else "sell"
    if r.claim_id is not None:
        filled, amount, fee, refund = (int(r.filled_wh), int(r.amount), int(r.fee), int(r.refund))
    else:
        # An unclaimed order: what a claim now would settle (at a rationed level, its share
        # follows the Wh of the level claimed before it, audit L-1).
        params = MarketParams(info.price_floor, info.tick_size, info.max_tick, int(r.fee_bps))
        order = ClearingOrder(str(r.order_id), Side(side), int(r.tick), int(r.qty_wh))
        claimed = (
            _claimed_at_level(conn, int(r.slot), bool(r.is_buy), int(r.tick))
            if is_rationed(order, record)
            else 0
        )
        result = outcome(order, record, params, claimed)
        filled, fee, refund = result.filled_wh, result.fee, result.refund
        amount = result.paid if r.is_buy else result.received
    return FillView(
        **_order_head(r),
        qty_wh=int(r.qty_wh),
        filled_wh=filled,
        price=record.price_per_kwh,
        amount=amount,
        fee=fee,
        refund=refund,
        claimed=r.claim_id is not None,
        # a claim of a pooled market emits OrderPoolFilled when the pool filled part of it
        pool_filled_wh=None if r.claim_id is None else int(r.pool_wh or 0),
    )


# ---------------------------------------------------------------------- prices
@dataclass(frozen=True)
class PricePoint:
    slot: int
    start_time: int
    price: int
    clearing_tick: int
    volume_wh: int


@dataclass(frozen=True)
class Candle:
    start_time: int
    open: int
    high: int
    low: int
    close: int
    volume_wh: int
    slots: int
    vwap: int


def price_history(
    conn: Connection,
    *,
    info: MarketInfo,
    from_slot: int | None = None,
    to_slot: int | None = None,
    after: int | None = None,
    limit: int = 500,
) -> tuple[list[PricePoint], int | None]:
    """Clearing prices of slots that traded, oldest first."""
    query = select(Clearing.slot, Clearing.price, Clearing.clearing_tick, Clearing.volume_wh).where(
        Clearing.volume_wh > 0
    )
    query = query.where(*within(Clearing.slot, from_slot, to_slot), *past(Clearing.slot, after))
    rows, next_after = read_page(
        conn, query.order_by(Clearing.slot), limit=limit, key=lambda r: int(r.slot)
    )
    points = [
        PricePoint(int(s), info.slot_start(int(s)), int(p), int(t), int(v)) for s, p, t, v in rows
    ]
    return points, next_after


def ohlc(
    conn: Connection,
    *,
    info: MarketInfo,
    interval_seconds: int,
    from_time: int,
    to_time: int,
) -> list[Candle]:
    """Candles of clearing prices per ``interval_seconds`` (by slot start time)."""
    first = max(info.slot_of(max(from_time, info.epoch)), 0)
    last = info.slot_of(max(to_time, info.epoch))
    rows = conn.execute(
        select(Clearing.slot, Clearing.price, Clearing.volume_wh)
        .where(Clearing.volume_wh > 0, Clearing.slot >= first, Clearing.slot <= last)
        .order_by(Clearing.slot)
    ).all()
    buckets: dict[int, list[tuple[int, int]]] = {}
    for slot, price, volume in rows:
        start = info.slot_start(int(slot))
        if not from_time <= start <= to_time:
            continue
        bucket = start - start % interval_seconds
        buckets.setdefault(bucket, []).append((int(price), int(volume)))
    candles = []
    for bucket, points in sorted(buckets.items()):
        prices = [p for p, _ in points]
        volume = sum(v for _, v in points)
        vwap = sum(p * v for p, v in points) // volume if volume else 0
        candles.append(
            Candle(
                bucket, prices[0], max(prices), min(prices), prices[-1], volume, len(points), vwap
            )
        )
    return candles
