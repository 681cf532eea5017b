"""Standing orders set in the dApp, read by the gateway from the community's API."""

from __future__ import annotations

import httpx
import pytest

from devices.errors import DeviceConfigError
from gateway.selling import fetch_rules

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
UNIT = 1e18  # an 18-decimal payment token


def _client(status: int, body: object) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/v1/accounts/{OWNER}/standing-orders"
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_dapps_prices_become_the_gateways_rules_in_eur() -> None:
    body = {"sell_min_price": "120000000000000000", "buy_below_tariff": "30000000000000000"}
    rules = fetch_rules("http://api.test/", OWNER, UNIT, client=_client(200, body))
    assert rules.sell_min_eur_kwh == pytest.approx(0.12)
    assert rules.buy_below_tariff_eur_kwh == pytest.approx(0.03)


def test_a_side_the_household_turned_off_is_not_traded() -> None:
    body = {"sell_min_price": "120000000000000000", "buy_below_tariff": None}
    rules = fetch_rules("http://api.test", OWNER, UNIT, client=_client(200, body))
    assert rules.buy_below_tariff_eur_kwh is None


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, {"error": {"code": "unavailable"}}, "503"),
        (200, ["not", "an", "object"], "not an object"),
        (200, {"sell_min_price": 0.12, "buy_below_tariff": None}, "not a decimal string"),
    ],
)
def test_an_api_that_answers_otherwise_is_one_line(status: int, body: object, message: str) -> None:
    with pytest.raises(DeviceConfigError, match=message) as info:
        fetch_rules("http://api.test", OWNER, UNIT, client=_client(status, body))
    assert "\n" not in str(info.value)
