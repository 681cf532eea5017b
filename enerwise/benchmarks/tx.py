"""Transactions per second through the pipeline (``wallet.TransactionSender``) on anvil.

Three figures, one key each, on a fresh anvil:
- ``sequential_estimated_tx_per_s``: send + wait one at a time, gas estimated (a dry run each);
- ``sequential_tx_per_s``: send + wait one at a time with a known gas limit;
- ``batch_tx_per_s``: ``send_batch`` of N (consecutive nonces, one fee quote, then all receipts).
"""

from __future__ import annotations

import time
from typing import Any

from web3 import Web3

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender, TxRequest

SINK = Web3.to_checksum_address("0x000000000000000000000000000000000000dEaD")


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def run(count: int = 200) -> dict[str, Any]:
    with start_anvil() as node:
        w3 = connect(node.rpc_url)
        sender = TransactionSender(w3, LocalKeySigner(ANVIL_DEV_KEYS[3]), poll_interval=0.005)
        estimated = TxRequest(to=SINK, value=1)
        known = TxRequest(to=SINK, value=1, gas=21_000)

        started = time.perf_counter()
        for _ in range(count):
            sender.transact(estimated)
        sequential_estimated = time.perf_counter() - started

        started = time.perf_counter()
        for _ in range(count):
            sender.transact(known)
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        receipts = sender.send_batch([known] * count)
        batch = time.perf_counter() - started
        assert all(r["status"] == 1 for r in receipts)
        sent = int(w3.eth.get_transaction_count(sender.address))
    return {
        "transactions": count,
        "sequential_estimated_tx_per_s": _rate(count, sequential_estimated),
        "sequential_tx_per_s": _rate(count, sequential),
        "batch_tx_per_s": _rate(count, batch),
        "nonces_used": sent,
        "node": "anvil 1.7.1 (automine)",
    }
