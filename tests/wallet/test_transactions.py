"""The transaction pipeline against a real anvil node."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess
from devchain.control import DevChain
from wallet.errors import (
    FeeCapExceededError,
    InsufficientFundsError,
    SignerError,
    TransactionError,
)
from wallet.fees import FeePolicy
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender, TxRequest

RECIPIENT = Web3.to_checksum_address("0x000000000000000000000000000000000000dEaD")


def _sender(node: AnvilProcess, **kwargs: Any) -> TransactionSender:
    return TransactionSender(connect(node.rpc_url), LocalKeySigner(ANVIL_DEV_KEYS[1]), **kwargs)


def test_fifty_concurrent_sends_from_one_key_get_unique_nonces(anvil: AnvilProcess) -> None:
    sender = _sender(anvil)
    request = TxRequest(to=RECIPIENT, value=1, gas=21_000)
    with ThreadPoolExecutor(max_workers=10) as pool:
        receipts = list(pool.map(lambda _: sender.transact(request), range(50)))
    w3 = sender.w3
    nonces = sorted(int(w3.eth.get_transaction(r["transactionHash"])["nonce"]) for r in receipts)
    assert nonces == list(range(50))
    assert all(r["status"] == 1 for r in receipts)
    assert w3.eth.get_balance(RECIPIENT) == 50


class _FlakySigner(LocalKeySigner):
    """Fails to sign the n-th transaction, like a process killed mid-send."""

    def __init__(self, key: str, fail_on: int) -> None:
        super().__init__(key)
        self.calls = 0
        self.fail_on = fail_on

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        self.calls += 1
        if self.calls == self.fail_on:
            raise SignerError("device unplugged")
        return super().sign_transaction(tx)


def test_a_failed_send_leaves_no_nonce_gap(anvil: AnvilProcess) -> None:
    signer = _FlakySigner(ANVIL_DEV_KEYS[2], fail_on=2)
    sender = TransactionSender(connect(anvil.rpc_url), signer)
    request = TxRequest(to=RECIPIENT, value=1, gas=21_000)
    sender.transact(request)
    with pytest.raises(SignerError):
        sender.send(request)
    receipt = sender.transact(request)
    assert sender.nonces.gaps == []
    assert int(sender.w3.eth.get_transaction(receipt["transactionHash"])["nonce"]) == 1
    assert sender.w3.eth.get_transaction_count(signer.address) == 2


def test_fee_cap_below_the_base_fee_refuses_before_signing(anvil: AnvilProcess) -> None:
    sender = _sender(anvil, fee_policy=FeePolicy(max_fee_cap=1))
    with pytest.raises(FeeCapExceededError):
        sender.transact(TxRequest(to=RECIPIENT, value=1, gas=21_000))
    assert sender.w3.eth.get_transaction_count(sender.address) == 0


def test_sent_fees_respect_the_cap(anvil: AnvilProcess) -> None:
    base = int(connect(anvil.rpc_url).eth.get_block("latest")["baseFeePerGas"])
    cap = base * 2  # room for the base fee, less than the default 2*base + tip
    sender = _sender(anvil, fee_policy=FeePolicy(max_fee_cap=cap))
    receipt = sender.transact(TxRequest(to=RECIPIENT, value=1, gas=21_000))
    tx = sender.w3.eth.get_transaction(receipt["transactionHash"])
    assert tx["maxFeePerGas"] <= cap


def test_insufficient_funds_is_a_clear_error(anvil: AnvilProcess) -> None:
    sender = TransactionSender(connect(anvil.rpc_url), LocalKeySigner.random())
    with pytest.raises(InsufficientFundsError, match=sender.address):
        sender.transact(TxRequest(to=RECIPIENT, value=1, gas=21_000))
    assert sender.nonces.gaps == []


def test_batch_sends_all_and_returns_receipts_in_order(anvil: AnvilProcess) -> None:
    sender = _sender(anvil)
    requests = [TxRequest(to=RECIPIENT, value=i + 1, gas=21_000) for i in range(30)]
    receipts = sender.send_batch(requests)
    values = [int(sender.w3.eth.get_transaction(r["transactionHash"])["value"]) for r in receipts]
    assert values == list(range(1, 31))


def test_batch_with_a_refused_transaction_fills_its_nonce_and_names_it(anvil: AnvilProcess) -> None:
    sender = _sender(anvil)
    balance = int(sender.w3.eth.get_balance(sender.address))
    requests = [
        TxRequest(to=RECIPIENT, value=1, gas=21_000),
        TxRequest(to=RECIPIENT, value=balance * 2, gas=21_000),  # refused: insufficient funds
        TxRequest(to=RECIPIENT, value=1, gas=21_000),
    ]
    with pytest.raises(TransactionError, match="refused 1 of 3"):
        sender.send_batch(requests)
    # all three nonces are used (the refused one by a self-transfer): nothing is stuck
    assert sender.w3.eth.get_transaction_count(sender.address) == 3
    assert sender.w3.eth.get_balance(RECIPIENT) == 2


def _rpc(sender: TransactionSender, method: str, *params: Any) -> Any:
    return sender.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def test_a_batch_whose_receipts_stall_hands_its_unmined_transactions_to_on_stall(
    anvil: AnvilProcess,
) -> None:
    stalls: list[tuple[str, list[bytes]]] = []

    def mine(address: str, raws: Sequence[bytes]) -> None:
        stalls.append((address, list(raws)))
        _rpc(sender, "evm_mine")

    sender = _sender(anvil, on_stall=mine, stall_seconds=0.2, receipt_timeout=30)
    _rpc(sender, "evm_setAutomine", False)  # a node that leaves the batch unmined
    receipts = sender.send_batch([TxRequest(to=RECIPIENT, value=1, gas=21_000)] * 3)
    assert [r["status"] for r in receipts] == [1, 1, 1]
    assert len(stalls) == 1  # one mined block took all three
    address, raws = stalls[0]
    assert address == sender.address
    # the signed transactions themselves, in nonce order
    assert [Web3.keccak(raw) for raw in raws] == [r["transactionHash"] for r in receipts]


def test_dev_chain_resubmit_mines_transactions_left_queued_behind_a_nonce(
    anvil: AnvilProcess,
) -> None:
    # anvil's race (foundry-rs/foundry#10122) cannot be forced; the state it leaves can:
    # transactions filed as queued behind a nonce, refused as "already imported" when sent again
    w3 = connect(anvil.rpc_url)
    signer = LocalKeySigner(ANVIL_DEV_KEYS[3])
    start = w3.eth.get_transaction_count(signer.address)
    raws = [
        signer.sign_transaction(
            {
                "to": RECIPIENT,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 10**11,
                "maxPriorityFeePerGas": 10**9,
                "nonce": start + i,
                "chainId": w3.eth.chain_id,
            }
        )
        for i in range(3)
    ]
    for raw in raws[1:]:
        w3.eth.send_raw_transaction(raw)
    assert int(w3.provider.make_request("txpool_status", [])["result"]["queued"], 16) == 2  # type: ignore[arg-type]
    DevChain(w3).resubmit(signer.address, raws)
    assert w3.eth.get_transaction_count(signer.address) == start + 3
    assert all(w3.eth.get_transaction_receipt(Web3.keccak(raw))["status"] == 1 for raw in raws)


def test_a_batch_whose_receipts_stall_without_on_stall_times_out(anvil: AnvilProcess) -> None:
    sender = _sender(anvil, receipt_timeout=0.5)
    _rpc(sender, "evm_setAutomine", False)
    with pytest.raises(TransactionError, match="3 receipts missing"):
        sender.send_batch([TxRequest(to=RECIPIENT, value=1, gas=21_000)] * 3)


def test_stuck_transaction_is_replaced_with_bumped_fees(anvil: AnvilProcess) -> None:
    sender = _sender(anvil)
    _rpc(sender, "evm_setAutomine", False)
    stuck = sender.send(TxRequest(to=RECIPIENT, value=1, gas=21_000))
    replacement = sender.replace(stuck)
    _rpc(sender, "evm_mine")
    w3 = sender.w3
    assert w3.eth.get_transaction_receipt(replacement)["status"] == 1
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(stuck)  # dropped: the replacement took its nonce
    assert w3.eth.get_transaction(replacement)["nonce"] == 0
    assert w3.eth.get_transaction_count(sender.address) == 1
    assert w3.eth.get_balance(RECIPIENT) == 1


def test_replacement_above_the_fee_cap_is_refused(anvil: AnvilProcess) -> None:
    base = int(connect(anvil.rpc_url).eth.get_block("latest")["baseFeePerGas"])
    sender = _sender(anvil, fee_policy=FeePolicy(max_fee_cap=base * 2 + 1))
    _rpc(sender, "evm_setAutomine", False)
    stuck = sender.send(TxRequest(to=RECIPIENT, value=1, gas=21_000))
    with pytest.raises(FeeCapExceededError):
        sender.replace(stuck, bump=2.0)


def test_a_transaction_mined_just_as_it_is_replaced_is_returned_not_an_error(
    anvil: AnvilProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = _sender(anvil)
    _rpc(sender, "evm_setAutomine", False)
    replace = sender.replace

    def mined_first(tx_hash: HexBytes, **kwargs: Any) -> HexBytes:
        _rpc(sender, "evm_mine")  # the original is mined the moment before its replacement
        return replace(tx_hash, **kwargs)

    monkeypatch.setattr(sender, "replace", mined_first)
    receipt = sender.transact_until_mined(
        TxRequest(to=RECIPIENT, value=1, gas=21_000), replace_after=0.1
    )
    assert receipt["status"] == 1
    assert sender.w3.eth.get_transaction_count(sender.address) == 1


def test_transaction_not_mined_in_time_is_bumped_until_it_is(anvil: AnvilProcess) -> None:
    sender = _sender(anvil)
    _rpc(sender, "evm_setAutomine", False)
    timer = threading.Timer(0.8, lambda: _rpc(sender, "evm_mine"))
    timer.start()
    try:
        receipt = sender.transact_until_mined(
            TxRequest(to=RECIPIENT, value=1, gas=21_000), replace_after=0.3
        )
    finally:
        timer.join()
    mined = sender.w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["maxPriorityFeePerGas"] > sender.fees().max_priority_fee_per_gas
    assert sender.w3.eth.get_transaction_count(sender.address) == 1
