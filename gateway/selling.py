"""Standing orders set in the dApp: the gateway reads them from the community's API.

``selling.rules_url`` names the API (``https://community.example``); every
``selling.refresh_minutes`` the gateway asks ``GET /v1/accounts/{owner}/standing-orders`` and
applies the answer to its standing orders (payment base units per kWh, turned into EUR/kWh with
the token's decimals; null: that side is off). An API that does not answer, or answers
something else, leaves the rules in force (the file's, or the last ones read) and is one
warning.
"""

from __future__ import annotations

from typing import Any

import httpx

from agents.live.standing import StandingRules
from devices.errors import DeviceConfigError


def _price(value: Any, unit: float, name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise DeviceConfigError(f"standing orders: {name} is not a decimal string: {value!r}")
    return int(value) / unit


def fetch_rules(
    base_url: str,
    owner: str,
    unit: float,
    *,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> StandingRules:
    """The owner's standing orders from the API (``unit``: payment base units per EUR).

    Raises:
        DeviceConfigError: the API did not answer, or not with standing orders.
    """
    url = f"{base_url.rstrip('/')}/v1/accounts/{owner}/standing-orders"
    try:
        if client is None:
            response = httpx.get(url, timeout=timeout, follow_redirects=True)
        else:
            response = client.get(url, timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviceConfigError(f"standing orders from {url}: {first}") from None
    if not isinstance(data, dict):
        raise DeviceConfigError(f"standing orders from {url}: not an object")
    return StandingRules(
        _price(data.get("sell_min_price"), unit, "sell_min_price"),
        _price(data.get("buy_below_tariff"), unit, "buy_below_tariff"),
    )
