"""``enerwise demo``: the main job (what ``make demo`` runs)."""

from __future__ import annotations

import logging
import signal
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from enerwise.cli.console import console, err_console, stdout_is_terminal
from enerwise.cli.figures import print_conservation, print_figures
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import print_json

app = typer.Typer()


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        month, day = (int(part) for part in text.split("-"))
        return date(2018, month, day)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day as MM-DD (e.g. 06-21)") from None


@app.command("demo")
def demo(
    slots: Annotated[int, typer.Option(min=1, help="15-minute slots to trade (96 = a day).")] = 96,
    households: Annotated[int, typer.Option(min=2, max=500, help="Community members.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the community and of every key.")] = 0,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Wall-clock 15-minute slots.")
    ] = False,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Serve the API and dApp until Ctrl-C.")
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="API port on 127.0.0.1.")] = 8000,
    json_out: JsonFlag = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write report.json and PNG plots here.")
    ] = None,
    day: Annotated[
        str | None, typer.Option("--day", help="Day of the data year to replay, MM-DD.")
    ] = None,
    start_hour: Annotated[
        int, typer.Option(min=0, max=23, help="Local hour (UTC+1) the simulated day starts at.")
    ] = 10,
    modbus_meters: Annotated[
        int, typer.Option(min=0, help="Meters served by a Modbus TCP server.")
    ] = 3,
    mqtt_meters: Annotated[int, typer.Option(min=0, help="Meters publishing over MQTT.")] = 3,
    mqtt_broker: Annotated[str, typer.Option(help="MQTT broker host:port.")] = "127.0.0.1:1883",
    device_households: Annotated[
        int,
        typer.Option(
            min=0,
            max=10,
            help="Agent households whose agents drive a Modbus battery, an OCPP charger and "
            "a heat pump (simulated time only).",
        ),
    ] = 2,
    market: Annotated[
        str,
        typer.Option(
            help="open (orders visible until gate closure) or sealed (commitments, revealed "
            "after gate closure: no one sees the book before it closes)."
        ),
    ] = "open",
) -> None:
    """A community market day on a local chain: real-data households, Modbus and MQTT meters
    read by oracles, pretrained and truthful agents trading, every slot cleared, the indexer
    and API at http://127.0.0.1:PORT; the report is read back from the chain.

    On a terminal a live view; in a log (stdout not a terminal) one plain line per cleared
    slot and the report as plain lines; with --json one JSON object and nothing else."""
    from enerwise.demo import DemoConfig, DemoError, check_port_free

    logging.basicConfig(level=logging.ERROR if json_out else logging.WARNING)

    def _interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        config = DemoConfig(
            slots=slots,
            households=households,
            seed=seed,
            realtime=realtime,
            keep_running=keep_running,
            port=port,
            report_dir=report,
            data_day=_day(day),
            start_hour=start_hour,
            modbus_meters=modbus_meters,
            mqtt_meters=mqtt_meters,
            device_households=device_households,
            mqtt_broker=mqtt_broker,
            market=market,
        )
        check_port_free(config.port)  # before the heavy imports: a mistake answers at once
        from enerwise.demo.live import LiveView
        from enerwise.demo.run import Observer, run_demo

        if json_out:
            run_demo(config, Observer(), on_report=print_json)
        elif stdout_is_terminal():
            _run_live(config, run_demo, Observer, LiveView)
        else:
            _run_log(config, run_demo, Observer)
    except DemoError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: every process the demo started is stopped")
        raise typer.Exit(130) from None


def _run_live(config: Any, run_demo: Any, observer_cls: Any, view_cls: Any) -> None:
    from rich.live import Live

    view = view_cls()
    with Live(view.render(), console=console, refresh_per_second=4, transient=False) as live:

        def report(result: dict[str, Any]) -> None:
            live.stop()
            _final(result)

        def note(message: str) -> None:
            view.note(message)
            live.update(view.render())

        def slot(summary: Any, standings: Any) -> None:
            view.slot(summary, standings)
            live.update(view.render())

        run_demo(config, observer_cls(on_note=note, on_slot=slot), on_report=report)


def _run_log(config: Any, run_demo: Any, observer_cls: Any) -> None:
    """The run in a log: each note and each cleared slot as a line when it happens, then the
    report (notes already written are not repeated)."""
    written: set[str] = set()

    def note(message: str) -> None:
        written.add(message)
        console.out(message, highlight=False)

    def report(result: dict[str, Any]) -> None:
        _log({**result, "notes": [n for n in result["notes"] if n not in written]})

    run_demo(config, observer_cls(on_note=note, on_slot=_slot_line), on_report=report)


def _slot_line(summary: Any, _standings: Any) -> None:
    """One cleared slot as one plain line of a log."""
    from datetime import UTC, datetime

    start = datetime.fromtimestamp(summary.start, UTC).strftime("%Y-%m-%d %H:%M")
    price = (
        f"price {summary.clearing_price / 1e6:.4f} EUR/kWh"
        if summary.clearing_price is not None
        else "no clearing"
    )
    errors = f", {summary.errors} errors" if summary.errors else ""
    console.out(
        f"slot {summary.slot} ({start} UTC): {price}, volume "
        f"{summary.volume_wh / 1000:.2f} kWh, local share {100 * summary.local_share:.1f} %, "
        f"{summary.orders} orders{errors}",
        highlight=False,
    )


def _market_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """The market mode and, when sealed, what became of the commitments."""
    if r["market"] != "sealed":
        return [("market", "open (orders visible until gate closure)")]
    return [
        ("market", "sealed (commitments until gate closure, then reveals)"),
        (
            "commitments: revealed / forfeited",
            f"{r['commitments']}: {r['revealed']} / {r['forfeited']} "
            f"(bonds {r['forfeited_bonds'] / 1e6:,.4f} EUR)",
        ),
    ]


_REPORT_TITLE = "The day, read back from the chain"
_NAME_WIDTH = 34
"""Columns of a figure's name in the plain report."""


def _report_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        *_market_rows(r),
        ("slots / households", f"{r['slots']} / {r['households']} (data day {r['data_day']})"),
        ("meters", ", ".join(f"{n} {kind}" for kind, n in r["meters"].items())),
        ("minted (attributed export)", f"{r['minted_wh'] / 1000:,.2f} kWh"),
        (
            "metered export / import",
            f"{r['metered_export_wh'] / 1000:,.2f} / {r['metered_import_wh'] / 1000:,.2f} kWh",
        ),
        (
            "traded P2P",
            f"{r['traded_wh'] / 1000:,.2f} kWh ({100 * r['local_share']:.1f} % of import)",
        ),
        ("paid by buyers", f"{r['paid'] / 1e6:,.4f} EUR"),
        ("received by sellers", f"{r['received'] / 1e6:,.4f} EUR"),
        ("fees to the treasury", f"{r['fees'] / 1e6:,.4f} EUR"),
        (
            "escrow left in the market",
            f"{r['escrow_left'] / 1e6:,.6f} EUR, {r['energy_escrow_left_wh']} Wh",
        ),
        (
            "saved vs grid: agents / baselines",
            f"{r['agents_savings'] / 1e6:,.4f} / {r['baseline_savings'] / 1e6:,.4f} EUR",
        ),
        *(
            (
                f"{kind.replace('_', ' ')}: plan vs actual",
                f"{d['planned_wh'] / 1000:,.2f} / {d['actual_wh'] / 1000:,.2f} kWh "
                f"(|diff| {d['plan_vs_actual_wh'] / 1000:,.2f} kWh over {d['slots']} slots, "
                f"{d['count']} households, {d['writes_refused']} writes refused)",
            )
            for kind, d in r.get("devices", {}).items()
        ),
        ("first cleared slot after", f"{r['timing']['first_cleared_slot_s']} s"),
        ("wall time", f"{r['timing']['total_s']} s"),
    ]


def _log(r: dict[str, Any]) -> None:
    """The report in a log: plain ``name  value`` lines, never cut, no markup."""
    print_figures(_REPORT_TITLE, _report_rows(r), plain=True, name_width=_NAME_WIDTH)
    print_conservation(r["conservation"], r["conservation_ok"], plain=True)
    for line in [*r["notes"], *(f"wrote {path}" for path in r.get("files", []))]:
        console.out(line, highlight=False)


def _final(r: dict[str, Any]) -> None:
    print_figures(_REPORT_TITLE, _report_rows(r), plain=False, name_width=_NAME_WIDTH)
    print_conservation(r["conservation"], r["conservation_ok"], plain=False)
    for note in r["notes"]:
        console.print(f"[dim]{note}[/]")
    for path in r.get("files", []):
        console.print(f"wrote {path}")
