"""Opaque cursors for keyset pagination: base64url of a small JSON value."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from indexer.api.errors import ApiError
from indexer.api.schemas.common import ApiModel, Page

M = TypeVar("M", bound=ApiModel)

MAX_KEY = 2**63 - 1


def encode_cursor(key: int | None) -> str | None:
    if key is None:
        return None
    raw = json.dumps({"k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The key in ``cursor``; a cursor this API did not make is a 422 ``invalid_cursor``."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        key = data["k"]
    except (ValueError, KeyError, TypeError, UnicodeEncodeError):
        raise ApiError(422, "invalid_cursor", "cursor is not one this API returned") from None
    if not isinstance(key, int) or isinstance(key, bool) or not -MAX_KEY <= key <= MAX_KEY:
        raise ApiError(422, "invalid_cursor", "cursor is not one this API returned")
    return key


CursorQuery = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page."),
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Items per page.")]


@dataclass(frozen=True)
class PageQuery:
    """A list route's ``cursor`` and ``limit``.

    The cursor is decoded only when the route reads :attr:`after`, so the route's own checks
    (a 404 for what it lists, a 422 for its range) still answer before a bad cursor does.
    """

    cursor: str | None
    limit: int

    @property
    def after(self) -> int | None:
        """The key the page starts after (None: the first page)."""
        return decode_cursor(self.cursor)


def page_query(cursor: CursorQuery = None, limit: LimitQuery = 100) -> PageQuery:
    """The page a list route was asked for: pages of 100, at most 500."""
    return PageQuery(cursor, limit)


PageDep = Annotated[PageQuery, Depends(page_query)]


def page_of(model: type[M], rows: Iterable[Any], next_after: int | None) -> Page[M]:
    """One page of ``rows`` read as ``model``, with the cursor of the next page (None: last)."""
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(row) for row in rows], next_cursor=encode_cursor(next_after)
    )
