"""Transactions per second through the pipeline (``wallet.TransactionSender``) on anvil.

Three figures, one key each, on a fresh anvil:
- ``sequential_estimated_tx_per_s``: send + wait one at a time, gas estimated (a dry run each);
- ``sequential_tx_per_s``: send + wait one at a time with a known gas limit;
- ``batch_tx_per_s``: ``send_batch`` of N (consecutive nonces, one fee quote, then all receipts).

and the reads every agent, keeper and check makes, on a fresh sandbox (the contracts deployed):
- ``contract_reads_per_s``: ``Market.clearing`` (one struct) through
  :class:`energychain.contracts.ContractHandle`, as the agents read it every slot;
- ``web3_contract_reads_per_s``: the same read through web3's ``ContractFunction.call`` (which
  validates the whole ABI on every call) on the project's connection (the chain id kept);
- ``plain_web3_contract_reads_per_s``: the same on a default ``Web3(HTTPProvider(url))``, which
  asks the node for its chain id twice per call: what the project did before;
- ``read_cpu_ms``: the Python CPU time of one read by each (this process, the node not counted).
"""

from __future__ import annotations

import time
from typing import Any, cast

from web3 import HTTPProvider, Web3

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender, TxRequest

SINK = Web3.to_checksum_address("0x000000000000000000000000000000000000dEaD")


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def reads(count: int) -> dict[str, Any]:
    """Contract reads per second through the handle and through web3 (module docstring),
    alternated twice so that a noisy machine weighs on both alike."""
    from devchain.sandbox import Sandbox  # deploys the contracts: only for this figure

    with Sandbox.on_anvil() as sandbox:
        handle = sandbox.contracts.market
        slot = sandbox.calendar.slot_of(sandbox.dev.now())

        def by_handle() -> Any:
            return handle.call("clearing", slot)

        def by_web3() -> Any:
            return handle.contract.functions["clearing"](slot).call()

        rpc_url = str(cast(HTTPProvider, sandbox.w3.provider).endpoint_uri)
        plain = Web3(Web3.HTTPProvider(rpc_url)).eth.contract(
            address=handle.address, abi=handle.abi
        )

        def by_plain_web3() -> Any:
            return plain.functions["clearing"](slot).call()

        if not by_handle() == by_web3() == by_plain_web3():
            raise AssertionError("the handle and web3 decode clearing() differently")
        ways = {"handle": by_handle, "web3": by_web3, "plain_web3": by_plain_web3}
        wall = dict.fromkeys(ways, 0.0)
        cpu = dict.fromkeys(ways, 0.0)
        for _ in range(2):
            for name, read in ways.items():
                began, began_cpu = time.perf_counter(), time.process_time()
                for _ in range(count):
                    read()
                wall[name] += time.perf_counter() - began
                cpu[name] += time.process_time() - began_cpu
    return {
        "reads": 2 * count,
        "contract_reads_per_s": _rate(2 * count, wall["handle"]),
        "web3_contract_reads_per_s": _rate(2 * count, wall["web3"]),
        "plain_web3_contract_reads_per_s": _rate(2 * count, wall["plain_web3"]),
        "read_cpu_ms": {name: round(cpu[name] / (2 * count) * 1e3, 2) for name in ways},
    }


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
        **reads(count),
        "node": "anvil 1.7.1 (automine)",
    }
