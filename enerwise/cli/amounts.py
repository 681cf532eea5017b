"""Amounts on the command line: human units in, exact base units out.

An option's name carries its unit (``--budget-eur-per-day 5``, ``--max-buy-eur-per-kwh
0.30``); the value is a plain decimal number with a dot (``0.30``, ``5``, ``12.5``). Money is
converted to the payment token's base units exactly (an amount finer than the token's
decimals is refused, never rounded), a price per kWh to the tick that keeps its promise (a
buyer's limit rounds down the grid, a seller's up). Base units are always an option of their
own whose name says so (``--budget-base-units-per-day``, ``--max-buy-tick``).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

from enerwise.errors import OptionError

if TYPE_CHECKING:
    from market.clearing import MarketParams


def decimal_amount(text: str, option: str) -> Decimal:
    """``text`` as a decimal number >= 0 (one line naming ``option`` otherwise)."""
    cleaned = text.strip()
    if "," in cleaned:
        raise OptionError(f"{option}: {text!r}: write the number with a dot (0.30, not 0,30)")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise OptionError(f"{option}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise OptionError(f"{option}: {text!r} is not an amount (a number >= 0)")
    return value


def money_base_units(amount: Decimal, decimals: int, option: str) -> int:
    """``amount`` of the payment token (e.g. EUR) in its base units, exactly."""
    from energychain.units import decimal_to_base_units

    try:
        return int(decimal_to_base_units(amount, decimals))
    except ValueError as exc:
        raise OptionError(f"{option}: {exc}") from None


def price_tick(
    price_per_kwh: Decimal,
    params: MarketParams,
    decimals: int,
    option: str,
    *,
    side: Literal["buy", "sell"],
) -> int:
    """The tick of a limit price per kWh: for a buyer the highest tick at or below it, for a
    seller the lowest at or above it (the price a limit promises is never crossed)."""
    from energychain.units import tick_at_or_above, tick_at_or_below

    scaled = price_per_kwh.scaleb(decimals)
    try:
        if side == "buy":
            return int(tick_at_or_below(params, int(scaled.to_integral_value(ROUND_FLOOR))))
        return int(tick_at_or_above(params, int(scaled.to_integral_value(ROUND_CEILING))))
    except ValueError:
        low = Decimal(params.price_floor).scaleb(-decimals)
        high = Decimal(params.price_top).scaleb(-decimals)
        raise OptionError(
            f"{option}: {price_per_kwh} is outside the market's prices ({low}..{high} per kWh)"
        ) from None


def money_text(base_units: int, decimals: int) -> str:
    """Base units as a decimal amount, exact, at least two decimals (``5.00``, ``0.3125``)."""
    value = Decimal(base_units).scaleb(-decimals)
    trimmed = Decimal(format(value.normalize(), "f"))
    cents = trimmed.quantize(Decimal("0.01"))
    return str(cents if cents == trimmed else trimmed)


def one_of(human: object | None, base: object | None, human_option: str, base_option: str) -> None:
    """Exactly one of an amount's two spellings (human units or base units) was given."""
    if (human is None) == (base is None):
        raise OptionError(f"give exactly one of {human_option} or {base_option}")
