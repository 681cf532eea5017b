"""Specification of the order-book file read by ``enerwise auction clear --orders FILE``,
and of the report it prints."""

import json
from pathlib import Path
from typing import Any

import pytest

from market.clearing import MarketParams, Order, Side, settle
from market.errors import MarketError, OrderBookError
from market.orderbook import load_order_book, report

MARKET: dict[str, Any] = {"price_floor": 80_000, "tick_size": 100, "max_tick": 4000, "fee_bps": 0}
BUY_O1: dict[str, Any] = {"id": "o1", "side": "buy", "tick": 1200, "qty_wh": 1500}
SELL_O2: dict[str, Any] = {"id": "o2", "side": "sell", "tick": 1000, "qty_wh": 1500}
EXAMPLE: dict[str, Any] = {"market": MARKET, "orders": [BUY_O1, SELL_O2]}


def write(tmp_path: Path, content: str | dict[str, Any] | list[Any]) -> Path:
    path = tmp_path / "orders.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def book_with_order(**changes: Any) -> dict[str, Any]:
    """A book of one order, the example buy with fields replaced (a value of ... deletes it)."""
    order = {key: value for key, value in {**BUY_O1, **changes}.items() if value is not ...}
    return {"market": MARKET, "orders": [order]}


def book_with_market(**changes: Any) -> dict[str, Any]:
    """The example book with market fields replaced."""
    return {**EXAMPLE, "market": {**MARKET, **changes}}


def error_message(path: Path) -> str:
    with pytest.raises(OrderBookError) as raised:
        load_order_book(path)
    return str(raised.value)


# --- loading ------------------------------------------------------------------------------


def test_loads_a_valid_book_into_params_and_orders(tmp_path: Path) -> None:
    book = load_order_book(write(tmp_path, EXAMPLE))

    assert book.to_params() == MarketParams(
        price_floor=80_000, tick_size=100, max_tick=4000, fee_bps=0
    )
    assert book.to_orders() == [
        Order("o1", Side.BUY, 1200, 1500),
        Order("o2", Side.SELL, 1000, 1500),
    ]


def test_missing_file_is_reported_by_path(tmp_path: Path) -> None:
    assert error_message(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: no such file"


def test_unreadable_path_is_reported(tmp_path: Path) -> None:
    assert error_message(tmp_path).startswith(f"{tmp_path}: cannot read:")


def test_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_bytes(b'{"market": "\xff"}')

    assert error_message(path) == f"{path}: not UTF-8 text (bad byte at offset 12)"


def test_invalid_json_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{"market": {\n  "price_floor": 1,\n  oops\n}}')

    assert error_message(path) == (
        f"{path}: not valid JSON at line 3, column 3: "
        "Expecting property name enclosed in double quotes"
    )


def test_repeated_json_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '{"market": {}, "market": {}, "orders": []}')

    assert error_message(path) == f'{path}: not valid JSON: duplicate key "market"'


def test_tick_above_max_tick_names_the_field_path(tmp_path: Path) -> None:
    orders = [{"id": f"o{i}", "side": "buy", "tick": 4000, "qty_wh": 1} for i in range(3)]
    orders.append({"id": "o3", "side": "sell", "tick": 4001, "qty_wh": 1})

    message = error_message(write(tmp_path, {"market": MARKET, "orders": orders}))

    assert message.endswith(": orders[3].tick: must be <= max_tick 4000")


def test_duplicate_order_id_names_both_entries(tmp_path: Path) -> None:
    orders = [BUY_O1, {**SELL_O2, "id": "o1"}]

    message = error_message(write(tmp_path, {"market": MARKET, "orders": orders}))

    assert message.endswith(': orders[1].id: duplicate id "o1", also used by orders[0]')


@pytest.mark.parametrize(
    "book, expected",
    [
        (book_with_order(price=5), "orders[0].price: is not a known field"),
        (book_with_order(qty_wh=...), "orders[0].qty_wh: is required"),
        (book_with_order(qty_wh=1.5), "orders[0].qty_wh: must be an integer"),
        (book_with_order(qty_wh=1500.0), "orders[0].qty_wh: must be an integer"),
        (book_with_order(tick="1200"), "orders[0].tick: must be an integer"),
        (book_with_order(tick=True), "orders[0].tick: must be an integer"),
        (book_with_order(qty_wh=0), "orders[0].qty_wh: must be > 0"),
        (book_with_order(tick=-1), "orders[0].tick: must be >= 0"),
        (book_with_order(side="bid"), "orders[0].side: must be 'buy' or 'sell'"),
        (book_with_order(id=""), "orders[0].id: must not be empty"),
        (book_with_order(id=7), "orders[0].id: must be a string"),
        (book_with_market(max_tick=65_536), "market.max_tick: must be <= 65535"),
        (book_with_market(fee_bps=10_001), "market.fee_bps: must be <= 10000"),
        (book_with_market(tick_size=0), "market.tick_size: must be >= 1"),
        (book_with_market(price_floor=-1), "market.price_floor: must be >= 0"),
        ({**EXAMPLE, "slot": 3}, "slot: is not a known field"),
        ({**EXAMPLE, "orders": {}}, "orders: must be a list"),
        ({"orders": []}, "market: is required"),
        ([], "top level: must be an object"),
    ],
)
def test_schema_errors_name_the_field_path(
    tmp_path: Path, book: dict[str, Any] | list[Any], expected: str
) -> None:
    path = write(tmp_path, book)

    assert error_message(path) == f"{path}: {expected}"


def test_error_is_one_line_and_counts_the_errors_not_shown(tmp_path: Path) -> None:
    bad = {"id": "x", "side": "bid", "tick": -1, "qty_wh": 0, "extra": 1}

    message = error_message(write(tmp_path, {"market": MARKET, "orders": [bad]}))

    assert "\n" not in message
    assert message.endswith("(and 3 more)")


def test_order_book_error_is_a_market_error_and_a_value_error() -> None:
    assert issubclass(OrderBookError, MarketError)
    assert issubclass(OrderBookError, ValueError)


# --- report ---------------------------------------------------------------------------------


def test_report_of_the_example_is_the_cli_output(tmp_path: Path) -> None:
    """buy 1500 Wh @ 1200 vs sell 1500 Wh @ 1000: tick 1100, price 190000, paid 285000."""
    book = load_order_book(write(tmp_path, EXAMPLE))

    output = report(*settle(book.to_orders(), book.to_params()))

    assert output == {
        "cleared": True,
        "clearing_tick": 1100,
        "price_per_kwh": 190_000,
        "volume_wh": 1500,
        "orders": [
            {"id": "o1", "side": "buy", "filled_wh": 1500, "paid": 285_000, "refund": 15_000},
            {"id": "o2", "side": "sell", "filled_wh": 1500, "received": 285_000, "fee": 0,
             "refund_wh": 0},
        ],
    }  # fmt: skip
    assert json.loads(json.dumps(output)) == output


def test_report_has_null_price_when_nothing_clears() -> None:
    params = MarketParams(price_floor=80_000, tick_size=100, max_tick=4000, fee_bps=0)
    orders = [Order("o1", Side.BUY, 900, 1500), Order("o2", Side.SELL, 1000, 1500)]

    output = report(*settle(orders, params))

    assert (output["cleared"], output["clearing_tick"], output["price_per_kwh"]) == (
        False,
        None,
        None,
    )
    assert output["volume_wh"] == 0
    assert output["orders"][0] == {
        "id": "o1",
        "side": "buy",
        "filled_wh": 0,
        "paid": 0,
        "refund": 255_000,  # ceil(1500 * (80000 + 900*100) / 1000)
    }


def test_report_reports_seller_net_of_fee_and_lists_orders_in_input_order() -> None:
    """fee_bps 25 on a gross of 285000: fee 713, received 284287."""
    params = MarketParams(price_floor=80_000, tick_size=100, max_tick=4000, fee_bps=25)
    orders = [Order("o2", Side.SELL, 1000, 1500), Order("o1", Side.BUY, 1200, 1500)]

    output = report(*settle(orders, params))

    assert [o["id"] for o in output["orders"]] == ["o2", "o1"]
    assert output["orders"][0] == {
        "id": "o2",
        "side": "sell",
        "filled_wh": 1500,
        "received": 284_287,
        "fee": 713,
        "refund_wh": 0,
    }
