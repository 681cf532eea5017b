"""What the contracts store, as typed records decoded by field name.

Each record is built from the struct's fields as :meth:`energychain.contracts.ContractHandle.read`
returns them (keyed by ABI name), so a field the contract adds is ignored until a record asks for
it, and a missing one is an :class:`~energychain.errors.AbiMismatchError`, never an ``IndexError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from energychain.abi import decode_record, pick
from energychain.units import SECONDS_PER_DAY, BaseUnits, Tick, Wh
from market.clearing import ClearingRecord, MarginalLevel, MarketParams

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def market_params(fields: Mapping[str, Any]) -> MarketParams:
    """``EnergyMarket.params()`` as the one parameter type (every field the type knows)."""
    values = pick(fields, MarketParams.FIELDS, "EnergyMarket.MarketParams")
    treasury = str(to_checksum_address(values.pop("treasury")))
    return MarketParams(**{k: int(v) for k, v in values.items()}, treasury=treasury)


MARGINAL_FIELDS = tuple(
    f"{side}_marginal_{part}"
    for side in ("buy", "sell")
    for part in ("tick", "filled_wh", "total_wh")
)
"""How a struct spells its two marginal levels, flat: ``buy_marginal_tick``, ``..._filled_wh``,
``..._total_wh``, then the same for ``sell``."""


def marginal_level(f: Mapping[str, Any], side: str) -> MarginalLevel:
    """The ``side`` (buy or sell) :class:`MarginalLevel` of a struct's :data:`MARGINAL_FIELDS`."""
    return MarginalLevel(
        int(f[f"{side}_marginal_tick"]),
        int(f[f"{side}_marginal_filled_wh"]),
        int(f[f"{side}_marginal_total_wh"]),
    )


@dataclass(frozen=True, slots=True)
class SlotClearing:
    """``EnergyMarket.clearing(slot)``: whether the slot was cleared and what the clearing found.

    ``cleared`` is True for a slot cleared with nothing matched (``volume_wh == 0``) too; the
    reference rule's :class:`~market.clearing.ClearingRecord` calls that "did not clear"
    (:meth:`record`).
    """

    cleared: bool
    volume_wh: Wh
    clearing_tick: Tick
    buy_marginal: MarginalLevel
    sell_marginal: MarginalLevel

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> SlotClearing:
        wanted = ("cleared", "volume_wh", "clearing_tick", *MARGINAL_FIELDS)
        f = pick(fields, wanted, "EnergyMarket.ClearingRecord")
        return cls(
            cleared=bool(f["cleared"]),
            volume_wh=Wh(int(f["volume_wh"])),
            clearing_tick=Tick(int(f["clearing_tick"])),
            buy_marginal=marginal_level(f, "buy"),
            sell_marginal=marginal_level(f, "sell"),
        )

    @property
    def traded(self) -> bool:
        """Cleared with a positive volume."""
        return self.cleared and self.volume_wh > 0

    def record(self, params: MarketParams) -> ClearingRecord:
        """The clearing in the Python reference's shape (prices from ``params``)."""
        if not self.traded:
            return ClearingRecord.not_cleared()
        return ClearingRecord(
            cleared=True,
            volume_wh=self.volume_wh,
            clearing_tick=self.clearing_tick,
            price_per_kwh=params.price(self.clearing_tick),
            buy_marginal=self.buy_marginal,
            sell_marginal=self.sell_marginal,
        )


@dataclass(frozen=True, slots=True)
class Delegation:
    """An owner's delegation to an agent as the market stores it, with the agent's use of its
    rolling allowances decayed to the time it was read (``EnergyMarket.Delegation``): ``spent``
    base units of buy escrow and ``sold_wh`` Wh of sells, each falling by one daily limit per
    24 hours since the contract last stamped it."""

    owner: ChecksumAddress
    agent: ChecksumAddress
    budget_per_day: BaseUnits
    sell_wh_per_day: Wh
    max_buy_tick: Tick
    min_sell_tick: Tick
    expiry: int
    spent: BaseUnits
    sold_wh: Wh

    @classmethod
    def from_fields(
        cls, owner: str, agent: str, fields: Mapping[str, Any], now: int
    ) -> Delegation | None:
        """The stored delegation, or None when there is none (never granted, or revoked)."""
        f = pick(
            fields,
            (
                "budget_per_day",
                "sell_wh_per_day",
                "max_buy_tick",
                "min_sell_tick",
                "expiry",
                "spent",
                "sold_wh",
                "updated_at",
            ),
            "EnergyMarket.Delegation",
        )
        if int(f["expiry"]) == 0:
            return None
        elapsed = max(now - int(f["updated_at"]), 0)
        budget, sell_limit = int(f["budget_per_day"]), int(f["sell_wh_per_day"])
        return cls(
            owner=to_checksum_address(owner),
            agent=to_checksum_address(agent),
            budget_per_day=BaseUnits(budget),
            sell_wh_per_day=Wh(sell_limit),
            max_buy_tick=Tick(int(f["max_buy_tick"])),
            min_sell_tick=Tick(int(f["min_sell_tick"])),
            expiry=int(f["expiry"]),
            spent=BaseUnits(decayed_use(int(f["spent"]), budget, elapsed)),
            sold_wh=Wh(decayed_use(int(f["sold_wh"]), sell_limit, elapsed)),
        )

    def active(self, now: int) -> bool:
        return self.expiry > now

    def remaining(self) -> BaseUnits:
        """Buy escrow the agent may still commit now."""
        return BaseUnits(max(self.budget_per_day - self.spent, 0))

    def sell_remaining(self) -> Wh:
        """Wh the agent may still offer for sale now."""
        return Wh(max(self.sell_wh_per_day - self.sold_wh, 0))

    def as_dict(self, now: int) -> dict[str, Any]:
        from datetime import UTC, datetime

        return {
            "owner": self.owner,
            "agent": self.agent,
            "budget_per_day": self.budget_per_day,
            "sell_wh_per_day": self.sell_wh_per_day,
            "max_buy_tick": self.max_buy_tick,
            "min_sell_tick": self.min_sell_tick,
            "expiry": datetime.fromtimestamp(self.expiry, UTC).isoformat(),
            "spent": self.spent,
            "sold_wh": self.sold_wh,
            "active": self.active(now),
        }


def decayed_use(use: int, limit_per_day: int, elapsed_s: int) -> int:
    """The contract's decay of an agent's use: ``use`` less ``limit_per_day`` per day of
    ``elapsed_s`` seconds (rounded down, so against the agent), not below zero."""
    return max(use - limit_per_day * elapsed_s // SECONDS_PER_DAY, 0)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """``EnergyMarket.order(id)``: an open order (the contract deletes claimed ones)."""

    owner: ChecksumAddress
    slot: int
    is_buy: bool
    tick: Tick
    qty_wh: Wh
    fee_bps: int

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> OrderRecord | None:
        """The order, or None when the id holds none (claimed, cancelled or never placed)."""
        order = decode_record(cls, fields, "EnergyMarket.Order")
        return None if order.owner.lower() == ZERO_ADDRESS else order


@dataclass(frozen=True, slots=True)
class ClaimPreview:
    """``EnergyMarket.previewClaim(id)``: what claiming the order would settle."""

    filled_wh: Wh
    amount: BaseUnits
    fee: BaseUnits
    refund: int

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> ClaimPreview:
        return decode_record(cls, fields, "EnergyMarket.previewClaim")


@dataclass(frozen=True, slots=True)
class EnergyTotals:
    """``MeterRegistry.energyTotals()``: all metered energy, attributed to slots or not."""

    attributed_export_wh: Wh
    attributed_import_wh: Wh
    unattributed_export_wh: Wh
    unattributed_import_wh: Wh

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> EnergyTotals:
        return decode_record(cls, fields, "MeterRegistry.EnergyTotals")


@dataclass(frozen=True, slots=True)
class MeterState:
    """``MeterRegistry.meter(id)``: a registered meter and its last accepted reading."""

    owner: ChecksumAddress
    signer: ChecksumAddress
    capacity_wh_per_slot: Wh
    active: bool
    last_seq: int
    last_timestamp: int
    last_import_wh: Wh
    last_export_wh: Wh

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> MeterState:
        return decode_record(cls, fields, "MeterRegistry.Meter")

    @property
    def registered(self) -> bool:
        """A meter id never registered reads as all zeros (no signer)."""
        return int(self.signer, 16) != 0


@dataclass(frozen=True, slots=True)
class AdminHandover:
    """Who administers the registry (and so the market), and a handover in progress.

    ``pending`` is the account that may accept (None when nothing is pending) from
    ``accept_from`` (unix time) on.
    """

    admin: str
    pending: str | None
    accept_from: int | None
    delay_seconds: int

    def acceptable(self, now: int) -> bool:
        """Whether the pending admin may accept at chain time ``now``."""
        return self.accept_from is not None and now >= self.accept_from
