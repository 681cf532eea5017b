"""A household's standing orders through the API: set with its own SIWE session, read by anyone
(its gateway), amounts as decimal strings that survive an 18-decimal token."""

# ruff: noqa: F811  (the tests take test_auth's ``client`` fixture, imported by name)
from __future__ import annotations

import time
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from indexer.api import ApiConfig, create_app
from tests.indexer.test_auth import (  # noqa: F401
    ADMIN_KEY,
    DOMAIN,
    MEMBER_KEY,
    client,
    login,
)

MEMBER = Account.from_key(MEMBER_KEY).address
EIGHTEEN_DECIMALS_12_CENTS = "120000000000000000"  # 0.12 EUR of an 18-decimal token


def _put(client: TestClient, token: str | None, account: str, body: dict[str, object]) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.put(f"/v1/accounts/{account}/standing-orders", json=body, headers=headers)


def _set_as_member(client: TestClient, body: dict[str, object]) -> None:
    """Sign in as the member and set its standing orders to ``body`` (accepted)."""
    response = _put(client, login(client, MEMBER_KEY), MEMBER, body)
    assert response.status_code == 200, response.text


def test_a_household_that_set_nothing_has_both_sides_off(client: TestClient) -> None:
    body = client.get(f"/v1/accounts/{MEMBER}/standing-orders").json()
    assert body == {
        "account": MEMBER,
        "sell_min_price": None,
        "buy_below_tariff": None,
        "updated_at": None,
    }


def test_a_household_sets_its_orders_and_its_gateway_reads_them_exactly(
    client: TestClient,
) -> None:
    token = login(client, MEMBER_KEY)
    body = {"sell_min_price": EIGHTEEN_DECIMALS_12_CENTS, "buy_below_tariff": "30000"}
    response = _put(client, token, MEMBER, body)
    assert response.status_code == 200, response.text
    read = client.get(f"/v1/accounts/{MEMBER.lower()}/standing-orders").json()
    assert read["sell_min_price"] == EIGHTEEN_DECIMALS_12_CENTS
    assert read["buy_below_tariff"] == "30000"
    assert read["updated_at"] > 0


def test_a_household_reads_its_new_orders_right_after_setting_them(client: TestClient) -> None:
    url = f"/v1/accounts/{MEMBER}/standing-orders"
    assert client.get(url).json()["sell_min_price"] is None  # the API's cache now holds "off"
    _set_as_member(client, {"sell_min_price": "90000", "buy_below_tariff": None})
    assert client.get(url).json()["sell_min_price"] == "90000"


def test_another_api_process_serves_new_orders_once_its_cache_revalidates(
    client: TestClient, engine: Engine
) -> None:
    url = f"/v1/accounts/{MEMBER}/standing-orders"
    config = ApiConfig(siwe_domain=DOMAIN, rate_limit_per_minute=0, response_cache_seconds=0.2)
    with TestClient(create_app(engine, config)) as other:
        assert other.get(url).json()["sell_min_price"] is None  # cached in the other process
        _set_as_member(client, {"sell_min_price": "90000", "buy_below_tariff": None})
        time.sleep(0.3)
        assert other.get(url).json()["sell_min_price"] == "90000"


def test_a_side_set_to_null_is_turned_off(client: TestClient) -> None:
    token = login(client, MEMBER_KEY)
    _put(client, token, MEMBER, {"sell_min_price": "100", "buy_below_tariff": "5"})
    _put(client, token, MEMBER, {"sell_min_price": "100", "buy_below_tariff": None})
    read = client.get(f"/v1/accounts/{MEMBER}/standing-orders").json()
    assert (read["sell_min_price"], read["buy_below_tariff"]) == ("100", None)


def test_setting_another_households_orders_is_forbidden(client: TestClient) -> None:
    token = login(client, ADMIN_KEY)
    response = _put(client, token, MEMBER, {"sell_min_price": "1", "buy_below_tariff": None})
    assert response.status_code == 403


def test_setting_orders_without_signing_in_is_refused(client: TestClient) -> None:
    response = _put(client, None, MEMBER, {"sell_min_price": "1", "buy_below_tariff": None})
    assert response.status_code == 401


def test_a_negative_locale_formatted_or_numeric_price_is_refused(client: TestClient) -> None:
    token = login(client, MEMBER_KEY)
    for bad in ("-1", "0,12", "1e3", 120000):
        response = _put(client, token, MEMBER, {"sell_min_price": bad, "buy_below_tariff": None})
        assert response.status_code == 422, bad
