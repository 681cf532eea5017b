"""The read API over an index of a real market round (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from chain.compiler import compile_contracts
from chain.local_node import start_anvil
from devchain.sandbox import Sandbox
from indexer.api import ApiConfig, create_app
from indexer.db.migrate import head_revision
from tests.indexer.conftest import BACKENDS, Played, indexed_api
from tests.indexer.scenario import CLEARING_PRICE, play_round


@pytest.fixture(scope="module")
def world_chain() -> Iterator[Played]:
    compile_contracts()
    with start_anvil() as node:
        community = Sandbox.at(node.rpc_url)
        yield Played(node, community, play_round(community))


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, world_chain: Played, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The round indexed into a database, and a client of the API over it."""
    with indexed_api(request, tmp_path_factory.mktemp("api"), world_chain) as (client, engine):
        yield {"client": client, "engine": engine, "chain": world_chain, **world_chain.round}


def test_health_reports_the_index_caught_up(world: dict[str, Any]) -> None:
    body = world["client"].get("/health").json()
    assert body["status"] == "ok"
    assert body["lag_blocks"] == 0


def test_status_names_the_deployment_and_market_parameters(world: dict[str, Any]) -> None:
    body = world["client"].get("/v1/status").json()
    assert body["market"]["addresses"] == world["chain"].community.deployment.addresses
    assert body["market"]["tick_size"] == "120"  # base units travel as decimal strings
    assert body["timescaledb"] is False


def test_the_played_slot_is_listed_as_cleared(world: dict[str, Any]) -> None:
    items = world["client"].get("/v1/slots", params={"status": "cleared"}).json()["items"]
    assert [s["slot"] for s in items] == [world["slot"]]
    assert items[0]["clearing"]["volume_wh"] == "3500"


def test_no_slot_is_open_after_gate_closure(world: dict[str, Any]) -> None:
    assert world["client"].get("/v1/slots", params={"status": "open"}).json()["items"] == []


def test_slot_detail_counts_orders(world: dict[str, Any]) -> None:
    body = world["client"].get(f"/v1/slots/{world['slot']}").json()
    assert body["stats"]["order_count"] == 7
    assert body["stats"]["minted_wh"] == "5000"
    assert body["gate_closure"] == body["end_time"] + 900


def test_an_unknown_slot_is_a_404_with_a_code(world: dict[str, Any]) -> None:
    response = world["client"].get("/v1/slots/424242")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "slot_not_found"


@pytest.mark.parametrize(
    "address",
    [
        "0x123",
        "0xZZ97970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x70997970C51812Dc3A010C7d01b50e0d17dc79C8",
    ],  # too short, not hex, bad checksum
)
def test_a_malformed_address_is_a_422(world: dict[str, Any], address: str) -> None:
    response = world["client"].get(f"/v1/accounts/{address}/orders")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_lowercase_address_is_accepted(world: dict[str, Any]) -> None:
    owner = world["accounts"][0]
    response = world["client"].get(f"/v1/accounts/{owner.lower()}/orders")
    assert response.status_code == 200
    assert {o["owner"] for o in response.json()["items"]} == {owner}


def test_depth_leaves_out_the_cancelled_order(world: dict[str, Any]) -> None:
    body = world["client"].get(f"/v1/slots/{world['slot']}/depth").json()
    assert body["total_sell_wh"] == "5000"
    assert int(body["total_buy_wh"]) == 2_500 + 500 + 1_000  # the 700 Wh buy was cancelled
    assert body["best_bid_tick"] == 900 and body["best_ask_tick"] == 100


def test_fills_of_each_side_add_up_to_the_cleared_volume(world: dict[str, Any]) -> None:
    fills = world["client"].get(f"/v1/slots/{world['slot']}/fills").json()["items"]
    bought = sum(int(f["filled_wh"]) for f in fills if f["side"] == "buy")
    sold = sum(int(f["filled_wh"]) for f in fills if f["side"] == "sell")
    assert bought == sold == 3_500
    assert {f["price"] for f in fills} == {str(CLEARING_PRICE)}


def test_a_cleared_slot_carries_an_etag_and_answers_304_to_it(world: dict[str, Any]) -> None:
    client = world["client"]
    first = client.get(f"/v1/slots/{world['slot']}/depth")
    etag = first.headers["etag"]
    again = client.get(f"/v1/slots/{world['slot']}/depth", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_account_orders_page_through_every_order_once(world: dict[str, Any]) -> None:
    client, owner = world["client"], world["accounts"][2]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/v1/accounts/{owner}/orders", params=params).json()
        seen += [o["order_id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 2


def test_a_forged_cursor_is_a_422(world: dict[str, Any]) -> None:
    owner = world["accounts"][0]
    response = world["client"].get(f"/v1/accounts/{owner}/orders", params={"cursor": "!!"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_order_status_filter_finds_the_cancelled_order(world: dict[str, Any]) -> None:
    owner = world["accounts"][3]
    items = (
        world["client"]
        .get(f"/v1/accounts/{owner}/orders", params={"status": "cancelled"})
        .json()["items"]
    )
    assert [int(o["order_id"]) for o in items] == world["cancelled"]


def test_balances_equal_the_market_vault_on_chain(world: dict[str, Any]) -> None:
    market = world["chain"].community.contracts.market
    for account in world["accounts"]:
        body = world["client"].get(f"/v1/accounts/{account}/balances").json()
        assert body["vault_money"] == str(market.call("balanceOf", account))
        vault = {e["slot"]: int(e["vault_wh"]) for e in body["energy"]}
        assert vault.get(world["slot"], 0) == market.call("energyBalanceOf", account, world["slot"])


def test_withdrawn_energy_shows_in_the_wallet(world: dict[str, Any]) -> None:
    buyer = world["accounts"][2]
    body = (
        world["client"].get(f"/v1/accounts/{buyer}/balances", params={"slot": world["slot"]}).json()
    )
    assert body["energy"][0]["wallet_wh"] == "100"


def test_price_history_lists_the_clearing_price(world: dict[str, Any]) -> None:
    items = world["client"].get("/v1/prices").json()["items"]
    assert [(p["slot"], p["price"]) for p in items] == [(world["slot"], str(CLEARING_PRICE))]


def test_hourly_candles_hold_the_slot(world: dict[str, Any]) -> None:
    body = world["client"].get("/v1/prices/ohlc", params={"interval": "hour"}).json()
    assert len(body["candles"]) == 1
    candle = body["candles"][0]
    assert candle["open"] == candle["close"] == candle["vwap"] == str(CLEARING_PRICE)
    assert candle["volume_wh"] == "3500"


def test_meters_list_their_readings_with_archive_cids(world: dict[str, Any]) -> None:
    client = world["client"]
    meters = client.get("/v1/meters").json()["items"]
    assert len(meters) == 2 and all(m["reading_count"] == 2 for m in meters)
    readings = client.get(f"/v1/meters/{meters[0]['meter_id']}/readings").json()["items"]
    assert [r["archive_cid"] for r in readings] == ["bafkreibaseline", "bafkreislot"]
    assert readings[0]["slot"] is None and readings[1]["slot"] == world["slot"]


def test_an_unknown_meter_is_a_404(world: dict[str, Any]) -> None:
    response = world["client"].get("/v1/meters/0x" + "ab" * 32)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "meter_not_found"


def test_kpis_compare_the_p2p_price_with_the_tariffs(world: dict[str, Any]) -> None:
    body = world["client"].get("/v1/kpis").json()
    assert body["traded_wh"] == "3500"
    assert body["average_price"] == str(CLEARING_PRICE)
    assert body["buyer_savings"] == str(3_500 * (320_000 - CLEARING_PRICE) // 1_000)
    assert body["seller_gain"] == str(3_500 * (CLEARING_PRICE - 80_000) // 1_000)
    assert body["local_generation_wh"] == "5000" and body["local_consumption_wh"] == "600"
    assert body["local_coverage_share"] == 1.0


def test_metrics_expose_request_counters(world: dict[str, Any]) -> None:
    world["client"].get("/v1/slots")
    body = world["client"].get("/metrics").text
    assert 'enerwise_api_requests_total{method="GET",route="/v1/slots",status="200"}' in body


def test_cors_allows_the_configured_origin(world: dict[str, Any]) -> None:
    response = world["client"].options(
        "/v1/slots",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_openapi_documents_the_v1_routes(world: dict[str, Any]) -> None:
    paths = world["client"].get("/openapi.json").json()["paths"]
    assert "/v1/slots/{slot}/depth" in paths and "/v1/stream" in paths


def test_a_client_over_its_rate_is_told_to_wait(world: dict[str, Any]) -> None:
    app = create_app(world["engine"], ApiConfig(rate_limit_per_minute=60, rate_limit_burst=3))
    with TestClient(app) as client:
        codes = [client.get("/v1/slots").status_code for _ in range(5)]
        limited = client.get("/v1/slots")
    assert codes[:3] == [200, 200, 200] and 429 in codes
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


def test_the_dapp_build_is_served_at_the_root(world: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>EnergyChain dApp</html>")
    app = create_app(world["engine"], ApiConfig(static_dir=tmp_path))
    with TestClient(app) as client:
        assert "EnergyChain dApp" in client.get("/").text
        assert client.get("/v1/slots").status_code == 200


def test_the_database_was_written_only_by_migrations(world: dict[str, Any]) -> None:
    with world["engine"].connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert revision == head_revision()
