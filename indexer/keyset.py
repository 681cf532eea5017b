"""Keyset pagination and range filters shared by the read models (:mod:`indexer.queries`,
:mod:`indexer.pool_queries`, :mod:`indexer.community_queries`).

A list is read one page at a time: the caller orders its query by the key, ``after`` is the key
of the last row of the previous page, and a page reads ``limit + 1`` rows to learn whether
another one follows without counting. The API turns ``next_after`` into an opaque cursor
(:mod:`indexer.api.pagination`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Connection, Row, Select

Ts = TypeVarTuple("Ts")


def within(column: Any, low: int | None, high: int | None) -> list[ColumnElement[bool]]:
    """The conditions ``low <= column <= high``; a bound that is None leaves that end open."""
    conditions: list[ColumnElement[bool]] = []
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column <= high)
    return conditions


def past(key: Any, after: int | None, *, descending: bool = False) -> list[ColumnElement[bool]]:
    """The condition that ``key`` lies beyond ``after`` in the list's order (none without
    ``after``: the first page)."""
    if after is None:
        return []
    return [key < after if descending else key > after]


def read_page(
    conn: Connection,
    query: Select[*Ts],
    *,
    limit: int,
    key: Callable[[Row[*Ts]], int],
) -> tuple[Sequence[Row[*Ts]], int | None]:
    """The first ``limit`` rows of the ordered ``query``, and the ``key`` of the last of them
    when more rows follow (the ``after`` of the next page; None: this is the last page)."""
    rows = conn.execute(query.limit(limit + 1)).all()
    page = rows[:limit]
    return page, (key(page[-1]) if len(rows) > limit and page else None)
