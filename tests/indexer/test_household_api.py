"""A household's own views: its monthly bill per day (SIWE, own account only), its history of
money and energy movements with their transactions, and the dApp's configuration (explorer,
time zone).

The chain is ``billed`` of the operator-billing tests: a played round plus one slot in which a
seller sold 600 Wh (unclaimed) to a buyer who claimed, withdrew and redeemed 500 Wh.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.bill import slot_range
from chain.local_node import ANVIL_DEV_KEYS
from chain.rpc import JsonRpcClient
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from tests.indexer.conftest import Played
from tests.indexer.test_auth import DOMAIN, login
from tests.indexer.test_operator_billing_api import Billed, billed, chain_document

__all__ = ["billed"]  # the fixture, shared with the operator's billing tests

ADMIN_KEY = ANVIL_DEV_KEYS[0]


def app_client(played: Played, engine: Engine, **config: Any) -> TestClient:
    addresses = played.community.deployment.addresses
    roles = ChainRoles(
        JsonRpcClient(played.node.rpc_url), addresses["market"], addresses["registry"]
    )
    api = ApiConfig(
        siwe_domain=DOMAIN, rate_limit_per_minute=0, rpc_url=played.node.rpc_url, **config
    )
    return TestClient(create_app(engine, api, roles=roles))


@pytest.fixture
def client(billed: Billed, engine: Engine) -> Iterator[TestClient]:
    billed.played.ingester(engine).sync()
    with app_client(billed.played, engine) as test_client:
        yield test_client


def auth(client: TestClient, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(client, key)}"}


def own_bill(client: TestClient, billed: Billed, household: str, month: str) -> Any:
    """The answer to ``household`` reading its own bill of ``month``, signed in with its key."""
    headers = auth(client, billed.keys[household])
    return client.get(f"/v1/accounts/{household}/bill", params={"month": month}, headers=headers)


def units(eur: str, decimals: int = 6) -> int:
    return int(Decimal(eur).scaleb(decimals))


def test_a_household_reads_its_own_bill_equal_to_its_row_of_the_operators_bill(
    client: TestClient, billed: Billed
) -> None:
    response = own_bill(client, billed, billed.buyer, billed.month)
    assert response.status_code == 200, response.text
    body = response.json()
    row = {h["household"]: h for h in chain_document(billed)["households"]}[billed.buyer]
    total = body["total"]
    assert total["import_wh"] == row["import_wh"] == "800"
    assert total["bought_wh"] == row["p2p_bought_wh"] == "600"
    assert total["paid"] == str(units(row["p2p_paid_eur"]))
    assert total["redeemed_wh"] == "500" and total["grid_import_wh"] == "300"
    assert total["grid_import_cost"] == str(units(row["grid_import_eur"]))
    assert total["net"] == str(units(row["net_eur"]))
    # money and energy travel as decimal strings of base units, counts as numbers
    assert all(isinstance(v, str) for k, v in total.items() if k != "forfeited_commitments")
    assert (total["forfeited_commitments"], total["forfeited_bonds"]) == (0, "0")  # open market
    retail, paid = int(body["retail_tariff"]), int(total["paid"])
    assert int(total["savings"]) == 600 * retail // 1_000 - paid > 0
    assert body["reconciles"] is True and body["time_zone"] == "UTC" and body["has_data"]


def test_the_bill_has_every_day_of_the_month_and_the_days_add_up(
    client: TestClient, billed: Billed
) -> None:
    body = own_bill(client, billed, billed.seller, billed.month).json()
    year, month = (int(p) for p in billed.month.split("-"))
    assert len(body["days"]) == calendar.monthrange(year, month)[1]
    assert body["days"][0]["date"] == f"{billed.month}-01"
    for field in ("export_wh", "sold_wh", "received", "fees"):
        assert sum(int(d[field]) for d in body["days"]) == int(body["total"][field]), field
    trade_day = datetime.fromtimestamp(
        billed.played.community.slot_start(billed.slot), ZoneInfo("UTC")
    ).date()
    traded = [d["date"] for d in body["days"] if d["sold_wh"] != "0"]
    assert traded == [trade_day.isoformat()]
    assert body["total"]["sold_wh"] == "600" and body["unclaimed_orders"] == 1


def test_a_bill_needs_a_session_and_is_only_ones_own(client: TestClient, billed: Billed) -> None:
    url = f"/v1/accounts/{billed.buyer}/bill?month={billed.month}"
    assert client.get(url).status_code == 401
    as_seller = client.get(url, headers=auth(client, billed.keys[billed.seller]))
    assert as_seller.status_code == 403
    assert as_seller.json()["error"] == {
        "code": "forbidden",
        "message": "a household may read only its own bill",
    }
    as_admin = client.get(url, headers=auth(client, ADMIN_KEY))  # operators use their own route
    assert as_admin.status_code == 403


def test_a_month_without_the_households_data_is_an_empty_bill_and_a_bad_month_a_422(
    client: TestClient, billed: Billed
) -> None:
    headers = auth(client, billed.keys[billed.buyer])
    empty = client.get(f"/v1/accounts/{billed.buyer}/bill?month=2001-01", headers=headers)
    assert empty.status_code == 200
    body = empty.json()
    assert body["has_data"] is False and len(body["days"]) == 31
    for amounts in (body["total"], *body["days"]):
        assert amounts.pop("forfeited_commitments") == 0  # a count: a number
        assert {v for k, v in amounts.items() if k != "date"} == {"0"}
    for bad in ("2026-13", "2026-1"):
        response = client.get(f"/v1/accounts/{billed.buyer}/bill?month={bad}", headers=headers)
        assert response.status_code == 422, bad


def test_months_and_days_run_in_the_communitys_time_zone(billed: Billed, engine: Engine) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: the slot's day and month may differ from UTC's
    start = billed.played.community.slot_start(billed.slot)
    local = datetime.fromtimestamp(start, ZoneInfo(zone))
    month = local.strftime("%Y-%m")
    billed.played.ingester(engine).sync()
    with app_client(billed.played, engine, time_zone=zone) as client:
        assert client.get("/v1/config").json()["time_zone"] == zone
        body = own_bill(client, billed, billed.buyer, month).json()
    s = billed.played.community
    first, last = slot_range(s.calendar, month, zone)
    assert (body["first_slot"], body["last_slot"]) == (first, last)
    # the month ends 14 hours (of slots) before UTC's
    assert last == slot_range(s.calendar, month)[1] - 14 * 3_600 // s.slot_seconds
    bought = [d["date"] for d in body["days"] if d["bought_wh"] != "0"]
    assert bought == [local.date().isoformat()]


def test_history_lists_every_movement_with_its_transaction_newest_first(
    client: TestClient, billed: Billed
) -> None:
    items = client.get(f"/v1/accounts/{billed.buyer}/history").json()["items"]
    kinds = [(i["kind"], i["asset"], i["amount"]) for i in items]
    # newest first: redeemed, withdrawn energy; claim; order escrow; deposit (fund_payment)
    assert kinds[0] == ("redeemed", "energy", "-500")
    assert ("withdraw", "energy", "-600") in kinds and ("claim", "energy", "600") in kinds
    assert ("deposit", "money", "1000000") in kinds
    assert any(k == "order" and a == "money" for k, a, _ in kinds)
    assert all(len(i["tx_hash"]) == 66 for i in items)
    times = [(i["block_number"], i["log_index"]) for i in items]
    assert times == sorted(times, reverse=True)
    # the meter's minting shows for the seller, the market's vault moves do not show twice
    seller = client.get(f"/v1/accounts/{billed.seller}/history").json()["items"]
    assert ("minted", "energy", "1000") in [(i["kind"], i["asset"], i["amount"]) for i in seller]
    assert not [i for i in seller if i["kind"] in ("sent", "received")]


def test_history_pages_through_every_movement_once(client: TestClient, billed: Billed) -> None:
    url = f"/v1/accounts/{billed.buyer}/history"
    everything = client.get(url).json()["items"]
    seen: list[tuple[str, int, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params).json()
        seen += [(i["tx_hash"], i["log_index"], i["kind"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(i["tx_hash"], i["log_index"], i["kind"]) for i in everything]
    assert len(seen) == len(set(seen)) >= 5


def test_the_config_names_the_explorer_and_the_time_zone(played: Played, engine: Engine) -> None:
    played.ingester(engine).sync()
    with app_client(played, engine, explorer_url="https://explorer.example.org") as client:
        body = client.get("/v1/config").json()
        assert body["explorer_url"] == "https://explorer.example.org"
        assert body["time_zone"] == "UTC"
        assert body["market"]["price_floor"] == str(body["market"]["price_floor"])
    with app_client(played, engine) as client:
        assert client.get("/v1/config").json()["explorer_url"] is None
