"""Fields of a chain-derived row as the read models' views name them, read once for
:mod:`indexer.queries` and :mod:`indexer.pool_queries` (``**log_origin(row)`` in a view's
constructor)."""

from __future__ import annotations

from typing import Any, TypedDict


class LogOrigin(TypedDict):
    """Where on the chain a row's log came from: the view fields of these names."""

    block_number: int
    block_time: int
    tx_hash: str


def log_origin(row: Any) -> LogOrigin:
    """The block, block time and transaction of a row of a chain-derived table."""
    return LogOrigin(
        block_number=int(row.block_number), block_time=int(row.block_time), tx_hash=str(row.tx_hash)
    )


class MarginalLevels(TypedDict):
    """A clearing's marginal levels (``market.clearing.MarginalLevel`` of each side), as the
    ``clearings`` and ``pool_fills`` rows and their views name them."""

    buy_marginal_tick: int
    buy_marginal_filled_wh: int
    buy_marginal_total_wh: int
    sell_marginal_tick: int
    sell_marginal_filled_wh: int
    sell_marginal_total_wh: int


def marginal_levels(row: Any) -> MarginalLevels:
    """The marginal levels of a ``clearings`` or ``pool_fills`` row."""
    return MarginalLevels(
        buy_marginal_tick=int(row.buy_marginal_tick),
        buy_marginal_filled_wh=int(row.buy_marginal_filled_wh),
        buy_marginal_total_wh=int(row.buy_marginal_total_wh),
        sell_marginal_tick=int(row.sell_marginal_tick),
        sell_marginal_filled_wh=int(row.sell_marginal_filled_wh),
        sell_marginal_total_wh=int(row.sell_marginal_total_wh),
    )
