"""A household's standing orders (issue 16 item 6): set in the dApp, read by its gateway.

``GET /v1/accounts/{address}/standing-orders`` is public: the household's gateway reads it
without signing in (the orders it places are public on chain anyway). ``PUT`` needs the
household's own Sign-In with Ethereum session. Prices are payment base units per kWh as
decimal strings; null turns a side off. The gateway applies them within the agent key's
delegation (``minSellTick``, ``maxBuyTick``), which stays the owner's on-chain bound.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from sqlalchemy import insert, select, update

from indexer.api.deps import AddressPath, ConnDep, SessionDep
from indexer.api.errors import ApiError
from indexer.api.schemas.common import AUTH_ERRORS, ERRORS
from indexer.api.schemas.standing import StandingOrdersPublic, StandingOrdersUpdate
from indexer.db.models import StandingOrder

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get(
    "/accounts/{address}/standing-orders", response_model=StandingOrdersPublic, responses=ERRORS
)
def get_standing_orders(address: AddressPath, conn: ConnDep) -> StandingOrdersPublic:
    """The household's standing orders (both sides null when it never set any)."""
    row = conn.execute(select(StandingOrder).where(StandingOrder.account == address)).first()
    if row is None:
        return StandingOrdersPublic(
            account=address, sell_min_price=None, buy_below_tariff=None, updated_at=None
        )
    return StandingOrdersPublic.model_validate(row._mapping)


@router.put(
    "/accounts/{address}/standing-orders",
    response_model=StandingOrdersPublic,
    responses=AUTH_ERRORS,
)
def put_standing_orders(
    address: AddressPath, body: StandingOrdersUpdate, session: SessionDep, conn: ConnDep
) -> StandingOrdersPublic:
    """Set the signed-in household's standing orders (its own account only)."""
    if session.address.lower() != address.lower():
        raise ApiError(403, "forbidden", "a household sets only its own standing orders")
    now = time.time()
    values: dict[str, object] = {
        "sell_min_price": body.sell_min_price,
        "buy_below_tariff": body.buy_below_tariff,
        "updated_at": now,
    }
    mine = StandingOrder.account == address
    if conn.execute(select(StandingOrder.account).where(mine)).first() is None:
        conn.execute(insert(StandingOrder).values(account=address, **values))
    else:
        conn.execute(update(StandingOrder).where(mine).values(**values))
    conn.commit()
    return StandingOrdersPublic(
        account=address,
        sell_min_price=body.sell_min_price,
        buy_below_tariff=body.buy_below_tariff,
        updated_at=now,
    )
