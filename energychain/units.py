"""The protocol's units, as ``NewType`` integers, and the conversions between them.

On chain everything is an integer: energy in whole watt-hours (:data:`Wh`), prices as ticks
(:data:`Tick`) on a grid of payment-token base units per kWh (:data:`BaseUnits`), money in base
units of the payment token. The simulator and the agents price in micro-euros (:data:`MicroEur`,
1e-6 EUR). EUR as a float appears only at the edges (a forecast's tariff, a printed figure):
:func:`eur_to_base_units` and :func:`base_units_to_eur` are the only ways across.

``NewType`` costs nothing at run time; mypy refuses a :data:`BaseUnits` where :data:`MicroEur` is
expected, so a price in the wrong unit cannot be passed silently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NewType

from market.clearing import WH_PER_KWH, MarketParams

Wh = NewType("Wh", int)
"""Energy in whole watt-hours (ERC-1155 slot tokens: 1 unit = 1 Wh)."""
Tick = NewType("Tick", int)
"""A price step of a market: ``price = price_floor + tick * tick_size``."""
BaseUnits = NewType("BaseUnits", int)
"""Money in base units of the payment token (6 decimals for a EUR stablecoin)."""
MicroEur = NewType("MicroEur", int)
"""Money in millionths of a euro, the simulator's unit."""

MICRO_EUR_PER_EUR = 1_000_000
"""Micro-euros per euro."""
SECONDS_PER_DAY = 86_400
"""A UTC day, the period of an agent delegation's budget."""

__all__ = [
    "MICRO_EUR_PER_EUR",
    "SECONDS_PER_DAY",
    "WH_PER_KWH",
    "BaseUnits",
    "MicroEur",
    "Tick",
    "Wh",
    "base_units_per_eur",
    "base_units_to_eur",
    "base_units_to_micro_eur",
    "decimal_to_base_units",
    "eur_to_base_units",
    "kwh",
    "tick_at_or_above",
    "tick_at_or_below",
]


def base_units_per_eur(decimals: int) -> int:
    """Base units of a ``decimals``-decimals payment token per euro (``10**decimals``)."""
    return int(10**decimals)


def eur_to_base_units(eur: float, decimals: int) -> float:
    """``eur`` in base units of the payment token (a float: the caller rounds to its grid)."""
    return eur * base_units_per_eur(decimals)


def base_units_to_eur(amount: BaseUnits | int, decimals: int) -> float:
    """``amount`` base units as euros (for display and for float models only)."""
    return amount / base_units_per_eur(decimals)


def base_units_to_micro_eur(amount: BaseUnits | int, decimals: int) -> float:
    """``amount`` base units as micro-euros (a float: the caller rounds)."""
    return amount * MICRO_EUR_PER_EUR / base_units_per_eur(decimals)


def kwh(energy: Wh | int) -> float:
    """``energy`` in kWh (for display and float models)."""
    return energy / WH_PER_KWH


def decimal_to_base_units(amount: Decimal, decimals: int) -> BaseUnits:
    """Exactly ``amount`` (in the token's whole units, e.g. EUR) as base units.

    Raises:
        ValueError: ``amount`` is negative, not finite, or finer than ``decimals`` places.
    """
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{amount} is not an amount (a number >= 0)")
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is finer than the payment token's {decimals} decimals")
    return BaseUnits(int(scaled))


def tick_at_or_below(params: MarketParams, price: BaseUnits | int) -> Tick:
    """The highest tick whose price is at most ``price`` (base units per kWh), at most
    ``max_tick``: a buyer's limit.

    Raises:
        ValueError: ``price`` is below the price floor (no tick is that cheap).
    """
    if price < params.price_floor:
        raise ValueError(f"{price} is below the market's price floor {params.price_floor}")
    return Tick(min(params.max_tick, (price - params.price_floor) // params.tick_size))


def tick_at_or_above(params: MarketParams, price: BaseUnits | int) -> Tick:
    """The lowest tick whose price is at least ``price`` (base units per kWh), at least 0: a
    seller's limit.

    Raises:
        ValueError: ``price`` is above the price of ``max_tick`` (no tick is that dear).
    """
    if price > params.price_top:
        raise ValueError(f"{price} is above the market's highest price {params.price_top}")
    return Tick(max(0, -((params.price_floor - price) // params.tick_size)))
