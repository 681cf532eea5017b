"""``enerwise operator``: set up and run a community market (config, deploy, meters, billing).

Every command that sends a transaction checks first (config, chain id, roles, meter ids) and
sends nothing when a check fails. The signing key is an encrypted keystore file
(``--keystore FILE``) unlocked with ``--password-file FILE`` or ``--password-env VAR``.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from enerwise.cli.console import console, err_console, print_json
from operations.config import (
    DEPLOY_TEST_TOKEN,
    CommunityConfig,
    load_community,
    render_config,
    validate_config,
)
from operations.context import Community
from operations.errors import (
    CommunityConfigError,
    DeploymentMismatchError,
    MeterError,
    OperatorError,
)
from operations.health import IndexSource, LastReading
from operations.meters import AddedMeter, KeyGeneration, MeterSpec
from wallet.keystore import KeystoreSigner
from wallet.passwords import PasswordSource
from wallet.transactions import TransactionSender

app = typer.Typer(
    help="Operate a community market: config, deploy, meters, pause, status, billing.",
    no_args_is_help=True,
)
meter_app = typer.Typer(help="Register and manage meters.", no_args_is_help=True)
app.add_typer(meter_app, name="meter")
role_app = typer.Typer(
    help="Grant, revoke and list the contracts' roles (admin, meter-admin, pauser).",
    no_args_is_help=True,
)
app.add_typer(role_app, name="role")

#: Default community config (``--config``), overridable by this environment variable.
CONFIG_ENV = "ENERWISE_COMMUNITY"

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="The community config (YAML).")]
ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", envvar=CONFIG_ENV, help="The community config (YAML).", show_default=True
    ),
]
KeystoreOption = Annotated[
    Path,
    typer.Option("--keystore", metavar="FILE", help="Keystore file of the signing account."),
]
PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", metavar="FILE", help="Keystore password: first line of FILE."),
]
PasswordEnv = Annotated[
    str | None,
    typer.Option("--password-env", metavar="VAR", help="Keystore password: environment variable."),
]
RpcOption = Annotated[
    str | None, typer.Option("--rpc-url", help="Override chain.rpc_url of the config.")
]
IndexerUrl = Annotated[
    str | None,
    typer.Option(
        "--indexer-url",
        envvar="ENERWISE_INDEXER_URL",
        help="Indexer API (e.g. http://127.0.0.1:8000) for last readings; default: the chain.",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ENERWISE_DATABASE_URL",
        help="Indexer database for last readings (when no --indexer-url); default: the chain.",
    ),
]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before spending gas.")]


def _sender(
    community: Community, keystore: Path, password_file: Path | None, password_env: str | None
) -> TransactionSender:
    password = PasswordSource(password_file, password_env, f"Password for {keystore}: ").read()
    return community.sender(KeystoreSigner.unlocked(keystore, password))


def _decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise CommunityConfigError(f"{field}: {text!r} is not a number") from None


# ---------------------------------------------------------------------------------- init
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
            "retail_eur_per_kwh": _decimal(retail, "tariffs.retail_eur_per_kwh"),
            "feed_in_eur_per_kwh": _decimal(feed_in, "tariffs.feed_in_eur_per_kwh"),
            "tick_eur_per_kwh": _decimal(tick, "tariffs.tick_eur_per_kwh"),
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

    return validate_config(yaml.safe_load(text), "rendered config")


def _show_grid(config: CommunityConfig) -> None:
    for line in config.price_grid().describe():
        err_console.print(f"  {line}", highlight=False)


@app.command("check")
def check(config: ConfigArg) -> None:
    """Check a community config and show its price grid (no chain needed)."""
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
    from operations.deployer import deploy_community, plan

    community = Community.open(config, rpc_url)
    sender = _sender(community, keystore, password_file, password_env)
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
def _keygen(
    generate_key: bool,
    keys_dir: Path | None,
    meter_password_file: Path | None,
    config: Path,
    relayer_key_env: str | None = None,
) -> KeyGeneration | None:
    if not generate_key:
        return None
    if meter_password_file is None:
        raise OperatorError(
            "--meter-password-file: a generated meter key needs a password file (the oracle "
            "reads it to unlock the key)"
        )
    password = PasswordSource(meter_password_file).read()
    folder = keys_dir or config.resolve().parent / "meter-keys"
    return KeyGeneration(
        keys_dir=folder,
        password=password,
        password_file=meter_password_file,
        relayer_key_env=relayer_key_env,
    )


KeysDir = Annotated[
    Path | None,
    typer.Option(help="Folder for generated meter keys (default: meter-keys/ by the config)."),
]
RelayerKeyEnv = Annotated[
    str | None,
    typer.Option(help="Provisioning: environment variable holding the relayer's key (gas)."),
]
MeterPasswordFile = Annotated[
    Path | None,
    typer.Option(help="Password file that encrypts generated meter keys (the oracle reads it)."),
]


@meter_app.command("add")
def meter_add(
    owner: Annotated[str, typer.Option(help="Household account that owns the meter.")],
    meter_id: Annotated[str, typer.Option("--id", help="Meter name (its id is keccak256).")],
    kind: Annotated[str, typer.Option(help="pv, consumer, prosumer or battery.")],
    capacity_w: Annotated[int, typer.Option(help="Peak power in watts.")],
    keystore: KeystoreOption,
    signer: Annotated[str | None, typer.Option(help="Address of the meter's signing key.")] = None,
    generate_key: Annotated[
        bool, typer.Option(help="Create the meter's key and a provisioning file.")
    ] = False,
    keys_dir: KeysDir = None,
    meter_password_file: MeterPasswordFile = None,
    relayer_key_env: RelayerKeyEnv = None,
    source: Annotated[
        str, typer.Option(help="Provisioned source: simulated, modbus:HOST[:PORT], mqtt:TOPIC.")
    ] = "simulated",
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    json_out: JsonFlag = False,
) -> None:
    """Register one meter (capacity in Wh per slot from watts and the slot length)."""
    from operations.meters import add_meters

    if (signer is None) == (not generate_key):
        raise OperatorError("give exactly one of --signer ADDRESS or --generate-key")
    spec = _spec(
        {"id": meter_id, "owner": owner, "kind": kind, "capacity_w": capacity_w, "signer": signer}
    )
    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
    keygen = _keygen(generate_key, keys_dir, meter_password_file, config, relayer_key_env)
    added = add_meters(community, sender, [spec], keygen=keygen, source=source)
    _print_added(added, json_out)


def _spec(data: dict[str, Any]) -> MeterSpec:
    from pydantic import ValidationError

    try:
        return MeterSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MeterError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from None


def _print_added(added: list[AddedMeter], json_out: bool) -> None:
    if json_out:
        print_json(
            [
                {
                    "name": a.name,
                    "meter_id": a.meter_id,
                    "owner": a.owner,
                    "signer": a.signer,
                    "capacity_wh_per_slot": a.capacity_wh_per_slot,
                    "keystore": str(a.keystore) if a.keystore else None,
                    "provision": str(a.provision) if a.provision else None,
                }
                for a in added
            ]
        )
        return
    for a in added:
        console.print(
            f"registered {a.name} ({a.meter_id[:10]}...) owner {a.owner} signer {a.signer} "
            f"{a.capacity_wh_per_slot} Wh/slot",
            highlight=False,
        )
        if a.provision:
            console.print(f"  provisioning file {a.provision}", highlight=False)


@meter_app.command("import")
def meter_import(
    csv_file: Annotated[
        Path, typer.Argument(metavar="CSV", help="id,owner,kind,capacity_w[,signer]")
    ],
    keystore: KeystoreOption,
    generate_keys: Annotated[
        bool, typer.Option(help="Create a key and provisioning file for rows without signer.")
    ] = False,
    keys_dir: KeysDir = None,
    meter_password_file: MeterPasswordFile = None,
    relayer_key_env: RelayerKeyEnv = None,
    source: Annotated[str, typer.Option(help="Provisioned source for generated keys.")] = (
        "simulated"
    ),
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    json_out: JsonFlag = False,
) -> None:
    """Bulk onboarding: check every row (and every id on chain), then register all or none."""
    from operations.meters import add_meters, read_csv

    specs = read_csv(csv_file)
    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
    keygen = _keygen(generate_keys, keys_dir, meter_password_file, config, relayer_key_env)
    added = add_meters(community, sender, specs, keygen=keygen, source=source)
    _print_added(added, json_out)


def index_database(url: str | None) -> IndexSource | None:
    """The indexer's database as a source of last readings for the operator tooling (which
    never imports the indexer); its refusals become :class:`OperatorError` lines."""
    if not url:
        return None

    def read(registry: str) -> list[LastReading]:
        from indexer.activity import meter_activity
        from indexer.errors import IndexerError

        try:
            found, _ = meter_activity(url, registry)
        except IndexerError as exc:
            raise OperatorError(str(exc)) from None
        return [LastReading(a.meter_id, a.last_reading_time, a.reading_count) for a in found]

    return read


@meter_app.command("list")
def meter_list(
    config: ConfigOption = Path("community.yaml"),
    indexer_url: IndexerUrl = None,
    database_url: DatabaseUrl = None,
    json_out: JsonFlag = False,
) -> None:
    """Every registered meter with its state on chain, last reading and oracle health."""
    from dataclasses import asdict

    from operations.meters import health_of_meters, list_meters

    community = Community.open(config)
    rows = list_meters(community)
    health, source = health_of_meters(
        community, rows, indexer_url=indexer_url, database=index_database(database_url)
    )
    if json_out:
        print_json(
            [
                {
                    **asdict(r),
                    "last_reading_time": h.last_reading_time,
                    "age_seconds": h.age_seconds,
                    "reading_count": h.reading_count,
                    "health": h.health,
                    "health_source": source,
                }
                for r, h in zip(rows, health, strict=True)
            ]
        )
        return
    if not rows:
        console.print("no meters registered")
        return
    table = Table(
        "name",
        "kind",
        "meter id",
        "owner",
        "signer",
        "Wh/slot",
        "active",
        "last seq",
        "last reading",
        "health",
    )
    for r, h in zip(rows, health, strict=True):
        table.add_row(
            r.name or "?",
            r.kind or "?",
            r.meter_id[:10] + "...",
            r.owner,
            r.signer,
            str(r.capacity_wh_per_slot),
            "yes" if r.active else "no",
            str(r.last_seq),
            _age(h.last_reading_time, h.age_seconds),
            _health_markup(h.health),
        )
    console.print(table)
    err_console.print(f"last readings from the {source}", highlight=False)


def _age(last: int | None, age: int | None) -> str:
    if last is None or age is None:
        return "never"
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%M")
    return f"{when} ({age // 60} min ago)" if age >= 0 else when


def _health_markup(health: str) -> str:
    colour = {"ok": "green", "late": "yellow", "silent": "red"}.get(health)
    return f"[{colour}]{health}[/]" if colour else health


@meter_app.command("rotate-key")
def meter_rotate(
    meter_id: Annotated[str, typer.Option("--id", help="Meter name.")],
    keystore: KeystoreOption,
    signer: Annotated[str | None, typer.Option(help="Address of the new signing key.")] = None,
    generate_key: Annotated[bool, typer.Option(help="Create the new key.")] = False,
    keys_dir: KeysDir = None,
    meter_password_file: MeterPasswordFile = None,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
) -> None:
    """Replace a meter's signing key; readings signed by the old key are rejected from now on."""
    from operations.meters import rotate_key

    if (signer is None) == (not generate_key):
        raise OperatorError("give exactly one of --signer ADDRESS or --generate-key")
    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
    keygen = _keygen(generate_key, keys_dir, meter_password_file, config)
    new_signer, path = rotate_key(community, sender, meter_id, new_signer=signer, keygen=keygen)
    console.print(f"{meter_id}: signer is now {new_signer}", highlight=False)
    if path is not None:
        console.print(f"  new keystore {path} (update the meter's oracle config)", highlight=False)


@meter_app.command("deactivate")
def meter_deactivate(
    meter_id: Annotated[str, typer.Option("--id", help="Meter name.")],
    keystore: KeystoreOption,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
) -> None:
    """Deactivate a meter for good (its id can never be registered again)."""
    from operations.meters import deactivate

    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
    deactivate(community, sender, meter_id)
    console.print(f"{meter_id}: deactivated", highlight=False)


# ---------------------------------------------------------------------------------- admin
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

    target = _target(only)
    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
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

    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
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
                f"  {h.name or h.meter_id[:10]}: {_health_markup(h.health)}, last reading "
                f"{_age(h.last_reading_time, h.age_seconds)}",
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

    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
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
    from billing.bill import month_bounds
    from operations.billing import monthly_bill

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
RoleArg = Annotated[
    str, typer.Argument(metavar="ROLE", help="admin, meter-admin or pauser (or FOO_ROLE).")
]
AddressArg = Annotated[str, typer.Argument(metavar="ADDRESS", help="The account.")]
OnOption = Annotated[
    str, typer.Option("--on", help="both (every contract defining the role), registry, market.")
]


def _on(text: str) -> Literal["registry", "market", "both"]:
    if text == "registry":
        return "registry"
    if text == "market":
        return "market"
    if text == "both":
        return "both"
    raise OperatorError(f"--on: {text!r}: use both, registry or market")


def _role_change(
    action: Literal["grant", "revoke"],
    role: str,
    address: str,
    on: str,
    force: bool,
    yes: bool,
    keystore: Path,
    config: Path,
    password_file: Path | None,
    password_env: str | None,
    json_out: bool,
) -> None:
    from operations.roles import apply_change, plan_change

    target = _on(on)
    community = Community.open(config)
    sender = _sender(community, keystore, password_file, password_env)
    change = plan_change(community, sender, action, role, address, on=target, force=force)
    for line in change.describe():
        err_console.print(f"  {line}", highlight=False)
    count = len(change.contracts)
    if not yes and not typer.confirm(
        f"Send {count} transaction(s) from {sender.address}?", default=False, err=True
    ):
        err_console.print("nothing sent")
        raise typer.Exit(1)
    hashes = apply_change(community, sender, change)
    if json_out:
        print_json(
            {
                "action": action,
                "role": change.role,
                "account": change.account,
                "contracts": list(change.contracts),
                "skipped": list(change.skipped),
                "transactions": hashes,
            }
        )
        return
    verb = "granted" if action == "grant" else "revoked"
    console.print(
        f"{verb} {change.role} on the {' and the '.join(change.contracts)}: {change.account}",
        highlight=False,
    )


@role_app.command("grant")
def role_grant(
    role: RoleArg,
    address: AddressArg,
    keystore: KeystoreOption,
    on: OnOption = "both",
    yes: YesFlag = False,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    json_out: JsonFlag = False,
) -> None:
    """Grant ROLE to ADDRESS (checked first: your key administers the role, ADDRESS lacks it)."""
    _role_change("grant", role, address, on, False, yes, keystore, config, password_file,
                 password_env, json_out)  # fmt: skip


@role_app.command("revoke")
def role_revoke(
    role: RoleArg,
    address: AddressArg,
    keystore: KeystoreOption,
    on: OnOption = "both",
    force: Annotated[
        bool, typer.Option(help="Allow revoking the last admin (nobody can change roles after).")
    ] = False,
    yes: YesFlag = False,
    config: ConfigOption = Path("community.yaml"),
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    json_out: JsonFlag = False,
) -> None:
    """Revoke ROLE from ADDRESS (refuses to remove the last admin without --force)."""
    _role_change("revoke", role, address, on, force, yes, keystore, config, password_file,
                 password_env, json_out)  # fmt: skip


@role_app.command("list")
def role_list(
    role: Annotated[
        str | None, typer.Argument(metavar="[ROLE]", help="Only this role (default: all).")
    ] = None,
    config: ConfigOption = Path("community.yaml"),
    json_out: JsonFlag = False,
) -> None:
    """Holders of every role per contract, from RoleGranted/RoleRevoked events (no key needed)."""
    from operations.roles import cli_name, list_roles

    found = list_roles(Community.open(config), role)
    if json_out:
        print_json(
            [
                {
                    "contract": r.contract,
                    "role": r.role,
                    "name": cli_name(r.role),
                    "members": r.members,
                }
                for r in found
            ]
        )
        return
    table = Table("contract", "role", "holders")
    for r in found:
        table.add_row(r.contract, f"{cli_name(r.role)} ({r.role})",
                      "\n".join(r.members) or "[red]nobody[/]")  # fmt: skip
    console.print(table)
