"""The indexer and the API on a sealed-bid market (issue 15), SQLite and PostgreSQL.

A sealed market shows before gate closure only how many commitments a slot holds, never what
they hide; after the reveal window its book is the revealed orders; a commitment left
unrevealed forfeits its bond to the treasury and the rest goes back to its owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chain.local_node import start_anvil
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from indexer.api import ApiConfig, create_app
from tests.indexer.conftest import Played

BOND = 10_000
REVEAL = 600
SEALED = MarketSettings(mode="sealed", reveal_seconds=REVEAL, bond_amount=BOND)


@pytest.fixture
def sealed(compiled: None) -> Iterator[Played]:
    """A fresh anvil with a sealed EnergyChain market deployed (nothing played yet)."""
    with start_anvil() as node:
        yield Played(node, Sandbox.at(node.rpc_url, SEALED), {})


def api(played: Played, engine: Engine) -> TestClient:
    """A client of the API over ``engine``, after indexing ``played`` up to its head."""
    played.ingester(engine).sync()
    return TestClient(create_app(engine, ApiConfig(rate_limit_per_minute=0)))


def market_of(client: TestClient, route: str) -> dict[str, Any]:
    response = client.get(route)
    assert response.status_code == 200, response.text
    market: dict[str, Any] = response.json()["market"]
    return market


# ---------------------------------------------------------------------- the market's mode
@pytest.mark.parametrize("route", ["/v1/config", "/v1/status"])
def test_an_open_market_is_served_as_open_without_reveal_window_or_bond(
    chain: Played, engine: Engine, route: str
) -> None:
    with api(chain, engine) as client:
        market = market_of(client, route)
    assert market["mode"] == "open"
    assert market["reveal_seconds"] is None
    assert market["bond_amount"] is None


@pytest.mark.parametrize("route", ["/v1/config", "/v1/status"])
def test_a_sealed_market_is_served_with_its_reveal_window_and_bond_as_a_decimal_string(
    sealed: Played, engine: Engine, route: str
) -> None:
    with api(sealed, engine) as client:
        market = market_of(client, route)
    assert market["mode"] == "sealed"
    assert market["reveal_seconds"] == REVEAL
    assert market["bond_amount"] == str(BOND)


def test_the_openapi_schema_declares_the_mode_fields_in_every_answer(
    chain: Played, engine: Engine
) -> None:
    with api(chain, engine) as client:
        schema = client.get("/openapi.json").json()
    market = schema["components"]["schemas"]["DappConfigPublic"]["properties"]["market"]
    assert {"mode", "reveal_seconds", "bond_amount"} <= set(market["required"])
    assert market["properties"]["mode"]["enum"] == ["open", "sealed"]
