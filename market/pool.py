"""The city pool: clearing what communities leave unmatched, across communities, under grid limits.

The Python reference of the pool's rule (docs/pool.md), as :mod:`market.clearing` is of a
community's: integer arithmetic only, with the rounding the rule prescribes, so that the
contract can be compared to it to the unit.

The rule, in five steps (every community on one price grid, ``price(t) = floor + t * size``):

1. **Residuals.** After its own clearing, a community's residual at tick ``t`` is what its orders
   at ``t`` did not fill: all of a level worse than its side's marginal tick, ``Q - R`` at the
   marginal tick, nothing at better ticks (everything, when the slot did not clear).
2. **Grid fees as tick shifts.** Community ``k`` sits ``levels_k`` network levels below the pool;
   at ``fee`` ticks per level its fee is ``f_k = levels_k * fee`` ticks. A residual buy at ``t``
   bids ``e = t - f_k`` in the pool (none when ``t < f_k``); a residual sell at ``t`` asks
   ``e = t + f_k`` (none above ``max_tick``: no bid reaches it). A trade from ``B`` to ``A`` thus
   pays the fee of every level it crosses, ``f_A`` down and ``f_B`` up, once.
3. **Limits as caps.** ``D_k(e) = min(residual buys of k bidding >= e, import_limit_k)``,
   ``S_k(e) = min(residual sells of k asking <= e, export_limit_k)``; ``D = sum D_k``,
   ``S = sum S_k``. Capping the gross flows keeps the net exchange within
   ``-import_limit..export_limit`` whatever the mix.
4. **Uniform price, as in a community.** ``V* = max_e min(D(e), S(e))`` (nothing when 0);
   ``m_b`` the highest ``e`` with ``D(e) >= V*``, ``m_s`` the lowest with ``S(e) >= V*``,
   ``p* = (m_s + m_b) // 2``. Community ``k`` imports ``D_k(m_b + 1)`` plus its pro-rata share of
   ``V* - D(m_b + 1)`` among the increments ``D_k(m_b) - D_k(m_b + 1)``, shared in community
   order with the cumulative rounding of :func:`market.clearing.outcome` (the shares add up to the
   rest exactly); exports likewise from ``S_k(m_s - 1)``. Its buyers pay ``price(p* + f_k)``, its
   sellers are paid ``price(p* - f_k)``: never beyond an order's own limit, since a filled buy
   bids ``t - f_k >= m_b >= p*`` and a filled sell asks ``t + f_k <= m_s <= p*``.
5. **Back to the orders.** Within a community, the import fills its residual buys best tick
   first, the export its residual sells; the tick where that runs out is the community's pool
   marginal level, shared pro rata in claim order like a community's own. An order's claim adds
   its pool fill to its local one: a buyer pays ``ceil((l * P + x * price(p* + f_k)) / 1000)``
   for ``l`` local Wh at the local price ``P`` and ``x`` pool Wh, rounded once (two ceilings
   could exceed its escrow); a seller's gross adds ``floor(x * price(p* - f_k) / 1000)`` to its
   local gross and its fee is taken once, on the order's whole gross.

The community settles with the pool in aggregate: it pays ``ceil(import * price(p* + f_k)/1000)``
and is paid ``floor(export * price(p* - f_k)/1000)``. What its buyers pay in all still covers its
sellers' gross and what it pays the pool, less what the pool pays it: with ``A`` the local value
and ``B`` the pool import's, ``ceil(A + B) >= floor(A) + ceil(B)``. The pool keeps the
difference, the grid fees: ``ts * sum_k (import_k + export_k) * f_k / 1000`` plus less than
one base unit per community and side, since the imports and the exports are the same Wh.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from market.clearing import (
    BPS,
    NO_LEVEL,
    WH_PER_KWH,
    ClearingRecord,
    MarginalLevel,
    MarketParams,
    Order,
    Side,
    ceil_div,
    check_int,
    check_name,
    is_rationed,
    outcome,
    settle,
)
from market.errors import PoolError

_Worse = Callable[[int, int], bool]
"""Compares an order's tick with a marginal tick: ``(tick, marginal) -> bool``."""


@dataclass(frozen=True, slots=True)
class Residual:
    """What a community's orders left unmatched after its own clearing, Wh per tick.

    Ticks with nothing left are absent; every quantity is > 0.
    """

    buys: Mapping[int, int] = field(default_factory=dict)
    sells: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for side, levels in (("buy", self.buys), ("sell", self.sells)):
            for tick, qty in levels.items():
                if not _is_int(tick) or tick < 0 or not _is_int(qty) or qty <= 0:
                    raise PoolError(
                        f"residual {side} level must map a tick >= 0 to Wh > 0, "
                        f"got {tick!r}: {qty!r}"
                    )


@dataclass(frozen=True, slots=True)
class PoolCommunity:
    """One community as the pool sees it in one slot.

    Attributes:
        community_id: the community (results come back in the order communities are given).
        levels: network levels between the community and the pool (>= 1).
        import_limit_wh: most the community may take from the pool this slot (>= 0).
        export_limit_wh: most it may give to the pool this slot (>= 0).
        residual: what its own clearing left unmatched.
    """

    community_id: str
    levels: int
    import_limit_wh: int
    export_limit_wh: int
    residual: Residual

    def __post_init__(self) -> None:
        check_name("community_id", self.community_id, PoolError)
        where = f"community {self.community_id!r}: "
        check_int(where + "levels", self.levels, PoolError, low=1)
        check_int(where + "import_limit_wh", self.import_limit_wh, PoolError, low=0)
        check_int(where + "export_limit_wh", self.export_limit_wh, PoolError, low=0)


@dataclass(frozen=True, slots=True)
class CommunityFill:
    """What the pool cleared for one community.

    Attributes:
        community_id: the community.
        fee_ticks: its grid fee in ticks (``levels * fee_ticks_per_level``).
        import_wh: Wh its residual buys receive from the pool.
        export_wh: Wh its residual sells give to the pool.
        buy_tick: the tick its buyers pay (``p* + fee_ticks``); 0 when it imports nothing.
        sell_tick: the tick its sellers are paid (``p* - fee_ticks``); 0 when it exports nothing.
        buy_marginal: its residual buys' marginal level (tick, Wh filled R of Q there), in the
            community's own ticks; all 0 when it imports nothing.
        sell_marginal: the same for its residual sells.
        pays: what the community pays the pool, ``ceil(import_wh * price(buy_tick) / 1000)``.
        paid: what the pool pays the community, ``floor(export_wh * price(sell_tick) / 1000)``.
    """

    community_id: str
    fee_ticks: int
    import_wh: int
    export_wh: int
    buy_tick: int
    sell_tick: int
    buy_marginal: MarginalLevel
    sell_marginal: MarginalLevel
    pays: int
    paid: int


@dataclass(frozen=True, slots=True)
class PoolClearing:
    """The pool's result for one slot.

    Attributes:
        cleared: whether anything crossed a community boundary.
        volume_wh: V*, the Wh that crossed (0 when not cleared).
        clearing_tick: ``p*`` (0 when not cleared).
        buy_marginal_tick: ``m_b``, in pool (fee-shifted) ticks.
        sell_marginal_tick: ``m_s``, in pool ticks.
        communities: one fill per community, in the order they were given.
        grid_fees: what the pool keeps: ``sum of pays - sum of paid`` (>= 0).
    """

    cleared: bool
    volume_wh: int
    clearing_tick: int
    buy_marginal_tick: int
    sell_marginal_tick: int
    communities: tuple[CommunityFill, ...]
    grid_fees: int

    def of(self, community_id: str) -> CommunityFill:
        """The fill of one community.

        Raises:
            PoolError: no community has that id.
        """
        for fill in self.communities:
            if fill.community_id == community_id:
                return fill
        raise PoolError(f"no community {community_id!r} in this pool clearing")


@dataclass(frozen=True, slots=True)
class CityOrderOutcome:
    """What one order's claim settles to when its community trades through the pool.

    Attributes:
        order_id: the order.
        side: its side.
        local_wh: Wh filled in its own community (as :func:`market.clearing.outcome`).
        pool_wh: Wh filled through the pool, out of what the local clearing left.
        paid: tokens a buyer pays in all (0 for a seller).
        gross: a seller's local plus pool gross (0 for a buyer).
        fee: the market's fee on a seller's whole gross (0 for a buyer).
        received: ``gross - fee`` (0 for a buyer).
        escrow: what the order locked: tokens for a buy, Wh for a sell.
        refund: ``escrow`` minus what was used.
    """

    order_id: str
    side: Side
    local_wh: int
    pool_wh: int
    paid: int
    gross: int
    fee: int
    received: int
    escrow: int
    refund: int

    @property
    def filled_wh(self) -> int:
        """Wh filled in all, local and pool."""
        return self.local_wh + self.pool_wh


def residual_of(orders: Iterable[Order], record: ClearingRecord, params: MarketParams) -> Residual:
    """A community's residual after its clearing ``record``: per tick, what its orders did not fill.

    It follows from the levels and the record alone (the claim order only moves Wh between the
    orders of a rationed level, never in or out of it).

    Raises:
        OrderError: an order's tick exceeds ``params.max_tick``.
    """
    buys: dict[int, int] = {}
    sells: dict[int, int] = {}
    for order in orders:
        params.price(order.tick)  # the range check of the rule, with its error
        levels = buys if order.side is Side.BUY else sells
        levels[order.tick] = levels.get(order.tick, 0) + order.qty_wh
    if record.cleared:
        buys = _unfilled(buys, record.buy_marginal, lambda t, m: t < m)
        sells = _unfilled(sells, record.sell_marginal, lambda t, m: t > m)
    return Residual(buys=buys, sells=sells)


def clear_pool(
    communities: Sequence[PoolCommunity], params: MarketParams, fee_ticks_per_level: int
) -> PoolClearing:
    """Clear one slot of the city pool (the rule in the module docstring).

    The cost is O(communities x non-empty ticks); it never depends on the number of orders.

    Raises:
        PoolError: two communities share an id, a residual tick exceeds ``params.max_tick``,
            or ``fee_ticks_per_level`` is not an int >= 0.
    """
    check_int("fee_ticks_per_level", fee_ticks_per_level, PoolError, low=0)
    _check_communities(communities, params)
    fees = [c.levels * fee_ticks_per_level for c in communities]
    bids = [
        _Curve.of(_shift(c.residual.buys, -f, params.max_tick), c.import_limit_wh, is_buy=True)
        for c, f in zip(communities, fees, strict=True)
    ]
    asks = [
        _Curve.of(_shift(c.residual.sells, f, params.max_tick), c.export_limit_wh, is_buy=False)
        for c, f in zip(communities, fees, strict=True)
    ]

    def demand(e: int) -> int:
        return sum(curve.at(e) for curve in bids)

    def supply(e: int) -> int:
        return sum(curve.at(e) for curve in asks)

    # min(D, S) peaks at an ask tick (the argument of market.clearing._matched_volume).
    ask_ticks = sorted({t for curve in asks for t in curve.ticks})
    volume = max((min(demand(e), supply(e)) for e in ask_ticks), default=0)
    if volume == 0:
        return PoolClearing(
            cleared=False,
            volume_wh=0,
            clearing_tick=0,
            buy_marginal_tick=0,
            sell_marginal_tick=0,
            grid_fees=0,
            communities=tuple(
                _no_fill(c.community_id, f) for c, f in zip(communities, fees, strict=True)
            ),
        )
    bid_ticks = sorted({t for curve in bids for t in curve.ticks})
    m_b = max(e for e in bid_ticks if demand(e) >= volume)
    m_s = min(e for e in ask_ticks if supply(e) >= volume)
    p_star = (m_s + m_b) // 2
    imports = _allocate(
        volume,
        full=[curve.at(m_b + 1) for curve in bids],
        at_marginal=[curve.at(m_b) - curve.at(m_b + 1) for curve in bids],
    )
    exports = _allocate(
        volume,
        full=[curve.at(m_s - 1) for curve in asks],
        at_marginal=[curve.at(m_s) - curve.at(m_s - 1) for curve in asks],
    )
    fills = tuple(
        _community_fill(c, fee, imp, exp, p_star, params)
        for c, fee, imp, exp in zip(communities, fees, imports, exports, strict=True)
    )
    return PoolClearing(
        cleared=True,
        volume_wh=volume,
        clearing_tick=p_star,
        buy_marginal_tick=m_b,
        sell_marginal_tick=m_s,
        communities=fills,
        grid_fees=sum(f.pays for f in fills) - sum(f.paid for f in fills),
    )


def city_outcome(
    order: Order,
    record: ClearingRecord,
    fill: CommunityFill,
    params: MarketParams,
    *,
    claimed_before_wh: int = 0,
    pool_claimed_before_wh: int = 0,
) -> CityOrderOutcome:
    """Settle one order against its community's record and its community's pool fill.

    ``claimed_before_wh`` is the Wh of its local rationed level claimed before it (as in
    :func:`market.clearing.outcome`); ``pool_claimed_before_wh`` the residual Wh of its pool
    marginal level claimed before it.

    Raises:
        OrderError: the order's tick exceeds ``params.max_tick``.
        ClearingRecordError: the record does not belong to a market with these ``params``.
    """
    local = outcome(order, record, params, claimed_before_wh)
    residual_wh = order.qty_wh - local.filled_wh
    if order.side is Side.BUY:
        pool_wh = _pool_share(
            residual_wh,
            order.tick,
            fill.buy_marginal,
            fill.import_wh,
            pool_claimed_before_wh,
            lambda t, m: t > m,
        )
        paid = local.paid
        if pool_wh:
            # One rounding for the whole order: two ceilings could exceed its escrow by one.
            local_milli = local.filled_wh * (record.price_per_kwh if record.cleared else 0)
            pool_milli = pool_wh * params.price(fill.buy_tick)
            paid = ceil_div(local_milli + pool_milli, WH_PER_KWH)
        return CityOrderOutcome(
            order_id=order.id,
            side=order.side,
            local_wh=local.filled_wh,
            pool_wh=pool_wh,
            paid=paid,
            gross=0,
            fee=0,
            received=0,
            escrow=local.escrow,
            refund=local.escrow - paid,
        )
    pool_wh = _pool_share(
        residual_wh,
        order.tick,
        fill.sell_marginal,
        fill.export_wh,
        pool_claimed_before_wh,
        lambda t, m: t < m,
    )
    pool_gross = pool_wh * params.price(fill.sell_tick) // WH_PER_KWH if pool_wh else 0
    gross = local.gross + pool_gross
    fee = ceil_div(gross * params.fee_bps, BPS)
    return CityOrderOutcome(
        order_id=order.id,
        side=order.side,
        local_wh=local.filled_wh,
        pool_wh=pool_wh,
        paid=0,
        gross=gross,
        fee=fee,
        received=gross - fee,
        escrow=order.qty_wh,
        refund=order.qty_wh - local.filled_wh - pool_wh,
    )


def is_pool_rationed(order: Order, local_filled_wh: int, fill: CommunityFill) -> bool:
    """Whether ``order`` has a residual at its community's rationed pool marginal level."""
    marginal = fill.buy_marginal if order.side is Side.BUY else fill.sell_marginal
    filled = fill.import_wh if order.side is Side.BUY else fill.export_wh
    return (
        filled > 0
        and order.tick == marginal.tick
        and marginal.allocated_wh != marginal.level_wh
        and order.qty_wh > local_filled_wh
    )


@dataclass(frozen=True, slots=True)
class CityCommunity:
    """A community's whole slot, for :func:`settle_city`.

    Attributes:
        community_id: the community.
        levels: network levels between it and the pool (>= 1).
        import_limit_wh: its import limit this slot.
        export_limit_wh: its export limit this slot.
        orders: its orders, claimed in this order.
    """

    community_id: str
    levels: int
    import_limit_wh: int
    export_limit_wh: int
    orders: Sequence[Order]


@dataclass(frozen=True, slots=True)
class CitySettlement:
    """Every community cleared, the pool cleared, and every order settled.

    Attributes:
        records: each community's own clearing, by community id.
        pool: the pool's clearing.
        outcomes: each community's order outcomes, in its claim order, by community id.
    """

    records: Mapping[str, ClearingRecord]
    pool: PoolClearing
    outcomes: Mapping[str, list[CityOrderOutcome]]


def settle_city(
    communities: Sequence[CityCommunity], params: MarketParams, fee_ticks_per_level: int
) -> CitySettlement:
    """Clear every community, then the pool, then settle every order in its community's list order.

    Raises:
        OrderError: an order's tick exceeds ``params.max_tick``, or two orders of one community
            share an id.
        PoolError: see :func:`clear_pool`.
    """
    records: dict[str, ClearingRecord] = {}
    pool_communities = []
    for c in communities:
        record, _ = settle(c.orders, params)
        records[c.community_id] = record
        pool_communities.append(
            PoolCommunity(
                community_id=c.community_id,
                levels=c.levels,
                import_limit_wh=c.import_limit_wh,
                export_limit_wh=c.export_limit_wh,
                residual=residual_of(c.orders, record, params),
            )
        )
    pool = clear_pool(pool_communities, params, fee_ticks_per_level)
    outcomes: dict[str, list[CityOrderOutcome]] = {}
    for c in communities:
        record, fill = records[c.community_id], pool.of(c.community_id)
        claimed = 0
        pool_claimed = {Side.BUY: 0, Side.SELL: 0}
        settled = []
        for order in c.orders:
            result = city_outcome(
                order,
                record,
                fill,
                params,
                claimed_before_wh=claimed,
                pool_claimed_before_wh=pool_claimed[order.side],
            )
            if is_rationed(order, record):
                claimed += order.qty_wh
            if is_pool_rationed(order, result.local_wh, fill):
                pool_claimed[order.side] += order.qty_wh - result.local_wh
            settled.append(result)
        outcomes[c.community_id] = settled
    return CitySettlement(records=records, pool=pool, outcomes=outcomes)


def _unfilled(levels: dict[int, int], marginal: MarginalLevel, worse: _Worse) -> dict[int, int]:
    """The levels an order side left: worse than the marginal tick whole, ``Q - R`` at it."""
    left = {t: q for t, q in levels.items() if worse(t, marginal.tick)}
    rest = marginal.level_wh - marginal.allocated_wh
    if rest:
        left[marginal.tick] = rest
    return left


@dataclass(frozen=True, slots=True)
class _Curve:
    """One community's capped side in pool ticks: ``at(e)`` is ``D_k(e)`` or ``S_k(e)``."""

    ticks: tuple[int, ...]  # ascending
    cumulative: tuple[int, ...]  # buys: Wh at ticks >= ticks[i]; sells: Wh at ticks <= ticks[i]
    cap: int
    is_buy: bool

    @classmethod
    def of(cls, levels: Mapping[int, int], cap: int, *, is_buy: bool) -> _Curve:
        ticks = tuple(sorted(levels))
        order = reversed(ticks) if is_buy else iter(ticks)
        running, sums = 0, {}
        for t in order:
            running += levels[t]
            sums[t] = running
        return cls(ticks, tuple(sums[t] for t in ticks), cap, is_buy)

    def at(self, e: int) -> int:
        if self.is_buy:
            i = bisect_left(self.ticks, e)  # first tick >= e
            total = self.cumulative[i] if i < len(self.ticks) else 0
        else:
            i = bisect_right(self.ticks, e) - 1  # last tick <= e
            total = self.cumulative[i] if i >= 0 else 0
        return min(total, self.cap)


def _shift(levels: Mapping[int, int], by: int, max_tick: int) -> dict[int, int]:
    """Levels moved by ``by`` ticks into pool ticks, dropping those outside ``0..max_tick``."""
    return {t + by: q for t, q in levels.items() if 0 <= t + by <= max_tick}


def _allocate(volume: int, full: Sequence[int], at_marginal: Sequence[int]) -> list[int]:
    """Each community's part of ``volume``: its ``full`` Wh plus its share of the rest among the
    ``at_marginal`` increments, in community order, with the cumulative rounding (exact sum)."""
    rest = volume - sum(full)
    total = sum(at_marginal)
    parts, before = [], 0
    for whole, increment in zip(full, at_marginal, strict=True):
        share = ((before + increment) * rest // total - before * rest // total) if total else 0
        before += increment
        parts.append(whole + share)
    return parts


def _marginal_of(
    levels: Mapping[int, int], filled_wh: int, *, highest_first: bool
) -> MarginalLevel:
    """Where ``filled_wh`` runs out when ``levels`` fill best tick first (highest for buys)."""
    if filled_wh == 0:
        return NO_LEVEL
    before = 0
    for tick in sorted(levels, reverse=highest_first):
        qty = levels[tick]
        if before + qty >= filled_wh:
            return MarginalLevel(tick=tick, allocated_wh=filled_wh - before, level_wh=qty)
        before += qty
    raise AssertionError("a community cannot fill more than its residual")  # pragma: no cover


def _community_fill(
    community: PoolCommunity,
    fee_ticks: int,
    import_wh: int,
    export_wh: int,
    p_star: int,
    params: MarketParams,
) -> CommunityFill:
    buy_tick = p_star + fee_ticks if import_wh else 0
    sell_tick = p_star - fee_ticks if export_wh else 0
    return CommunityFill(
        community_id=community.community_id,
        fee_ticks=fee_ticks,
        import_wh=import_wh,
        export_wh=export_wh,
        buy_tick=buy_tick,
        sell_tick=sell_tick,
        buy_marginal=_marginal_of(community.residual.buys, import_wh, highest_first=True),
        sell_marginal=_marginal_of(community.residual.sells, export_wh, highest_first=False),
        pays=ceil_div(import_wh * params.price(buy_tick), WH_PER_KWH),
        paid=export_wh * params.price(sell_tick) // WH_PER_KWH,
    )


def _no_fill(community_id: str, fee_ticks: int) -> CommunityFill:
    return CommunityFill(
        community_id=community_id,
        fee_ticks=fee_ticks,
        import_wh=0,
        export_wh=0,
        buy_tick=0,
        sell_tick=0,
        buy_marginal=NO_LEVEL,
        sell_marginal=NO_LEVEL,
        pays=0,
        paid=0,
    )


def _pool_share(
    residual_wh: int,
    tick: int,
    marginal: MarginalLevel,
    filled_wh: int,
    claimed_before_wh: int,
    better: _Worse,
) -> int:
    """An order's pool fill out of its ``residual_wh``: all of it better than its community's
    pool marginal tick, its cumulative share at it, none worse or when the side got nothing."""
    if filled_wh == 0 or residual_wh == 0:
        return 0
    if better(tick, marginal.tick):
        return residual_wh
    if tick != marginal.tick:
        return 0
    r, q = marginal.allocated_wh, marginal.level_wh
    return (claimed_before_wh + residual_wh) * r // q - claimed_before_wh * r // q


def _check_communities(communities: Sequence[PoolCommunity], params: MarketParams) -> None:
    seen: set[str] = set()
    for c in communities:
        if not isinstance(c, PoolCommunity):
            raise PoolError(f"a pool community must be a PoolCommunity, got {c!r}")
        if c.community_id in seen:
            raise PoolError(f"duplicate community id {c.community_id!r}")
        seen.add(c.community_id)
        for side, levels in (("buy", c.residual.buys), ("sell", c.residual.sells)):
            for tick in levels:
                if tick > params.max_tick:
                    raise PoolError(
                        f"community {c.community_id!r}: residual {side} tick {tick} exceeds "
                        f"max_tick {params.max_tick}"
                    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
