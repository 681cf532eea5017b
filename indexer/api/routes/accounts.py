"""Per account: orders, fills, balances."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from indexer import community_queries, queries
from indexer.api.deps import AddressPath, ConnDep, InfoDep, OptionalSlotQuery
from indexer.api.errors import not_found
from indexer.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from indexer.api.schemas.accounts import BalancesPublic
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.orders import OrderPublic
from indexer.api.schemas.slots import FillPublic

router = APIRouter(prefix="/v1", tags=["accounts"])

OrderStatus = Literal["open", "cancelled", "claimed"]


@router.get("/accounts/{address}/orders", response_model=Page[OrderPublic], responses=ERRORS)
def account_orders(
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    slot: OptionalSlotQuery = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[OrderPublic]:
    """Orders owned by ``address``, newest first."""
    views, next_after = queries.list_orders(
        conn,
        info=info,
        owner=address,
        slot=slot,
        status=status,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return Page[OrderPublic](
        items=[OrderPublic.model_validate(v) for v in views], next_cursor=encode_cursor(next_after)
    )


@router.get("/accounts/{address}/fills", response_model=Page[FillPublic], responses=ERRORS)
def account_fills(
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    slot: OptionalSlotQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[FillPublic]:
    """Fills of ``address``'s orders in cleared slots, newest first."""
    fills, next_after = queries.list_fills(
        conn, info=info, owner=address, slot=slot, after=decode_cursor(cursor), limit=limit
    )
    return Page[FillPublic](
        items=[FillPublic.model_validate(f) for f in fills], next_cursor=encode_cursor(next_after)
    )


@router.get("/accounts/{address}/balances", response_model=BalancesPublic, responses=ERRORS)
def account_balances(
    conn: ConnDep, address: AddressPath, slot: OptionalSlotQuery = None
) -> BalancesPublic:
    """Market-vault money, and per slot the energy tokens in the wallet and in the vault."""
    view = community_queries.balances(conn, account=address, slot=slot)
    return BalancesPublic.model_validate(view)


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=ERRORS, tags=["orders"])
def get_order(
    conn: ConnDep,
    info: InfoDep,
    order_id: Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="Decimal order id.")],
) -> OrderPublic:
    """One order by id."""
    view = queries.get_order(conn, info=info, order_id=str(int(order_id)))
    if view is None:
        raise not_found(f"order {order_id}", "order_not_found")
    return OrderPublic.model_validate(view)
