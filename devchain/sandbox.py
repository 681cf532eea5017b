"""A throwaway EnergyChain market on a development chain, driven from Python.

:class:`Sandbox` deploys the contracts on a fresh anvil (or the in-process chain) and acts for
many participants, each with its own key: meters that sign readings, deposits, orders,
clearing, claims. The chain engine of ``enerwise auction clear``, the gas benchmark and the demo
all drive the contracts through it, so every figure they print comes from real transactions.

Every participant sends through its own :class:`wallet.TransactionSender`; dependent calls of
one participant go out as one batch with fixed gas limits (no estimate against stale state).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from chain.compiler import compile_contracts
from chain.connection import connect, in_process_chain, in_process_keys
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, start_anvil
from chain.reverts import RevertDecoder
from devchain.control import DevChain
from devchain.miner import ON_DEMAND_MINING, BlockMiner
from energychain.calendar import SlotCalendar
from energychain.contracts import revert_decoder
from energychain.deploy import Deployment, EnergyChain, MarketSettings, deploy_energychain
from energychain.market import OrderSpec
from energychain.meter_reading import Domain, MeterReading
from market.clearing import ClearingRecord, MarketParams
from wallet.signer import LocalKeySigner, Signer
from wallet.transactions import TransactionSender, TxRequest

#: Gas limits for calls whose cost does not depend on the state (no estimate needed).
GAS_ERC20 = 120_000
GAS_DEPOSIT = 150_000
GAS_ERC1155_TRANSFER = 150_000
GAS_REGISTER_METER = 150_000
GAS_PER_ORDER = 120_000
GAS_PER_READING = 110_000
GAS_PER_CLAIM = 80_000
ETHER = 10**18


@dataclass
class Participant:
    """A funded account acting on the market with its own key."""

    sender: TransactionSender

    @property
    def address(self) -> ChecksumAddress:
        return self.sender.address


@dataclass
class Meter:
    """A registered meter: its id, its signing key and its cumulative registers."""

    meter_id: bytes
    owner: ChecksumAddress
    signer: Signer
    seq: int = 0
    import_wh: int = 0
    export_wh: int = 0
    last_timestamp: int | None = None


@dataclass(frozen=True)
class Claimed:
    """One ``OrderClaimed`` event."""

    order_id: int
    owner: ChecksumAddress
    filled_wh: int
    amount: int
    fee: int
    refund: int


def dev_sender(w3: Web3, signer: Signer, decoder: RevertDecoder) -> TransactionSender:
    """A sender for a dev chain: quick receipt polls, and a batch whose receipts stall for 3 s
    sent again (anvil can leave transactions of a batch queued for good, see
    :meth:`DevChain.resubmit`)."""
    return TransactionSender(
        w3,
        signer,
        decode_revert=decoder,
        poll_interval=0.01,
        on_stall=DevChain(w3).resubmit,
        stall_seconds=3.0,
    )


@dataclass
class Sandbox:
    """Deployed EnergyChain on a development chain plus the accounts acting on it."""

    w3: Web3
    deployment: Deployment
    admin: TransactionSender
    decoder: RevertDecoder
    seed: int = 0
    contracts: EnergyChain = field(init=False)
    dev: DevChain = field(init=False)
    params: MarketParams = field(init=False)
    calendar: SlotCalendar = field(init=False)

    def __post_init__(self) -> None:
        # Keys and meter ids of throwaway accounts on a dev chain: reproducible on purpose
        # (same seed, same addresses, same gas figures), never for real funds.
        self._rng = random.Random(self.seed)
        self.contracts = self.deployment.contracts(self.w3)
        self.dev = DevChain(self.w3)
        self.params = self.contracts.market.params()
        self.calendar = self.contracts.market.calendar(self.params)
        self.epoch = self.calendar.epoch
        self.slot_seconds = self.calendar.slot_seconds
        self.domain = Domain(self.deployment.chain_id, self.contracts.registry.address)

    # ------------------------------------------------------------------ set-up
    @classmethod
    @contextlib.contextmanager
    def on_anvil(
        cls,
        settings: MarketSettings | None = None,
        *,
        genesis_timestamp: int | None = None,
        seed: int = 0,
        tx_gas_cap: bool = False,
        history_states: int | None = None,
        mine_on_demand: bool = False,
    ) -> Iterator[Sandbox]:
        """Compile, start a fresh anvil, deploy; the node stops when the block ends.

        A fixed ``genesis_timestamp`` (with a fixed ``settings.epoch``) makes every slot number
        and reading timestamp, and so every calldata byte, the same from run to run.
        ``tx_gas_cap`` makes anvil enforce the EIP-7825 cap of 2^24 gas per transaction.
        Like every node :func:`~chain.local_node.start_anvil` starts, it writes no past states
        to disk (a city of 1,000 households wrote 32 GB in 21 slots before that).
        ``history_states`` bounds the past states it keeps in memory
        (:func:`~chain.local_node.bounded_history`). ``mine_on_demand`` replaces anvil's
        automine (a block per transaction) by a :class:`~devchain.miner.BlockMiner` (a block for
        everything pending): what a chain with a large state needs.
        """
        compile_contracts()
        args = ["--gas-limit", "100000000"]
        if tx_gas_cap:
            args.append("--enable-tx-gas-limit")
        if genesis_timestamp is not None:
            args += ["--timestamp", str(genesis_timestamp)]
        if mine_on_demand:
            args += ON_DEMAND_MINING
        node: AnvilProcess
        with contextlib.ExitStack() as stack:
            node = stack.enter_context(start_anvil(extra_args=args, history_states=history_states))
            if mine_on_demand:
                stack.enter_context(BlockMiner(node.rpc_url))
            yield cls.at(node.rpc_url, settings, seed=seed)

    @classmethod
    def at(cls, rpc_url: str, settings: MarketSettings | None = None, seed: int = 0) -> Sandbox:
        """Deploy on the development node at ``rpc_url`` from anvil's first key (compiled build)."""
        return cls.deploy(connect(rpc_url), ANVIL_DEV_KEYS[0], settings, seed=seed)

    @classmethod
    def in_process(cls, settings: MarketSettings | None = None) -> Sandbox:
        """Compile and deploy on a fresh in-process chain (eth-tester, no node needed)."""
        compile_contracts()
        w3 = in_process_chain()
        return cls.deploy(w3, in_process_keys(w3)[0], settings)

    @classmethod
    def deploy(
        cls, w3: Web3, admin_key: str, settings: MarketSettings | None = None, seed: int = 0
    ) -> Sandbox:
        decoder = revert_decoder()
        admin = dev_sender(w3, LocalKeySigner(admin_key), decoder)
        deployment = deploy_energychain(admin, settings or MarketSettings())
        return cls(w3=w3, deployment=deployment, admin=admin, decoder=decoder, seed=seed)

    def new_participant(self, ether: int = 10 * ETHER) -> Participant:
        """A new account with a random key, funded with ``ether`` wei for gas."""
        signer = LocalKeySigner(self.random_bytes(32))
        self.dev.fund(signer.address, ether)
        return Participant(dev_sender(self.w3, signer, self.decoder))

    def random_bytes(self, size: int) -> bytes:
        """Reproducible random bytes (keys, meter ids) from the sandbox's seed."""
        return self._rng.randbytes(size)

    def fresh_copy(self) -> Sandbox:
        """A sandbox over the same deployment as a new one would be after a chain snapshot is
        restored: a new admin sender (nonces read from the node again) and the same random
        draws ahead as this one (the same new keys and meter ids)."""
        copy = Sandbox(
            w3=self.w3,
            deployment=self.deployment,
            admin=dev_sender(self.w3, self.admin.signer, self.decoder),
            decoder=self.decoder,
            seed=self.seed,
        )
        copy._rng.setstate(self._rng.getstate())
        return copy

    # ------------------------------------------------------------------ time
    def slot_start(self, slot: int) -> int:
        return self.calendar.start(slot)

    def current_slot(self) -> int:
        return self.calendar.slot_of(self.dev.now())

    def gate_closure(self, slot: int) -> int:
        return self.calendar.gate_closure(slot)

    def advance_to(self, timestamp: int) -> None:
        """Mine a block at ``timestamp`` unless the chain is already there."""
        if self.dev.now() < timestamp:
            self.dev.mine_at(timestamp)

    # ------------------------------------------------------------------ meters
    def register_meters(self, owners: Sequence[ChecksumAddress], capacity_wh: int) -> list[Meter]:
        """One new meter per owner, each with its own random signing key."""
        meters = [
            Meter(self.random_bytes(32), owner, LocalKeySigner(self.random_bytes(32)))
            for owner in owners
        ]
        registry = self.contracts.registry
        self.admin.send_batch(
            [
                registry.register_meter(
                    m.meter_id, m.owner, m.signer.address, capacity_wh, gas=GAS_REGISTER_METER
                )
                for m in meters
            ]
        )
        return meters

    def signed_reading(
        self, meter: Meter, timestamp: int, import_wh: int, export_wh: int
    ) -> tuple[tuple[bytes, int, int, int, int, int, int], bytes]:
        """Advance ``meter``'s registers by the deltas and sign the reading at ``timestamp``
        (bound to the meter's previous reading)."""
        prev_seq, prev_timestamp = meter.seq, meter.last_timestamp or 0
        meter.seq += 1
        meter.import_wh += import_wh
        meter.export_wh += export_wh
        meter.last_timestamp = timestamp
        reading = MeterReading(
            meter.meter_id,
            meter.seq,
            timestamp,
            meter.import_wh,
            meter.export_wh,
            prev_seq,
            prev_timestamp,
        )
        return reading.as_tuple(), meter.signer.sign_typed_data(reading.typed_data(self.domain))

    def submit_readings(
        self,
        readings: Sequence[tuple[tuple[bytes, int, int, int, int, int, int], bytes]],
        archive_cid: bytes = b"",
        chunk: int = 200,
    ) -> list[TxReceipt]:
        """Relay signed readings from the admin account in batches of ``chunk``."""
        requests = [
            self.contracts.registry.submit_readings(
                [r for r, _ in part],
                [s for _, s in part],
                archive_cid,
                gas=GAS_PER_READING * len(part) + 100_000,
            )
            for part in _chunks(readings, chunk)
        ]
        return self.admin.send_batch(requests)

    def mint_energy(self, allocations: Sequence[tuple[Participant, int]], slot: int) -> None:
        """Mint ``qty`` Wh of ``slot`` tokens to each participant through signed readings.

        Each participant gets a fresh meter reading a baseline at the slot's start and the
        export at its end, as a real meter would; the chain is moved to the slot's end first.
        """
        start, end = self.slot_start(slot), self.slot_start(slot + 1)
        capacity = max(qty for _, qty in allocations)
        meters = self.register_meters([p.address for p, _ in allocations], capacity)
        self.advance_to(end)
        readings = []
        for meter, (_, qty) in zip(meters, allocations, strict=True):
            readings.append(self.signed_reading(meter, start, 0, 0))
            readings.append(self.signed_reading(meter, end, 0, qty))
        self.submit_readings(readings)

    # ------------------------------------------------------------------ vault
    def fund_payment(self, participant: Participant, amount: int) -> None:
        """Mint ``amount`` test euros to ``participant`` and deposit them in the market vault."""
        payment, market = self.contracts.payment, self.contracts.market
        participant.sender.send_batch(
            [
                payment.mint(participant.address, amount, gas=GAS_ERC20),
                payment.approve(market.address, amount, gas=GAS_ERC20),
                market.deposit(amount, gas=GAS_DEPOSIT),
            ]
        )

    def deposit_energy(self, participant: Participant, slot: int, qty_wh: int) -> None:
        """Move ``qty_wh`` of ``participant``'s slot tokens into the vault."""
        participant.sender.transact(self.deposit_energy_request(participant, slot, qty_wh))

    def deposit_energy_request(self, participant: Participant, slot: int, qty_wh: int) -> TxRequest:
        """The transfer of ``qty_wh`` slot tokens into the vault (credited to the sender)."""
        return self.contracts.token.transfer(
            participant.address,
            self.contracts.market.address,
            slot,
            qty_wh,
            gas=GAS_ERC1155_TRANSFER,
        )

    # ------------------------------------------------------------------ orders
    def order_request(
        self, owner: ChecksumAddress, slot: int, is_buy: bool, tick: int, qty_wh: int
    ) -> TxRequest:
        return self.contracts.market.place_order(
            owner, slot, is_buy, tick, qty_wh, gas=GAS_PER_ORDER + 60_000
        )

    def orders_request(self, owner: ChecksumAddress, orders: Sequence[OrderSpec]) -> TxRequest:
        """``placeOrders`` for ``(slot, is_buy, tick, qty_wh)`` tuples."""
        return self.contracts.market.place_orders(
            owner, orders, gas=GAS_PER_ORDER * len(orders) + 100_000
        )

    def place_orders(self, participant: Participant, orders: Sequence[OrderSpec]) -> list[int]:
        """Place ``(slot, is_buy, tick, qty_wh)`` orders in one transaction; their ids."""
        receipt = participant.sender.transact(self.orders_request(participant.address, orders))
        return self.placed_order_ids([receipt])

    def placed_order_ids(self, receipts: Sequence[TxReceipt]) -> list[int]:
        """Order ids from ``OrderPlaced`` events, in emission order."""
        return [
            int(event["args"]["orderId"])
            for receipt in receipts
            for event in self.contracts.market.events(receipt, "OrderPlaced")
        ]

    def clear(self, slot: int) -> ClearingRecord:
        """Move past gate closure, clear ``slot`` and return its record as stored on chain.

        The gas limit is estimated: clearing costs O(non-empty ticks), from about 0.1M to about
        9M gas for a full book (docs/contracts.md section 9), so no fixed limit fits both.
        """
        self.advance_to(self.gate_closure(slot))
        self.admin.transact(self.contracts.market.clear(slot))
        return self.clearing_record(slot)

    def clearing_record(self, slot: int) -> ClearingRecord:
        """The contract's record of ``slot`` in the Python reference's shape."""
        return self.contracts.market.clearing(slot).record(self.params)

    def claim(self, order_ids: Sequence[int], chunk: int = 100) -> list[Claimed]:
        """Claim every order (batches of ``chunk``) and return the ``OrderClaimed`` events."""
        market = self.contracts.market
        receipts = self.admin.send_batch(
            [
                market.claim_batch(part, gas=GAS_PER_CLAIM * len(part) + 60_000)
                for part in _chunks(order_ids, chunk)
            ]
        )
        return [
            Claimed(
                order_id=int(e["args"]["orderId"]),
                owner=e["args"]["owner"],
                filled_wh=int(e["args"]["filledWh"]),
                amount=int(e["args"]["amount"]),
                fee=int(e["args"]["fee"]),
                refund=int(e["args"]["refund"]),
            )
            for receipt in receipts
            for e in market.events(receipt, "OrderClaimed")
        ]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
