"""Mining on demand: a block whenever transactions wait, for an anvil started with ``--no-mining``.

anvil's automine mines a block for every transaction that arrives alone, and each block costs
it time in proportion to the whole state (about 1.3 us per storage slot on this machine:
an empty ``evm_mine`` took 126 ms with 100,000 storage slots set and 395 ms with 200,000). A
city of 1,000 households writes thousands of slots a slot, and its households send from a
thousand keys, a few transactions each: by midday the automined chain spent most of a slot
mining hundreds of blocks. :class:`BlockMiner` polls the node's pool instead and mines once for
everything pending, so the transactions that arrive together (the traders send in parallel)
share a block. Transactions keep their arrival order (anvil's ``--order fifo``) and their
timestamps follow the chain's clock as before; a block's gas stays under the node's limit (what
does not fit waits for the next block, mined at once).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from chain.errors import ChainError
from chain.retry import Backoff
from chain.rpc import JsonRpcClient

#: anvil's options for a node that a :class:`BlockMiner` mines.
ON_DEMAND_MINING = ("--no-mining", "--order", "fifo")


class BlockMiner:
    """A thread mining a block whenever the node's pool holds pending transactions.

    Use as a context manager around the work; :attr:`blocks` counts the blocks it mined and
    :attr:`error` holds what stopped it early (a node that went away), also raised on exit.
    """

    def __init__(self, rpc_url: str, *, poll_seconds: float = 0.002) -> None:
        self.rpc_url = rpc_url
        self.poll_seconds = poll_seconds
        self.blocks = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-miner", daemon=True)

    def __enter__(self) -> BlockMiner:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is None:
            return
        if exc is not None:  # most likely a receipt that never came: say why
            exc.add_note(f"the block miner had stopped: {self.error}")
            return
        raise ChainError(f"the block miner stopped: {self.error}") from self.error

    def _run(self) -> None:
        # its own connection: a mining call must not wait behind the work's requests
        client = JsonRpcClient(self.rpc_url, timeout=120.0, backoff=Backoff(attempts=1))
        try:
            while not self._stop.is_set():
                pending = int(client.request("txpool_status", [])["pending"], 16)
                if pending:
                    client.request("evm_mine", [])
                    self.blocks += 1
                else:
                    time.sleep(self.poll_seconds)
        except Exception as exc:
            self.error = exc
        finally:
            client.close()
