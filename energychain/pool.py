"""The CityPool: the city's communities, the grid fee, and the transfer limits per slot.

The pool is where the grid operator publishes, before a slot's gate closure, how much each
community may import from and export to the city pool in that slot (issue 17; the limits come
from :mod:`grid`'s ``TransferLimits``), and where the pool's clearing will read them. Reads
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

from chain.artifacts import load_artifact
from energychain.abi import pick
from energychain.access import Governed
from energychain.calendar import SlotCalendar
from energychain.contracts import revert_decoder
from energychain.errors import PoolInputError, ResidualMismatchError
from energychain.market import Market
from energychain.records import ZERO_ADDRESS
from energychain.units import Wh
from market.clearing import MarketParams, Order, Side
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

    # ------------------------------------------------------------------ admin
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
    orders = []
    for tick, (buy_wh, sell_wh) in market.levels(slot).items():
        if buy_wh:
            orders.append(Order(f"buy@{tick}", Side.BUY, tick, int(buy_wh)))
        if sell_wh:
            orders.append(Order(f"sell@{tick}", Side.SELL, tick, int(sell_wh)))
    residual = residual_of(orders, clearing.record(params), params)
    committed = market.residual_commitment(slot)
    computed = residual_commitment(residual)
    if computed != committed:
        raise ResidualMismatchError(
            f"market {market.address}, slot {slot}: the residual read from its levels hashes to "
            f"0x{computed.hex()}, the market committed to 0x{committed.hex()}"
        )
    return residual
