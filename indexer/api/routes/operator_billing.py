"""Monthly billing per household for operators (Sign-In with Ethereum + on-chain role).

``GET /v1/operator/billing?month=YYYY-MM&format=json|csv`` serves the bill that
``enerwise operator billing`` prints, computed by the same code
(:func:`billing.bill.compute_bill`) from the indexer's tables (:mod:`indexer.billing`) instead of
the chain's events. Tariffs are the ones the market's price grid encodes (floor = feed-in tariff,
top = retail tariff, as ``enerwise operator init`` builds it); months run in the community's
time zone (``ApiConfig.time_zone``). When the API knows a node
(``rpc_url``) the payment token's decimals and the energy token's supply per slot are read
from the chain, so the reconciliation is against the chain; otherwise the supply comes from the
indexed transfers (``supply_source: index``) and the decimals default to 6.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from billing.errors import BillingError
from chain.artifacts import load_artifact
from chain.calls import ContractReader
from chain.errors import ChainError
from chain.rpc import JsonRpcClient
from indexer.api.deps import ConnDep, InfoDep, OperatorDep, StateDep
from indexer.api.errors import ApiError
from indexer.api.schemas.common import AUTH_ERRORS
from indexer.billing import SupplyReader, grid_tariffs, indexer_bill
from indexer.market_info import MarketInfo

#: Included by the operator router (``/v1/operator``) in ``routes/operator.py``.
router = APIRouter(tags=["operator"])

#: Decimals assumed when no node is configured (the test token and EUR stablecoins have 6).
DEFAULT_DECIMALS = 6
_decimals_cache: dict[tuple[str, str], int] = {}

MonthQuery = Annotated[
    str,
    Query(
        pattern=r"^\d{4}-\d{2}$",
        description="Calendar month of the delivery slots in the community's time zone, YYYY-MM.",
        examples=["2026-11"],
    ),
]


def chain_readers(rpc_url: str | None, info: MarketInfo) -> tuple[int, SupplyReader | None]:
    """The payment token's decimals and a supply reader, from the node when there is one."""
    if rpc_url is None:
        return DEFAULT_DECIMALS, None
    rpc = JsonRpcClient(rpc_url)
    token = info.addresses["payment_token"]
    key = (rpc_url, token)
    try:
        if key not in _decimals_cache:
            payment = ContractReader(rpc, token, load_artifact("TestEuro").abi)  # any ERC-20
            _decimals_cache[key] = int(payment.call("decimals"))
    except ChainError as exc:
        raise ApiError(503, "chain_unavailable", f"the node does not answer: {exc}") from None
    energy = ContractReader(rpc, info.addresses["energy_token"], load_artifact("EnergyToken").abi)

    def supply(slots: Sequence[int]) -> dict[int, int]:
        try:
            values = energy.call_many([("totalSupply", [s]) for s in slots]) if slots else []
        except ChainError as exc:
            raise ApiError(503, "chain_unavailable", f"the node does not answer: {exc}") from None
        return {s: int(v) for s, v in zip(slots, values, strict=True)}

    return _decimals_cache[key], supply


@router.get(
    "/billing",
    responses={
        **AUTH_ERRORS,
        200: {
            "content": {"application/json": {}, "text/csv": {}},
            "description": "The bill: one row per household plus a TOTAL row.",
        },
    },
    response_class=Response,
)
def billing(
    state: StateDep,
    session: OperatorDep,
    conn: ConnDep,
    info: InfoDep,
    month: MonthQuery,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
) -> Response:
    """Per-household bill of a month, reconciled (administrators and meter admins).

    Columns as ``enerwise operator billing``: metered import/export, P2P energy bought and
    sold with money paid and received, fees, tokens redeemed, grid remainder at the tariffs.
    A month without data is a 404 ``no_billing_data``.
    """
    decimals, supply = chain_readers(state.config.rpc_url, info)
    try:
        bill = indexer_bill(
            conn,
            info,
            month,
            grid_tariffs(info, decimals),
            supply=supply,
            time_zone=state.config.time_zone,
        )
    except BillingError as exc:
        message = str(exc)
        if message.startswith("month:"):
            raise ApiError(422, "invalid_month", message) from None
        raise ApiError(404, "no_billing_data", message) from None
    if format == "csv":
        return Response(
            bill.to_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="billing-{month}.csv"'},
        )
    return JSONResponse(bill.document())
