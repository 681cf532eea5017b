"""Reading contract events from the chain: always in block-range chunks, with one retry policy.

Public nodes refuse ``eth_getLogs`` over long ranges, so every read here walks the range in
chunks of at most :data:`CHUNK_BLOCKS` blocks; each chunk is retried with the shared
:class:`chain.retry.Backoff` when the node does not answer, and a node that keeps failing is an
:class:`chain.errors.RpcError` (a revert or a bad ABI never is retried).

The indexer reads raw logs for speed (``indexer.ingest``, decoders generated from the same
ABIs); everything else reads events here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from web3.types import EventData

from chain.errors import AbiMismatchError
from chain.retry import Backoff
from energychain.contracts import NODE_ERRORS, ContractHandle

#: Blocks per ``eth_getLogs`` request (public nodes cap the range).
CHUNK_BLOCKS = 10_000
#: How event reads retry a chunk the node did not answer.
READ_BACKOFF = Backoff(base=0.5, cap=8.0, attempts=5, jitter=0.5)


class EventReader:
    """Reads one contract's events in chunks (see the module docstring)."""

    def __init__(
        self,
        handle: ContractHandle,
        *,
        chunk_blocks: int = CHUNK_BLOCKS,
        backoff: Backoff = READ_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.handle = handle
        self.chunk_blocks = chunk_blocks
        self.backoff = backoff
        self._sleep = sleep

    def head(self) -> int:
        """The latest block number."""
        return int(self._retried("eth_blockNumber", lambda: self.handle.w3.eth.block_number))

    def read(
        self,
        event: str,
        from_block: int,
        to_block: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[EventData]:
        """Every ``event`` in ``[from_block, to_block]`` (default: up to the head), in order.

        ``filters`` are indexed arguments (a list matches any of its values).
        """
        handle = self.handle
        codec = handle.event_codec(event)
        contract_event = handle.contract.events[event]()
        argument_filters = dict(filters or {})
        unknown = sorted(set(argument_filters) - {*codec.topic_names, *codec.data_names})
        if unknown:
            raise AbiMismatchError(f"{handle.name}.{event} has no argument {', '.join(unknown)}")

        def chunk(first: int, end: int) -> list[EventData]:
            # web3 builds the topics of the indexed filters and filters the other arguments after
            # decoding (its get_logs does the same); the decoding is the codec's: web3's own
            # costs about 2 ms a log.
            params = contract_event._get_event_filter_params(
                contract_event.abi, argument_filters, first, end
            )
            decoded = [codec.decode(handle.w3.codec, log) for log in handle.w3.eth.get_logs(params)]
            kept = contract_event._process_get_logs_argument_filters(
                contract_event.abi, decoded, argument_filters
            )
            return sorted(kept, key=lambda e: (e["blockNumber"], e["logIndex"]))

        last = self.head() if to_block is None else to_block
        found: list[EventData] = []
        start = max(from_block, 0)
        while start <= last:
            end = min(start + self.chunk_blocks - 1, last)
            what = f"{handle.name}.{event} logs {start}..{end}"
            found.extend(self._retried(what, partial(chunk, start, end)))
            start = end + 1
        return found

    def _retried(self, what: str, fn: Callable[[], Any]) -> Any:
        return self.handle.guard(
            what, lambda: self.backoff.call(fn, NODE_ERRORS, sleep=self._sleep)
        )
