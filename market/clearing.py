"""Uniform-price clearing of one market slot: the Python reference of the contract's rule.

The Solidity contract implements the same rule and the tests compare both to the unit, so
everything here is integer arithmetic with the rounding the rule prescribes, never floats.

The rule. ``price(tick) = price_floor + tick * tick_size`` (base units of the payment token per
kWh); energy is in whole Wh::

    D(t) = qty of buys with tick >= t           S(t) = qty of sells with tick <= t
    V*   = max over t of min(D(t), S(t))        nothing clears when V* == 0 (all refunded)

Buys fill in price priority from the highest tick down, sells from the lowest tick up. The
marginal tick of a side (``m_b``, ``m_s``) is where that side's cumulative qty first reaches V*.
The clearing tick is ``p* = (m_s + m_b) // 2`` and every fill is priced at ``P = price(p*)``.

At a marginal tick, ``R = V* - qty at strictly better ticks`` and ``Q = qty at the tick``. At most
one side has ``R < Q``; its orders share R pro rata in the order they are claimed: an order of
qty q claimed after C Wh of its level fills ``floor((C+q)*R/Q) - floor(C*R/Q)`` Wh (the floor or
the ceil of ``q*R/Q``), receives or gives them and is paid for them, and the level's fills add up
to R exactly, so no Wh is left owned by nobody (audit finding L-1). :func:`settle` claims in the
order of its list; :func:`outcome` takes the Wh claimed before (``claimed_before_wh``).

Orders better than their marginal tick (and all orders at an unrationed one) fill fully; worse
orders do not fill. A buyer pays ``ceil(x*P/1000)`` for x Wh; a seller's gross is
``floor(x*P/1000)``, its fee ``ceil(gross*fee_bps/10000)``, and it receives ``gross - fee``. A buy
escrows ``ceil(qty*price(tick)/1000)`` tokens, a sell escrows its qty in Wh; each gets back its
escrow minus what was used. Every rounding of money favours the contract, so it never pays out
more than came in, and keeps less than one base unit per filled order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate
from typing import Any, ClassVar

from market.errors import ClearingRecordError, MarketError, MarketParamsError, OrderError

MAX_TICK = 65_535
"""Largest ``max_tick`` the rule allows (a tick fits 16 bits)."""

BPS = 10_000
"""Basis points in one whole: ``fee_bps`` ranges over ``0..BPS``."""

WH_PER_KWH = 1_000
"""Prices are per kWh, quantities in Wh."""

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
"""The treasury of a market known only by its rule (no deployment)."""


def check_int(
    name: str,
    value: object,
    error: type[MarketError],
    *,
    low: int,
    high: int | None = None,
) -> None:
    """Raise ``error`` unless ``value`` is an int (not a bool) in ``low..high``."""
    in_range = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    )
    if not in_range:
        bounds = f"in {low}..{high}" if high is not None else f">= {low}"
        raise error(f"{name} must be an int {bounds}, got {value!r}")


def check_name(name: str, value: object, error: type[MarketError]) -> None:
    """Raise ``error`` unless ``value`` is a non-empty str (an order's or a community's id)."""
    if not isinstance(value, str) or not value:
        raise error(f"{name} must be a non-empty str, got {value!r}")


class Side(StrEnum):
    """Which way an order trades energy."""

    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class MarketParams:
    """The parameters of a market, the ``MarketParams`` struct of the EnergyMarket contract.

    The clearing rule needs the price grid and the fee; the contract's struct also holds the
    order windows, the smallest order and the treasury (defaults here: the deployment
    defaults, for markets known only by their rule). ``energychain`` reads the struct into this
    type by field name, so a field the contract adds only needs adding here.

    Attributes:
        price_floor: price of tick 0, in base units of the payment token per kWh (>= 0).
        tick_size: price step between adjacent ticks, in base units per kWh (>= 1).
        max_tick: highest tick an order may use (0..65535).
        fee_bps: fee taken from each seller's gross, in basis points (0..10000).
        settlement_seconds: after a slot ends, how long its orders are still accepted.
        open_ahead_seconds: how long before a slot starts its orders are accepted.
        min_order_wh: the smallest order quantity, Wh.
        treasury: where the fees go.
    """

    price_floor: int
    tick_size: int
    max_tick: int
    fee_bps: int
    settlement_seconds: int = 900
    open_ahead_seconds: int = 86_400
    min_order_wh: int = 10
    treasury: str = ZERO_ADDRESS

    FIELDS: ClassVar[tuple[str, ...]] = (
        "price_floor",
        "tick_size",
        "max_tick",
        "settlement_seconds",
        "open_ahead_seconds",
        "min_order_wh",
        "fee_bps",
        "treasury",
    )
    """Every field, as the struct orders them (``energychain`` still matches them by name)."""

    def __post_init__(self) -> None:
        check_int("price_floor", self.price_floor, MarketParamsError, low=0)
        check_int("tick_size", self.tick_size, MarketParamsError, low=1)
        check_int("max_tick", self.max_tick, MarketParamsError, low=0, high=MAX_TICK)
        check_int("fee_bps", self.fee_bps, MarketParamsError, low=0, high=BPS)
        for name in ("settlement_seconds", "open_ahead_seconds", "min_order_wh"):
            check_int(name, getattr(self, name), MarketParamsError, low=0)
        if not isinstance(self.treasury, str):
            raise MarketParamsError(f"treasury must be an address str, got {self.treasury!r}")

    def fields(self) -> dict[str, Any]:
        """Every field by name (see :attr:`FIELDS`)."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def rule(self) -> MarketParams:
        """Only what the clearing rule uses (price grid and fee), the rest at the defaults."""
        return MarketParams(self.price_floor, self.tick_size, self.max_tick, self.fee_bps)

    @property
    def price_top(self) -> int:
        """The price of ``max_tick``, the highest a buyer can bid."""
        return self.price_floor + self.max_tick * self.tick_size

    def buy_escrow(self, qty_wh: int, tick: int) -> int:
        """What a buy of ``qty_wh`` at ``tick`` locks: ``ceil(qty_wh * price(tick) / 1000)``."""
        return buy_escrow(qty_wh, self.price(tick))

    def price(self, tick: int) -> int:
        """Return ``price_floor + tick * tick_size``, the price per kWh of ``tick``.

        Raises:
            OrderError: ``tick`` is not an int in ``0..max_tick``.
        """
        check_int("tick", tick, OrderError, low=0, high=self.max_tick)
        return self.price_floor + tick * self.tick_size


@dataclass(frozen=True, slots=True)
class Order:
    """One order of a slot: buy or sell ``qty_wh`` Wh at ``price(tick)`` or better.

    Whether ``tick`` is within the market's ``max_tick`` is checked where the order meets its
    market (``clear_slot``, ``outcome``, ``settle``).
    """

    id: str
    side: Side
    tick: int
    qty_wh: int

    def __post_init__(self) -> None:
        check_name("order id", self.id, OrderError)
        if not isinstance(self.side, Side):
            raise OrderError(f"order {self.id!r}: side must be a Side, got {self.side!r}")
        check_int(f"order {self.id!r}: tick", self.tick, OrderError, low=0)
        check_int(f"order {self.id!r}: qty_wh", self.qty_wh, OrderError, low=1)


@dataclass(frozen=True, slots=True)
class MarginalLevel:
    """One side's marginal tick, where its cumulative qty (best price first) reaches V*.

    Attributes:
        tick: the marginal tick (``m_b`` for buys, ``m_s`` for sells).
        allocated_wh: ``R = V* - qty at strictly better ticks``, the Wh this tick fills.
        level_wh: ``Q``, the total qty of the side's orders at this tick.

    In the record of a slot that did not clear, all three are 0.
    """

    tick: int
    allocated_wh: int
    level_wh: int

    def __post_init__(self) -> None:
        check_int("marginal tick", self.tick, ClearingRecordError, low=0, high=MAX_TICK)
        check_int("marginal level_wh", self.level_wh, ClearingRecordError, low=0)
        check_int(
            "marginal allocated_wh",
            self.allocated_wh,
            ClearingRecordError,
            low=0,
            high=self.level_wh,
        )

    @property
    def rationed(self) -> bool:
        """True when the tick fills only part of its qty (``R < Q``), shared pro rata."""
        return self.allocated_wh < self.level_wh


NO_LEVEL = MarginalLevel(tick=0, allocated_wh=0, level_wh=0)
"""A side with no marginal level: nothing cleared (or, in the city pool, nothing filled)."""


@dataclass(frozen=True, slots=True)
class ClearingRecord:
    """The facts the contract stores when it clears a slot; each order's outcome follows from them.

    When ``cleared`` is False every other field is 0, as unwritten contract storage reads.
    When it is True: ``volume_wh`` is V* > 0, ``clearing_tick`` is
    ``(sell_marginal.tick + buy_marginal.tick) // 2`` and ``price_per_kwh`` is
    ``price(clearing_tick)``.

    Raises:
        ClearingRecordError: the fields contradict each other (no clearing could produce them).
    """

    cleared: bool
    volume_wh: int
    clearing_tick: int
    price_per_kwh: int
    buy_marginal: MarginalLevel
    sell_marginal: MarginalLevel

    @classmethod
    def not_cleared(cls) -> ClearingRecord:
        """The record of a slot that did not clear (every field 0)."""
        return _NOT_CLEARED

    def __post_init__(self) -> None:
        if not isinstance(self.cleared, bool):
            raise ClearingRecordError(f"cleared must be a bool, got {self.cleared!r}")
        if not self.cleared:
            if (self.volume_wh, self.clearing_tick, self.price_per_kwh) != (0, 0, 0) or (
                self.buy_marginal != NO_LEVEL or self.sell_marginal != NO_LEVEL
            ):
                raise ClearingRecordError("a record that did not clear must have all fields 0")
            return
        check_int("volume_wh", self.volume_wh, ClearingRecordError, low=1)
        check_int("clearing_tick", self.clearing_tick, ClearingRecordError, low=0, high=MAX_TICK)
        check_int("price_per_kwh", self.price_per_kwh, ClearingRecordError, low=0)
        for side, level in (("buy", self.buy_marginal), ("sell", self.sell_marginal)):
            if not 0 < level.allocated_wh <= self.volume_wh:
                raise ClearingRecordError(
                    f"{side} marginal allocated_wh must be in 1..volume_wh, "
                    f"got {level.allocated_wh}"
                )
        low, high = self.sell_marginal.tick, self.buy_marginal.tick
        if low > high or self.clearing_tick != (low + high) // 2:
            raise ClearingRecordError(
                f"clearing_tick {self.clearing_tick} is not the midpoint of "
                f"sell marginal tick {low} and buy marginal tick {high}"
            )
        if self.buy_marginal.rationed and self.sell_marginal.rationed:
            raise ClearingRecordError("at most one side can be rationed")


_NOT_CLEARED = ClearingRecord(
    cleared=False,
    volume_wh=0,
    clearing_tick=0,
    price_per_kwh=0,
    buy_marginal=NO_LEVEL,
    sell_marginal=NO_LEVEL,
)


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What one order's claim settles to.

    Attributes:
        order_id: the order's id.
        side: the order's side.
        filled_wh: Wh received by a buyer, or given by a seller.
        paid: tokens a buyer pays (0 for a seller).
        gross: tokens a seller's fill is worth before the fee (0 for a buyer).
        fee: tokens taken from a seller's gross (0 for a buyer).
        received: tokens a seller receives, ``gross - fee`` (0 for a buyer).
        escrow: what the order locked: tokens for a buy, Wh for a sell.
        refund: ``escrow`` minus what was used: tokens for a buy, Wh for a sell.
    """

    order_id: str
    side: Side
    filled_wh: int
    paid: int
    gross: int
    fee: int
    received: int
    escrow: int
    refund: int


def clear_slot(orders: Iterable[Order], params: MarketParams) -> ClearingRecord:
    """Clear one slot: find V*, both marginal levels and the uniform clearing price.

    Works from the total qty per tick of each side, so the cost is O(orders) to aggregate plus
    sorting the non-empty ticks; it never walks all ``max_tick`` ticks. The record does not
    depend on the order in which ``orders`` are given.

    Raises:
        OrderError: an order's tick exceeds ``params.max_tick``, or two orders share an id.
    """
    buys, sells = _levels(orders, params)
    volume = _matched_volume(buys, sells)
    if volume == 0:
        return _NOT_CLEARED
    buy_marginal = _marginal_level(buys, volume, highest_first=True)
    sell_marginal = _marginal_level(sells, volume, highest_first=False)
    clearing_tick = (sell_marginal.tick + buy_marginal.tick) // 2
    return ClearingRecord(
        cleared=True,
        volume_wh=volume,
        clearing_tick=clearing_tick,
        price_per_kwh=params.price(clearing_tick),
        buy_marginal=buy_marginal,
        sell_marginal=sell_marginal,
    )


def outcome(
    order: Order, record: ClearingRecord, params: MarketParams, claimed_before_wh: int = 0
) -> OrderOutcome:
    """Settle one order against a slot's record, exactly like the contract's pull-based claim.

    Needs the order, the record, the market and, for an order at a rationed marginal level, the
    Wh of that level claimed before it (``claimed_before_wh``; 0: claimed first).

    Raises:
        OrderError: the order's tick exceeds ``params.max_tick``.
        ClearingRecordError: the record does not belong to a market with these ``params``.
    """
    _check_fits(order, params)
    _check_record_fits(record, params)
    if order.side is Side.BUY:
        return _buy_outcome(order, record, params, claimed_before_wh)
    return _sell_outcome(order, record, params, claimed_before_wh)


def is_rationed(order: Order, record: ClearingRecord) -> bool:
    """Whether ``order`` sits at its side's rationed marginal level (R < Q)."""
    marginal = record.buy_marginal if order.side is Side.BUY else record.sell_marginal
    return (
        record.cleared
        and order.tick == marginal.tick
        and marginal.allocated_wh != marginal.level_wh
    )


def settle(
    orders: Sequence[Order], params: MarketParams
) -> tuple[ClearingRecord, list[OrderOutcome]]:
    """Clear a slot and settle every order, claimed in the order of ``orders``.

    Raises:
        OrderError: an order's tick exceeds ``params.max_tick``, or two orders share an id.
    """
    record = clear_slot(orders, params)
    claimed = 0
    outcomes = []
    for order in orders:
        outcomes.append(outcome(order, record, params, claimed))
        if is_rationed(order, record):
            claimed += order.qty_wh
    return record, outcomes


def _levels(orders: Iterable[Order], params: MarketParams) -> tuple[dict[int, int], dict[int, int]]:
    """Total qty per non-empty tick, for buys and for sells, rejecting repeated ids."""
    buys: dict[int, int] = {}
    sells: dict[int, int] = {}
    seen: set[str] = set()
    for order in orders:
        _check_fits(order, params)
        if order.id in seen:
            raise OrderError(f"duplicate order id {order.id!r}")
        seen.add(order.id)
        levels = buys if order.side is Side.BUY else sells
        levels[order.tick] = levels.get(order.tick, 0) + order.qty_wh
    return buys, sells


def _matched_volume(buys: Mapping[int, int], sells: Mapping[int, int]) -> int:
    """V* = max over t of min(D(t), S(t)), evaluated at the sell ticks only.

    That suffices: for any t, let s be the highest sell tick <= t. Then S(s) = S(t) and
    D(s) >= D(t) (D never rises with t), so min(D, S) at s is at least that at t; and below the
    lowest sell tick S = 0.
    """
    buy_ticks = sorted(buys)
    demand = sum(buys.values())  # D(t) while t is at or below the lowest buy tick
    supply = 0
    best = 0
    below = 0  # number of buy ticks below t, already taken out of demand
    for tick in sorted(sells):
        while below < len(buy_ticks) and buy_ticks[below] < tick:
            demand -= buys[buy_ticks[below]]
            below += 1
        supply += sells[tick]
        best = max(best, min(demand, supply))
    return best


def _marginal_level(
    levels: Mapping[int, int], volume: int, *, highest_first: bool
) -> MarginalLevel:
    """The first tick, best price first, where the side's cumulative qty reaches ``volume``.

    Buys are walked highest tick first, sells lowest first. The side holds at least ``volume``
    (V* <= D(0) and V* <= S(max_tick)), so the tick exists.
    """
    ticks = sorted(levels, reverse=highest_first)
    cumulative = list(accumulate(levels[tick] for tick in ticks))
    index = bisect_left(cumulative, volume)  # cumulative strictly increases: every qty > 0
    tick = ticks[index]
    better = cumulative[index] - levels[tick]
    return MarginalLevel(tick=tick, allocated_wh=volume - better, level_wh=levels[tick])


def _buy_outcome(
    order: Order, record: ClearingRecord, params: MarketParams, claimed_before_wh: int
) -> OrderOutcome:
    """A buyer receives its fill and pays ``ceil(filled * P / 1000)``."""
    escrow = params.buy_escrow(order.qty_wh, order.tick)
    marginal = record.buy_marginal
    if not record.cleared or order.tick < marginal.tick:
        received_wh = 0
    elif order.tick > marginal.tick:
        received_wh = order.qty_wh
    else:
        received_wh = _share(order.qty_wh, marginal, claimed_before_wh)
    paid = ceil_div(received_wh * record.price_per_kwh, WH_PER_KWH)
    return OrderOutcome(
        order_id=order.id,
        side=order.side,
        filled_wh=received_wh,
        paid=paid,
        gross=0,
        fee=0,
        received=0,
        escrow=escrow,
        refund=escrow - paid,
    )


def _sell_outcome(
    order: Order, record: ClearingRecord, params: MarketParams, claimed_before_wh: int
) -> OrderOutcome:
    """A seller gives its fill and is paid ``floor(filled * P / 1000)`` less the fee."""
    marginal = record.sell_marginal
    if not record.cleared or order.tick > marginal.tick:
        given_wh = 0
    elif order.tick < marginal.tick:
        given_wh = order.qty_wh
    else:
        given_wh = _share(order.qty_wh, marginal, claimed_before_wh)
    gross = given_wh * record.price_per_kwh // WH_PER_KWH
    fee = ceil_div(gross * params.fee_bps, BPS)
    return OrderOutcome(
        order_id=order.id,
        side=order.side,
        filled_wh=given_wh,
        paid=0,
        gross=gross,
        fee=fee,
        received=gross - fee,
        escrow=order.qty_wh,
        refund=order.qty_wh - given_wh,
    )


def buy_escrow(qty_wh: int, price_per_kwh: int) -> int:
    """What a buy of ``qty_wh`` Wh at ``price_per_kwh`` locks (and the most it can pay):
    ``ceil(qty_wh * price / 1000)``, rounded for the contract like every payment."""
    return ceil_div(qty_wh * price_per_kwh, WH_PER_KWH)


def _share(qty_wh: int, marginal: MarginalLevel, claimed_before_wh: int) -> int:
    """An order's fill at its marginal tick after ``claimed_before_wh`` Wh of the level were
    claimed: ``floor((C+q)*R/Q) - floor(C*R/Q)`` (all of q when the level is not rationed)."""
    r, q_total = marginal.allocated_wh, marginal.level_wh
    after = (claimed_before_wh + qty_wh) * r // q_total
    return after - claimed_before_wh * r // q_total


def ceil_div(numerator: int, denominator: int) -> int:
    """``ceil(numerator / denominator)`` for a non-negative numerator, in integers."""
    return -(-numerator // denominator)


def _check_fits(order: Order, params: MarketParams) -> None:
    if order.tick > params.max_tick:
        raise OrderError(
            f"order {order.id!r}: tick {order.tick} exceeds max_tick {params.max_tick}"
        )


def _check_record_fits(record: ClearingRecord, params: MarketParams) -> None:
    if not record.cleared:
        return
    if record.buy_marginal.tick > params.max_tick:
        raise ClearingRecordError(
            f"buy marginal tick {record.buy_marginal.tick} exceeds max_tick {params.max_tick}"
        )
    if record.price_per_kwh != params.price(record.clearing_tick):
        raise ClearingRecordError(
            f"price_per_kwh {record.price_per_kwh} is not price({record.clearing_tick}) = "
            f"{params.price(record.clearing_tick)}"
        )
