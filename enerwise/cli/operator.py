"""``enerwise operator``: set up and run a community market (config, deploy, meters, billing).

Every command that sends a transaction checks first (config, chain id, roles, meter ids) and
sends nothing when a check fails; then it shows what it will send and asks on a terminal
(``--yes`` answers; without a terminal only ``--yes`` does). The community config is
``-c/--config FILE`` (default ``community.yaml`` or ``$ENERWISE_COMMUNITY``). The signing key is
an encrypted keystore (``--keystore PATH|ADDRESS``) unlocked with ``--password-file FILE`` or
``--password-env VAR``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.console import confirm, console, err_console
from enerwise.cli.operator_admin import admin_app
from enerwise.cli.operator_meters import meter_app
from enerwise.cli.operator_options import (
    CommunityChange,
    ConfigPositional,
    LastReadings,
    RpcOverride,
    age_text,
    community_and_sender,
    config_path,
    decimal_option,
    health_markup,
    which_contracts,
)
from enerwise.cli.operator_roles import role_app
from enerwise.cli.options import (
    DEFAULT_COMMUNITY,
    CommunityConfig,
    JsonFlag,
    deprecated,
    option_groups,
)
from enerwise.cli.output import print_json
from operations.errors import (
    CommunityConfigError,
    DeploymentMismatchError,
    OperatorError,
)
from operations.payment import DEPLOY_TEST_TOKEN

if TYPE_CHECKING:
    from operations.config import CommunityConfig as Community

app = typer.Typer(
    help="Operate a community market: config, deploy, meters, pause, status, billing.",
    no_args_is_help=True,
)
app.add_typer(meter_app, name="meter")
app.add_typer(role_app, name="role")
app.add_typer(admin_app, name="admin")


@app.command("init")
def init(
    name: Annotated[str, typer.Option(help="Community name (lower case, digits, dashes).")],
    admin: Annotated[str, typer.Option(help="Admin address (fees, roles).")],
    retail_eur_per_kwh: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Retail tariff, EUR/kWh (the price top). Required."),
    ] = None,
    feed_in_eur_per_kwh: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Feed-in tariff, EUR/kWh (the price floor). Required."),
    ] = None,
    tick_eur_per_kwh: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Price step, EUR/kWh (default: the finest that fits)."),
    ] = None,
    meter_admin: Annotated[
        str | None, typer.Option(help="Meter admin address (default: the admin).")
    ] = None,
    pauser: Annotated[str | None, typer.Option(help="Pauser address (default: the admin).")] = None,
    treasury: Annotated[
        str | None, typer.Option(help="Fee treasury address (default: the admin).")
    ] = None,
    rpc_url: Annotated[str, typer.Option(help="JSON-RPC URL.")] = "http://127.0.0.1:8545",
    chain_id: Annotated[int, typer.Option(help="Chain id the node must answer.")] = 31337,
    explorer_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Block explorer of the chain (transaction links)."),
    ] = None,
    time_zone: Annotated[
        str, typer.Option(help="IANA time zone of billing months and days (Europe/Berlin).")
    ] = "UTC",
    payment_token: Annotated[
        str, typer.Option(help=f"ERC-20 address, or {DEPLOY_TEST_TOKEN} (local chains).")
    ] = DEPLOY_TEST_TOKEN,
    payment_decimals: Annotated[int, typer.Option(help="Decimals of the payment token.")] = 6,
    slot_seconds: Annotated[int, typer.Option(help="Delivery slot length.")] = 900,
    settlement_seconds: Annotated[int, typer.Option(help="Gate closure after slot end.")] = 900,
    fee_bps: Annotated[int, typer.Option(help="Fee on seller proceeds, basis points.")] = 25,
    market: Annotated[
        str,
        typer.Option(
            metavar="MODE",
            help="open (orders public until gate closure) or sealed (committed, then revealed).",
        ),
    ] = "open",
    reveal_seconds: Annotated[
        int, typer.Option(help="Sealed: reveal window after each gate closure, seconds.")
    ] = 900,
    bond_eur: Annotated[
        str,
        typer.Option(
            metavar="EUR", help="Sealed: bond every commitment locks, forfeited unrevealed."
        ),
    ] = "0.10",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: JsonFlag = False,
    old_config: ConfigPositional = None,
    retail: Annotated[str | None, typer.Option(hidden=True)] = None,
    feed_in: Annotated[str | None, typer.Option(hidden=True)] = None,
    tick: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Write a checked, commented community config (-c FILE); show the price grid in EUR/kWh."""
    from operations.config import validate_config

    config = config_path(config, old_config)
    tariffs = _tariffs(
        deprecated(retail_eur_per_kwh, retail, "--retail", "--retail-eur-per-kwh"),
        deprecated(feed_in_eur_per_kwh, feed_in, "--feed-in", "--feed-in-eur-per-kwh"),
        deprecated(tick_eur_per_kwh, tick, "--tick", "--tick-eur-per-kwh"),
    )
    if config.exists() and not force:
        raise CommunityConfigError(f"{config} exists: pass --force to overwrite it")
    data: dict[str, Any] = {
        "name": name,
        "chain": {"rpc_url": rpc_url, "chain_id": chain_id, "explorer_url": explorer_url},
        "time_zone": time_zone,
        "payment_token": payment_token,
        "payment_decimals": payment_decimals,
        "slot_seconds": slot_seconds,
        "settlement_seconds": settlement_seconds,
        "tariffs": tariffs,
        "fee_bps": fee_bps,
        "market": {
            "mode": market,
            "reveal_seconds": reveal_seconds,
            "bond_eur": decimal_option(bond_eur, "market.bond_eur"),
        },
        "treasury": treasury or admin,
        "roles": {"admin": admin, "meter_admin": meter_admin or admin, "pauser": pauser or admin},
    }
    _write_config(validate_config(data, "community config"), config, json_out)


def _tariffs(retail: str | None, feed_in: str | None, tick: str | None) -> dict[str, Any]:
    """The ``tariffs`` section of ``operator init``: retail and feed-in are required, the tick
    (price step) is optional; EUR/kWh each."""
    for value, option in ((retail, "--retail-eur-per-kwh"), (feed_in, "--feed-in-eur-per-kwh")):
        if value is None:
            raise CommunityConfigError(f"{option}: the tariff is required")
    return {
        "retail_eur_per_kwh": decimal_option(retail, "tariffs.retail_eur_per_kwh"),
        "feed_in_eur_per_kwh": decimal_option(feed_in, "tariffs.feed_in_eur_per_kwh"),
        "tick_eur_per_kwh": decimal_option(tick, "tariffs.tick_eur_per_kwh"),
    }


def _write_config(checked: Community, config: Path, json_out: bool) -> None:
    """Write ``checked`` to ``config`` (commented; it must read back identically), show its price
    grid, and note roles that share a key."""
    from operations.config import render_config

    text = render_config(checked, config.name)
    reread = load_community_text(text)
    if reread.market_settings() != checked.market_settings():  # pragma: no cover - a bug
        raise CommunityConfigError("the rendered config does not read back identically")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    _show_grid(checked)
    if len({checked.roles.admin, checked.roles.meter_admin, checked.roles.pauser}) < 3:
        err_console.print(
            "[yellow]note:[/] admin, meter admin and pauser share a key; separate keys are "
            "recommended for a real community"
        )
    if json_out:
        print_json({"config": str(config), "name": checked.name, **_grid_json(checked)})
        return
    console.print(f"wrote {config}")


def load_community_text(text: str) -> Community:
    import yaml

    from operations.config import validate_config

    return validate_config(yaml.safe_load(text), "rendered config")


def _show_grid(config: Community) -> None:
    from operations.deployer import market_mode_line

    for line in [*config.price_grid().describe(), market_mode_line(config)]:
        err_console.print(f"  {line}", highlight=False)


def _grid_json(config: Community) -> dict[str, Any]:
    """The price grid, on chain (base units per kWh) and in EUR/kWh (exact decimal strings), and
    the market mode (the reveal window and bond null in open mode, as ``/v1/config`` serves
    them)."""
    grid = config.price_grid()
    p = grid.params
    return {
        "price_grid": {
            "price_floor": p.price_floor,
            "tick_size": p.tick_size,
            "max_tick": p.max_tick,
            "decimals": grid.decimals,
            "price_floor_eur_per_kwh": str(grid.eur(p.price_floor)),
            "price_top_eur_per_kwh": str(grid.eur(p.price_top)),
            "tick_eur_per_kwh": str(grid.eur(p.tick_size)),
        },
        "market": {
            "mode": config.market.mode,
            "reveal_seconds": config.market.reveal_seconds if config.market.sealed else None,
            "bond_eur": f"{config.market.bond_eur:f}" if config.market.sealed else None,
            "bond_amount": config.bond_amount() if config.market.sealed else None,
        },
    }


@app.command("check")
def check(
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: JsonFlag = False,
    old_config: ConfigPositional = None,
) -> None:
    """Check a community config and show its price grid (no chain needed)."""
    from operations.config import load_community

    config = config_path(config, old_config)
    checked = load_community(config)
    _show_grid(checked)
    if json_out:
        print_json({"config": str(config), "ok": True, "name": checked.name, **_grid_json(checked)})
        return
    console.print(f"{config}: ok")


# ---------------------------------------------------------------------------------- deploy
@app.command("deploy")
@option_groups
def deploy(
    change: CommunityChange,
    rpc_url: RpcOverride = None,
    renounce_deployer: Annotated[
        bool,
        typer.Option(
            help="After granting the configured roles, drop the deployer's own roles (the admin "
            "role leaves it when the configured admin accepts the handover)."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Run the checks and show the plan; send nothing.")
    ] = False,
    json_out: JsonFlag = False,
    old_config: ConfigPositional = None,
) -> None:
    """Deploy the community's market, grant roles, verify on chain, record it (safe to re-run).

    Shows the plan and asks on a terminal before it spends gas (--yes answers).
    """
    from operations.deployer import deploy_community, plan

    config = config_path(change.config, old_config)
    community, sender = community_and_sender(config, change.key, rpc_url)
    steps = plan(community, sender)
    if dry_run:
        if json_out:
            print_json({"dry_run": True, "plan": steps})
            return
        for line in steps:
            console.print(line, highlight=False)
        return
    finished = community.deployment_path.is_file() and community.deployment().settings.get(
        "setup_complete", True
    )
    if not finished:  # a recorded, finished deployment sends nothing (or refuses)
        confirm("Deploy and spend gas?", yes=change.yes, plan=steps)
    try:
        result = deploy_community(community, sender, renounce_deployer=renounce_deployer)
    except DeploymentMismatchError as exc:
        for line in exc.differences:
            err_console.print(f"  [red]differs:[/] {line}", highlight=False)
        raise
    d = result.deployment
    if json_out:
        print_json(
            {
                "created": result.created,
                "record": str(community.deployment_path),
                "chain_id": d.chain_id,
                "block_number": d.block_number,
                "epoch": d.epoch,
                "addresses": d.addresses,
                "granted": result.granted,
                "renounced": result.renounced,
                "handover": result.handover,
            }
        )
        return
    if not result.created:
        console.print(
            f"already deployed ({community.deployment_path}) and matching the config: nothing sent"
        )
        return
    for name, address in d.addresses.items():
        err_console.print(f"  {name:<14} {address}")
    for line in result.granted:
        err_console.print(f"  granted {line}")
    for line in result.renounced:
        err_console.print(f"  renounced {line}")
    if result.handover is not None:
        err_console.print(
            f"  begun the {result.handover}: run `enerwise operator admin accept` with that key",
            highlight=False,
        )
    console.print(f"deployed and verified; recorded in {community.deployment_path}")


# ---------------------------------------------------------------------------------- meters
Only = Annotated[str, typer.Option("--only", help="both, market (orders) or registry (readings).")]


def _pause_command(paused: bool, doc: str) -> Callable[..., None]:
    """``operator pause`` or ``unpause``: the same options, one switch."""
    word = "paused" if paused else "unpaused"

    def command(change: CommunityChange, only: Only = "both", json_out: JsonFlag = False) -> None:
        from operations.admin import set_paused

        target = which_contracts(only, "--only")
        community, sender = change.open()
        changed = set_paused(community, sender, paused, target, approve=change.approve)
        if json_out:
            print_json({"paused": paused, "changed": changed})
            return
        console.print(
            f"{word}: {', '.join(changed)}" if changed else f"already {word}: nothing sent"
        )

    command.__name__ = "pause" if paused else "unpause"
    command.__doc__ = doc
    return app.command(command.__name__)(option_groups(command))


pause = _pause_command(
    True, """Pause order placement and reading submission (cancels, claims, withdrawals go on)."""
)
unpause = _pause_command(False, """Resume order placement and reading submission.""")


@app.command("set-fee")
@option_groups
def set_fee(change: CommunityChange, json_out: JsonFlag = False) -> None:
    """Apply fee_bps and treasury of the config to the market (admin key; new orders only)."""
    from operations.admin import set_fee as apply

    community, sender = change.open()
    before = apply(community, sender, approve=change.approve)
    cfg = community.config
    if json_out:
        print_json(
            {
                "changed": before is not None,
                "fee_bps": cfg.fee_bps,
                "treasury": cfg.treasury,
                "before": {"fee_bps": before[0], "treasury": before[1]} if before else None,
            }
        )
        return
    if before is None:
        console.print(f"fee already {cfg.fee_bps} bps to {cfg.treasury}: nothing sent")
    else:
        console.print(
            f"fee {before[0]} bps to {before[1]} -> {cfg.fee_bps} bps to {cfg.treasury} "
            "(resting orders keep the fee of their placement)",
            highlight=False,
        )


@app.command("status")
@option_groups
def status(
    readings: LastReadings,
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: JsonFlag = False,
) -> None:
    """Open slots, uncleared slots past gate closure, oracle health, the vault's solvency."""
    from operations.admin import market_status
    from operations.context import Community

    s = market_status(
        Community.open(config), indexer_url=readings.indexer_url, database=readings.database()
    )
    counts = {state: sum(1 for h in s.oracle_health if h.health == state)
              for state in ("ok", "late", "silent", "inactive")}  # fmt: skip
    sol = s.solvency
    if json_out:
        print_json(
            {
                "now": s.now,
                "current_slot": s.current_slot,
                "market_paused": s.market_paused,
                "registry_paused": s.registry_paused,
                "open_slots": s.open_slots,
                "due_slots": s.due_slots,
                "revealing_slots": s.revealing_slots,
                "void_slots": s.void_slots,
                "cleared_slots": s.cleared_slots,
                "solvent": sol.solvent,
                "payment_vault": sol.payment_vault,
                "payment_held": sol.payment_held,
                "solvency_problems": sol.problems,
                "oracle_health": [
                    {
                        "meter_id": h.meter_id,
                        "name": h.name,
                        "last_reading_time": h.last_reading_time,
                        "age_seconds": h.age_seconds,
                        "health": h.health,
                    }
                    for h in s.oracle_health
                ],
                "oracle_health_counts": counts,
                "health_source": s.health_source,
                "admin": s.admin.admin if s.admin else None,
                "pending_admin": s.admin.pending if s.admin else None,
                "admin_accept_from": s.admin.accept_from if s.admin else None,
            }
        )
        return
    console.print(f"current slot {s.current_slot} (chain time {s.now})")
    console.print(
        f"market {'PAUSED' if s.market_paused else 'running'}, "
        f"registry {'PAUSED' if s.registry_paused else 'running'}"
    )
    if s.admin is not None:
        from operations.handover import when

        console.print(f"admin {s.admin.admin}", highlight=False)
        if s.admin.pending is not None and s.admin.accept_from is not None:
            ready = "now" if s.admin.acceptable(s.now) else f"from {when(s.admin.accept_from)}"
            console.print(
                f"  handover pending to {s.admin.pending}: it can accept {ready} "
                "(`enerwise operator admin accept`)",
                highlight=False,
            )
    console.print(f"open slots with orders: {s.open_slots or 'none'}")
    if s.revealing_slots:
        console.print(f"in the reveal window (clear after it): {s.revealing_slots}")
    console.print(f"uncleared past gate closure: {s.due_slots or 'none'}")
    if s.void_slots:
        console.print(f"void (never cleared, orders refundable by cancel): {s.void_slots}")
    console.print(f"cleared slots: {s.cleared_slots}")
    console.print(
        "oracles: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        if s.oracle_health
        else "oracles: no meters registered",
        highlight=False,
    )
    for h in s.oracle_health:
        if h.health in ("late", "silent"):
            console.print(
                f"  {h.name or h.meter_id[:10]}: {health_markup(h.health)}, last reading "
                f"{age_text(h.last_reading_time, h.age_seconds)}",
                highlight=False,
            )
    err_console.print(f"last readings from the {s.health_source}", highlight=False)
    verdict = "solvent" if sol.solvent else "[red]NOT SOLVENT[/]"
    console.print(
        f"vault: owes {sol.payment_vault}, holds {sol.payment_held} payment units; "
        f"{len(sol.energy_vault)} energy slots: {verdict}"
    )
    for problem in sol.problems:
        console.print(f"  [red]{problem}[/]", highlight=False)
    if not sol.solvent:
        raise typer.Exit(2)


@app.command("clear-due")
@option_groups
def clear_due(change: CommunityChange, json_out: JsonFlag = False) -> None:
    """Clear every slot with orders past gate closure (safe to repeat; a cron job passes --yes)."""
    from operations.admin import clear_due as run

    community, sender = change.open()
    done = run(community, sender, approve=change.approve)
    if json_out:
        print_json([{"slot": c.slot, "volume_wh": c.volume_wh, "tick": c.clearing_tick}
                    for c in done])  # fmt: skip
        return
    for c in done:
        console.print(f"cleared slot {c.slot}: {c.volume_wh} Wh at tick {c.clearing_tick}")
    if not done:
        console.print("no slot due")


# ---------------------------------------------------------------------------------- billing
@app.command("billing")
def billing(
    month: Annotated[str, typer.Option(help="Calendar month (UTC), YYYY-MM.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, json, parquet or table.")] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="Write to FILE instead of stdout (parquet needs it).")
    ] = None,
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
) -> None:
    """Per-household bill of MONTH from chain events, reconciled with the chain.

    The indexer API serves the same bill to operators: GET /v1/operator/billing?month=...
    """
    if json_out:
        if fmt not in {"csv", "json"}:  # csv is the default: --json chose json
            raise OperatorError(f"--json and --format {fmt} contradict each other")
        fmt = "json"
    from rich.table import Table

    from billing.bill import month_bounds
    from operations.billing import monthly_bill
    from operations.context import Community

    if fmt not in {"csv", "json", "parquet", "table"}:
        raise OperatorError(f"--format: {fmt!r}: use csv, json, parquet or table")
    if fmt == "parquet" and output is None:
        raise OperatorError("--output: parquet is binary; give --output FILE.parquet")
    month_bounds(month)  # a malformed month fails before the chain is asked
    bill = monthly_bill(Community.open(config), month)
    rows = bill.rows()
    text = ""
    if fmt == "csv":
        text = bill.to_csv()
    elif fmt == "json":
        text = json.dumps(bill.document(), indent=2)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert output is not None
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        pq.write_table(pa.table(columns), output)  # strings: exact decimals, as in the CSV
        err_console.print(f"wrote {output}")
    else:  # the key columns; csv and json carry all of them
        columns_shown = ("import_wh", "export_wh", "p2p_bought_wh", "p2p_sold_wh", "net_eur")
        table = Table("household", "meters", *columns_shown)
        for row in rows:
            who = row["household"]
            table.add_row(who if who == "TOTAL" else who[:10] + "…", row["meters"],
                          *(row[c] for c in columns_shown))  # fmt: skip
        console.print(table)
    if output is not None and text:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        err_console.print(f"wrote {output}")
    elif text:
        console.out(text, end="" if text.endswith("\n") else "\n", highlight=False)
    if bill.reconciles:
        total = bill.total()
        forfeited = (
            ""
            if bill.bond_amount is None
            else f", {total.forfeited_commitments} forfeited commitment(s): "
            f"{bill.eur(total.forfeited_bonds)} EUR of bonds to the treasury"
        )
        err_console.print(
            f"reconciles with the chain: {bill.cleared_volume_wh} Wh traded, rounding kept by "
            f"the market {bill.rounding_dust} base units, {bill.unclaimed_orders} unclaimed "
            f"order(s) included{forfeited}"
        )
    else:
        for line in bill.differences:
            err_console.print(f"[red]does not reconcile:[/] {line}", highlight=False)
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------- roles
