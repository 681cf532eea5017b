"""Day-ahead prices from an HTTP API, for a household's dynamic tariff.

Two JSON shapes are understood: the aWATTar one, ``{"data": [{"start_timestamp": <ms>,
"marketprice": <EUR/MWh>}, ...]}`` (Tibber, Octopus and the like publish through such small
adapters too), and a plain list ``[{"start": <ISO time or unix s>, "eur_per_mwh": ...}, ...]``.
The answer becomes ``[(start unix s, EUR/MWh)]`` sorted by time; anything else is one
:class:`~devices.errors.DeviceConfigError` naming the URL.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from devices.errors import DeviceConfigError


def _start(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text.replace(".", "").isdigit():
        return float(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_prices(document: Any, source: str) -> list[tuple[float, float]]:
    """``[(start, EUR/MWh)]`` of an API answer (see the module docstring)."""
    rows: list[tuple[float, float]] = []
    try:
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            for item in document["data"]:
                rows.append((float(item["start_timestamp"]) / 1000.0, float(item["marketprice"])))
        elif isinstance(document, list):
            for item in document:
                rows.append((_start(item["start"]), float(item["eur_per_mwh"])))
        else:
            raise DeviceConfigError(f"price API {source}: neither {{data: [...]}} nor a list")
    except (KeyError, TypeError, ValueError) as exc:
        raise DeviceConfigError(f"price API {source}: unexpected entry ({exc!r})") from None
    if not rows:
        raise DeviceConfigError(f"price API {source} answered no prices")
    if not all(math.isfinite(price) for _, price in rows):
        raise DeviceConfigError(f"price API {source} answered a price that is not a number")
    return sorted(rows)


def fetch_prices(url: str, *, timeout: float = 10.0) -> list[tuple[float, float]]:
    """GET ``url`` and parse its prices (one retry-free request; the caller keeps the last
    prices it had when this fails)."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""  # httpx's status errors run on
        raise DeviceConfigError(f"price API {url}: {type(exc).__name__}: {first}") from None
    return parse_prices(document, url)
