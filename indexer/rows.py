"""Fields of a chain-derived row as the read models' views name them, read once for
:mod:`indexer.queries` and :mod:`indexer.pool_queries` (``**log_origin(row)`` and
``**marginal_levels(row)`` in a view's constructor)."""

from __future__ import annotations

from dataclasses import dataclass, fields
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


@dataclass(frozen=True)
class MarginalLevelsView:
    """A clearing's marginal levels (``market.clearing.MarginalLevel`` of each side), named as
    in the ``clearings`` and ``pool_fills`` rows: the fields that
    :class:`indexer.queries.ClearingView` and :class:`indexer.pool_queries.CommunityFillView`
    share."""

    buy_marginal_tick: int
    buy_marginal_filled_wh: int
    buy_marginal_total_wh: int
    sell_marginal_tick: int
    sell_marginal_filled_wh: int
    sell_marginal_total_wh: int


def marginal_levels(row: Any) -> dict[str, Any]:
    """The :class:`MarginalLevelsView` fields of a ``clearings`` or ``pool_fills`` row."""
    return {f.name: int(getattr(row, f.name)) for f in fields(MarginalLevelsView)}
