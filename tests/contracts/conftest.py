"""Fixtures and helpers of the auditors' suite (eth-brownie on anvil).

Every module deploys its own registry, token, market and TestEuro (module scope, so brownie's
``module_isolation`` resets the chain between modules) and every test runs in a snapshot
(``fn_isolation``), so tests are independent and can run in any order.

Time: the chain clock keeps running with the wall clock between tests, so no test uses absolute
timestamps. ``env.trading_slot()`` picks a slot ``s`` in the future and moves the chain to just
after its end: slot ``s`` tokens can then be minted from readings (the reading at the end of the
slot is no longer in the future) and orders for ``s`` are still accepted (gate closure is
``settlementSeconds`` later).

Units (as in the contracts): energy in Wh, money in TestEuro base units (6 decimals), prices in base
units per kWh on the grid ``price(tick) = PRICE_FLOOR + tick * TICK_SIZE``."""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import brownie
import brownie.network.contract as _brownie_contract
import pytest
from brownie import (
    CityPool,
    ClearingHarness,
    EnergyMarket,
    EnergyToken,
    MeterRegistry,
    PooledEnergyMarket,
    SealedEnergyMarket,
    TestEuro,
    accounts,
    chain,
    web3,
)
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3.exceptions import TransactionNotFound

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the package's pure Python parts

from energychain.meter_reading import meter_reading_typed_data
from energychain.pool import residual_side
from market.clearing import MarketParams, Order, Side, clear_slot
from market.pool import residual_of
from wallet.typed_data import SECP256K1_N

# Brownie runs a full gc.collect() on every snapshot revert (to drop dead contract handles), and
# fn_isolation reverts before and after each test. The compiled project it loaded before this file
# (ASTs, sources: millions of objects, alive all session) would be walked on every one of them:
# frozen here, a collection walks only what the tests create. Four to five times faster a test
# (test_energy_market_vault.py: 30 tests in 3.3 s instead of 15 to 25 s).
gc.freeze()

# --------------------------------------------------------------------------------------------
# Parameters of the markets deployed by the fixtures
# --------------------------------------------------------------------------------------------

SLOT_SECONDS = 900
MAX_SKEW = 120
SETTLEMENT_SECONDS = 900
OPEN_AHEAD_SECONDS = 86_400
PRICE_FLOOR = 20_001  # 0.020001 EUR/kWh: odd, so that costs rarely divide evenly
TICK_SIZE = 137  # 0.000137 EUR/kWh per tick (max price 0.157001 EUR/kWh)
MAX_TICK = 1_000
MIN_ORDER_WH = 10
FEE_BPS = 50
CAPACITY_WH = 10_000_000  # 10 MWh per slot
TOKEN_URI = "https://energychain.example/slot/{id}.json"

CLEAR_WINDOW = 86_400  # CLEAR_WINDOW_SECONDS: a slot not cleared by gate closure + this is void
REVEAL_SECONDS = 600  # the sealed market's reveal window after each gate closure
BOND = 50_000  # 0.05 EUR: what a sealed commitment locks at least and forfeits unrevealed

NO_SLOT = 2**256 - 1
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def role(name: str) -> str:
    """keccak256 of a role name, as AccessControl roles are built."""
    return "0x" + keccak(text=name).hex()


DEFAULT_ADMIN_ROLE = "0x" + "00" * 32
METER_ADMIN_ROLE = role("METER_ADMIN_ROLE")
PAUSER_ROLE = role("PAUSER_ROLE")


def selector(signature: str) -> str:
    """The 4-byte selector of an error or function signature, as 0x-hex."""
    return "0x" + keccak(text=signature)[:4].hex()


def b32(value) -> str:
    """How brownie prints a bytes32 argument of a custom error: the Python repr of the bytes."""
    if isinstance(value, str):
        value = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return str(bytes(value))


def addr(account) -> str:
    """How brownie prints an address argument of a custom error: lowercase hex."""
    return str(account).lower()


def struct_fields(values, names: str) -> dict:
    """A struct a view returns (a tuple) as a dict: ``names``, space-separated as namedtuple takes
    them, name its first fields in order."""
    keys = names.split()
    return dict(zip(keys, values[: len(keys)], strict=True))


def access_error(account, role_id: str) -> str:
    """The revert string of OpenZeppelin's AccessControlUnauthorizedAccount(account, neededRole)."""
    return f"AccessControlUnauthorizedAccount: {addr(account)}, {b32(role_id)}"


# --------------------------------------------------------------------------------------------
# Clearing arithmetic in Python (the reference the contract must equal)
# --------------------------------------------------------------------------------------------


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def price_of(tick: int, floor: int = PRICE_FLOOR, tick_size: int = TICK_SIZE) -> int:
    return floor + tick * tick_size


def cost(qty_wh: int, price: int) -> int:
    """What a buyer escrows or pays: ceil(qty * price / 1000)."""
    return ceil_div(qty_wh * price, 1000)


def proceeds(qty_wh: int, price: int) -> int:
    """What a seller earns gross: floor(qty * price / 1000)."""
    return qty_wh * price // 1000


def fee_of(gross: int, fee_bps: int) -> int:
    return ceil_div(gross * fee_bps, 10_000)


def reference_clear(orders):
    """The clearing rule on plain integers. ``orders``: iterable of (is_buy, tick, qty).

    V* = max_t min(D(t), S(t)) with D(t) = buys at ticks >= t and S(t) = sells at ticks <= t; m_s =
    lowest t with S(t) >= V*, m_b = highest t with D(t) >= V*, p* = floor((m_s + m_b) / 2). Returns
    a dict with the fields of the contract's ClearingRecord (zeros when nothing trades)."""
    buys: dict[int, int] = {}
    sells: dict[int, int] = {}
    for is_buy, tick, qty in orders:
        book = buys if is_buy else sells
        book[tick] = book.get(tick, 0) + qty
    ticks = sorted(set(buys) | set(sells))
    empty = {
        "volume": 0,
        "clearing_tick": 0,
        "buy_tick": 0,
        "buy_filled": 0,
        "buy_total": 0,
        "sell_tick": 0,
        "sell_filled": 0,
        "sell_total": 0,
    }

    def demand(t):
        return sum(q for k, q in buys.items() if k >= t)

    def supply(t):
        return sum(q for k, q in sells.items() if k <= t)

    volume = max((min(demand(t), supply(t)) for t in ticks), default=0)
    if volume == 0:
        return empty
    m_s = min(t for t in ticks if supply(t) >= volume)
    m_b = max(t for t in ticks if demand(t) >= volume)
    return {
        "volume": volume,
        "clearing_tick": (m_s + m_b) // 2,
        "buy_tick": m_b,
        "buy_filled": volume - demand(m_b + 1),
        "buy_total": buys[m_b],
        "sell_tick": m_s,
        "sell_filled": volume - supply(m_s - 1),
        "sell_total": sells[m_s],
    }


def reference_fill(is_buy, qty, tick, m, filled, total, claimed=0):
    """Wh an order fills (receives or gives, and is paid for). A level that is not rationed: all
    at ``m`` or better, nothing worse or without clearing. A rationed marginal level (R < Q): the
    cumulative share ``floor((C+q)*R/Q) - floor(C*R/Q)``, ``C`` the level's Wh claimed before."""
    if filled == 0 or (tick < m if is_buy else tick > m):
        return 0
    if tick != m or filled == total:
        return qty
    return (claimed + qty) * filled // total - claimed * filled // total


def is_rationed(tick, m, filled, total):
    """Whether an order at ``tick`` sits at its side's rationed marginal level."""
    return tick == m and filled != total


# --------------------------------------------------------------------------------------------
# Signed meter readings
# --------------------------------------------------------------------------------------------


def typed_reading(reading, chain_id: int, verifying_contract: str):
    """The EIP-712 typed data of ``reading`` = (meterId, seq, timestamp, importWh, exportWh,
    prevSeq, prevTimestamp) for the domain {EnergyChain, 1, chain_id, verifying_contract}: the
    document the package's meters sign (energychain.meter_reading), ready to sign or hash."""
    meter_id, *registers = reading
    document = meter_reading_typed_data(
        chain_id, str(verifying_contract), bytes(meter_id), *registers
    )
    return encode_typed_data(full_message=document)


def sign_reading(key, reading, chain_id: int, verifying_contract: str) -> bytes:
    """EIP-712 signature (65 bytes, r || s || v) of ``reading`` (see :func:`typed_reading`)."""
    signed = Account.sign_message(typed_reading(reading, chain_id, verifying_contract), key.key)
    return bytes(signed.signature)


def to_high_s(signature: bytes) -> bytes:
    """The malleable twin of a low-s signature: (r, n - s, v flipped). ecrecover accepts it."""
    r = signature[:32]
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28


_meter_ids = itertools.count(1)


@dataclass
class MeterHandle:
    """A registered meter and its local key, tracking the registers it last reported."""

    env: Env
    meter_id: bytes
    owner: object
    key: object
    capacity: int
    seq: int = 0
    import_wh: int = 0
    export_wh: int = 0
    timestamp: int = 0
    history: list = field(default_factory=list)

    def reading(self, timestamp, import_wh=None, export_wh=None, seq=None, prev=None):
        """A reading tuple with the next seq, (by default) unchanged registers, bound to the last
        accepted reading (``prev`` = (prevSeq, prevTimestamp) overrides it)."""
        prev_seq, prev_timestamp = (self.seq, self.timestamp) if prev is None else prev
        return (
            self.meter_id,
            self.seq + 1 if seq is None else seq,
            timestamp,
            self.import_wh if import_wh is None else import_wh,
            self.export_wh if export_wh is None else export_wh,
            prev_seq,
            prev_timestamp,
        )

    def after(self, reading, timestamp, add_import=0, add_export=0):
        """The reading that follows ``reading`` (next seq, bound to it)."""
        return (
            self.meter_id,
            reading[1] + 1,
            timestamp,
            reading[3] + add_import,
            reading[4] + add_export,
            reading[1],
            reading[2],
        )

    def sign(self, reading, key=None, chain_id=None, verifying_contract=None) -> bytes:
        return sign_reading(
            key or self.key,
            reading,
            chain.id if chain_id is None else chain_id,
            verifying_contract or self.env.registry.address,
        )

    def accepted(self, reading):
        """Records locally that ``reading`` was accepted on chain."""
        _, self.seq, self.timestamp, self.import_wh, self.export_wh, _, _ = reading
        self.history.append(reading)

    def rotate(self, key):
        """``rotateSigner`` to ``key`` by the meter admin; the sequence and the baseline restart,
        the last timestamp stays (what the registry does)."""
        tx = self.env.registry.rotateSigner(self.meter_id, key.address, {"from": self.env.admin})
        self.key, self.seq, self.import_wh, self.export_wh = key, 0, 0, 0
        return tx

    def submit(self, reading, sender=None, signature=None):
        """Submits ``reading`` (signed by the meter key unless ``signature`` is given) and records
        it."""
        signature = self.sign(reading) if signature is None else signature
        tx = self.env.registry.submitReading(
            reading, signature, {"from": sender or self.env.relayer}
        )
        self.accepted(reading)
        return tx

    def submit_at(self, timestamp, add_import=0, add_export=0, sender=None):
        return self.submit(
            self.reading(timestamp, self.import_wh + add_import, self.export_wh + add_export),
            sender,
        )


# --------------------------------------------------------------------------------------------
# The environment object used by the tests
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Env:
    """The deployed contracts plus the actions tests keep repeating."""

    registry: object
    token: object
    market: object
    euro: object
    admin: object
    relayer: object
    treasury: object
    epoch: int = field(init=False)

    def __post_init__(self) -> None:
        self.epoch = self.registry.epoch()

    # ---- time -------------------------------------------------------------------------------

    @staticmethod
    def latest_timestamp() -> int:
        return web3.eth.get_block("latest")["timestamp"]

    def slot_start(self, slot: int) -> int:
        return self.epoch + slot * SLOT_SECONDS

    def gate_closure(self, slot: int) -> int:
        return self.slot_start(slot) + SLOT_SECONDS + SETTLEMENT_SECONDS

    def current_slot(self) -> int:
        return (max(chain.time(), self.latest_timestamp()) - self.epoch) // SLOT_SECONDS

    def warp(self, timestamp: int) -> None:
        """Mines a block at ``timestamp`` (which must lie ahead of the chain)."""
        assert timestamp > self.latest_timestamp(), "cannot move the chain back in time"
        # anvil refuses brownie's `evm_mine [timestamp]`: pin the next block's time, then mine.
        web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        chain.mine()

    @staticmethod
    def next_block_at(timestamp: int) -> None:
        """Pins the timestamp of the next block (the next transaction's ``block.timestamp``)."""
        web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])

    def trading_slot(self, ahead: int = 2, into_next: int = 30) -> int:
        """A fresh slot s: the chain moves to ``into_next`` seconds after the end of s."""
        slot = self.current_slot() + ahead
        self.warp(self.slot_start(slot + 1) + into_next)
        return slot

    def close_gate(self, slot: int) -> None:
        self.warp(max(self.gate_closure(slot), self.latest_timestamp() + 1))

    # ---- meters and energy ------------------------------------------------------------------

    def new_meter(self, owner, capacity=CAPACITY_WH, key=None) -> MeterHandle:
        meter_id = keccak(text=f"meter-{next(_meter_ids)}")
        key = key or Account.create()
        self.registry.registerMeter(meter_id, owner, key.address, capacity, {"from": self.admin})
        return MeterHandle(self, meter_id, owner, key, capacity)

    def mint_energy(self, owner, slot, export_wh, import_wh=0, meter=None) -> MeterHandle:
        """Mints ``export_wh`` tokens of ``slot`` to ``owner`` (and records ``import_wh``) through a
        fresh meter's baseline reading at the start of the slot and a reading at its end, submitted
        as one batch."""
        meter = meter or self.new_meter(owner)
        first = meter.reading(self.slot_start(slot))
        second = meter.after(first, self.slot_start(slot + 1), import_wh, export_wh)
        tx = self.registry.submitReadings(
            [first, second], [meter.sign(first), meter.sign(second)], b"", {"from": self.relayer}
        )
        assert tx.events["ReadingBatchArchived"]["accepted"] == 2, tx.events
        meter.accepted(first)
        meter.accepted(second)
        return meter

    # ---- vault ------------------------------------------------------------------------------

    def fund(self, user, amount: int) -> None:
        self.euro.mint(user, amount, {"from": user})
        self.euro.approve(self.market, amount, {"from": user})

    def deposit(self, user, amount: int):
        self.fund(user, amount)
        return self.market.deposit(amount, {"from": user})

    def deposit_energy(self, user, slot: int, amount_wh: int):
        """Mints ``amount_wh`` tokens of ``slot`` to ``user`` and moves them into the vault."""

        self.mint_energy(user, slot, amount_wh)
        return self.token.safeTransferFrom(user, self.market, slot, amount_wh, b"", {"from": user})

    # ---- orders -----------------------------------------------------------------------------

    def place(self, owner, slot, is_buy, tick, qty, sender=None) -> int:
        tx = self.market.placeOrder(owner, slot, is_buy, tick, qty, {"from": sender or owner})
        return tx.events["OrderPlaced"]["orderId"]

    def buy(self, owner, slot, tick, qty, sender=None) -> int:
        return self.place(owner, slot, True, tick, qty, sender)

    def sell(self, owner, slot, tick, qty, sender=None) -> int:
        return self.place(owner, slot, False, tick, qty, sender)

    def funded_buy(self, owner, slot, tick, qty) -> int:
        """Deposits exactly the escrow of the order, then places it."""
        self.deposit(owner, cost(qty, price_of(tick)))
        return self.buy(owner, slot, tick, qty)

    def funded_sell(self, owner, slot, tick, qty) -> int:
        """Mints and deposits exactly the tokens of the order, then places it."""
        self.deposit_energy(owner, slot, qty)
        return self.sell(owner, slot, tick, qty)

    def clear(self, slot, sender=None):
        return self.market.clear(slot, {"from": sender or self.relayer})

    def clearing(self, slot) -> dict:
        return struct_fields(
            self.market.clearing(slot),
            "cleared volume clearing_tick buy_tick buy_filled buy_total sell_tick sell_filled"
            " sell_total",
        )


def order_id(slot: int, fee_bps: int, nonce: int) -> int:
    return (slot << 192) | (fee_bps << 64) | nonce


# --------------------------------------------------------------------------------------------
# The sealed market: commitments, ids, the deployable code
# --------------------------------------------------------------------------------------------

#: Bits of a commit id taken from the commitment (all but the slot and the fee).
ID_HASH_MASK = ((1 << 192) - 1) ^ (0xFFFF << 64)


def commitment_of(market, owner, slot, is_buy, tick, qty, salt, chain_id=None) -> bytes:
    """keccak256(abi.encode(chainid, market, slot, owner, isBuy, tick, qtyWh, salt)), in Python."""
    return keccak(
        abi_encode(
            ["uint256", "address", "uint64", "address", "bool", "uint16", "uint64", "bytes32"],
            [
                chain.id if chain_id is None else chain_id,
                str(market),
                slot,
                str(owner),
                is_buy,
                tick,
                qty,
                salt,
            ],
        )
    )


def commit_id_of(owner, slot, commitment: bytes, fee_bps: int = FEE_BPS) -> int:
    """slot << 192 | feeBps << 64 | (keccak256(abi.encode(commitment, owner)) & ID_HASH_MASK)."""
    h = int.from_bytes(keccak(abi_encode(["bytes32", "address"], [commitment, str(owner)])), "big")
    return (slot << 192) | (fee_bps << 64) | (h & ID_HASH_MASK)


_salts = itertools.count(1)


def new_salt() -> bytes:
    return keccak(text=f"salt-{next(_salts)}")


# --------------------------------------------------------------------------------------------
# The city pool (test_city_pool*.py)
# --------------------------------------------------------------------------------------------

GRID_OPERATOR_ROLE = role("GRID_OPERATOR_ROLE")
RULE = MarketParams(PRICE_FLOOR, TICK_SIZE, MAX_TICK, FEE_BPS)
"""The suite's market parameters as the Python reference (market.clearing) takes them."""

# The fixed city of the pool's clearing and settlement tests (docs in those modules): three
# communities of LEVELS levels, the grid fee FEE_PER_LEVEL ticks per level, BOOKS of
# (is_buy, tick, qty_wh) per community, and OPEN, a transfer limit that never binds.
FEE_PER_LEVEL = 5
LEVELS = (1, 2, 1)
BOOKS = (
    [(True, 600, 500), (True, 590, 300), (False, 700, 200)],
    [(False, 500, 400), (False, 520, 300), (True, 400, 100)],
    [(True, 560, 250), (False, 540, 100)],
)
OPEN = 10_000


def pool_params(**overrides):
    p = {
        "priceFloor": PRICE_FLOOR,
        "tickSize": TICK_SIZE,
        "maxTick": MAX_TICK,
        "settlementSeconds": SETTLEMENT_SECONDS,
    }
    p.update(overrides)
    return tuple(p[k] for k in ("priceFloor", "tickSize", "maxTick", "settlementSeconds"))


def deploy_pool(admin, euro, registry, **overrides):
    return CityPool.deploy(admin, euro, registry, pool_params(**overrides), {"from": admin})


def found_city(pool, markets, levels, admin, operator, fee_recipient):
    """Adds ``markets`` to ``pool`` as its communities, in order, with ``levels`` levels each; the
    ``operator``, granted GRID_OPERATOR_ROLE, sends the grid fee (FEE_PER_LEVEL ticks a level) to
    ``fee_recipient``."""
    for m, n in zip(markets, levels, strict=True):
        pool.addCommunity(m, n, {"from": admin})
    pool.grantRole(GRID_OPERATOR_ROLE, operator, {"from": admin})
    pool.setGridFee(FEE_PER_LEVEL, fee_recipient, {"from": operator})


def orders_of(book):
    """A book of (is_buy, tick, qty_wh) as the Python reference's orders o0, o1, ..."""
    return [Order(f"o{i}", Side.BUY if b else Side.SELL, t, q) for i, (b, t, q) in enumerate(book)]


def residual(book):
    """The Python reference's residual of one community's book after its own clearing."""
    orders = orders_of(book)
    return residual_of(orders, clear_slot(orders, RULE), RULE)


def residual_sides(book):
    """The residual (buys, sells) of ``book`` as a community commits them: one level a word."""
    r = residual(book)
    return (residual_side(r.buys, highest_first=True), residual_side(r.sells, highest_first=False))


#: The sealed and pooled markets' deployable code is compiled apart with fewer optimizer runs
#: (chain/compiler.py OPTIMIZER_RUNS_BY_SOURCE): brownie's own build of them, at 10,000 runs, is
#: above the EIP-170 limit. The fixtures deploy the code `enerwise chain compile` wrote.
BUILD_CONTRACTS = Path(__file__).resolve().parents[2] / "build" / "contracts"


def use_deployable_code(container) -> None:
    """Makes brownie's ``container`` deploy the code of build/contracts (see BUILD_CONTRACTS), so
    calls, events and errors decode as usual (its coverage map is brownie's build's, so brownie
    drops it for this code). Refuses an artifact that is missing or older than its source."""
    artifact_path = BUILD_CONTRACTS / f"{container._name}.json"
    if not artifact_path.is_file():
        raise RuntimeError(f"{artifact_path} missing: run `enerwise chain compile` first")
    artifact = json.loads(artifact_path.read_text())
    source = BUILD_CONTRACTS.parents[1] / "contracts" / f"{container._name}.sol"
    if artifact["source_hash"] != hashlib.sha256(source.read_bytes()).hexdigest():
        raise RuntimeError(f"{artifact_path} is older than {source}: run `enerwise chain compile`")
    container._build["bytecode"] = artifact["bytecode"].removeprefix("0x")


def deploy_sealed(admin, euro, registry, treasury, reveal=REVEAL_SECONDS, bond=BOND, **params):
    """Deploys the SealedEnergyMarket of build/contracts (see :func:`use_deployable_code`)."""
    use_deployable_code(SealedEnergyMarket)
    return SealedEnergyMarket.deploy(
        admin, euro, registry, market_params(treasury, **params), reveal, bond, {"from": admin}
    )


def deploy_pooled(admin, euro, registry, treasury, pool, **params):
    """Deploys the PooledEnergyMarket of build/contracts (see :func:`use_deployable_code`)."""
    use_deployable_code(PooledEnergyMarket)
    return PooledEnergyMarket.deploy(
        admin, euro, registry, market_params(treasury, **params), pool, {"from": admin}
    )


class SealedEnv(Env):
    """Env on a sealed market: commit, reveal and the windows."""

    def reveal_opens(self, slot: int) -> None:
        """Moves the chain to the first second of ``slot``'s reveal window."""
        self.warp(max(self.gate_closure(slot) + 1, self.latest_timestamp() + 1))

    def reveal_ends(self, slot: int) -> None:
        """Moves the chain to the first second after ``slot``'s reveal window."""
        self.warp(max(self.gate_closure(slot) + REVEAL_SECONDS + 1, self.latest_timestamp() + 1))

    def commit(
        self,
        owner,
        slot,
        is_buy,
        tick,
        qty,
        locked_money=None,
        locked_wh=None,
        sender=None,
        salt=None,
        fund=True,
    ):
        """Commits an order (funding the vault with its collateral unless ``fund`` is false) and
        returns (commitId, opening) where opening = (commitId, isBuy, tick, qty, salt)."""
        salt = salt or new_salt()
        if locked_money is None:
            locked_money = max(cost(qty, price_of(tick)), BOND) if is_buy else BOND
        if locked_wh is None:
            locked_wh = 0 if is_buy else qty
        if fund:
            self.deposit(owner, locked_money)
            if locked_wh:
                self.deposit_energy(owner, slot, locked_wh)
        c = commitment_of(self.market, owner, slot, is_buy, tick, qty, salt)
        tx = self.market.commitOrder(
            owner, slot, c, locked_money, locked_wh, {"from": sender or owner}
        )
        cid = tx.events["OrderCommitted"]["commitId"]
        return cid, (cid, is_buy, tick, qty, salt)

    def reveal(self, opening, sender=None):
        return self.market.revealOrder(*opening, {"from": sender or self.relayer})

    def commit_revealed(self, owner, slot, is_buy, tick, qty, **commit_options) -> int:
        """Commits an order (see :meth:`commit`), opens ``slot``'s reveal window and reveals it
        with ``revealOrder``; returns its id."""
        cid, opening = self.commit(owner, slot, is_buy, tick, qty, **commit_options)
        self.reveal_opens(slot)
        self.reveal(opening)
        return cid

    def reveal_all(self, slot, openings, sender=None):
        """Opens ``slot``'s reveal window and reveals ``openings`` in one ``revealOrders``."""
        self.reveal_opens(slot)
        return self.market.revealOrders(openings, {"from": sender or self.relayer})


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


def _verify_deployed_code_with_immutables(address, expected_bytecode, language):
    """brownie's bytecode check, extended to Solidity immutables (brownie issue #1087).

    brownie compares the code at an address with the compiled ``deployedBytecode`` and, on a
    mismatch, drops the contract's pcMap, so --coverage silently reports nothing for it. Every
    contract with an ``immutable`` (EnergyMarket, MeterRegistry and its EIP712 part, EnergyToken,
    FeeOnTransferToken) mismatches, because the constructor writes the immutables' values into the
    zero-filled placeholders of the runtime code. Accept the code when it differs from the compiled
    code only inside such zero placeholders (and the metadata, which brownie already ignores)."""
    if _original_verify_deployed_code(address, expected_bytecode, language):
        return True
    expected_hex = expected_bytecode.removeprefix("0x")
    if language != "Solidity" or "_" in expected_hex:
        return False
    actual = bytes(web3.eth.get_code(address))
    expected = bytes.fromhex(expected_hex)

    def strip_metadata(code: bytes) -> bytes:
        return code[: -(int.from_bytes(code[-2:], "big") + 2)] if len(code) > 2 else code

    actual, expected = strip_metadata(actual), strip_metadata(expected)
    return len(actual) == len(expected) and all(
        a == e or e == 0 for a, e in zip(actual, expected, strict=True)
    )


_original_verify_deployed_code = _brownie_contract._verify_deployed_code
_brownie_contract._verify_deployed_code = _verify_deployed_code_with_immutables


@pytest.fixture(scope="session", autouse=True)
def patient_transaction_lookup():
    """Works around a race between brownie and anvil. Brownie reads the sender's nonce, then the
    receipt, and calls the transaction "dropped without known replacement" when the nonce has moved
    but the receipt is not there yet; anvil (with --steps-tracing, on blocks of millions of gas)
    bumps the nonce before it stores the receipt. Retry receipt and transaction lookups briefly
    before giving up."""
    originals = {
        name: getattr(web3.eth, name) for name in ("get_transaction", "get_transaction_receipt")
    }

    def patient(original):
        def lookup(txid, *args, **kwargs):
            for _ in range(100):
                try:
                    return original(txid, *args, **kwargs)
                except TransactionNotFound:
                    time.sleep(0.05)
            return original(txid, *args, **kwargs)

        return lookup

    for name, original in originals.items():
        setattr(web3.eth, name, patient(original))
    yield
    for name, original in originals.items():
        setattr(web3.eth, name, original)


@pytest.fixture(scope="session", autouse=True)
def chain_id_asked_once():
    """web3's validation asks the node for its chain id before every call and transaction: a
    fifth of the suite's requests (1,157 -> 923 for the vault tests). The suite's node keeps its
    id, so web3 keeps it after the first answer (its request cache, for this method alone: cached
    blocks would outlive a revert). A test that moves the node to another id asks for
    ``chain_id_changes``."""
    provider = web3.provider
    saved = provider.cache_allowed_requests, provider.cacheable_requests
    provider.cacheable_requests = {"eth_chainId"}
    provider.cache_allowed_requests = True
    yield
    provider.cache_allowed_requests, provider.cacheable_requests = saved


@pytest.fixture
def chain_id_changes():
    """web3 asks the node for its chain id on every call again during the test (the id cached
    before it is the node's again once the test has moved it back)."""
    web3.provider.cache_allowed_requests = False
    yield
    web3.provider.cache_allowed_requests = True


@pytest.fixture(autouse=True)
def isolate(fn_isolation):
    """Every test starts from the state left by the module fixtures."""


@pytest.fixture
def batched_views():
    """``with brownie.multicall:`` reads the views called inside it in one ``eth_call`` (brownie's
    Multicall2, ``tryAggregate``), each result the same value a direct call returns (a call that
    reverts reads as None, which no invariant expects). The state machines read dozens of views
    after every step, one request each, and most of their time went to those requests. Deployed
    inside the test, after its snapshot, so ``fn_isolation`` removes it again."""
    brownie.multicall.deploy({"from": accounts[0]})
    yield
    brownie._config.CONFIG.active_network.pop("multicall2", None)


def account_fixture(index: int):
    """A module-scoped fixture of brownie's ``accounts[index]``."""

    @pytest.fixture(scope="module")
    def account():
        return accounts[index]

    return account


# The suite's named accounts, in brownie's order. The relayer submits readings and clears slots:
# anyone may, so it is an account without any role. The operator gets roles granted in role tests.
admin, alice, bob, carol, dave, agent, treasury, stranger, relayer, operator = (
    account_fixture(index) for index in range(10)
)


def aligned_epoch() -> int:
    """An epoch on a slot boundary, 100 slots in the past."""
    return (chain.time() // SLOT_SECONDS) * SLOT_SECONDS - 100 * SLOT_SECONDS


def market_params(treasury, **overrides):
    p = {
        "priceFloor": PRICE_FLOOR,
        "tickSize": TICK_SIZE,
        "maxTick": MAX_TICK,
        "settlementSeconds": SETTLEMENT_SECONDS,
        "openAheadSeconds": OPEN_AHEAD_SECONDS,
        "minOrderWh": MIN_ORDER_WH,
        "feeBps": FEE_BPS,
        "treasury": treasury,
    }
    p.update(overrides)
    return tuple(
        p[k]
        for k in (
            "priceFloor",
            "tickSize",
            "maxTick",
            "settlementSeconds",
            "openAheadSeconds",
            "minOrderWh",
            "feeBps",
            "treasury",
        )
    )


@pytest.fixture(scope="module")
def registry(admin, module_isolation):
    return MeterRegistry.deploy(
        admin, aligned_epoch(), SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin}
    )


@pytest.fixture(scope="module")
def token(registry):
    return EnergyToken.at(registry.token())


@pytest.fixture(scope="module")
def euro(admin, module_isolation):
    return TestEuro.deploy({"from": admin})


@pytest.fixture(scope="module")
def market(admin, euro, registry, treasury):
    return EnergyMarket.deploy(admin, euro, registry, market_params(treasury), {"from": admin})


@pytest.fixture(scope="module")
def pool(admin, euro, registry):
    """A CityPool on the module's registry, price grid and calendar (no communities yet)."""
    return deploy_pool(admin, euro, registry)


@pytest.fixture(scope="module")
def sealed(admin, euro, registry, treasury):
    return deploy_sealed(admin, euro, registry, treasury)


@pytest.fixture(scope="module")
def senv(registry, token, sealed, euro, admin, relayer, treasury):
    return SealedEnv(registry, token, sealed, euro, admin, relayer, treasury)


@pytest.fixture(scope="module")
def harness(admin, module_isolation):
    return ClearingHarness.deploy({"from": admin})


@pytest.fixture(scope="module")
def env(registry, token, market, euro, admin, relayer, treasury):
    return Env(registry, token, market, euro, admin, relayer, treasury)


@pytest.fixture
def slot(env):
    """A fresh trading slot; the chain stands 30 s after its end (tokens mintable, orders open)."""
    return env.trading_slot()


@pytest.fixture
def sslot(senv):
    """A fresh trading slot of the sealed market (see ``slot``)."""
    return senv.trading_slot()


@pytest.fixture
def meter(env, alice):
    """A meter of alice with no reading yet."""
    return env.new_meter(alice)


__all__ = ["brownie"]
