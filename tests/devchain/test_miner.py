"""BlockMiner: an anvil without automine mines one block for everything pending."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from chain.connection import connect
from chain.errors import ChainError
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, free_port, start_anvil
from devchain.miner import ON_DEMAND_MINING, BlockMiner
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender, TxRequest

SINK = Web3.to_checksum_address("0x000000000000000000000000000000000000dEaD")
TRANSFER = TxRequest(to=SINK, value=1, gas=21_000)


@pytest.fixture
def node() -> Iterator[AnvilProcess]:
    with start_anvil(extra_args=list(ON_DEMAND_MINING)) as anvil:
        yield anvil


def _sender(node: AnvilProcess, key: int = 3) -> TransactionSender:
    return TransactionSender(
        connect(node.rpc_url), LocalKeySigner(ANVIL_DEV_KEYS[key]), poll_interval=0.005
    )


def test_transactions_sent_together_share_blocks(node: AnvilProcess) -> None:
    sender = _sender(node)
    with BlockMiner(node.rpc_url) as miner:
        receipts = sender.send_batch([TRANSFER] * 40)
    assert [r["status"] for r in receipts] == [1] * 40
    blocks = {r["blockNumber"] for r in receipts}
    assert len(blocks) < 40
    assert miner.blocks == len(blocks)


def test_a_lone_transaction_is_mined(node: AnvilProcess) -> None:
    sender = _sender(node)
    with BlockMiner(node.rpc_url):
        receipt = sender.transact(TRANSFER)
    assert receipt["status"] == 1


def test_transactions_keep_their_arrival_order_across_senders(node: AnvilProcess) -> None:
    first, second = _sender(node, 2), _sender(node, 3)
    # All three wait in the pool before the miner starts (a miner already polling could look
    # between two sends on a loaded machine and mine them in two blocks).
    hashes = [first.send(TRANSFER), second.send(TRANSFER), first.send(TRANSFER)]
    with BlockMiner(node.rpc_url):
        receipts = [first.wait(h, TRANSFER) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1
    assert [r["transactionIndex"] for r in receipts] == [0, 1, 2]


def test_a_miner_whose_node_is_gone_says_so() -> None:
    miner = BlockMiner(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChainError, match="the block miner stopped"), miner:
        miner._thread.join(timeout=10)
