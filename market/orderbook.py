"""The order-book file read by ``enerwise auction clear --orders FILE``, and the report it prints.

The file is JSON::

    {"market": {"price_floor": 80000, "tick_size": 120, "max_tick": 2000, "fee_bps": 0},
     "orders": [{"id": "o1", "side": "buy", "tick": 1200, "qty_wh": 1500}, ...]}

It is a trust boundary, so it is validated strictly: unknown fields are rejected, numbers must be
JSON integers (no ``1.0``, no ``"5"``, no ``true``), ticks must fit the market and ids must be
unique. Inside, the clearing works on the dataclasses of :mod:`market.clearing`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from market.clearing import (
    BPS,
    MAX_TICK,
    ClearingRecord,
    MarketParams,
    Order,
    OrderOutcome,
    Side,
)
from market.errors import OrderBookError


class _StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MarketSpec(_StrictModel):
    """The ``market`` object: the parameters of :class:`market.clearing.MarketParams`."""

    price_floor: int = Field(ge=0)
    tick_size: int = Field(ge=1)
    max_tick: int = Field(ge=0, le=MAX_TICK)
    fee_bps: int = Field(ge=0, le=BPS)


class OrderSpec(_StrictModel):
    """One entry of ``orders``: the fields of :class:`market.clearing.Order`."""

    id: str = Field(min_length=1)
    side: Literal["buy", "sell"]
    tick: int = Field(ge=0)
    qty_wh: int = Field(gt=0)


class OrderBook(_StrictModel):
    """A whole order-book file: one market and the orders of one slot."""

    market: MarketSpec
    orders: list[OrderSpec]

    @model_validator(mode="after")
    def _check_orders_fit_market(self) -> Self:
        """Ticks within ``max_tick`` and unique ids, reported at the offending field."""
        errors: list[InitErrorDetails] = []
        first_use: dict[str, int] = {}
        for index, order in enumerate(self.orders):
            if order.tick > self.market.max_tick:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "tick_above_max_tick",
                            "must be <= max_tick {max_tick}",
                            {"max_tick": self.market.max_tick},
                        ),
                        loc=("orders", index, "tick"),
                        input=order.tick,
                    )
                )
            first = first_use.setdefault(order.id, index)
            if first != index:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "duplicate_order_id",
                            'duplicate id "{id}", also used by orders[{first}]',
                            {"id": order.id, "first": first},
                        ),
                        loc=("orders", index, "id"),
                        input=order.id,
                    )
                )
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def to_params(self) -> MarketParams:
        """The market parameters as the clearing's dataclass."""
        return MarketParams(
            price_floor=self.market.price_floor,
            tick_size=self.market.tick_size,
            max_tick=self.market.max_tick,
            fee_bps=self.market.fee_bps,
        )

    def to_orders(self) -> list[Order]:
        """The orders as the clearing's dataclasses, in file order."""
        return [
            Order(id=order.id, side=Side(order.side), tick=order.tick, qty_wh=order.qty_wh)
            for order in self.orders
        ]


def load_order_book(path: str | os.PathLike[str]) -> OrderBook:
    """Read and validate an order-book file.

    Raises:
        OrderBookError: the file is missing or unreadable, is not JSON (the message gives line
            and column), or is not a valid order book (the message names the field path, e.g.
            ``orders[3].tick: must be <= max_tick 4000``). The message is one line, prefixed by
            the path.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OrderBookError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise OrderBookError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise OrderBookError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise OrderBookError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise OrderBookError(f"{path}: not valid JSON: {exc}") from None
    try:
        return OrderBook.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise OrderBookError(f"{path}: {_describe(errors[0])}{more}") from None


class BuyReport(TypedDict):
    """One buy in the CLI's output: ``paid`` and ``refund`` are in payment-token base units."""

    id: str
    side: Literal["buy"]
    filled_wh: int
    paid: int
    refund: int


class SellReport(TypedDict):
    """One sell in the CLI's output: ``received`` is net of ``fee``; ``refund_wh`` is energy."""

    id: str
    side: Literal["sell"]
    filled_wh: int
    received: int
    fee: int
    refund_wh: int


class ClearingReport(TypedDict):
    """The CLI's JSON output; ``clearing_tick`` and ``price_per_kwh`` are null when not cleared."""

    cleared: bool
    clearing_tick: int | None
    price_per_kwh: int | None
    volume_wh: int
    orders: list[BuyReport | SellReport]


def report(record: ClearingRecord, outcomes: Iterable[OrderOutcome]) -> ClearingReport:
    """The JSON document ``enerwise auction clear`` prints, orders in the order given."""
    return {
        "cleared": record.cleared,
        "clearing_tick": record.clearing_tick if record.cleared else None,
        "price_per_kwh": record.price_per_kwh if record.cleared else None,
        "volume_wh": record.volume_wh,
        "orders": [_order_report(outcome) for outcome in outcomes],
    }


def _order_report(outcome: OrderOutcome) -> BuyReport | SellReport:
    if outcome.side is Side.BUY:
        return {
            "id": outcome.order_id,
            "side": "buy",
            "filled_wh": outcome.filled_wh,
            "paid": outcome.paid,
            "refund": outcome.refund,
        }
    return {
        "id": outcome.order_id,
        "side": "sell",
        "filled_wh": outcome.filled_wh,
        "received": outcome.received,
        "fee": outcome.fee,
        "refund_wh": outcome.refund,
    }


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json`` silently keeps the last of repeated keys; in an order book that hides mistakes."""
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f'duplicate key "{key}"')
        obj[key] = value
    return obj


_PHRASES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "model_type": "must be an object",
    "list_type": "must be a list",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "literal_error": "must be {expected}",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
}


def _describe(error: ErrorDetails) -> str:
    """``orders[3].tick: must be >= 0``: the field path, then what is wrong with it."""
    path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")
    phrase = _PHRASES.get(error["type"])
    message = phrase.format(**error.get("ctx", {})) if phrase else error["msg"]
    return f"{path or 'top level'}: {message}"
