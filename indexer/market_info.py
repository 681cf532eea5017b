"""The fixed facts of one EnergyChain deployment the indexer needs: slot clock and price grid.

Read once from the contracts (``params()``, ``epoch()``, ``slotSeconds()``) when a database is
first bound to a deployment, and stored with the indexer state, so the API never needs the node.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from indexer.errors import IndexerConfigError, RpcError
from indexer.rpc import JsonRpcClient

WH_PER_KWH = 1_000
NO_SLOT = 2**256 - 1
"""``ReadingAccepted.slot`` when nothing was attributed."""


@dataclass(frozen=True)
class MarketInfo:
    """Deployment facts: addresses, slot clock, market parameters (fee/treasury at deployment)."""

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

    def price(self, tick: int) -> int:
        """``price_floor + tick * tick_size``: payment base units per kWh."""
        return self.price_floor + tick * self.tick_size

    def buy_escrow(self, qty_wh: int, tick: int) -> int:
        """``ceil(qty_wh * price(tick) / 1000)``, what a buy order locks."""
        return -(-qty_wh * self.price(tick) // WH_PER_KWH)

    def slot_start(self, slot: int) -> int:
        return self.epoch + slot * self.slot_seconds

    def slot_end(self, slot: int) -> int:
        return self.slot_start(slot + 1)

    def gate_closure(self, slot: int) -> int:
        return self.slot_end(slot) + self.settlement_seconds

    def opens_at(self, slot: int) -> int:
        return max(0, self.slot_start(slot) - self.open_ahead_seconds)

    def slot_of(self, timestamp: int) -> int:
        return (timestamp - self.epoch) // self.slot_seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarketInfo:
        return cls(**data)


def order_fields(order_id: int) -> tuple[int, int, int]:
    """``(slot, fee_bps, nonce)`` packed in an order id: ``slot << 192 | feeBps << 64 | nonce``."""
    return order_id >> 192, (order_id >> 64) & 0xFFFF, order_id & 0xFFFF_FFFF_FFFF_FFFF


_PARAMS_TYPES = ["(uint256,uint256,uint16,uint32,uint32,uint64,uint16,address)"]


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def read_market_info(
    rpc: JsonRpcClient, chain_id: int, addresses: dict[str, str], start_block: int
) -> MarketInfo:
    """Read the market's parameters as they were when it was deployed.

    The fee and treasury can change later (``FeeChanged`` events carry that); the first blocks
    after ``start_block`` are tried so the treasury is the one claims before any change used.
    A node without that history (pruned) answers for the latest block instead.
    """
    market = addresses["market"]
    head = rpc.block_number()
    answer: bytes | None = None
    for block in [*range(start_block, min(start_block + 8, head + 1)), head]:
        try:
            answer = rpc.call(market, _selector("params()"), block)
        except RpcError:
            continue
        if answer:
            break
    if not answer:
        raise IndexerConfigError(f"no EnergyMarket answers params() at {market}")
    (params,) = abi_decode(_PARAMS_TYPES, answer)
    (epoch,) = abi_decode(["uint64"], rpc.call(market, _selector("epoch()")))
    (slot_seconds,) = abi_decode(["uint32"], rpc.call(market, _selector("slotSeconds()")))
    return MarketInfo(
        chain_id=chain_id,
        addresses={k: str(to_checksum_address(v)) for k, v in addresses.items()},
        epoch=int(epoch),
        slot_seconds=int(slot_seconds),
        price_floor=int(params[0]),
        tick_size=int(params[1]),
        max_tick=int(params[2]),
        settlement_seconds=int(params[3]),
        open_ahead_seconds=int(params[4]),
        min_order_wh=int(params[5]),
        fee_bps=int(params[6]),
        treasury=str(to_checksum_address(params[7])),
    )
