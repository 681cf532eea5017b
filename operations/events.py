"""Reading contract events straight from the chain (``eth_getLogs``), in block-range chunks.

The indexer (``indexer``) will serve the same events from its database; the operator
tools read the chain directly so that they depend on nothing but a node.
"""

from __future__ import annotations

from typing import Any

from chain.contracts import ContractHandle

#: Blocks per ``eth_getLogs`` request (public nodes cap the range).
CHUNK_BLOCKS = 10_000


def fetch_events(
    handle: ContractHandle,
    event: str,
    from_block: int,
    to_block: int | None = None,
    argument_filters: dict[str, Any] | None = None,
) -> list[Any]:
    """Every ``event`` of ``handle`` in ``[from_block, to_block]`` (default: the head)."""
    w3 = handle.contract.w3
    last = int(w3.eth.block_number) if to_block is None else to_block
    out: list[Any] = []
    start = max(from_block, 0)
    while start <= last:
        end = min(start + CHUNK_BLOCKS - 1, last)
        out.extend(
            handle.contract.events[event]().get_logs(
                from_block=start, to_block=end, argument_filters=argument_filters
            )
        )
        start = end + 1
    return out
