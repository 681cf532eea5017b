"""``enerwise grid``: networks, transfer limits per community and slot, publishing them on a
CityPool (``grid_publish.py``), the grid benchmark."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from enerwise.cli.console import console
from enerwise.cli.grid_publish import publish
from enerwise.cli.options import JsonFlag, option_groups
from enerwise.cli.output import print_json, print_measured

app = typer.Typer(
    help="Power flows on pandapower's benchmark networks: limits per community and slot.",
    no_args_is_help=True,
)

NetworkOption = Annotated[str, typer.Option(help="Network name (see `enerwise grid networks`).")]
CommunitiesOption = Annotated[int, typer.Option(min=1, help="Communities (groups of feeders).")]
HouseholdsOption = Annotated[
    int, typer.Option(min=2, max=500, help="Real-data households per community.")
]
DayOption = Annotated[str, typer.Option(help="Day of 2015 or 2018 (YYYY-MM-DD).")]
SlotsOption = Annotated[int, typer.Option(min=1, max=96, help="Slots from midnight.")]
ForecastOption = Annotated[
    str, typer.Option(help="Limits on `naive` (yesterday's meters) or `perfect` forecasts.")
]
SeedOption = Annotated[int, typer.Option(min=0, help="Seed of households and placement.")]


@dataclass(frozen=True)
class GridDay:
    """A day of real-data households on a network, as ``limits`` and ``bench`` compute it (an
    option group of :func:`enerwise.cli.options.option_groups`); the fields are named as the
    parameters of ``grid.scenario.build_scenario`` and ``grid.benchmark.run``."""

    network: NetworkOption = "cigre-mv-kerber"
    communities: CommunitiesOption = 10
    households: HouseholdsOption = 100
    day: DayOption = "2018-06-21"
    slots: SlotsOption = 96
    forecast: ForecastOption = "naive"
    seed: SeedOption = 0


app.command("publish")(publish)


@app.command("networks")
def networks(json_out: JsonFlag = False) -> None:
    """List the networks: buses, lines, LV networks, feeders, house connections."""
    from grid.catalogue import NETWORKS, build_network

    rows = []
    for name, entry in NETWORKS.items():
        network = build_network(name)
        rows.append(
            {
                "name": name,
                "buses": network.n_buses,
                "lines": len(network.net.line),
                "lv_networks": len({f.lv_network for f in network.feeders}),
                "feeders": len(network.feeders),
                "connections": len(network.load_buses),
                "description": entry.description,
            }
        )
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("network", "buses", "lines", "LV nets", "feeders", "connections")
    for row in rows:
        table.add_row(
            *(str(row[k]) for k in ("name", "buses", "lines", "lv_networks", "feeders")),
            str(row["connections"]),
        )
    console.print(table)


@app.command("limits")
@option_groups
def limits(grid: GridDay, json_out: JsonFlag = False) -> None:
    """Transfer limits of every community for each slot of a day of real-data households,
    and the violations of the day's actual schedule with and without them."""
    from grid.benchmark import check_schedule
    from grid.limits import SlotLimits
    from grid.scenario import build_scenario

    scenario = build_scenario(**asdict(grid))
    operator, data = scenario.operator, scenario.data
    results: list[SlotLimits] = []
    naive = limited = 0
    for j in range(grid.slots):
        slot = scenario.start + j
        slot_limits = operator.limits(slot, data.forecast_wh[:, j])
        without, within, _ = check_schedule(operator, slot, data.actual_wh[:, j], slot_limits)
        naive += len(without.violations)
        limited += len(within.violations)
        results.append(slot_limits)
    if json_out:
        print_json(
            {
                "slots": [
                    {
                        "slot": r.slot,
                        "limits": [asdict(x) for x in r.limits],
                        "events": [{"event": type(e).__name__, **asdict(e)} for e in r.events],
                    }
                    for r in results
                ],
                "violations_without_limits": naive,
                "violations_with_limits": limited,
            }
        )
        return
    from rich.table import Table

    table = Table("slot", *(c.id for c in operator.communities), "events")
    for r in results:
        cells = [f"{x.import_limit_wh / 1000:.0f}/{x.export_limit_wh / 1000:.0f}" for x in r.limits]
        events = ", ".join(sorted({type(e).__name__ for e in r.events}))
        table.add_row(str(r.slot), *cells, events)
    console.print(table)
    console.print("import/export limits in kWh per slot")
    console.print(f"violations without limits {naive}, with limits {limited}")


@app.command("bench")
@option_groups
def bench(
    grid: GridDay,
    share_pv: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share with PV.")] = 0.5,
    json_out: JsonFlag = False,
) -> None:
    """Power flows per second, a day of limits, violations with and without them."""
    from grid.benchmark import run

    figures = run(**asdict(grid), share_pv=share_pv, share_battery=min(0.25, share_pv))
    print_measured(figures, json_out, name_width=42)
