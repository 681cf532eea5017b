"""``enerwise city``: a day for a whole city (N community markets and the city pool) on one local
anvil chain, with the grid operator's limits and power-flow checks (enerwise/city/run.py)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from enerwise.cli.console import console, err_console, stdout_is_terminal
from enerwise.cli.figures import print_conservation, print_figures
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import print_json

app = typer.Typer()


def _network(name: str) -> str:
    from grid.catalogue import NETWORKS

    if name not in NETWORKS:
        raise typer.BadParameter(f"unknown network {name!r}; choose one of: {', '.join(NETWORKS)}")
    return name


def _moves(path: Path) -> dict[str, int]:
    """``{household: bus}`` of a CSV file with the header ``household,bus``."""
    import csv

    from enerwise.errors import OptionError

    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or set(reader.fieldnames) != {"household", "bus"}:
            raise OptionError(f"--placement {path}: the header must be household,bus")
        moves: dict[str, int] = {}
        for line, row in enumerate(reader, start=2):
            try:
                moves[row["household"].strip()] = int(row["bus"])
            except (TypeError, ValueError):
                raise OptionError(
                    f"--placement {path}, line {line}: bus must be a whole number, "
                    f"got {row['bus']!r}"
                ) from None
    return moves


def _forecast(text: str) -> str:
    if text not in ("naive", "perfect"):
        raise typer.BadParameter(f"{text!r} is not one of naive, perfect")
    return text


def _agent_policy(text: str) -> str:
    from enerwise.city.config import BATTERY_POLICIES

    if text not in BATTERY_POLICIES:
        raise typer.BadParameter(f"{text!r} is not one of {', '.join(BATTERY_POLICIES)}")
    return text


def _day(text: str) -> str:
    from grid.errors import InjectionError
    from grid.scenario import day_start

    try:
        day_start(text)
    except InjectionError as exc:
        raise typer.BadParameter(str(exc)) from None
    return text


@app.command("city")
def city(
    communities: Annotated[
        int, typer.Option(min=1, help="Community markets (groups of feeders), one pool.")
    ],
    households: Annotated[int, typer.Option(min=1, help="Real-data households per community.")],
    day: Annotated[str, typer.Option(callback=_day, help="Day of 2015 or 2018 (YYYY-MM-DD).")],
    slots: Annotated[int, typer.Option(min=1, max=96, help="Slots from midnight.")] = 96,
    network: Annotated[
        str,
        typer.Option(callback=_network, help="Network name (see `enerwise grid networks`)."),
    ] = "cigre-mv-kerber",
    seed: Annotated[int, typer.Option(min=0, help="Seed of households, placement and keys.")] = 0,
    forecast: Annotated[
        str,
        typer.Option(
            callback=_forecast,
            help="Limits on `naive` (yesterday's meters) or `perfect` forecasts.",
        ),
    ] = "naive",
    grid_fee_tick: Annotated[
        int,
        typer.Option(min=0, max=128, help="Grid fee per network level crossed, in price ticks."),
    ] = 50,
    placement: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="CSV `household,bus`: put these households (e.g. c01/h003) on these buses.",
        ),
    ] = None,
    agent_policy: Annotated[
        str,
        typer.Option(
            callback=_agent_policy,
            help="What runs the battery owners: the demo's agents with its `halfway` rule or "
            "its pretrained `ppo` policy (about ten times slower a step), or `truthful` (no "
            "agents, self-consumption).",
        ),
    ] = "halfway",
    json_out: JsonFlag = False,
) -> None:
    """A day for a whole city on one local chain: every community market clears on chain, the
    grid operator publishes each slot's limits before gate closure, then the pool clears and
    settles and every order is claimed (checked against the Python reference); the schedule is
    checked by power flows without and with the limits.

    In a log (stdout not a terminal) one plain line per slot; with --json one JSON object."""
    from enerwise.city import CityConfig, run_city

    def _interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # the ExitStack then stops anvil
    config = CityConfig(
        communities=communities,
        households=households,
        day=day,
        slots=slots,
        network=network,
        seed=seed,
        forecast=forecast,
        grid_fee_ticks=grid_fee_tick,
        moves=_moves(placement) if placement is not None else {},
        battery_policy=agent_policy,
    )
    plain = not stdout_is_terminal()

    def note(text: str) -> None:
        if plain:
            console.out(text, highlight=False)
        else:
            console.print(f"[dim]{text}[/]", highlight=False)

    try:
        if json_out:
            print_json(run_city(config))
            return
        report = run_city(config, on_slot=_slot_line, on_note=note)
    except KeyboardInterrupt:
        err_console.print("interrupted: the city's anvil is stopped")
        raise typer.Exit(130) from None
    _table(report)


def _slot_line(row: dict[str, Any]) -> None:
    """One slot as one plain line."""
    pool = (
        f"pool {row['pool_wh'] / 1000:.2f} kWh at {row['pool_price'] / 1e6:.4f} EUR/kWh"
        if row["pool_price"] is not None
        else "pool -"
    )
    kept = " (limits kept)" if row["limits_kept"] else ""
    console.out(
        f"slot {row['slot']} ({row['time']}): import {row['household_import_wh'] / 1000:.2f} kWh, "
        f"local {row['local_wh'] / 1000:.2f} kWh, {pool}; violations "
        f"{row['violations_without_limits']} without / {row['violations_with_limits']} with "
        f"limits{kept}; {row['claims']} claims ({row['pool_filled_orders']} through the pool); "
        f"gas {row['gas_total']:,}; "
        f"{'conservation ok' if row['conservation_ok'] else 'conservation FAILED'}; "
        f"{row['seconds']:.1f} s ({_slowest_steps(row['seconds_by_step'])})",
        highlight=False,
    )


def _slowest_steps(seconds: dict[str, float], count: int = 3) -> str:
    """Where a slot's time went: its ``count`` slowest steps, slowest first."""
    slowest = sorted(seconds.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{step} {s:.1f} s" for step, s in slowest)


def _price(figures: dict[str, Any]) -> str:
    if figures["mean"] is None:
        return "- (never cleared)"
    return (
        f"{figures['mean']:.4f} EUR/kWh ({figures['min']:.4f}..{figures['max']:.4f}, "
        f"{figures['slots']} clearings)"
    )


def _rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    prices = r["prices_eur_per_kwh"]
    gas = r["gas_per_slot_by_step_mean"]
    return [
        (
            "city",
            f"{r['network']}: {r['communities']} communities x {r['households']} households, "
            f"{r['day']}, {r['slots']} slots",
        ),
        (
            "household import / export",
            f"{r['household_import_kwh']:,.2f} / {r['household_export_kwh']:,.2f} kWh",
        ),
        ("local share (own community)", f"{100 * r['local_share']:.2f} %"),
        ("pool share (across communities)", f"{100 * r['pool_share']:.2f} %"),
        (
            "local + pool vs local alone",
            f"{100 * r['local_plus_pool_share']:.2f} % vs {100 * r['local_share']:.2f} % "
            f"({'higher' if r['local_plus_pool_higher'] else 'not higher'})",
        ),
        (
            "grid import / export",
            f"{r['grid_import_kwh']:,.2f} / {r['grid_export_kwh']:,.2f} kWh",
        ),
        (
            "grid fees",
            f"{r['grid_fees_eur']:,.4f} EUR ({r['grid_fee_eur_per_kwh_per_level']:.4f} EUR/kWh "
            "per level)",
        ),
        *(
            (f"price, community {cid}", _price(figures))
            for cid, figures in prices["communities"].items()
        ),
        ("price, pool", _price(prices["pool"])),
        (
            "price, pool buyers / sellers (fees)",
            f"{_price(prices['pool_buy'])} / {_price(prices['pool_sell'])}",
        ),
        (
            "violations without / with limits",
            f"{r['violations_without_limits']} / {r['violations_with_limits']} element-slots "
            f"({r['slots_limits_kept']} slots with kept limits)",
        ),
        ("pool clearing gas (max)", f"{r['pool_clear_gas_max']:,}"),
        ("pool settlement gas (max)", f"{r['pool_settle_gas_max']:,}"),
        (
            "claims (through the pool) / gas max",
            f"{r['claims']:,} ({r['pool_filled_orders']:,}) / {r['claims_gas_max']:,}",
        ),
        (
            "gas per slot, whole city",
            f"{r['gas_per_slot_mean']:,} mean, {r['gas_per_slot_max']:,} max (limits "
            f"{gas['limits']:,}, readings {gas['readings']:,}, orders {gas['orders']:,}, clears "
            f"{gas['clears']:,}, pool {gas['pool']:,}, settle {gas['settle']:,}, claims "
            f"{gas['claims']:,})",
        ),
        (
            "L2 block space (30M gas / 2 s)",
            f"{r['l2_blocks_needed_max']:.2f} of {r['l2_blocks_per_slot']} blocks per slot "
            f"({100 * r['l2_block_space_share_max']:.3f} %)",
        ),
        ("orders (errors)", f"{r['orders']:,} ({r['order_errors']})"),
        (
            "battery owners' agents",
            f"{r['battery_agents']['count']} ({r['battery_agents']['policy']}): "
            f"{r['battery_agents']['orders']:,} orders, "
            f"{r['battery_agents']['seconds_per_slot_mean']} s per slot",
        ),
        (
            "wall time",
            f"{r['timing']['total_s']} s (scenario {r['timing']['scenario_s']} s, set-up "
            f"{r['timing']['setup_s']} s, {r['timing']['per_slot_s_mean']} s per slot)",
        ),
    ]


def _table(r: dict[str, Any]) -> None:
    plain = not stdout_is_terminal()
    print_figures("The city, read back from the chain", _rows(r), plain=plain, name_width=38)
    print_conservation(r["conservation"], r["conservation_ok"], plain=True)
    for note in r["notes"]:
        console.out(note, highlight=False)
