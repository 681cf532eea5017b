"""Health and indexer status."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, TypeAdapter, WithJsonSchema

from indexer.api.schemas.common import UNITS_SCHEMA
from indexer.market_info import MarketInfo

#: MarketInfo's token amounts: payment base units (prices per kWh, the bond) and Wh.
UNIT_FIELDS = ("price_floor", "tick_size", "min_order_wh", "bond_amount")
#: MarketInfo's token amounts that are null in open mode.
NULLABLE_UNIT_FIELDS = ("bond_amount",)

#: What the fields of the market mode mean (the dApp reads them by these names).
_MODE_DESCRIPTIONS = {
    "mode": "`open`: orders are placed in the clear until gate closure. `sealed`: only "
    "commitments (a hash and locked collateral) until gate closure, revealed into the book in "
    "the reveal window after it.",
    "reveal_seconds": "Sealed mode: length of the reveal window that follows every gate "
    "closure, seconds (reveals while gate closure < t <= gate closure + reveal_seconds; the "
    "slot clears after it). Null in open mode.",
    "bond_amount": "Sealed mode: payment base units every commitment locks and forfeits to the "
    "treasury when it is never revealed. Null in open mode.",
}


def _market_json(info: MarketInfo) -> dict[str, Any]:
    """``info`` as JSON, its token amounts as decimal strings (see ``Units``)."""
    data = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    return {k: str(v) if k in UNIT_FIELDS and v is not None else v for k, v in data.items()}


def _market_schema() -> dict[str, Any]:
    """MarketInfo's JSON schema with its token amounts as decimal strings; every field is in
    every answer (the mode's fields too, null in open mode)."""
    schema = TypeAdapter(MarketInfo).json_schema(mode="serialization")
    properties = schema["properties"]
    for name in UNIT_FIELDS:
        units = {**UNITS_SCHEMA, "title": properties[name]["title"]}
        if name in NULLABLE_UNIT_FIELDS:
            units = {"anyOf": [UNITS_SCHEMA, {"type": "null"}], "title": units["title"]}
        properties[name] = units
    for name, description in _MODE_DESCRIPTIONS.items():
        properties[name].pop("default", None)
        properties[name]["description"] = description
    schema["required"] = list(properties)
    return schema


MarketPublic = Annotated[
    MarketInfo,
    PlainSerializer(_market_json, return_type=dict[str, Any], when_used="json"),
    WithJsonSchema(_market_schema(), mode="serialization"),
]
"""The deployment facts (one declaration: the indexer's ``MarketInfo``), amounts as strings."""


class HealthPublic(BaseModel):
    status: str
    database: bool
    checkpoint_block: int | None
    head_block: int | None
    lag_blocks: int | None
    seconds_since_update: float | None


class StatusPublic(BaseModel):
    market: MarketPublic
    checkpoint_block: int
    checkpoint_time: int
    head_block: int
    current_slot: int
    timescaledb: bool
