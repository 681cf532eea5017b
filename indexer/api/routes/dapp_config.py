"""Runtime configuration of the web dApp: chain, RPC URL, contracts, payment token, price grid.

The dApp is one static build (``dapp/out``) for every deployment: it asks this route at start
which chain to use and where the contracts are, instead of baking them in at build time.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import Connection

from chain.artifacts import load_artifact
from chain.calls import ContractReader
from chain.errors import ChainError
from chain.retry import Backoff
from chain.rpc import JsonRpcClient
from indexer import store
from indexer.api.deps import ConnDep, InfoDep, StateDep
from indexer.api.schemas.common import ERRORS, ApiModel
from indexer.api.schemas.status import MarketPublic

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["config"])


class PaymentTokenPublic(ApiModel):
    address: str
    symbol: str | None
    decimals: int | None


class DappConfigPublic(ApiModel):
    chain_id: int
    rpc_url: str | None
    deployment_block: int
    market: MarketPublic
    payment_token: PaymentTokenPublic
    api_base: str
    stream_path: str
    explorer_url: str | None = Field(
        description="Block explorer base URL: a transaction is at `<explorer_url>/tx/<hash>` "
        "(null: the chain has none configured)."
    )
    time_zone: str = Field(
        description="The community's IANA time zone: billing months and days run in it."
    )


_TOKEN_FACTS: dict[tuple[str, str], tuple[str, int]] = {}


def _token_facts(rpc_url: str, token: str) -> tuple[str | None, int | None]:
    """``symbol()`` and ``decimals()`` of the payment token, asked once per node and token
    (None, None while the node cannot answer; asked again on the next request)."""
    key = (rpc_url, token)
    if key in _TOKEN_FACTS:
        return _TOKEN_FACTS[key]
    rpc = JsonRpcClient(rpc_url, timeout=2.0, backoff=Backoff(attempts=1))
    reader = ContractReader(rpc, token, load_artifact("TestEuro").abi)  # any ERC-20's views
    try:
        symbol, decimals = reader.call("symbol"), reader.call("decimals")
    except (ChainError, ValueError, OverflowError) as exc:
        logger.warning("payment token %s: symbol/decimals unreadable (%s)", token, exc)
        return None, None
    finally:
        rpc.close()
    _TOKEN_FACTS[key] = (str(symbol), int(decimals))
    return _TOKEN_FACTS[key]


def _deployment_block(conn: Connection) -> int:
    indexed = store.read_state(conn)
    return int(indexed["start_block"]) if indexed is not None else 0


@router.get("/config", response_model=DappConfigPublic, responses=ERRORS)
def dapp_config(
    state: StateDep, info: InfoDep, conn: ConnDep, response: Response
) -> DappConfigPublic:
    """What the dApp needs at start: chain id, the RPC URL for browsers, the deployment's first
    block (where log queries start: providers refuse ``eth_getLogs`` from block 0 on long
    chains), contract addresses, market parameters (tick -> price: ``price_floor + tick *
    tick_size`` per kWh; the market's ``mode``, ``open`` or ``sealed``, with a sealed market's
    ``reveal_seconds`` and ``bond_amount``) and the payment token's symbol and decimals (null
    when the API has no node to ask)."""
    config = state.config
    rpc_url = config.public_rpc_url or config.rpc_url
    token = info.addresses["payment_token"]
    symbol, decimals = (None, None)
    if config.rpc_url is not None:
        symbol, decimals = _token_facts(config.rpc_url, token)
    response.headers["Cache-Control"] = "no-cache"
    return DappConfigPublic(
        chain_id=info.chain_id,
        rpc_url=rpc_url,
        deployment_block=_deployment_block(conn),
        market=info,
        payment_token=PaymentTokenPublic(address=token, symbol=symbol, decimals=decimals),
        api_base=config.public_api_base,
        stream_path="/v1/stream",
        explorer_url=config.explorer_url,
        time_zone=config.time_zone,
    )
