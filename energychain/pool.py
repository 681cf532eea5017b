"""The CityPool: the city's communities, the grid fee, and the transfer limits per slot.

The pool is where the grid operator publishes, before a slot's gate closure, how much each
community may import from and export to the city pool in that slot (issue 17; the limits come
from :mod:`grid`'s ``TransferLimits``), and where the pool clears each slot across communities
(``CityPool.clear``): every community's residual, as its market committed to it, is passed in
calldata; :meth:`CityPool.residuals` builds them from the markets on chain. Reads
decode by ABI name into typed records; builders return a :class:`wallet.TxRequest` for the
caller's ``TransactionSender`` (the admin's key for communities, the grid operator's for the fee
and the limits), so nothing here holds a key.

Input the contract could only refuse with an encoding error, or would refuse with a revert
that costs a dry run (a negative or fractional limit, a limit above 2^64 - 1 Wh, one entry too
many or too few, levels or a fee out of range), is refused here first with a one-line
:class:`~energychain.errors.PoolInputError`. What only the chain knows (the sender's role, the
chain's time against gate closure, a market on another price grid) comes back as the decoded
revert of the dry run: ``LimitsAfterGateClosure(slot, gateClosure)``,
``AccessControlUnauthorizedAccount(account, role)``, ``CommunityPriceGridMismatch(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from web3 import Web3

from chain.abi_types import by_name
from chain.artifacts import load_artifact
from energychain.abi import decode_record, pick
from energychain.access import Governed
from energychain.calendar import SlotCalendar
from energychain.contracts import revert_decoder
from energychain.errors import PoolInputError, ResidualMismatchError
from energychain.market import Market
from energychain.records import MARGINAL_FIELDS, ZERO_ADDRESS, SlotClearing, marginal_level
from energychain.units import Wh
from market.clearing import MarginalLevel, MarketParams, Order, Side
from market.pool import Residual, residual_of
from wallet.transactions import TxRequest

#: The contract's bounds (``CityPool.MAX_*``; tests/energychain/test_pool.py reads them back).
MAX_COMMUNITIES = 64
MAX_LEVELS = 7
MAX_FEE_TICKS_PER_LEVEL = 128
MAX_LIMIT_WH = 2**64 - 1
"""A limit is a ``uint64`` of Wh."""


class LimitsLike(Protocol):
    """One community's limits of one slot (``grid.limits.TransferLimits`` is one)."""

    @property
    def slot(self) -> int: ...
    @property
    def import_limit_wh(self) -> int: ...
    @property
    def export_limit_wh(self) -> int: ...


LimitsEntry = LimitsLike | tuple[int, int]
"""A community's limits: a ``TransferLimits``-like record or ``(import_wh, export_wh)``."""


@dataclass(frozen=True, slots=True)
class PoolParams:
    """``CityPool.params()``: the city's price grid and settlement window (fixed at deployment).

    Every community market's ``MarketParams`` holds the same four values.
    """

    price_floor: int
    tick_size: int
    max_tick: int
    settlement_seconds: int

    FIELDS = ("price_floor", "tick_size", "max_tick", "settlement_seconds")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> PoolParams:
        f = pick(fields, cls.FIELDS, "CityPool.PoolParams")
        return cls(**{name: int(value) for name, value in f.items()})

    @classmethod
    def of_market(cls, params: MarketParams) -> PoolParams:
        """The pool parameters a market with ``params`` fits."""
        return cls(params.price_floor, params.tick_size, params.max_tick, params.settlement_seconds)

    def fields(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}


@dataclass(frozen=True, slots=True)
class Community:
    """``CityPool.community(id)``: a community market and its network levels below the pool."""

    community_id: int
    market: ChecksumAddress
    levels: int


@dataclass(frozen=True, slots=True)
class PublishedLimits:
    """``CityPool.limits(slot, id)``. Not published reads as zero limits: the pool clears
    nothing across that community's boundary in that slot."""

    slot: int
    community_id: int
    published: bool
    import_wh: Wh
    export_wh: Wh


@dataclass(frozen=True, slots=True)
class GridFee:
    """``CityPool.gridFee()``: price ticks per network level crossed, and who is paid them
    (``recipient`` None until the grid operator first sets the fee)."""

    fee_ticks_per_level: int
    recipient: ChecksumAddress | None


@dataclass(frozen=True, slots=True)
class PoolFill:
    """One community's ``PoolClearing.Fill``: what the pool cleared for it in one slot.

    ``buy_marginal`` / ``sell_marginal`` are in the community's own ticks: ``allocated_wh`` (R)
    of its residual ``level_wh`` (Q) at ``tick`` fills; all zero when the side got nothing (a
    paused community's fill is all zero)."""

    community_id: int
    import_wh: Wh
    export_wh: Wh
    buy_marginal: MarginalLevel
    sell_marginal: MarginalLevel

    #: The ``Fill`` struct's fields in ABI order, snake_case (the indexer's ``pool_fills`` columns).
    FIELDS = ("import_wh", "export_wh", *MARGINAL_FIELDS)

    @classmethod
    def from_fields(cls, community_id: int, fields: Mapping[str, Any]) -> PoolFill:
        f = pick(fields, cls.FIELDS, "Fill")
        return cls(
            community_id=community_id,
            import_wh=Wh(int(f["import_wh"])),
            export_wh=Wh(int(f["export_wh"])),
            buy_marginal=marginal_level(f, "buy"),
            sell_marginal=marginal_level(f, "sell"),
        )

    def as_tuple(self) -> tuple[int, ...]:
        """The ``Fill`` struct as the ABI takes it (``verifyFills``)."""
        b, s = self.buy_marginal, self.sell_marginal
        return (
            self.import_wh,
            self.export_wh,
            b.tick,
            b.allocated_wh,
            b.level_wh,
            s.tick,
            s.allocated_wh,
            s.level_wh,
        )


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """``CityPool.poolClearing(slot)``: the pool's stored clearing of a slot (all zero, not
    cleared, before ``clear``). Ticks are pool ticks; the fills are only hashed on chain
    (``fills_hash``: the first 16 bytes of ``keccak256(abi.encode(fills))``, then 16 zero bytes, as
    the pool keeps the record in one storage word): they come with :class:`SlotPoolClearing`,
    from the event."""

    slot: int
    cleared: bool
    fee_ticks_per_level: int
    clearing_tick: int
    buy_marginal_tick: int
    sell_marginal_tick: int
    volume_wh: Wh
    fills_hash: bytes


@dataclass(frozen=True, slots=True)
class SlotPoolClearing:
    """A ``PoolCleared`` event: the pool's clearing of ``slot`` with every community's fill, in
    id order. A community pays ``clearing_tick + levels * fee_ticks_per_level`` per Wh imported
    and is paid ``clearing_tick - levels * fee_ticks_per_level`` per Wh exported (ticks)."""

    slot: int
    volume_wh: Wh
    clearing_tick: int
    buy_marginal_tick: int
    sell_marginal_tick: int
    fee_ticks_per_level: int
    fills: tuple[PoolFill, ...]


@dataclass(frozen=True, slots=True)
class MarketPoolSide:
    """One side of a pooled market's stored pool fill (``IPooledEnergyMarket.PoolSide``):
    ``filled_wh`` (R) of its residual at ``marginal_tick`` (community ticks) fills through the
    pool, at ``price_tick`` (``p* + f_k`` for the buyers, ``p* - f_k`` for the sellers);
    ``claimed_wh`` of the residual at a rationed marginal level was claimed so far."""

    marginal_tick: int
    price_tick: int
    filled_wh: Wh
    claimed_wh: Wh
    settled: bool

    FIELDS = ("marginal_tick", "price_tick", "filled_wh", "claimed_wh", "settled")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> MarketPoolSide:
        return decode_record(cls, fields, "PoolSide")


@dataclass(frozen=True, slots=True)
class MarketPoolFill:
    """``PooledEnergyMarket.poolFill(slot)``: what the pool's settlement stored in the market
    (``settled`` False, sides all zero, before it)."""

    slot: int
    settled: bool
    buy: MarketPoolSide
    sell: MarketPoolSide


@dataclass(frozen=True, slots=True)
class PoolSettlement:
    """A ``PoolSettled`` event: ``slot`` settled with every community, ``fees_paid`` (the grid
    fees and the rounding, base units) to the grid fee recipient."""

    slot: int
    fees_paid: int


class PooledMarket(Market):
    """A ``PooledEnergyMarket``: a community market whose claims add its pool's fills. Every read
    and request of :class:`~energychain.market.Market` works on it (``preview_claim`` includes
    the pool fill once the pool settled the slot, and raises the decoded
    ``PoolNotSettled(slot, claimableAt)`` for an order with a residual before)."""

    @classmethod
    def at(cls, w3: Web3, address: str) -> PooledMarket:
        """The façade of the pooled market at ``address``."""
        return cls(w3, load_artifact("PooledEnergyMarket"), address, revert_decoder())

    def pool_address(self) -> ChecksumAddress:
        """The pool the market settles with (fixed at deployment)."""
        return self.w3.to_checksum_address(self.call("pool"))

    def pool_fill(self, slot: int) -> MarketPoolFill:
        """The pool's fill of ``slot`` as the market stored it."""
        answer = pick(self.read("poolFill", slot), ("buy", "sell"), "poolFill")
        buy = MarketPoolSide.from_fields(_struct_fields(answer["buy"], MarketPoolSide.FIELDS))
        sell = MarketPoolSide.from_fields(_struct_fields(answer["sell"], MarketPoolSide.FIELDS))
        return MarketPoolFill(slot=slot, settled=buy.settled, buy=buy, sell=sell)


ResidualSides = tuple[list[int], list[int]]
"""One community's residual sides as its market committed to them: ``(buys, sells)``, each
level ``tick << 96 | Wh``, buys highest tick first, sells lowest first. :meth:`CityPool.clear`
sends them two levels a word (:func:`paired_levels`)."""


class CityPool(Governed):
    """A CityPool deployment (see the module docstring)."""

    @classmethod
    def at(cls, w3: Web3, address: str) -> CityPool:
        """The façade of the pool at ``address`` (compiled build, the package's revert decoder)."""
        return cls(w3, load_artifact("CityPool"), address, revert_decoder())

    # ------------------------------------------------------------------ reads
    def params(self) -> PoolParams:
        return PoolParams.from_fields(self.read("params"))

    def calendar(self, params: PoolParams | None = None) -> SlotCalendar:
        """Slot boundaries and gate closures of the city (``params`` spares a read when known)."""
        params = params or self.params()
        return SlotCalendar(
            epoch=int(self.call("epoch")),
            slot_seconds=int(self.call("slotSeconds")),
            settlement_seconds=params.settlement_seconds,
        )

    def gate_closure(self, slot: int) -> int:
        """The first second at which limits of ``slot`` are refused (the markets' gate closure)."""
        return int(self.call("gateClosure", slot))

    def community_count(self) -> int:
        return int(self.call("communityCount"))

    def community(self, community_id: int) -> Community:
        """The community ``community_id`` (``CommunityUnknown`` when there is none)."""
        answer = pick(self.read("community", community_id), ("market", "levels"), "Community")
        return Community(
            community_id=community_id,
            market=self.w3.to_checksum_address(answer["market"]),
            levels=int(answer["levels"]),
        )

    def communities(self) -> list[Community]:
        """Every community, in id order."""
        return [self.community(i) for i in range(self.community_count())]

    def community_of(self, market: str) -> int | None:
        """The community id of ``market`` (None when it is not a community of the pool)."""
        answer = self.read("communityOf", self.w3.to_checksum_address(market))
        return int(answer["communityId"]) if answer["added"] else None

    def limits(self, slot: int, community_id: int) -> PublishedLimits:
        answer = pick(
            self.read("limits", slot, community_id),
            ("published", "import_wh", "export_wh"),
            "CityPool.limits",
        )
        return PublishedLimits(
            slot=slot,
            community_id=community_id,
            published=bool(answer["published"]),
            import_wh=Wh(int(answer["import_wh"])),
            export_wh=Wh(int(answer["export_wh"])),
        )

    def slot_limits(self, slot: int) -> list[PublishedLimits]:
        """Every community's limits of ``slot``, in id order."""
        return [self.limits(slot, i) for i in range(self.community_count())]

    def grid_fee(self) -> GridFee:
        answer = pick(self.read("gridFee"), ("fee_ticks_per_level", "recipient"), "gridFee")
        recipient = str(answer["recipient"])
        return GridFee(
            fee_ticks_per_level=int(answer["fee_ticks_per_level"]),
            recipient=None if int(recipient, 16) == 0 else self.w3.to_checksum_address(recipient),
        )

    def is_paused(self, community_id: int) -> bool:
        """Whether community ``community_id`` is paused (left out of the pool's clearings)."""
        return bool(self.call("isPaused", community_id))

    def pool_clearing(self, slot: int) -> PoolRecord:
        """The pool's stored clearing of ``slot`` (``cleared`` False before ``clear``)."""
        f = pick(
            self.read("poolClearing", slot),
            (
                "cleared",
                "fee_ticks_per_level",
                "clearing_tick",
                "buy_marginal_tick",
                "sell_marginal_tick",
                "volume_wh",
                "fills_hash",
            ),
            "CityPool.PoolRecord",
        )
        return PoolRecord(
            slot=slot,
            cleared=bool(f["cleared"]),
            fee_ticks_per_level=int(f["fee_ticks_per_level"]),
            clearing_tick=int(f["clearing_tick"]),
            buy_marginal_tick=int(f["buy_marginal_tick"]),
            sell_marginal_tick=int(f["sell_marginal_tick"]),
            volume_wh=Wh(int(f["volume_wh"])),
            fills_hash=bytes(f["fills_hash"]),
        )

    def verify_fills(self, slot: int, fills: Sequence[PoolFill]) -> bool:
        """Whether ``fills`` are the fills the pool cleared for ``slot`` (``verifyFills``)."""
        return bool(self.call("verifyFills", slot, [f.as_tuple() for f in fills]))

    def is_settled(self, slot: int) -> bool:
        """Whether the pool settled ``slot`` with its communities (``settle``)."""
        return bool(self.call("isSettled", slot))

    def is_pooled(self, community_id: int) -> bool:
        """Whether community ``community_id`` is a pooled market of this pool (takes fills)."""
        return bool(self.call("isPooled", community_id))

    def settled_events(self, receipt: Any) -> list[PoolSettlement]:
        """The ``PoolSettled`` events of ``receipt``, decoded."""
        return [
            PoolSettlement(slot=int(log["args"]["slot"]), fees_paid=int(log["args"]["feesPaid"]))
            for log in self.events(receipt, "PoolSettled")
        ]

    def cleared_events(self, receipt: Any) -> list[SlotPoolClearing]:
        """The ``PoolCleared`` events of ``receipt``, decoded."""
        out = []
        for log in self.events(receipt, "PoolCleared"):
            args = log["args"]
            out.append(
                SlotPoolClearing(
                    slot=int(args["slot"]),
                    volume_wh=Wh(int(args["volumeWh"])),
                    clearing_tick=int(args["clearingTick"]),
                    buy_marginal_tick=int(args["buyMarginalTick"]),
                    sell_marginal_tick=int(args["sellMarginalTick"]),
                    fee_ticks_per_level=int(args["feeTicksPerLevel"]),
                    fills=tuple(
                        PoolFill.from_fields(i, _fill_fields(fill))
                        for i, fill in enumerate(args["fills"])
                    ),
                )
            )
        return out

    def residuals(self, slot: int) -> list[ResidualSides]:
        """Every community's residual sides of ``slot`` in id order, as ``clear`` takes them:
        read from its market (the clearing record and the levels of the book, walked with
        ``nextActiveTick``) and derived by :func:`market.pool.residual_of`; empty for a
        paused community.

        Raises:
            PoolInputError: an active community's market has not cleared ``slot`` (its name
                and market in the message).
        """
        sides: list[ResidualSides] = []
        for c in self.communities():
            if self.is_paused(c.community_id):
                sides.append(([], []))
                continue
            market = Market(self.w3, load_artifact("EnergyMarket"), c.market, self.decoder)
            clearing = market.clearing(slot)
            if not clearing.cleared:
                raise PoolInputError(
                    f"community {c.community_id} ({c.market}) has not cleared slot {slot}: "
                    "the pool clears a slot after every active community has"
                )
            residual = market_residual(market, slot, clearing)
            sides.append(
                (
                    residual_side(residual.buys, highest_first=True),
                    residual_side(residual.sells, highest_first=False),
                )
            )
        return sides

    # ------------------------------------------------------------------ clearing
    def clear(
        self,
        slot: int,
        residuals: Sequence[ResidualSides | Residual],
        *,
        communities: int | None = None,
        gas: int | None = None,
    ) -> TxRequest:
        """``clear`` (anyone's key): the pool's clearing of ``slot``, with one entry per
        community in id order, a :class:`~market.pool.Residual` or the packed sides of
        :meth:`residuals` (empty for a paused community). The chain checks each against its
        market's commitment (``ResidualMismatch(id, market, slot)``, ``CommunityNotCleared``).

        Raises :class:`PoolInputError` before anything is encoded for a slot out of range, the
        wrong number of entries, or an entry that is neither.
        """
        _whole("slot", slot, low=0, high=2**64 - 1, unit="")
        if isinstance(residuals, str | bytes) or not isinstance(residuals, Sequence):
            raise PoolInputError(
                f"residuals of slot {slot}: a sequence of one entry per community, "
                f"got {residuals!r}"
            )
        count = self.community_count() if communities is None else communities
        if len(residuals) != count:
            raise PoolInputError(
                f"residuals of slot {slot}: {len(residuals)} entries for {count} communities "
                "(one per community, in id order)"
            )
        args = [
            tuple(paired_levels(side) for side in _sides(slot, i, entry))
            for i, entry in enumerate(residuals)
        ]
        return self.request("clear", slot, args, gas=gas)

    def settle(
        self,
        slot: int,
        fills: SlotPoolClearing | Sequence[PoolFill],
        *,
        gas: int | None = None,
    ) -> TxRequest:
        """``settle`` (anyone's key): energy and money of ``slot`` move between the pool and its
        communities, whose markets' claims then add the pool fills. ``fills`` are the
        ``PoolCleared`` event's (:meth:`cleared_events`), in community id order. The chain
        refuses fills other than the cleared ones (``PoolFillsMismatch``), a second settlement
        (``PoolAlreadySettled``) and one after the window (``PoolSettleWindowClosed``).

        Raises :class:`PoolInputError` before anything is encoded for a slot out of range or
        fills of another slot.
        """
        _whole("slot", slot, low=0, high=2**64 - 1, unit="")
        if isinstance(fills, SlotPoolClearing):
            if fills.slot != slot:
                raise PoolInputError(f"fills of slot {fills.slot} given to settle slot {slot}")
            fills = fills.fills
        return self.request("settle", slot, [f.as_tuple() for f in fills], gas=gas)

    # ------------------------------------------------------------------ admin
    def pause_community(self, community_id: int) -> TxRequest:
        """``pauseCommunity`` (the city admin's key): the community is left out of every slot
        the pool clears from now on, slots past gate closure included."""
        _whole("community id", community_id, low=0, high=MAX_COMMUNITIES - 1, unit="")
        return self.request("pauseCommunity", community_id)

    def resume_community(self, community_id: int) -> TxRequest:
        """``resumeCommunity`` (the city admin's key): the community takes part again."""
        _whole("community id", community_id, low=0, high=MAX_COMMUNITIES - 1, unit="")
        return self.request("resumeCommunity", community_id)

    def add_community(self, market: str, levels: int, gas: int | None = None) -> TxRequest:
        """``addCommunity`` (the admin's key): ``market`` joins ``levels`` network levels below
        the pool. The chain refuses a market on another registry, payment token, calendar or
        price grid, with the market's differing values."""
        _whole("levels", levels, low=1, high=MAX_LEVELS)
        return self.request("addCommunity", _address("market", market), levels, gas=gas)

    # ------------------------------------------------------------------ grid operator
    def set_grid_fee(self, fee_ticks_per_level: int, recipient: str) -> TxRequest:
        """``setGridFee`` (the grid operator's key): ticks per network level crossed."""
        _whole("grid fee", fee_ticks_per_level, low=0, high=MAX_FEE_TICKS_PER_LEVEL, unit="ticks")
        return self.request("setGridFee", fee_ticks_per_level, _address("recipient", recipient))

    def publish_limits(
        self,
        slot: int,
        limits: Sequence[LimitsEntry],
        *,
        communities: int | None = None,
        gas: int | None = None,
    ) -> TxRequest:
        """``publishLimits`` (the grid operator's key): one entry per community, in community
        id order (entry ``i`` is community ``i``'s; a ``TransferLimits``' own ``community_id``
        is the grid's name for it, not the chain's id). A second publication before gate
        closure revises the first.

        ``communities`` is the pool's number of communities when the caller knows it (one read
        otherwise). Raises :class:`PoolInputError` before anything is encoded for a slot or
        limit that is not a whole number in range, a record of another slot, or the wrong
        number of entries.
        """
        _whole("slot", slot, low=0, high=2**64 - 1, unit="")
        if isinstance(limits, str | bytes) or not isinstance(limits, Sequence):
            raise PoolInputError(
                f"limits of slot {slot}: a sequence of one entry per community, got {limits!r}"
            )
        count = self.community_count() if communities is None else communities
        if count == 0:
            raise PoolInputError(f"limits of slot {slot}: the pool has no community yet")
        if len(limits) != count:
            raise PoolInputError(
                f"limits of slot {slot}: {len(limits)} entries for {count} communities "
                "(one per community, in id order)"
            )
        imports: list[int] = []
        exports: list[int] = []
        for community_id, entry in enumerate(limits):
            import_wh, export_wh = _entry(slot, community_id, entry)
            imports.append(import_wh)
            exports.append(export_wh)
        return self.request("publishLimits", slot, imports, exports, gas=gas)


def market_residual(
    market: Market,
    slot: int,
    clearing: SlotClearing | None = None,
    rule: MarketParams | None = None,
) -> Residual:
    """What ``market``'s clearing of ``slot`` left unmatched, from its levels on chain
    (:meth:`Market.levels`): one pseudo-order per non-empty level (the residual follows from the
    levels and the record alone, :func:`market.pool.residual_of`). The whole book when the slot
    is not cleared. ``rule``: the market's clearing parameters, read when not given."""
    clearing = clearing or market.clearing(slot)
    rule = rule or market.params().rule()
    orders: list[Order] = []
    for tick, (buy_wh, sell_wh) in market.levels(slot).items():
        for side, qty in ((Side.BUY, int(buy_wh)), (Side.SELL, int(sell_wh))):
            if qty:
                orders.append(Order(f"{side.value}{tick}", side, tick, qty))
    return residual_of(orders, clearing.record(rule), rule)


def _struct_fields(value: Any, fields: Sequence[str]) -> Mapping[str, Any]:
    """A decoded struct by field name, whether it came as a mapping or a tuple in ABI order."""
    if isinstance(value, Mapping):
        return value
    return by_name(fields, list(value), "PoolSide")


def _fill_fields(fill: Any) -> Mapping[str, Any]:
    """A decoded ``Fill`` (web3 gives a tuple in ABI order, or a mapping by ABI name) keyed by
    name, as :meth:`PoolFill.from_fields` reads it."""
    if isinstance(fill, Mapping):
        return fill
    return by_name(PoolFill.FIELDS, list(fill), "Fill")


def _sides(slot: int, community_id: int, entry: object) -> ResidualSides:
    """``(buys, sells)`` of one ``clear`` entry, each a list of packed levels."""
    if isinstance(entry, Residual):
        return (
            residual_side(entry.buys, highest_first=True),
            residual_side(entry.sells, highest_first=False),
        )
    what = f"residual of slot {slot}, community {community_id}"
    if not isinstance(entry, tuple) or len(entry) != 2:
        raise PoolInputError(f"{what}: a Residual or (buys, sells) packed levels, got {entry!r}")
    sides: list[list[int]] = []
    for name, side in zip(("buys", "sells"), entry, strict=True):
        if isinstance(side, str | bytes) or not isinstance(side, Sequence):
            raise PoolInputError(f"{what}: {name} must be a list of packed levels, got {side!r}")
        for level in side:
            _whole(f"{what}: a level of {name}", level, low=1, high=2**256 - 1, unit="")
        sides.append(list(side))
    return sides[0], sides[1]


def _entry(slot: int, community_id: int, entry: object) -> tuple[int, int]:
    """``(import_wh, export_wh)`` of one entry, each checked."""
    what = f"limits of slot {slot}, community {community_id}"
    if isinstance(entry, tuple):
        if len(entry) != 2:
            raise PoolInputError(f"{what}: (import_wh, export_wh), got {entry!r}")
        values = (entry[0], entry[1])
    elif hasattr(entry, "import_limit_wh") and hasattr(entry, "export_limit_wh"):
        entry_slot = getattr(entry, "slot", slot)
        if entry_slot != slot:
            raise PoolInputError(f"{what}: the record is for slot {entry_slot}")
        values = (entry.import_limit_wh, entry.export_limit_wh)
    else:
        raise PoolInputError(f"{what}: a TransferLimits or (import_wh, export_wh), got {entry!r}")
    for name, value in zip(("import limit", "export limit"), values, strict=True):
        _whole(f"{what}: {name}", value, low=0, high=MAX_LIMIT_WH)
    return values[0], values[1]


def _whole(what: str, value: object, *, low: int, high: int, unit: str = "Wh") -> int:
    """``value`` if it is an int (not a bool) in ``low..high``; PoolInputError otherwise."""
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PoolInputError(f"{what} must be a whole number{suffix}, got {value!r}")
    if value < low:
        word = "negative" if value < 0 else f"below {low}"
        raise PoolInputError(f"{what} is {word}: {value}{suffix}")
    if value > high:
        raise PoolInputError(f"{what} is above {high}{suffix}: {value}{suffix}")
    return value


def _address(what: str, value: str) -> ChecksumAddress:
    if not isinstance(value, str) or not Web3.is_address(value):
        raise PoolInputError(f"{what} is not an address: {value!r}")
    if value.lower() == ZERO_ADDRESS:
        raise PoolInputError(f"{what} is the zero address")
    return Web3.to_checksum_address(value)


def residual_side(levels: Mapping[int, int], *, highest_first: bool) -> list[int]:
    """One residual side as the contracts take it (``PoolClearing``, a market's commitment): each
    level packed ``tick << 96 | Wh``, best first (bids highest tick first, asks lowest first)."""
    return [t << 96 | levels[t] for t in sorted(levels, reverse=highest_first)]


def paired_levels(levels: Sequence[int]) -> list[int]:
    """One side's packed levels two a word, as ``CityPool.clear`` takes them
    (``PoolClearing.Sides``): word ``i`` holds level ``2i`` in its high 128 bits and level
    ``2i + 1`` in its low 128 bits, the low half of the last word zero for an odd number of
    levels. Calldata costs 4 gas a zero byte and 16 another: a level alone in a word is mostly
    zero bytes."""
    padded = [*levels, 0] if len(levels) % 2 else list(levels)
    return [padded[i] << 128 | padded[i + 1] for i in range(0, len(padded), 2)]


def residual_commitment(residual: Residual) -> bytes:
    """What a market stores when it clears a slot that left ``residual`` unmatched
    (``IEnergyMarket.residualCommitment``): ``keccak256(abi.encode(buys, sells))``."""
    buys = residual_side(residual.buys, highest_first=True)
    sells = residual_side(residual.sells, highest_first=False)
    return bytes(Web3.keccak(encode(["uint256[]", "uint256[]"], [buys, sells])))


def read_residual(market: Market, slot: int, params: MarketParams) -> Residual:
    """What ``slot`` of ``market`` left unmatched, read from the chain and checked.

    The market's clearing record and the levels of its book (``Market.levels``) give the
    residual by the reference rule (:func:`market.pool.residual_of`: one order per level is
    enough, the residual depends on the levels alone); its hash must equal what the market
    committed to when it cleared (``residualCommitment``).

    Raises:
        PoolInputError: the slot is not cleared yet.
        ResidualMismatchError: the residual read does not hash to the market's commitment.
    """
    clearing = market.clearing(slot)
    if not clearing.cleared:
        raise PoolInputError(f"market {market.address}: slot {slot} is not cleared yet")
    residual = market_residual(market, slot, clearing, params)
    committed = market.residual_commitment(slot)
    computed = residual_commitment(residual)
    if computed != committed:
        raise ResidualMismatchError(
            f"market {market.address}, slot {slot}: the residual read from its levels hashes to "
            f"0x{computed.hex()}, the market committed to 0x{committed.hex()}"
        )
    return residual
