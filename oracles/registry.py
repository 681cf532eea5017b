"""The oracle's view of the MeterRegistry: domain, slot schedule, meters, batch submission.

:class:`RegistryGateway` is the interface the oracle needs; :class:`Web3Registry` implements it
over JSON-RPC with the protocol client (the ``energychain`` registry façade and event reader,
``wallet.TransactionSender``).
It connects lazily and drops its connection on any transport error, so a node that went away
and came back (or was restarted) is picked up again with fresh nonces.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import requests
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TransactionNotFound, Web3Exception

from chain.artifacts import load_artifact
from chain.connection import connect
from chain.errors import ChainError
from energychain.calendar import SlotCalendar
from energychain.contracts import revert_decoder
from energychain.events import EventReader
from energychain.meter_reading import Domain
from energychain.registry import Registry
from oracles.errors import SubmissionError
from oracles.readings import SignedReading
from oracles.validation import LastReading
from wallet.errors import WalletError
from wallet.signer import Signer
from wallet.transactions import TransactionSender, TxRequest

logger = logging.getLogger(__name__)

#: ``ReadingRejected.reason`` for a seq the registry has seen: accepted earlier, or skipped.
SEQ_NOT_INCREASING = "ReadingSeqNotIncreasing"


@dataclass(frozen=True)
class ChainMeter:
    """A meter as registered on chain.

    ``last`` is its last accepted reading, None without a baseline (never read, or its signer
    was rotated since); ``last_timestamp`` is the chain's ``lastTimestamp`` in every case (kept
    by a rotation: the next reading names it as its ``prevTimestamp``).
    """

    owner: str
    signer: str
    capacity_wh_per_slot: int
    active: bool
    last: LastReading | None
    last_timestamp: int = 0

    @property
    def registered(self) -> bool:
        return int(self.signer, 16) != 0


@dataclass(frozen=True)
class BatchOutcome:
    """What the registry did with a batch: ``results[(meter_id, seq)]`` is None if accepted."""

    tx_hash: str
    block_number: int
    results: dict[tuple[bytes, int], str | None]


class RegistryGateway(Protocol):
    def domain(self) -> Domain: ...

    def schedule(self) -> SlotCalendar: ...

    def chain_time(self) -> int: ...

    def meter(self, meter_id: bytes) -> ChainMeter: ...

    def submit(self, readings: list[SignedReading], archive_cid: bytes) -> BatchOutcome: ...

    def head(self) -> int: ...

    def landed_block(self, tx_hash: str, accepted: int) -> int | None: ...


_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    ChainError,
    WalletError,
    Web3Exception,
    ProviderConnectionError,
    requests.RequestException,
    OSError,
    TimeoutError,
)


class Web3Registry:
    """A :class:`RegistryGateway` over JSON-RPC; ``relayer`` pays for the batches."""

    def __init__(
        self,
        rpc_url: str,
        registry: str,
        relayer: Signer | None = None,
        *,
        from_block: int = 0,
        timeout: float = 10.0,
        receipt_timeout: float = 60.0,
        gas_per_reading: int | None = 90_000,
    ) -> None:
        self.rpc_url = rpc_url
        self.address = Web3.to_checksum_address(registry)
        self.relayer = relayer
        self.from_block = from_block
        self.timeout = timeout
        self.receipt_timeout = receipt_timeout
        self.gas_per_reading = gas_per_reading
        self._estimate_next = gas_per_reading is None
        self._artifact = load_artifact("MeterRegistry")
        self._decoder = revert_decoder()
        self._lock = threading.Lock()
        self._w3: Web3 | None = None
        self._handle: Registry | None = None
        self._sender: TransactionSender | None = None
        self._domain: Domain | None = None
        self._schedule: SlotCalendar | None = None

    # ------------------------------------------------------------------ connection
    def _connected(self) -> tuple[Web3, Registry]:
        if self._w3 is None or self._handle is None:
            w3 = connect(self.rpc_url, timeout=self.timeout)
            self._handle = Registry(w3, self._artifact, self.address, self._decoder)
            self._w3 = w3
        return self._w3, self._handle

    def reset(self) -> None:
        """Forget the connection and the nonce state (after any transport error)."""
        self._w3 = None
        self._handle = None
        self._sender = None

    def _guard(self, what: str, exc: BaseException) -> SubmissionError:
        self.reset()
        return SubmissionError(f"chain {self.rpc_url}: {what}: {_one_line(exc)}")

    @property
    def handle(self) -> Registry:
        return self._connected()[1]

    # ------------------------------------------------------------------ views
    def domain(self) -> Domain:
        if self._domain is None:
            with self._lock:
                try:
                    w3, _ = self._connected()
                    self._domain = Domain(int(w3.eth.chain_id), self.address)
                except _TRANSPORT_ERRORS as exc:
                    raise self._guard("reading the chain id", exc) from None
        return self._domain

    def schedule(self) -> SlotCalendar:
        if self._schedule is None:
            with self._lock:
                try:
                    self._schedule = self._connected()[1].calendar()
                except _TRANSPORT_ERRORS as exc:
                    raise self._guard("reading the slot schedule", exc) from None
        return self._schedule

    def max_clock_skew(self) -> int:
        with self._lock:
            try:
                return self._connected()[1].max_clock_skew()
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("reading the clock skew", exc) from None

    def chain_time(self) -> int:
        with self._lock:
            try:
                w3, _ = self._connected()
                return int(w3.eth.get_block("latest")["timestamp"])
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("reading the latest block", exc) from None

    def head(self) -> int:
        """The number of the chain's latest block."""
        with self._lock:
            try:
                return int(self._connected()[0].eth.block_number)
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("reading the head", exc) from None

    def landed_block(self, tx_hash: str, accepted: int) -> int | None:
        """The block holding ``tx_hash`` on the current chain; None when it is not there, or
        when it accepts fewer than the ``accepted`` readings it did when it landed: a
        reorganisation may include the same transaction in a block whose time refuses some
        (``ReadingInFuture``), or revert it."""
        with self._lock:
            try:
                w3, handle = self._connected()
                receipt = w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                # One of our transactions left the chain: the nonces we hold are stale.
                self._sender = None
                return None
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("looking up a batch transaction", exc) from None
        block = receipt.get("blockNumber")
        if block is None:
            self._sender = None
            return None
        if receipt.get("status") == 0 or len(handle.events(receipt, "ReadingAccepted")) < accepted:
            return None
        return int(block)

    def meter(self, meter_id: bytes) -> ChainMeter:
        with self._lock:
            try:
                m = self._connected()[1].meter(meter_id)
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("reading a meter", exc) from None
        last = (
            LastReading(m.last_seq, m.last_timestamp, m.last_import_wh, m.last_export_wh)
            if m.last_seq > 0
            else None
        )
        return ChainMeter(
            m.owner, m.signer, m.capacity_wh_per_slot, m.active, last, m.last_timestamp
        )

    # ------------------------------------------------------------------ submission
    def submit(self, readings: list[SignedReading], archive_cid: bytes) -> BatchOutcome:
        """``submitReadings`` and the fate of every reading (from the receipt's events)."""
        if self.relayer is None:
            raise SubmissionError("no relayer key is configured", retryable=False)
        with self._lock:
            try:
                w3, handle = self._connected()
                if self._sender is None:
                    self._sender = TransactionSender(
                        w3,
                        self.relayer,
                        decode_revert=self._decoder,
                        receipt_timeout=self.receipt_timeout,
                        poll_interval=0.02,
                    )
                # A known gas limit skips eth_estimateGas (a dry run of the whole batch, several
                # times over on anvil); after a revert the next try estimates, so an
                # out-of-gas cannot repeat.
                gas = (
                    None
                    if self._estimate_next or self.gas_per_reading is None
                    else 150_000 + self.gas_per_reading * len(readings)
                )
                request: TxRequest = handle.submit_readings(
                    [r.reading.as_tuple() for r in readings],
                    [r.signature for r in readings],
                    archive_cid,
                    gas=gas,
                )
                try:
                    receipt = self._sender.transact(request)
                except WalletError:
                    self._estimate_next = True
                    raise
                self._estimate_next = self.gas_per_reading is None
                accepted = handle.events(receipt, "ReadingAccepted")
                rejected = handle.events(receipt, "ReadingRejected")
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("submitReadings", exc) from None
            results: dict[tuple[bytes, int], str | None] = {}
            for log in accepted:
                results[(bytes(log["args"]["meterId"]), int(log["args"]["seq"]))] = None
            for log in rejected:
                key = (bytes(log["args"]["meterId"]), int(log["args"]["seq"]))
                reason = self._decoder.error_name(bytes(log["args"]["reason"])) or "unknown"
                results[key] = reason
            sent = {(r.reading.meter_id, r.reading.seq): r.reading.timestamp for r in readings}
            try:
                self._resolve_resends(handle, results, sent)
            except _TRANSPORT_ERRORS as exc:
                raise self._guard("looking up earlier acceptances", exc) from None
        return BatchOutcome(
            receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"]), results
        )

    def _resolve_resends(
        self,
        handle: Registry,
        results: dict[tuple[bytes, int], str | None],
        sent: dict[tuple[bytes, int], int],
    ) -> None:
        """A reading rejected as "not increasing" that the chain accepted before is accepted.

        That is the resend of a batch whose receipt was lost (crash, node restart). A reading
        is known by its seq *and* timestamp (``sent``: the batch's timestamp per meter and
        seq): rotating a meter's signer restarts its sequence, so the same seq may have been
        accepted before the rotation for another reading; a meter's timestamps only grow, across
        rotations too (the registry keeps the last one), so (seq, timestamp) names one reading.
        """
        events = EventReader(handle)
        for meter_id in {m for (m, _), reason in results.items() if reason == SEQ_NOT_INCREASING}:
            logs = events.read("ReadingAccepted", self.from_block, filters={"meterId": meter_id})
            seen = {(int(log["args"]["seq"]), int(log["args"]["timestamp"])) for log in logs}
            for key, reason in list(results.items()):
                if (
                    key[0] == meter_id
                    and reason == SEQ_NOT_INCREASING
                    and (key[1], sent.get(key)) in seen
                ):
                    results[key] = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}"
