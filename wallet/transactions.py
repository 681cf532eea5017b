"""The transaction pipeline: build, price, sign locally, send raw, wait, decode reverts.

web3.py's ``transact()`` costs about ten RPC calls per transaction (chain id, nonce, gas,
fees, ...). Here the chain id is read once, nonces come from a local :class:`NonceManager`,
fees from one ``eth_feeHistory`` per :attr:`TransactionSender.fee_ttl_seconds`, and gas from
``eth_estimateGas`` with a margin unless the caller knows it: a sequential send is two calls
(estimate, send) plus the receipt poll, and a batch can skip the estimate.

A revert is decoded by the ``decode_revert`` callable the caller passes (``chain`` passes one
built from the contracts' ABIs), so errors arrive as named Python exceptions.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3._utils.method_formatters import receipt_formatter  # same formatter as web3
from web3.datastructures import AttributeDict
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from wallet.errors import (
    FeeCapExceededError,
    InsufficientFundsError,
    TransactionError,
    TransactionRevertedError,
)
from wallet.fees import FeePolicy, Fees, fees_from_history
from wallet.nonces import NonceManager
from wallet.signer import Signer

log = logging.getLogger(__name__)

DecodeRevert = Callable[[bytes], Exception | None]
"""Turns revert bytes into a named error (``chain.reverts.RevertDecoder`` is one)."""


def revert_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean "the call reverted": JSON-RPC nodes and the in-process eth-tester.

    eth-tester's ``TransactionFailed`` can only be raised once eth-tester is loaded (by the
    in-process chain), so it is looked up rather than imported: importing it loads py-evm, about
    a second of every command's start-up.
    """
    tester = sys.modules.get("eth_tester.exceptions")
    return (ContractLogicError, tester.TransactionFailed) if tester else (ContractLogicError,)


_TESTER_REVERT = re.compile(r"execution reverted: (b'.*'|b\".*\")$", re.DOTALL)


@dataclass(frozen=True)
class TxRequest:
    """What to send: a call (``to`` + ``data``), a deployment (``to`` None), or a payment."""

    to: ChecksumAddress | None
    data: bytes = b""
    value: int = 0
    gas: int | None = None


class TransactionSender:
    """Sends transactions from one :class:`Signer`; safe to share between threads."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        *,
        fee_policy: FeePolicy | None = None,
        gas_margin: float = 1.25,
        decode_revert: DecodeRevert | None = None,
        fee_ttl_seconds: float = 2.0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.05,
        on_stall: Callable[[str, Sequence[bytes]], None] | None = None,
        stall_seconds: float = 10.0,
    ) -> None:
        """``on_stall(sender, raws)`` is called when a wait for a batch's receipts has seen none
        arrive for ``stall_seconds``, with the signed transactions still unmined, in nonce order.
        A dev node needs it: anvil, taking a JSON-RPC batch of transactions concurrently, can file
        some of them as "queued" (waiting for an earlier nonce) after that nonce was mined, and
        never promotes them, whatever is mined later (foundry-rs/foundry#10122; seen under load
        in our CI). Sending them again is refused as "already imported";
        :meth:`devchain.control.DevChain.resubmit` drops them from the pool and sends them
        again, one by one."""
        self.w3 = w3
        self.signer = signer
        self.fee_policy = fee_policy or FeePolicy()
        self.gas_margin = gas_margin
        self.decode_revert = decode_revert
        self.fee_ttl_seconds = fee_ttl_seconds
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.on_stall = on_stall
        self.stall_seconds = stall_seconds
        self.chain_id = int(w3.eth.chain_id)
        self.nonces = NonceManager(
            lambda: int(w3.eth.get_transaction_count(signer.address, "pending"))
        )
        self._fees: tuple[float, Fees] | None = None
        self._fee_lock = threading.Lock()

    @property
    def address(self) -> ChecksumAddress:
        return self.signer.address

    # ------------------------------------------------------------------ pricing and gas
    def fees(self) -> Fees:
        """Current EIP-1559 fees under the policy's caps (cached for ``fee_ttl_seconds``)."""
        with self._fee_lock:
            now = time.monotonic()
            if self._fees is None or now - self._fees[0] > self.fee_ttl_seconds:
                history = dict(
                    self.w3.eth.fee_history(
                        self.fee_policy.blocks, "latest", [self.fee_policy.reward_percentile]
                    )
                )
                if not history.get("baseFeePerGas"):
                    # Some nodes (eth-tester) answer with empty lists: price from the head block.
                    head = self.w3.eth.get_block("latest")
                    history = {"baseFeePerGas": [int(head.get("baseFeePerGas", 0))], "reward": []}
                self._fees = (now, fees_from_history(history, self.fee_policy))
            return self._fees[1]

    def _call_params(self, req: TxRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"from": self.address, "value": req.value, "data": req.data}
        if req.to is not None:
            params["to"] = req.to
        return params

    def estimate_gas(self, req: TxRequest) -> int:
        """``eth_estimateGas`` plus the margin; a revert raises its error, spends nothing."""
        try:
            estimate = int(self.w3.eth.estimate_gas(self._call_params(req)))  # type: ignore[arg-type]
        except revert_errors() as exc:
            raise self._revert_error(exc, "dry run reverted") from None
        except Web3RPCError as exc:
            raise self._rpc_error(exc) from None
        return int(estimate * self.gas_margin)

    def call(self, req: TxRequest, block: int | str = "latest") -> bytes:
        """A dry run (``eth_call``) of ``req`` from this account; reverts raise decoded errors."""
        try:
            return bytes(self.w3.eth.call(self._call_params(req), block))  # type: ignore[arg-type]
        except revert_errors() as exc:
            raise self._revert_error(exc, "call reverted") from None

    # ------------------------------------------------------------------ sending
    def _sign(self, req: TxRequest, gas: int, nonce: int, fees: Fees) -> bytes:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "value": req.value,
            "data": req.data,
            "type": 2,
        }
        if req.to is not None:
            tx["to"] = req.to
        return self.signer.sign_transaction(tx)

    def send(self, req: TxRequest, *, fees: Fees | None = None) -> HexBytes:
        """Sign and send ``req``; returns the hash once the node accepted it.

        Gas comes from ``req.gas`` or an estimate (which also dry-runs the call). On "nonce too
        low" the nonce manager resyncs and the send is tried once more; any other failure gives
        the nonce back, so no gap is left.
        """
        gas = req.gas if req.gas is not None else self.estimate_gas(req)
        fees = fees or self.fees()
        for attempt in (1, 2):
            nonce = self.nonces.reserve()
            try:
                raw = self._sign(req, gas, nonce, fees)
                return HexBytes(self.w3.eth.send_raw_transaction(raw))
            except Web3RPCError as exc:
                message = str(exc).lower()
                if "nonce too low" in message and attempt == 1:
                    self.nonces.resync()
                    continue
                if "already known" in message:
                    return HexBytes(Web3.keccak(raw))
                self.nonces.release(nonce)
                raise self._rpc_error(exc) from None
            except BaseException:
                self.nonces.release(nonce)
                raise
        raise TransactionError("nonce too low twice in a row: another sender uses this key")

    def wait(self, tx_hash: HexBytes, req: TxRequest | None = None) -> TxReceipt:
        """Wait for the receipt; a failed transaction raises its decoded revert."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_interval
            )
        except TimeExhausted:
            raise TransactionError(
                f"no receipt for {tx_hash.to_0x_hex()} after {self.receipt_timeout:.0f} s"
            ) from None
        if receipt["status"] != 1:
            raise self._mined_revert(receipt, req)
        return receipt

    def transact(self, req: TxRequest) -> TxReceipt:
        """Send ``req`` and wait for a successful receipt."""
        return self.wait(self.send(req), req)

    def replace(self, tx_hash: HexBytes, *, bump: float = 1.125) -> HexBytes:
        """Resend a stuck transaction with the same nonce and fees raised by ``bump``.

        Nodes accept a replacement only if both fees rise by at least 10 %; the default 12.5 %
        clears that with margin. The new fees never exceed the policy's caps: when the cap
        leaves no room for the bump, :class:`FeeCapExceededError` says so and nothing is sent.
        """
        if bump < 1.1:
            raise TransactionError(f"a replacement needs a fee bump of at least 1.1, not {bump}")
        old = self.w3.eth.get_transaction(tx_hash)
        if old.get("blockNumber") is not None:
            raise TransactionError(f"{tx_hash.to_0x_hex()} is already mined: nothing to replace")
        tip = max(int(old["maxPriorityFeePerGas"] * bump) + 1, self.fees().max_priority_fee_per_gas)
        max_fee = max(int(old["maxFeePerGas"] * bump) + 1, self.fees().max_fee_per_gas, tip)
        cap = self.fee_policy.max_fee_cap
        if cap is not None and max_fee > cap:
            raise FeeCapExceededError(
                f"replacing {tx_hash.to_0x_hex()} needs {max_fee} wei/gas, above the cap {cap}"
            )
        request = TxRequest(
            to=old.get("to"), data=bytes(old["input"]), value=int(old["value"]), gas=old["gas"]
        )
        raw = self._sign(request, int(old["gas"]), int(old["nonce"]), Fees(max_fee, tip))
        try:
            return HexBytes(self.w3.eth.send_raw_transaction(raw))
        except Web3RPCError as exc:
            raise self._rpc_error(exc) from None

    def transact_until_mined(
        self, req: TxRequest, *, replace_after: float, max_replacements: int = 3
    ) -> TxReceipt:
        """Send ``req``; if it is not mined within ``replace_after`` seconds, bump its fees.

        Every replacement keeps the nonce, so at most one of the versions is ever mined; the
        receipt of whichever one was is returned.
        """
        sent = [self.send(req)]
        for attempt in range(max_replacements + 1):
            receipt = self._first_mined(sent, req, replace_after)
            if receipt is not None:
                return receipt
            if attempt < max_replacements:
                try:
                    sent.append(self.replace(sent[-1]))
                except TransactionError:
                    # Mined between the last look and the replacement: the node refuses the
                    # replacement ("nonce too low", or nothing left to replace).
                    receipt = self._first_mined(sent, req, replace_after)
                    if receipt is None:
                        raise
                    return receipt
        raise TransactionError(
            f"not mined after {max_replacements} fee bumps: {sent[-1].to_0x_hex()} is pending"
        )

    def _first_mined(
        self, sent: Sequence[HexBytes], req: TxRequest, seconds: float
    ) -> TxReceipt | None:
        """The receipt of whichever of ``sent`` (versions of ``req``) is mined within
        ``seconds``, or None; :class:`TransactionError` if it reverted."""
        deadline = time.monotonic() + seconds
        while True:
            for tx_hash in sent:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    continue
                if receipt["status"] != 1:
                    raise self._mined_revert(receipt, req)
                return receipt
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll_interval)

    def send_batch(self, reqs: Sequence[TxRequest]) -> list[TxReceipt]:
        """Send every request and wait for all receipts; receipts come in request order.

        Over HTTP the signed transactions go out in one JSON-RPC batch and receipts are polled
        in batches (two round trips for the lot, instead of two per transaction); elsewhere
        (the in-process chain) they are sent one by one. Requests without ``gas`` are estimated
        against the state before the batch: pass ``gas`` for calls that depend on earlier ones.

        A batch whose gas limits add up to more than one block holds goes out in block-sized
        parts, each waited for before the next: a node that mines on demand (anvil's automine)
        would otherwise leave the remainder pending until some later transaction arrives.

        If the node refuses some transactions, their nonces are filled with zero-value
        self-transfers (so the accepted ones behind them still mine), the accepted ones are
        waited for, and :class:`TransactionError` names the refused ones.
        """
        if not reqs:
            return []
        gases = [req.gas if req.gas is not None else self.estimate_gas(req) for req in reqs]
        block_gas = int(self.w3.eth.get_block("latest")["gasLimit"])
        receipts: list[TxReceipt] = []
        start = 0
        while start < len(reqs):
            end, used = start, 0
            while end < len(reqs) and (end == start or used + gases[end] <= block_gas):
                used += gases[end]
                end += 1
            receipts.extend(self._send_part(reqs[start:end], gases[start:end]))
            start = end
        return receipts

    def _send_part(self, reqs: Sequence[TxRequest], gases: Sequence[int]) -> list[TxReceipt]:
        """:meth:`send_batch` for requests that fit in one block, with their gas limits."""
        if not hasattr(self.w3.provider, "make_batch_request") or not isinstance(
            self.w3.provider, HTTPProvider
        ):
            fees = self.fees()
            sent = [
                self.send(TxRequest(req.to, req.data, req.value, gas), fees=fees)
                for req, gas in zip(reqs, gases, strict=True)
            ]
            return [self.wait(h, req) for h, req in zip(sent, reqs, strict=True)]

        fees = self.fees()
        signed: list[tuple[int, bytes]] = []
        try:
            for req, gas in zip(reqs, gases, strict=True):
                nonce = self.nonces.reserve()
                signed.append((nonce, b""))
                signed[-1] = (nonce, self._sign(req, gas, nonce, fees))
        except BaseException:
            for nonce, _ in reversed(signed):
                self.nonces.release(nonce)
            raise
        answers = self._rpc_batch(
            [("eth_sendRawTransaction", ["0x" + raw.hex()]) for _, raw in signed]
        )
        refused: list[str] = []
        accepted: list[bytes] = []
        for (nonce, raw), answer in zip(signed, answers, strict=True):
            error = answer.get("error")
            if error is None or _already_in_pool(str(error.get("message", ""))):
                accepted.append(raw)
                continue
            refused.append(f"nonce {nonce}: {error.get('message', error)}")
            self._fill_nonce(nonce, fees)
        receipts = self._wait_all(accepted)
        if refused:
            raise TransactionError(
                f"the node refused {len(refused)} of {len(reqs)} transactions: {refused[0]}"
            )
        for receipt, req in zip(receipts, reqs, strict=True):
            if receipt["status"] != 1:
                raise self._mined_revert(receipt, req)
        return receipts

    def _rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        provider: Any = self.w3.provider
        answers: list[dict[str, Any]] = []
        for start in range(0, len(calls), 500):  # keep each HTTP body a reasonable size
            answers.extend(dict(a) for a in provider.make_batch_request(calls[start : start + 500]))
        return answers

    def _fill_nonce(self, nonce: int, fees: Fees) -> None:
        """Use ``nonce`` for a zero-value self-transfer, so later nonces are not stuck."""
        raw = self._sign(TxRequest(to=self.address, gas=21_000), 21_000, nonce, fees)
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Web3RPCError:
            self.nonces.resync()

    def _wait_all(self, raws: list[bytes]) -> list[TxReceipt]:
        """The receipts of the signed transactions ``raws`` (in nonce order), in their order."""
        hashes = [HexBytes(Web3.keccak(raw)) for raw in raws]
        found: dict[HexBytes, TxReceipt] = {}
        deadline = time.monotonic() + self.receipt_timeout
        progressed = time.monotonic()
        while len(found) < len(hashes):
            missing = [h for h in hashes if h not in found]
            answers = self._rpc_batch(
                [("eth_getTransactionReceipt", [h.to_0x_hex()]) for h in missing]
            )
            for tx_hash, answer in zip(missing, answers, strict=True):
                if answer.get("result"):
                    found[tx_hash] = _format_receipt(answer["result"])
                    progressed = time.monotonic()
            if len(found) < len(hashes):
                if self.on_stall is not None and time.monotonic() - progressed > self.stall_seconds:
                    log.warning(
                        "%d receipts missing for %.0f s: nudging the node",
                        len(hashes) - len(found),
                        self.stall_seconds,
                    )
                    unmined = [raw for raw, h in zip(raws, hashes, strict=True) if h not in found]
                    self.on_stall(self.address, unmined)
                    progressed = time.monotonic()
                if time.monotonic() > deadline:
                    raise TransactionError(
                        f"{len(hashes) - len(found)} receipts missing after "
                        f"{self.receipt_timeout:.0f} s"
                    )
                time.sleep(self.poll_interval)
        return [found[h] for h in hashes]

    # ------------------------------------------------------------------ errors
    def _revert_error(self, exc: Exception, what: str) -> TransactionRevertedError:
        data = revert_data(exc)
        reason = self.decode_revert(data) if self.decode_revert and data is not None else None
        detail = str(reason) if reason is not None else str(exc)
        return TransactionRevertedError(f"{what}: {detail}", reason=reason)

    def _rpc_error(self, exc: Web3RPCError) -> TransactionError:
        message = exc.message or str(exc)
        if "insufficient funds" in message.lower():
            return InsufficientFundsError(f"{self.address}: {message}")
        return TransactionError(message)

    def _mined_revert(self, receipt: TxReceipt, req: TxRequest | None) -> TransactionError:
        tx_hash = receipt["transactionHash"].to_0x_hex()
        if req is not None:
            # Replay the call on the block's state to recover the revert data.
            try:
                self.w3.eth.call(
                    {**self._call_params(req), "gas": receipt["gasUsed"] * 2},  # type: ignore[typeddict-item]
                    receipt["blockNumber"] - 1,
                )
            except revert_errors() as exc:
                error = self._revert_error(exc, f"transaction {tx_hash} reverted")
                error.tx_hash = tx_hash
                return error
            except Web3RPCError:
                pass
        return TransactionRevertedError(f"transaction {tx_hash} reverted", tx_hash=tx_hash)


def _already_in_pool(message: str) -> bool:
    """Whether a node's refusal of a transaction says it holds that very transaction already
    (geth: "already known"; anvil: "transaction already imported")."""
    lowered = message.lower()
    return "already known" in lowered or "already imported" in lowered


def _format_receipt(raw: dict[str, Any]) -> TxReceipt:
    """A raw JSON-RPC receipt in the shape ``w3.eth.get_transaction_receipt`` returns."""
    formatted: TxReceipt = AttributeDict.recursive(receipt_formatter(raw))
    return formatted


def revert_data(exc: Exception) -> bytes | None:
    """The raw revert bytes carried by a failed call, if the node returned them.

    JSON-RPC nodes put them in ``ContractLogicError.data``; web3's eth-tester provider only
    keeps them as the ``repr`` of a bytes object inside its message, which is parsed back.
    """
    if isinstance(exc, ContractLogicError):
        return _revert_bytes(exc.data)
    match = _TESTER_REVERT.search(str(exc))
    if match is None:
        return None
    try:
        value = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


def _revert_bytes(data: Any) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        text = data[2:] if data.startswith("0x") else data
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    if isinstance(data, dict) and "data" in data:
        return _revert_bytes(data["data"])
    return None
