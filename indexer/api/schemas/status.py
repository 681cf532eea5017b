"""Health and indexer status."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, TypeAdapter, WithJsonSchema

from indexer.api.schemas.common import UNITS_SCHEMA
from indexer.market_info import MarketInfo

#: MarketInfo's token amounts: payment base units (prices per kWh) and Wh.
UNIT_FIELDS = ("price_floor", "tick_size", "min_order_wh")


def _market_json(info: MarketInfo) -> dict[str, Any]:
    """``info`` as JSON, its token amounts as decimal strings (see ``Units``)."""
    data = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    return {k: str(v) if k in UNIT_FIELDS else v for k, v in data.items()}


def _market_schema() -> dict[str, Any]:
    """MarketInfo's JSON schema with its token amounts as decimal strings."""
    schema = TypeAdapter(MarketInfo).json_schema(mode="serialization")
    for name in UNIT_FIELDS:
        schema["properties"][name] = {**UNITS_SCHEMA, "title": schema["properties"][name]["title"]}
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
