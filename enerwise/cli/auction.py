"""``enerwise auction``: clear an order book with the Python reference or on a real chain."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from enerwise.cli.console import console
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import print_json

app = typer.Typer(help="Run the uniform-price slot auction on an order book.", no_args_is_help=True)


class Engine(StrEnum):
    python = "python"
    chain = "chain"


@app.command("clear")
def clear(
    orders: Annotated[
        Path,
        typer.Option(
            "--orders", metavar="FILE", help="Order-book JSON file (format: docs/cli.md)."
        ),
    ],
    engine: Annotated[
        Engine, typer.Option(help="python: the reference rule; chain: the contracts on anvil.")
    ] = Engine.python,
    json_out: JsonFlag = False,
) -> None:
    """Clear one slot's order book and print each order's fill and money."""
    from market.clearing import settle
    from market.orderbook import load_order_book, report

    book = load_order_book(orders)
    params, order_list = book.to_params(), book.to_orders()
    if engine is Engine.python:
        record, outcomes = settle(order_list, params)
    else:
        from devchain.chain_engine import settle_on_chain  # starts anvil: import only when asked

        record, outcomes = settle_on_chain(order_list, params)
    result = report(record, outcomes)
    if json_out:
        print_json(result)
        return
    if not result["cleared"]:
        console.print("no clearing: the books do not cross (everything is refunded)")
    else:
        console.print(
            f"cleared {result['volume_wh']} Wh at tick {result['clearing_tick']} "
            f"({result['price_per_kwh']} per kWh)"
        )
    for row in result["orders"]:
        money = f"paid {row['paid']}" if row["side"] == "buy" else f"received {row['received']}"
        console.print(f"  {row['id']:<12} filled {row['filled_wh']:>10} Wh  {money}")
