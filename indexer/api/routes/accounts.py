"""Per account: orders, fills, balances, history."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import Connection, literal, or_, select

from indexer import community_queries, queries
from indexer.api.deps import AddressPath, ConnDep, InfoDep, OptionalSlotQuery
from indexer.api.errors import not_found
from indexer.api.pagination import PageDep, encode_cursor, page_of
from indexer.api.schemas.accounts import BalancesPublic, HistoryItemPublic
from indexer.api.schemas.commitments import CommitmentPublic, CommitmentStatus
from indexer.api.schemas.common import ERRORS, Page
from indexer.api.schemas.orders import OrderPublic
from indexer.api.schemas.slots import FillPublic
from indexer.db.models import TokenTransfer, VaultEntry

router = APIRouter(prefix="/v1", tags=["accounts"])

OrderStatus = Literal["open", "cancelled", "claimed"]


@router.get("/accounts/{address}/orders", response_model=Page[OrderPublic], responses=ERRORS)
def account_orders(
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    page: PageDep,
    slot: OptionalSlotQuery = None,
    status: Annotated[OrderStatus | None, Query()] = None,
) -> Page[OrderPublic]:
    """Orders owned by ``address``, newest first."""
    views, next_after = queries.list_orders(
        conn,
        info=info,
        owner=address,
        slot=slot,
        status=status,
        after=page.after,
        limit=page.limit,
    )
    return page_of(OrderPublic, views, next_after)


@router.get("/accounts/{address}/fills", response_model=Page[FillPublic], responses=ERRORS)
def account_fills(
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    page: PageDep,
    slot: OptionalSlotQuery = None,
) -> Page[FillPublic]:
    """Fills of ``address``'s orders in cleared slots, newest first."""
    fills, next_after = queries.list_fills(
        conn, info=info, owner=address, slot=slot, after=page.after, limit=page.limit
    )
    return page_of(FillPublic, fills, next_after)


@router.get(
    "/accounts/{address}/commitments", response_model=Page[CommitmentPublic], responses=ERRORS
)
def account_commitments(
    conn: ConnDep,
    address: AddressPath,
    page: PageDep,
    slot: OptionalSlotQuery = None,
    status: Annotated[CommitmentStatus | None, Query()] = None,
) -> Page[CommitmentPublic]:
    """Commitments of ``address`` in a sealed market, newest first, with their status (an open
    market has none)."""
    views, next_after = queries.list_commitments(
        conn, owner=address, slot=slot, status=status, after=page.after, limit=page.limit
    )
    return page_of(CommitmentPublic, views, next_after)


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


ZERO_ADDRESS = "0x" + "00" * 20


def _history(
    conn: Connection, *, account: str, market: str, after: int | None, limit: int
) -> tuple[list[HistoryItemPublic], int | None]:
    """The account's vault-ledger rows and wallet energy-token transfers, newest first.

    Transfers to and from the market are left out: the vault's ledger has them (energy
    deposited, withdrawn). Keyset: block, log index, entry and source packed in one integer.
    """
    v, t = VaultEntry, TokenTransfer
    ledger_key = ((v.block_number * 65_536 + v.log_index) * 8 + v.entry) * 2
    ledger = select(
        ledger_key.label("key"),
        v.reason.label("kind"),
        v.asset,
        v.delta.label("amount"),
        v.slot,
        literal(None).label("counterparty"),
        v.block_number,
        v.block_time,
        v.tx_hash,
        v.log_index,
    ).where(v.account == account)
    transfer_key = ((t.block_number * 65_536 + t.log_index) * 8 + t.entry) * 2 + 1
    transfers = select(
        transfer_key.label("key"),
        t.from_address,
        t.to_address,
        t.amount_wh,
        t.slot,
        t.block_number,
        t.block_time,
        t.tx_hash,
        t.log_index,
    ).where(
        or_(t.from_address == account, t.to_address == account),
        t.from_address != market,
        t.to_address != market,
    )
    if after is not None:
        ledger = ledger.where(ledger_key < after)
        transfers = transfers.where(transfer_key < after)
    newest = ledger.order_by(ledger_key.desc()).limit(limit + 1)
    rows = [dict(r._mapping) for r in conn.execute(newest)]
    for r in conn.execute(transfers.order_by(transfer_key.desc()).limit(limit + 1)):
        incoming = r.to_address == account
        if r.from_address == ZERO_ADDRESS:
            kind, other = "minted", None
        elif r.to_address == ZERO_ADDRESS:
            kind, other = "redeemed", None
        else:
            kind, other = ("received", r.from_address) if incoming else ("sent", r.to_address)
        rows.append(
            {
                "key": r.key,
                "kind": kind,
                "asset": "energy",
                "amount": int(r.amount_wh) if incoming else -int(r.amount_wh),
                "slot": r.slot,
                "counterparty": other,
                "block_number": r.block_number,
                "block_time": r.block_time,
                "tx_hash": r.tx_hash,
                "log_index": r.log_index,
            }
        )
    rows.sort(key=lambda r: int(r["key"]), reverse=True)
    page = rows[:limit]
    items = [HistoryItemPublic.model_validate({**r, "amount": int(r["amount"])}) for r in page]
    return items, (int(page[-1]["key"]) if len(rows) > limit else None)


@router.get("/accounts/{address}/history", response_model=Page[HistoryItemPublic], responses=ERRORS)
def account_history(
    conn: ConnDep,
    info: InfoDep,
    address: AddressPath,
    page: PageDep,
) -> Page[HistoryItemPublic]:
    """What moved in ``address``'s vault and wallet, newest first, with the transaction of
    each movement (deposits, withdrawals, order escrow, cancels, claims, refunds, fees, a
    sealed market's commitments, reveals, forfeits and bonds, energy tokens minted, redeemed or
    transferred)."""
    items, next_after = _history(
        conn,
        account=address,
        market=info.addresses["market"],
        after=page.after,
        limit=page.limit,
    )
    return Page[HistoryItemPublic](items=items, next_cursor=encode_cursor(next_after))
