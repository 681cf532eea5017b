"""The fixed facts of one EnergyChain deployment the indexer needs: slot clock, price grid, mode.

Read once from the contracts (``params()``, ``epoch()``, ``slotSeconds()``, decoded by name from
the market's ABI; ``revealSeconds()`` and ``bondAmount()`` of a sealed market) when a database is
first bound to a deployment, and stored with the indexer state, so the API never needs the node.
The formulas are the protocol's: prices and escrow from :class:`market.clearing.MarketParams`,
times from :class:`energychain.calendar.SlotCalendar`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Literal

from eth_utils.address import to_checksum_address

from chain.abi_types import by_name, function_item, output_names
from chain.artifacts import load_artifact
from chain.calls import ContractReader
from chain.errors import RpcError
from chain.rpc import JsonRpcClient
from energychain.calendar import NO_SLOT, SlotCalendar
from energychain.records import market_params
from indexer.errors import IndexerConfigError
from market.clearing import MarketParams

__all__ = ["NO_SLOT", "MarketInfo", "MarketMode", "order_fields", "read_market_info"]

#: The market modes (``energychain.deploy.MARKET_MODES``): orders in the clear until gate
#: closure, or commitments revealed after it (``SealedEnergyMarket``).
MarketMode = Literal["open", "sealed"]


@dataclass(frozen=True)
class MarketInfo:
    """Deployment facts: addresses, slot clock, market parameters (fee/treasury at deployment).

    Stored flat as JSON with the indexer's state; :attr:`params` and :attr:`calendar` are the
    protocol's types built from it. ``reveal_seconds`` (the reveal window after each gate
    closure) and ``bond_amount`` (payment base units a commitment forfeits unrevealed) are those
    of a sealed market, None in open mode (and in states stored before modes existed, which were
    all open).
    """

    chain_id: int
    addresses: dict[str, str]
    epoch: int
    slot_seconds: int
    price_floor: int
    tick_size: int
    max_tick: int
    settlement_seconds: int
    open_ahead_seconds: int
    min_order_wh: int
    fee_bps: int
    treasury: str
    mode: MarketMode = "open"
    reveal_seconds: int | None = None
    bond_amount: int | None = None

    @cached_property
    def params(self) -> MarketParams:
        """The market's parameters as at deployment (the fee may have changed since)."""
        return MarketParams(**{name: getattr(self, name) for name in MarketParams.FIELDS})

    @cached_property
    def calendar(self) -> SlotCalendar:
        return SlotCalendar(
            self.epoch, self.slot_seconds, self.settlement_seconds, self.open_ahead_seconds
        )

    def price(self, tick: int) -> int:
        """``price_floor + tick * tick_size``: payment base units per kWh."""
        return self.params.price(tick)

    def buy_escrow(self, qty_wh: int, tick: int) -> int:
        """``ceil(qty_wh * price(tick) / 1000)``, what a buy order locks."""
        return self.params.buy_escrow(qty_wh, tick)

    def slot_start(self, slot: int) -> int:
        return self.calendar.start(slot)

    def slot_end(self, slot: int) -> int:
        return self.calendar.end(slot)

    def gate_closure(self, slot: int) -> int:
        return self.calendar.gate_closure(slot)

    def opens_at(self, slot: int) -> int:
        return self.calendar.opens_at(slot)

    def slot_of(self, timestamp: int) -> int:
        return self.calendar.slot_of(timestamp)

    @property
    def sealed(self) -> bool:
        return self.mode == "sealed"

    def reveal_ends(self, slot: int) -> int | None:
        """The last second of ``slot``'s reveal window (inclusive; None in open mode): gate
        closure + ``reveal_seconds``, as ``SealedEnergyMarket.revealWindow`` computes it."""
        if self.reveal_seconds is None:
            return None
        return self.gate_closure(slot) + self.reveal_seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarketInfo:
        return cls(**data)


def order_fields(order_id: int) -> tuple[int, int, int]:
    """``(slot, fee_bps, nonce)`` packed in an order id: ``slot << 192 | feeBps << 64 | nonce``."""
    return order_id >> 192, (order_id >> 64) & 0xFFFF, order_id & 0xFFFF_FFFF_FFFF_FFFF


def read_market_info(
    rpc: JsonRpcClient, chain_id: int, addresses: dict[str, str], start_block: int
) -> MarketInfo:
    """Read the market's parameters as they were when it was deployed.

    The fee and treasury can change later (``FeeChanged`` events carry that); the first blocks
    after ``start_block`` are tried so the treasury is the one claims before any change used.
    A node without that history (pruned) answers for the latest block instead. The mode is
    ``sealed`` when the market answers ``revealSeconds()`` (an open market reverts it).
    """
    abi = load_artifact("EnergyMarket").abi
    market = ContractReader(rpc, addresses["market"], abi)
    names = output_names(function_item(abi, "params")) or ()
    head = rpc.block_number()
    answer = b""
    for block in [*range(start_block, min(start_block + 8, head + 1)), head]:
        try:
            answer = rpc.call(market.address, market.encode("params"), block)
        except RpcError:
            continue
        if answer:
            break
    if not answer:
        raise IndexerConfigError(f"no EnergyMarket answers params() at {addresses['market']}")
    params = market_params(by_name(names, market.decode("params", answer), "EnergyMarket.params"))
    sealed = _sealed_parameters(rpc, addresses["market"])
    return MarketInfo(
        chain_id=chain_id,
        addresses={k: str(to_checksum_address(v)) for k, v in addresses.items()},
        epoch=int(market.call("epoch")),
        slot_seconds=int(market.call("slotSeconds")),
        **{name: getattr(params, name) for name in MarketParams.FIELDS},
        mode="sealed" if sealed is not None else "open",
        reveal_seconds=sealed[0] if sealed is not None else None,
        bond_amount=sealed[1] if sealed is not None else None,
    )


def _sealed_parameters(rpc: JsonRpcClient, address: str) -> tuple[int, int] | None:
    """``(revealSeconds, bondAmount)`` of a sealed market, None for an open one.

    An open market has neither function and reverts the call; any other failure (the node
    went away) propagates, so a passing outage is never stored as "open".
    """
    market = ContractReader(rpc, address, load_artifact("ISealedEnergyMarket").abi)
    try:
        reveal_seconds = int(market.call("revealSeconds"))
    except RpcError as exc:
        if "revert" not in str(exc).lower():
            raise
        return None
    return reveal_seconds, int(market.call("bondAmount"))
