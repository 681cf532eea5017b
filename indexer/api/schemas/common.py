"""Shared response shapes: errors and pages."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

T = TypeVar("T")


UNITS_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^-?[0-9]+$", "examples": ["1000000"]}
Units = Annotated[
    int,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema(UNITS_SCHEMA, mode="serialization"),
]
"""A token amount in base units: payment-token base units (money, prices per kWh) or Wh (the
energy token's unit). Integers inside, a decimal string in JSON, so that no client loses
precision (an 18-decimal token's euro is 10^18 units, beyond JavaScript's 2^53)."""


class ApiModel(BaseModel):
    """Base of every response model: built from the query dataclasses."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `slot_not_found`.")
    message: str = Field(description="Human-readable explanation.")
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Not known to the index"},
    422: {"model": ErrorResponse, "description": "Malformed input"},
    429: {"model": ErrorResponse, "description": "Rate limited"},
    503: {"model": ErrorResponse, "description": "Database unavailable or nothing indexed yet"},
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Not signed in"},
    403: {"model": ErrorResponse, "description": "Missing role"},
    **ERRORS,
}
