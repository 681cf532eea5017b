"""``enerwise soak``: the chaos soak (``make soak``; docs/reliability.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from enerwise.cli.console import console, err_console
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import log_line, print_json

app = typer.Typer()


@app.command("soak")
def soak(
    hours: Annotated[
        float, typer.Option(min=0.25, max=168, help="Simulated hours of the community day.")
    ] = 24.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault schedule and the community.")] = 0,
    faults_per_kind: Annotated[
        int,
        typer.Option(
            min=1, help="Faults of every kind at least (the soak runs past the day until then)."
        ),
    ] = 5,
    pace_seconds: Annotated[
        float, typer.Option(min=0.5, help="Real seconds per simulated 15-minute slot.")
    ] = 2.0,
    households: Annotated[int, typer.Option(min=2, max=20, help="Community members.")] = 4,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep logs, databases and state in this folder."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Run the community day on anvil with its own PostgreSQL, Redis and Mosquitto, inject
    faults on a schedule drawn from SEED (anvil restarts, reorganisations of 1..5 blocks,
    database, Redis and broker restarts, the indexer, oracle and agent SIGKILLed), then prove
    that nothing was lost: every signed reading on chain exactly once, no order placed twice,
    the nine conservation identities, the index equal to a fresh ingest, no API 5xx outside
    database outages. Exit 1 naming what broke.
    """
    from enerwise.soak.run import Hooks, SoakConfig, run_soak, verdict

    started = time.perf_counter()
    config = SoakConfig(
        hours=hours,
        seed=seed,
        faults_per_kind=faults_per_kind,
        pace_seconds=pace_seconds,
        households=households,
        keep_dir=keep,
    )
    import signal

    def _terminated(signum: int, _frame: object) -> None:
        raise SystemExit(143)  # unwinds the soak: every process it started is stopped

    signal.signal(signal.SIGTERM, _terminated)
    result = run_soak(config, Hooks(on_note=lambda text: log_line(started, text)))
    report = result.report
    problems = verdict(report)
    if json_out:
        print_json(report)
    else:
        _print(report)
    for line in problems:
        err_console.print(f"[red]error:[/] {line}", highlight=False)
    if problems:
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(
        title=f"faults (seed {report['seed']}, {report['slots']} slots, {report['wall_seconds']} s)"
    )
    for column in ("kind", "injected", "recovered", "recovery median s", "recovery max s"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, row in report["faults"].items():
        table.add_row(
            kind,
            str(row["injected"]),
            str(row["recovered"]),
            _seconds(row["recovery_s_median"]),
            _seconds(row["recovery_s_max"]),
        )
    console.print(table)
    lost = Table(title="lost (must be nothing)")
    lost.add_column("what")
    lost.add_column("found", justify="right")
    lost.add_row("signed readings not on chain exactly once", str(report["lost_readings"]))
    lost.add_row("orders placed twice", str(report["duplicate_orders"]))
    lost.add_row(
        "conservation identities broken",
        ", ".join(report["failing_identities"]) or "0",
    )
    lost.add_row(
        "index differs from a fresh ingest", "no" if report["indexer_matches_chain"] else "yes"
    )
    lost.add_row("API 5xx outside database outages", str(report["api_5xx_outside_outages"]))
    console.print(lost)
    console.out(
        f"readings {report['readings_signed']} signed, {report['readings_on_chain']} on chain; "
        f"orders {report['orders']}; API probes {report['api_probes']}",
        highlight=False,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
