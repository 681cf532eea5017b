"""Control of development chains: move time, mine, fund accounts.

Works on anvil (``evm_setNextBlockTimestamp``, ``evm_mine``, ``anvil_setBalance``) and on the
in-process eth-tester chain (``time_travel``, ``mine_blocks``). Never used against a real
network: these methods do not exist there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint, Wei

from chain.errors import ChainError


class DevChain:
    """Time and balance control of an anvil or in-process chain."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        # The in-process chain's provider carries its tester (not imported here: py-evm is slow
        # to load and anvil does not need it).
        self._tester: Any = getattr(w3.provider, "ethereum_tester", None)

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def mine_at(self, timestamp: int) -> None:
        """Mine one block whose timestamp is ``timestamp`` (must be after the latest block)."""
        if timestamp <= self.now():
            raise ChainError(f"cannot move the chain back in time to {timestamp}")
        if self._tester is not None:
            self._tester.time_travel(timestamp)
            return
        self._rpc("evm_setNextBlockTimestamp", [timestamp])
        self._rpc("evm_mine", [])

    def advance(self, seconds: int) -> int:
        """Mine a block ``seconds`` after the latest one; returns its timestamp."""
        target = self.now() + seconds
        self.mine_at(target)
        return target

    def snapshot(self) -> str:
        """Snapshot the chain's state (anvil); :meth:`revert` returns to it."""
        return str(self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        """Return to ``snapshot_id``, dropping every later block (anvil)."""
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainError(f"no snapshot {snapshot_id} to revert to")

    def mine(self) -> None:
        """Mine one empty block now."""
        self._rpc("evm_mine", [])

    def resubmit(self, sender: str, raws: Sequence[bytes]) -> None:
        """Mine the signed transactions ``raws`` of ``sender`` (in nonce order) that a batch
        left unmined: drop the sender's pool (anvil files some transactions of a concurrent
        batch as waiting for a nonce that was already mined, and never promotes them,
        foundry-rs/foundry#10122), send them again one by one, and mine a block.

        Any other pending transaction of ``sender`` is dropped too: a dev sender's unmined
        transactions are its own batch's. One that was mined meanwhile is refused again for its
        nonce, which is harmless."""
        if self._tester is None:
            self._rpc("anvil_removePoolTransactions", [Web3.to_checksum_address(sender)])
            for raw in raws:
                self.w3.provider.make_request(
                    RPCEndpoint("eth_sendRawTransaction"), ["0x" + raw.hex()]
                )
        self.mine()

    def fund(self, address: str, wei: int) -> None:
        """Set the ether balance of ``address`` (anvil) or send it from a test account."""
        checksum = Web3.to_checksum_address(address)
        if self._tester is not None:
            source = self.w3.eth.accounts[0]
            self.w3.eth.send_transaction({"from": source, "to": checksum, "value": Wei(wei)})
            return
        self._rpc("anvil_setBalance", [checksum, hex(wei)])

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")
