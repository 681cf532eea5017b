"""``enerwise operator``: set up and run a community market (config, deploy, meters, billing).

Every command that sends a transaction checks first (config, chain id, roles, meter ids) and
sends nothing when a check fails. The signing key is an encrypted keystore file
(``--keystore FILE``) unlocked with ``--password-file FILE`` or ``--password-env VAR``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from enerwise.cli.console import console, err_console, print_json
from enerwise.cli.operator_meters import meter_app
from enerwise.cli.operator_options import (
    ConfigArg,
    ConfigOption,
    DatabaseUrl,
    IndexerUrl,
    JsonFlag,
    KeystoreOption,
    PasswordEnv,
    PasswordFile,
    RpcOption,
    age_text,
    decimal_option,
    health_markup,
    index_database,
    keystore_sender,
)
from enerwise.cli.operator_roles import role_app
from operations.errors import (
    CommunityConfigError,
    DeploymentMismatchError,
    OperatorError,
)
from operations.payment import DEPLOY_TEST_TOKEN

if TYPE_CHECKING:
    from operations.config import CommunityConfig

app = typer.Typer(
    help="Operate a community market: config, deploy, meters, pause, status, billing.",
    no_args_is_help=True,
)
app.add_typer(meter_app, name="meter")
app.add_typer(role_app, name="role")


@app.command("init")
def init(
    config: ConfigArg,
    name: Annotated[str, typer.Option(help="Community name (lower case, digits, dashes).")],
    admin: Annotated[str, typer.Option(help="Admin address (fees, roles).")],
    retail: Annotated[str, typer.Option(help="Retail tariff, EUR/kWh (the price top).")],
    feed_in: Annotated[str, typer.Option(help="Feed-in tariff, EUR/kWh (the price floor).")],
    tick: Annotated[
        str | None, typer.Option(help="Price step, EUR/kWh (default: finest that fits).")
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
    payment_token: Annotated[
        str, typer.Option(help=f"ERC-20 address, or {DEPLOY_TEST_TOKEN} (local chains).")
    ] = DEPLOY_TEST_TOKEN,
    payment_decimals: Annotated[int, typer.Option(help="Decimals of the payment token.")] = 6,
    slot_seconds: Annotated[int, typer.Option(help="Delivery slot length.")] = 900,
    settlement_seconds: Annotated[int, typer.Option(help="Gate closure after slot end.")] = 900,
    fee_bps: Annotated[int, typer.Option(help="Fee on seller proceeds, basis points.")] = 25,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a checked, commented community config; show the price grid in EUR/kWh."""
    from operations.config import render_config, validate_config

    if config.exists() and not force:
        raise CommunityConfigError(f"{config} exists: pass --force to overwrite it")
    data: dict[str, Any] = {
        "name": name,
        "chain": {"rpc_url": rpc_url, "chain_id": chain_id},
        "payment_token": payment_token,
        "payment_decimals": payment_decimals,
        "slot_seconds": slot_seconds,
        "settlement_seconds": settlement_seconds,
        "tariffs": {
            "retail_eur_per_kwh": decimal_option(retail, "tariffs.retail_eur_per_kwh"),
            "feed_in_eur_per_kwh": decimal_option(feed_in, "tariffs.feed_in_eur_per_kwh"),
            "tick_eur_per_kwh": decimal_option(tick, "tariffs.tick_eur_per_kwh"),
        },
        "fee_bps": fee_bps,
        "treasury": treasury or admin,
        "roles": {"admin": admin, "meter_admin": meter_admin or admin, "pauser": pauser or admin},
    }
    checked = validate_config(data, "community config")
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
    console.print(f"wrote {config}")


def load_community_text(text: str) -> CommunityConfig:
    import yaml

    from operations.config import validate_config

    return validate_config(yaml.safe_load(text), "rendered config")


def _show_grid(config: CommunityConfig) -> None:
    for line in config.price_grid().describe():
        err_console.print(f"  {line}", highlight=False)


@app.command("check")
def check(config: ConfigArg) -> None:
    """Check a community config and show its price grid (no chain needed)."""
    from operations.config import load_community

    checked = load_community(config)
    _show_grid(checked)
    console.print(f"{config}: ok")


# ---------------------------------------------------------------------------------- deploy
@app.command("deploy")
def deploy(
    config: ConfigArg,
    keystore: KeystoreOption,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    rpc_url: RpcOption = None,
    renounce_deployer: Annotated[
        bool,
        typer.Option(help="After granting the configured roles, drop the deployer's own roles."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Run the checks and show the plan; send nothing.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Deploy the market of CONFIG, grant roles, verify on chain, record it (safe to re-run)."""
    from operations.context import Community
    from operations.deployer import deploy_community, plan

    community = Community.open(config, rpc_url)
    sender = keystore_sender(community, keystore, password_file, password_env)
    if dry_run:
        for line in plan(community, sender):
            console.print(line, highlight=False)
        return
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
    console.print(f"deployed and verified; recorded in {community.deployment_path}")


# ---------------------------------------------------------------------------------- meters
Only = Annotated[str, typer.Option("--only", help="both, market (orders) or registry (readings).")]


def _target(only: str) -> Literal["market", "registry", "both"]:
    if only == "market":
        return "market"
    if only == "registry":
        return "registry"
    if only == "both":
        return "both"
    raise OperatorError(f"--only: {only!r}: use both, market or registry")


@app.command("pause")
def pause(
    keystore: KeystoreOption,
    only: Only = "both",
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
) -> None:
    """Pause order placement and reading submission (cancels, claims, withdrawals go on)."""
    _pause(True, keystore, only, config, password_file, password_env)


@app.command("unpause")
def unpause(
    keystore: KeystoreOption,
    only: Only = "both",
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
) -> None:
    """Resume order placement and reading submission."""
    _pause(False, keystore, only, config, password_file, password_env)


def _pause(
    paused: bool,
    keystore: Path,
    only: str,
    config: Path,
    password_file: Path | None,
    password_env: str | None,
) -> None:
    from operations.admin import set_paused
    from operations.context import Community

    target = _target(only)
    community = Community.open(config)
    sender = keystore_sender(community, keystore, password_file, password_env)
    changed = set_paused(community, sender, paused, target)
    word = "paused" if paused else "unpaused"
    console.print(f"{word}: {', '.join(changed)}" if changed else f"already {word}: nothing sent")


@app.command("set-fee")
def set_fee(
    keystore: KeystoreOption,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
) -> None:
    """Apply fee_bps and treasury of the config to the market (admin key; new orders only)."""
    from operations.admin import set_fee as apply
    from operations.context import Community

    community = Community.open(config)
    sender = keystore_sender(community, keystore, password_file, password_env)
    before = apply(community, sender)
    cfg = community.config
    if before is None:
        console.print(f"fee already {cfg.fee_bps} bps to {cfg.treasury}: nothing sent")
    else:
        console.print(
            f"fee {before[0]} bps to {before[1]} -> {cfg.fee_bps} bps to {cfg.treasury} "
            "(resting orders keep the fee of their placement)",
            highlight=False,
        )


@app.command("status")
def status(
    config: ConfigOption = Path("community.yaml"),
    indexer_url: IndexerUrl = None,
    database_url: DatabaseUrl = None,
    json_out: JsonFlag = False,
) -> None:
    """Open slots, uncleared slots past gate closure, oracle health, the vault's solvency."""
    from operations.admin import market_status
    from operations.context import Community

    s = market_status(
        Community.open(config), indexer_url=indexer_url, database=index_database(database_url)
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
            }
        )
        return
    console.print(f"current slot {s.current_slot} (chain time {s.now})")
    console.print(
        f"market {'PAUSED' if s.market_paused else 'running'}, "
        f"registry {'PAUSED' if s.registry_paused else 'running'}"
    )
    console.print(f"open slots with orders: {s.open_slots or 'none'}")
    console.print(f"uncleared past gate closure: {s.due_slots or 'none'}")
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
def clear_due(
    keystore: KeystoreOption,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    json_out: JsonFlag = False,
) -> None:
    """Clear every slot with orders past gate closure (for a cron job; safe to repeat)."""
    from operations.admin import clear_due as run
    from operations.context import Community

    community = Community.open(config)
    sender = keystore_sender(community, keystore, password_file, password_env)
    done = run(community, sender)
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
    config: ConfigOption = Path("community.yaml"),
) -> None:
    """Per-household bill of MONTH from chain events, reconciled with the chain.

    The indexer API serves the same bill to operators: GET /v1/operator/billing?month=...
    """
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
        err_console.print(
            f"reconciles with the chain: {bill.cleared_volume_wh} Wh traded, rounding kept by "
            f"the market {bill.rounding_dust} base units, {bill.unclaimed_orders} unclaimed "
            "order(s) included"
        )
    else:
        for line in bill.differences:
            err_console.print(f"[red]does not reconcile:[/] {line}", highlight=False)
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------- roles
