"""RemoteSigner: signing over JSON-RPC against anvil's unlocked dev accounts, and refusing
answers from a remote signer that signed something else."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, free_port
from energychain.meter_reading import meter_reading_typed_data
from wallet.errors import SignerError
from wallet.remote_signer import RemoteSigner, redact_url, tx_to_rpc
from wallet.signer import LocalKeySigner, Signer
from wallet.transactions import TransactionSender, TxRequest
from wallet.typed_data import recover_typed_data_signer

ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil dev account 1 (unlocked)
ACCOUNT_2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def payment(nonce: int = 0, value: int = 12_345) -> dict[str, Any]:
    return {
        "chainId": 31337,
        "nonce": nonce,
        "gas": 21_000,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 1,
        "to": ACCOUNT_2,
        "value": value,
        "data": b"",
        "type": 2,
    }


def reading() -> dict[str, Any]:
    return meter_reading_typed_data(31337, REGISTRY, b"\x42" * 32, 1, 1_700_000_000, 1_000, 5, 0, 0)


# --------------------------------------------------------------------------- against anvil
def test_transaction_signed_remotely_is_accepted_by_the_node(anvil: AnvilProcess) -> None:
    w3 = connect(anvil.rpc_url)
    before = w3.eth.get_balance(Web3.to_checksum_address(ACCOUNT_2))
    raw = RemoteSigner(anvil.rpc_url, ACCOUNT_1).sign_transaction(payment())
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    assert receipt["status"] == 1
    assert receipt["from"] == ACCOUNT_1
    assert w3.eth.get_balance(Web3.to_checksum_address(ACCOUNT_2)) == before + 12_345


def test_legacy_transaction_with_data_signed_remotely_is_accepted(anvil: AnvilProcess) -> None:
    w3 = connect(anvil.rpc_url)
    tx = {
        "chainId": 31337,
        "nonce": 0,
        "gas": 50_000,
        "gasPrice": 3 * 10**9,
        "to": ACCOUNT_2,
        "value": 1,
        "data": b"\x01\x02\x03",
    }
    raw = RemoteSigner(anvil.rpc_url, ACCOUNT_1).sign_transaction(tx)
    assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))["status"] == 1


def test_typed_data_signed_remotely_recovers_to_the_account(anvil: AnvilProcess) -> None:
    signature = RemoteSigner(anvil.rpc_url, ACCOUNT_1).sign_typed_data(reading())
    assert len(signature) == 65
    assert recover_typed_data_signer(reading(), signature) == ACCOUNT_1
    # deterministic ECDSA (RFC 6979): the node and eth-account produce the same bytes
    assert signature == LocalKeySigner(ANVIL_DEV_KEYS[1]).sign_typed_data(reading())


def test_remote_signer_drives_the_transaction_pipeline(anvil: AnvilProcess) -> None:
    signer = RemoteSigner(anvil.rpc_url, ACCOUNT_1)
    assert isinstance(signer, Signer)
    sender = TransactionSender(connect(anvil.rpc_url), signer)
    tx_hash = sender.send(TxRequest(to=Web3.to_checksum_address(ACCOUNT_2), value=1))
    assert sender.wait(tx_hash)["status"] == 1


def test_node_refusal_is_a_signer_error(anvil: AnvilProcess) -> None:
    stranger = LocalKeySigner.random().address  # not an account the node holds
    with pytest.raises(SignerError, match="refused eth_signTypedData_v4"):
        RemoteSigner(anvil.rpc_url, stranger).sign_typed_data(reading())


# --------------------------------------------------------------------------- in memory
class FakeNode:
    """A transport that signs with a local key, optionally misbehaving."""

    def __init__(self, key: str, tamper: Any = None, error: Any = None) -> None:
        self.signer = LocalKeySigner(key)
        self.tamper = tamper
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def __call__(self, url: str, body: dict[str, Any]) -> Any:
        self.requests.append(body)
        if self.error is not None:
            return {"jsonrpc": "2.0", "id": body["id"], "error": self.error}
        tx = dict(body["params"][0])
        signed_fields = {
            "chainId": int(tx["chainId"], 16),
            "nonce": int(tx["nonce"], 16),
            "gas": int(tx["gas"], 16),
            "maxFeePerGas": int(tx["maxFeePerGas"], 16),
            "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
            "to": tx["to"],
            "value": int(tx["value"], 16),
            "data": tx["input"],
            "type": 2,
        }
        if self.tamper:
            signed_fields.update(self.tamper)
        raw = self.signer.sign_transaction(signed_fields)
        return {"jsonrpc": "2.0", "id": body["id"], "result": "0x" + raw.hex()}


def test_transaction_is_sent_as_json_rpc_hex_fields() -> None:
    rpc = tx_to_rpc({**payment(), "data": b"\xab\xcd", "from": ACCOUNT_1.lower()})
    assert rpc["value"] == hex(12_345)
    assert rpc["gas"] == "0x5208"
    assert rpc["type"] == "0x2"
    assert rpc["input"] == rpc["data"] == "0xabcd"
    assert rpc["from"] == ACCOUNT_1


def test_remote_signature_from_another_key_is_refused() -> None:
    node = FakeNode(ANVIL_DEV_KEYS[2])
    with pytest.raises(SignerError, match="signed as"):
        RemoteSigner("http://signer", ACCOUNT_1, transport=node).sign_transaction(payment())


def test_remote_signer_that_changes_the_transaction_is_refused() -> None:
    node = FakeNode(ANVIL_DEV_KEYS[1], tamper={"value": 10**18})
    with pytest.raises(SignerError, match="changed the transaction's value"):
        RemoteSigner("http://signer", ACCOUNT_1, transport=node).sign_transaction(payment())


def test_honest_remote_signer_passes_the_checks() -> None:
    node = FakeNode(ANVIL_DEV_KEYS[1])
    raw = RemoteSigner("http://signer", ACCOUNT_1, transport=node).sign_transaction(payment())
    assert raw == LocalKeySigner(ANVIL_DEV_KEYS[1]).sign_transaction(payment())
    assert node.requests[0]["method"] == "eth_signTransaction"
    assert node.requests[0]["params"][0]["from"] == ACCOUNT_1


def test_json_rpc_error_is_a_signer_error_with_the_message() -> None:
    node = FakeNode(ANVIL_DEV_KEYS[1], error={"code": -32000, "message": "account locked"})
    with pytest.raises(SignerError, match="account locked"):
        RemoteSigner("http://signer", ACCOUNT_1, transport=node).sign_typed_data(reading())


def test_unreachable_signer_is_an_error_that_hides_url_credentials() -> None:
    url = f"http://alice:hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(SignerError, match="unreachable") as caught:
        RemoteSigner(url, ACCOUNT_1, timeout=2).sign_typed_data(reading())
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(RemoteSigner(url, ACCOUNT_1))
    assert redact_url(url).startswith("http://***@127.0.0.1:")


def test_transaction_from_another_account_is_refused_before_sending() -> None:
    node = FakeNode(ANVIL_DEV_KEYS[1])
    with pytest.raises(SignerError, match="this signer is"):
        RemoteSigner("http://signer", ACCOUNT_1, transport=node).sign_transaction(
            {**payment(), "from": ACCOUNT_2}
        )
    assert node.requests == []
