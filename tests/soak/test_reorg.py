"""The soak's reorganisation fault on a real anvil: a true reorganisation, whatever arrives."""

from __future__ import annotations

import threading
import time

from chain.local_node import AnvilProcess, rpc_request
from enerwise.soak.run import reorg


def _accounts(url: str) -> list[str]:
    accounts: list[str] = rpc_request(url, "eth_accounts", [])
    return accounts


def _nonce(url: str, sender: str) -> int:
    return int(rpc_request(url, "eth_getTransactionCount", [sender, "latest"]), 16)


def _pool_status(url: str) -> dict[str, str]:
    status: dict[str, str] = rpc_request(url, "txpool_status", [])
    return status


def _send(url: str, sender: str, nonce: int | None = None) -> str:
    tx = {"from": sender, "to": "0x" + "11" * 20, "value": "0x1"}
    if nonce is not None:
        tx["nonce"] = hex(nonce)
    return str(rpc_request(url, "eth_sendTransaction", [tx]))


def _block(url: str, number: int) -> dict[str, object]:
    block: dict[str, object] = rpc_request(url, "eth_getBlockByNumber", [hex(number), False])
    return block


def _mined(url: str, tx_hash: str) -> bool:
    receipt = rpc_request(url, "eth_getTransactionReceipt", [tx_hash])
    return receipt is not None and receipt["status"] == "0x1"


def _until_mined(url: str, sent: list[str], timeout: float = 30) -> None:
    """anvil answers eth_sendTransaction before its automine has sealed the block: a head read
    right after the last send can be one block short (seen once in CI)."""
    deadline = time.monotonic() + timeout
    while not all(_mined(url, h) for h in sent):
        assert time.monotonic() < deadline, "anvil did not mine the sent transactions"
        time.sleep(0.01)


def test_reorg_replaces_the_last_blocks_with_the_same_transactions_under_new_hashes(
    anvil: AnvilProcess,
) -> None:
    url = anvil.rpc_url
    first = _accounts(url)[0]
    sent = [_send(url, first) for _ in range(8)]
    _until_mined(url, sent)
    head = int(rpc_request(url, "eth_blockNumber", []), 16)
    before = [_block(url, n) for n in range(head - 2, head + 1)]

    after_head = reorg(url, 3)

    after = [_block(url, n) for n in range(head - 2, head + 1)]
    assert after_head == head
    assert [b["hash"] for b in after] != [b["hash"] for b in before]
    assert all(x["hash"] != y["hash"] for x, y in zip(before, after, strict=True))
    assert [b["transactions"] for b in after] == [b["transactions"] for b in before]
    assert all(_mined(url, h) for h in sent)


def test_reorg_while_transactions_arrive_loses_none_of_them(anvil: AnvilProcess) -> None:
    """The race of the first soaks: a transaction mined between reading the head and rolling
    back made the replay fail with 'nonce too low' and lost a block's transactions. The sender
    here, like the soak's oracle and agents, counts its nonces itself.

    anvil itself may drop a transaction sent while a reorganisation is being injected (seen
    once in fifteen runs of ten reorganisations with a sender that never pauses, up to one
    returned a millisecond after ``anvil_reorg`` answered): it is accepted, then neither mined
    nor pooled, so every later nonce waits. A real mempool can drop one too, and the soak's
    senders send it again (the oracle's outbox reopens it). So a lost transaction is allowed
    only if its send overlapped a :func:`reorg` call; sent again, it lets the rest be mined.
    A transaction already sent when a reorganisation began is never lost."""
    url = anvil.rpc_url
    first, second = _accounts(url)[:2]
    sent = [_send(url, first) for _ in range(8)]
    reorg_calls: list[tuple[float, float]] = []  # when each injected reorg began and ended
    arriving: list[tuple[int, float, float]] = []  # nonce, send began, send answered
    stop = threading.Event()

    def keep_sending() -> None:
        # nonces counted locally, as wallet.nonces does: a sender does not see the rollback
        nonce = int(rpc_request(url, "eth_getTransactionCount", [second, "pending"]), 16)
        while not stop.is_set():
            began = time.monotonic()
            _send(url, second, nonce)
            arriving.append((nonce, began, time.monotonic()))
            nonce += 1
            time.sleep(0.002)

    thread = threading.Thread(target=keep_sending)
    thread.start()
    try:
        time.sleep(0.05)
        for depth in (1, 3, 5):
            began = time.monotonic()
            reorg(url, depth)
            reorg_calls.append((began, time.monotonic()))
    finally:
        stop.set()
        thread.join(10)

    assert len(arriving) > 10
    _until_mined(url, sent)
    last = arriving[-1][0]
    deadline = time.monotonic() + 30
    while (mined := _nonce(url, second)) <= last:
        assert time.monotonic() < deadline, "anvil did not mine the sent transactions"
        time.sleep(0.2)
        if _nonce(url, second) != mined or int(_pool_status(url)["pending"], 16):
            continue  # still mining
        # nonce ``mined`` is neither mined nor ready in the pool: it was lost
        _, began, answered = arriving[mined - arriving[0][0]]
        assert any(began < end and start < answered for start, end in reorg_calls), (
            f"nonce {mined} was lost though it was sent outside the reorganisations"
        )
        _send(url, second, mined)  # as the soak's senders do
    assert int(_pool_status(url)["pending"], 16) == 0
