"""``enerwise bench``: figures that the issues set targets for (gas, transactions/s, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from enerwise.cli.console import console
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import print_json, print_measured, status

app = typer.Typer(
    help="Benchmarks: print measured figures (JSON with --json).", no_args_is_help=True
)


@app.command("tx")
def tx(
    count: Annotated[int, typer.Option(min=1, help="Transactions per measurement.")] = 500,
    json_out: JsonFlag = False,
) -> None:
    """Transactions per second through the pipeline on a fresh anvil (one key)."""
    from enerwise.benchmarks.tx import run

    with status(f"bench tx: {count} transactions on a fresh anvil"):
        figures = run(count)
    print_measured(figures, json_out)


@app.command("gas")
def gas(
    json_out: JsonFlag = False,
    snapshot: Annotated[
        Path | None, typer.Option(help="Also write the figures to this file (gas-snapshot.json).")
    ] = None,
) -> None:
    """Gas per contract operation on a fresh anvil (10,000-order book for the clearing)."""
    from enerwise.benchmarks.gas import run

    with status("bench gas: every operation on a fresh anvil, a 10,000-order clearing"):
        figures = run()
    if snapshot is not None:
        snapshot.write_text(json.dumps(figures, indent=2) + "\n")
    print_measured(figures, json_out)


@app.command("oracle")
def oracle(
    meters: Annotated[int, typer.Option(min=1, help="Simulated meters.")] = 1000,
    slots: Annotated[int, typer.Option(min=1, help="Slots per meter.")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="Readings per submitReadings.")] = 250,
    json_out: JsonFlag = False,
) -> None:
    """Meter oracle: readings signed and persisted per second, and landed on anvil per second."""
    from enerwise.benchmarks.oracle import run

    with status(f"bench oracle: {meters} meters x {slots} slots, batches of {batch_size}"):
        figures = run(meters, slots, batch_size)
    print_measured(figures, json_out)


@app.command("indexer")
def indexer(
    events: Annotated[int, typer.Option(min=1000, help="Events to backfill.")] = 100_000,
    json_out: JsonFlag = False,
) -> None:
    """Indexer: backfill events/s (SQLite, PostgreSQL), API latency under load, SSE lag."""
    from enerwise.benchmarks.indexer import run

    with status(f"bench indexer: {events:,} events, SQLite and PostgreSQL, API load"):
        figures = run(events)
    print_measured(figures, json_out)


@app.command("week")
def week(
    first_day: Annotated[
        list[str] | None,
        typer.Option("--first-day", help="First day of a week in 2015 or 2018 (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=28, help="Days per run.")] = 7,
    json_out: JsonFlag = False,
) -> None:
    """A household's cost over a simulated week on real data: devices driven by the agent's
    rules against no control and EVCC-style min+PV charging with a self-consumption battery."""
    from datetime import date

    from enerwise.benchmarks.week import check_week, run, table

    starts = []
    for text in first_day or ["2018-01-15", "2018-06-04"]:
        try:
            starts.append(date.fromisoformat(text))
        except ValueError:
            message = f"{text} is not a date YYYY-MM-DD"
            raise typer.BadParameter(message, param_hint="--first-day") from None

    for start in starts:
        check_week(start, days)
    with status(f"bench week: {len(starts)} run(s) of {days} days"):
        figures = [run(d, days=days) for d in starts]
    if json_out:
        print_json({"weeks": figures})
        return
    for lines in figures:
        console.print(table(lines), markup=False, highlight=False)


@app.command("device")
def device(
    hours: Annotated[float, typer.Option(min=0.01, help="Simulated hours of control.")] = 1.0,
    interval: Annotated[float, typer.Option(min=1.0, help="Simulated seconds per cycle.")] = 10.0,
    speed: Annotated[
        float, typer.Option(min=1.0, help="How much faster than real time the hour runs.")
    ] = 60.0,
    json_out: JsonFlag = False,
) -> None:
    """Device control: cycle p99 (battery + charger + heat pump), controller RSS and CPU."""
    from enerwise.benchmarks.device import run

    with status(f"bench device: {hours} simulated hours at {speed}x"):
        figures = run(hours, interval, speed)
    print_measured(figures, json_out)
