"""Standing orders: a household's rules for its gateway (payment base units per kWh)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from indexer.api.schemas.common import ApiModel, Units

#: Prices per kWh in base units; an 18-decimal token's 5 EUR/kWh is 5 * 10^18.
PriceUnits = Annotated[Units, Field(ge=0, le=10**30)]


def _digits(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,31}", value):
        return int(value)
    raise ValueError('need a decimal string of base units (digits only, e.g. "120000")')


PriceUnitsIn = Annotated[
    int,
    BeforeValidator(_digits),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,31}$"}, mode="validation"),
    Field(ge=0, le=10**30),
]
"""A price in base units per kWh as a request sends it: a decimal string, never a JSON number
(which a browser could not hold exactly)."""


class StandingOrdersUpdate(BaseModel):
    """What a household sets (null: that side is not traded). Amounts as decimal strings."""

    model_config = ConfigDict(extra="forbid")

    sell_min_price: PriceUnitsIn | None = Field(
        description="Sell each slot's surplus at no less than this (base units per kWh)."
    )
    buy_below_tariff: PriceUnitsIn | None = Field(
        description="Bid for each slot's import at the grid tariff minus this (base units per kWh)."
    )


class StandingOrdersPublic(ApiModel):
    account: str
    sell_min_price: PriceUnits | None
    buy_below_tariff: PriceUnits | None
    updated_at: float | None = Field(description="Unix seconds of the last change (null: never).")
