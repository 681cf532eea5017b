"""A small community driving real contract activity on a local chain (tests, benchmarks).

:class:`Community` deploys EnergyChain with anvil's development keys and offers one method per
kind of activity the indexer must follow: deposits, meter registration, signed readings (EIP-712),
energy deposits into the vault, orders, cancels, clearing after gate closure (moving anvil's
clock), claims and withdrawals. Only for throwaway chains: the keys are public.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chain.connection import connect
from chain.contracts import EnergyChain, revert_decoder
from chain.deploy import Deployment, MarketSettings, deploy_energychain
from chain.local_node import ANVIL_DEV_KEYS
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender, TxRequest
from wallet.typed_data import meter_reading_typed_data

logger = logging.getLogger(__name__)

#: anvil's default mnemonic, accounts 4..9 (0..3 are ``ANVIL_DEV_KEYS``): local chains only.
MORE_DEV_KEYS = (
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
DEV_KEYS = (*ANVIL_DEV_KEYS, *MORE_DEV_KEYS)


@dataclass
class MeterKey:
    """A registered meter and the key that signs its readings."""

    meter_id: bytes
    owner: str
    signer: LocalKeySigner
    seq: int = 0
    import_wh: int = 0
    export_wh: int = 0


@dataclass
class Community:
    """EnergyChain deployed on a local node, with members who act through it."""

    w3: Web3
    deployment: Deployment
    contracts: EnergyChain
    senders: list[TransactionSender]
    meters: dict[str, MeterKey] = field(default_factory=dict)

    @classmethod
    def deploy(cls, rpc_url: str, settings: MarketSettings | None = None) -> Community:
        w3 = connect(rpc_url)
        decoder = revert_decoder()
        senders = [
            TransactionSender(w3, LocalKeySigner(k), decode_revert=decoder, poll_interval=0.01)
            for k in DEV_KEYS
        ]
        deployment = deploy_energychain(senders[0], settings or MarketSettings())
        return cls(w3, deployment, deployment.contracts(w3), senders)

    # ------------------------------------------------------------------ clock
    @property
    def admin(self) -> TransactionSender:
        return self.senders[0]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        provider: Any = self.w3.provider
        answer = provider.make_request(method, list(params))
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    def set_time(self, timestamp: int) -> None:
        """Mine an empty block at ``timestamp`` (must not go back)."""
        self.rpc("evm_setNextBlockTimestamp", [timestamp])
        self.rpc("evm_mine")

    def slot_seconds(self) -> int:
        return int(self.deployment.settings["slot_seconds"])

    def slot_start(self, slot: int) -> int:
        return self.deployment.epoch + slot * self.slot_seconds()

    def current_slot(self) -> int:
        return (self.now() - self.deployment.epoch) // self.slot_seconds()

    def gate_closure(self, slot: int) -> int:
        return int(self.contracts.market.call("gateClosure", slot))

    # ------------------------------------------------------------------ money
    def fund(self, sender: TransactionSender, amount: int) -> None:
        """Mint test euros to ``sender``, approve the market and deposit them."""
        payment, market = self.contracts.payment, self.contracts.market
        sender.send_batch(
            [
                payment.request("mint", sender.address, amount, gas=100_000),
                payment.request("approve", market.address, amount, gas=100_000),
            ]
        )
        sender.transact(market.request("deposit", amount))

    # ------------------------------------------------------------------ meters
    def register_meter(
        self, name: str, owner: TransactionSender, capacity_wh: int = 10_000
    ) -> MeterKey:
        meter = MeterKey(
            meter_id=Web3.keccak(text=f"meter:{name}"),
            owner=owner.address,
            signer=LocalKeySigner.random(),
        )
        self.admin.transact(
            self.contracts.registry.request(
                "registerMeter", meter.meter_id, owner.address, meter.signer.address, capacity_wh
            )
        )
        self.meters[name] = meter
        return meter

    def reading(
        self, meter: MeterKey, timestamp: int, import_add: int, export_add: int
    ) -> tuple[tuple[bytes, int, int, int, int], bytes]:
        """The next signed reading of ``meter`` (registers grow by the given Wh)."""
        meter.seq += 1
        meter.import_wh += import_add
        meter.export_wh += export_add
        document = meter_reading_typed_data(
            self.deployment.chain_id,
            self.contracts.registry.address,
            meter.meter_id,
            meter.seq,
            timestamp,
            meter.import_wh,
            meter.export_wh,
        )
        signature = meter.signer.sign_typed_data(document)
        return (meter.meter_id, meter.seq, timestamp, meter.import_wh, meter.export_wh), signature

    def submit_readings(
        self,
        readings: Sequence[tuple[tuple[bytes, int, int, int, int], bytes]],
        cid: str = "",
        sender: TransactionSender | None = None,
    ) -> None:
        (sender or self.admin).transact(
            self.contracts.registry.request(
                "submitReadings", [r for r, _ in readings], [s for _, s in readings], cid.encode()
            )
        )

    def deposit_energy(self, owner: TransactionSender, slot: int, amount_wh: int) -> None:
        token, market = self.contracts.token, self.contracts.market
        owner.transact(
            token.request("safeTransferFrom", owner.address, market.address, slot, amount_wh, b"")
        )

    # ------------------------------------------------------------------ orders
    def place_orders(
        self, owner: TransactionSender, orders: Sequence[tuple[int, bool, int, int]]
    ) -> list[int]:
        """Place ``(slot, is_buy, tick, qty_wh)`` orders in one transaction; their ids."""
        receipt = owner.transact(
            self.contracts.market.request("placeOrders", owner.address, list(orders))
        )
        return [
            int(e["args"]["orderId"]) for e in self.contracts.market.events(receipt, "OrderPlaced")
        ]

    def order_requests(
        self,
        owner: TransactionSender,
        batches: Sequence[Sequence[tuple[int, bool, int, int]]],
        gas: int,
    ) -> list[TxRequest]:
        return [
            self.contracts.market.request("placeOrders", owner.address, list(b), gas=gas)
            for b in batches
        ]

    def cancel(self, owner: TransactionSender, order_ids: Sequence[int]) -> None:
        owner.transact(self.contracts.market.request("cancelOrders", list(order_ids)))

    def clear(self, slot: int, sender: TransactionSender | None = None) -> None:
        """Move the clock past gate closure if needed, then clear ``slot``."""
        closure = self.gate_closure(slot)
        if self.now() < closure:
            self.set_time(closure)
        (sender or self.admin).transact(self.contracts.market.request("clear", slot))

    def claim(self, order_ids: Sequence[int], sender: TransactionSender | None = None) -> None:
        (sender or self.admin).transact(
            self.contracts.market.request("claimBatch", list(order_ids))
        )

    def withdraw(self, owner: TransactionSender, amount: int) -> None:
        owner.transact(self.contracts.market.request("withdraw", amount))

    def withdraw_energy(self, owner: TransactionSender, slot: int, amount_wh: int) -> None:
        owner.transact(self.contracts.market.request("withdrawEnergy", slot, amount_wh))


def play_round(community: Community) -> dict[str, Any]:
    """One full market round through every kind of event the indexer handles.

    Two prosumers (meters, readings, sells), two buyers, a cancel, clearing, claims, withdrawals.
    Returns what was done (slot, order ids) for assertions.
    """
    c = community
    seller_a, seller_b, buyer_c, buyer_d = c.senders[1:5]
    meter_a = c.register_meter("a", seller_a)
    meter_b = c.register_meter("b", seller_b)
    for buyer in (buyer_c, buyer_d):
        c.fund(buyer, 5_000_000)
    slot = c.current_slot()
    start = c.slot_start(slot)
    c.submit_readings(
        [c.reading(meter_a, start, 100, 0), c.reading(meter_b, start, 50, 0)], cid="bafkreibaseline"
    )
    c.set_time(max(c.slot_start(slot + 1), c.now() + 1))
    end = c.slot_start(slot + 1)
    c.submit_readings(
        [c.reading(meter_a, end, 200, 3_000), c.reading(meter_b, end, 400, 2_000)],
        cid="bafkreislot",
    )
    c.deposit_energy(seller_a, slot, 3_000)
    c.deposit_energy(seller_b, slot, 2_000)
    sells_a = c.place_orders(seller_a, [(slot, False, 100, 1_500), (slot, False, 300, 1_500)])
    sells_b = c.place_orders(seller_b, [(slot, False, 200, 2_000)])
    buys_c = c.place_orders(buyer_c, [(slot, True, 900, 2_500), (slot, True, 150, 500)])
    buys_d = c.place_orders(buyer_d, [(slot, True, 250, 1_000), (slot, True, 50, 700)])
    c.cancel(buyer_d, [buys_d[1]])
    c.clear(slot)
    live = [*sells_a, *sells_b, *buys_c, buys_d[0]]
    c.claim(live)
    c.withdraw(seller_a, 10_000)
    c.withdraw_energy(buyer_c, slot, 100)
    return {
        "slot": slot,
        "orders": live,
        "cancelled": [buys_d[1]],
        "accounts": [s.address for s in (seller_a, seller_b, buyer_c, buyer_d)],
    }
