"""``enerwise operator meter``: register, import, list, rotate and deactivate meters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.console import console, err_console
from enerwise.cli.operator_options import (
    CommunityChange,
    LastReadings,
    age_text,
    health_markup,
)
from enerwise.cli.options import (
    DEFAULT_COMMUNITY,
    CommunityConfig,
    JsonFlag,
    option_groups,
)
from enerwise.cli.output import print_json
from operations.errors import (
    MeterError,
    OperatorError,
)

if TYPE_CHECKING:
    from operations.meters import AddedMeter, KeyGeneration, MeterSpec

meter_app = typer.Typer(help="Register and manage meters.", no_args_is_help=True)


def _one_signer_source(signer: str | None, generate_key: bool) -> None:
    """The meter's key is named (``--signer``) or made (``--generate-key``): exactly one."""
    if (signer is None) == (not generate_key):
        raise OperatorError("give exactly one of --signer ADDRESS or --generate-key")


def _keygen(
    generate_key: bool,
    keys_dir: Path | None,
    meter_password_file: Path | None,
    config: Path,
    relayer_key_env: str | None = None,
) -> KeyGeneration | None:
    from operations.meters import KeyGeneration
    from wallet.passwords import PasswordSource

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
@option_groups
def meter_add(
    owner: Annotated[str, typer.Option(help="Household account that owns the meter.")],
    meter_id: Annotated[str, typer.Option("--id", help="Meter name (its id is keccak256).")],
    kind: Annotated[str, typer.Option(help="pv, consumer, prosumer or battery.")],
    capacity_w: Annotated[int, typer.Option(help="Peak power in watts.")],
    change: CommunityChange,
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
    json_out: JsonFlag = False,
) -> None:
    """Register one meter (capacity in Wh per slot from watts and the slot length)."""
    from operations.meters import add_meters

    _one_signer_source(signer, generate_key)
    spec = _spec(
        {"id": meter_id, "owner": owner, "kind": kind, "capacity_w": capacity_w, "signer": signer}
    )
    community, sender = change.open()
    keygen = _keygen(generate_key, keys_dir, meter_password_file, change.config, relayer_key_env)
    added = add_meters(
        community, sender, [spec], keygen=keygen, source=source, approve=change.approve
    )
    _print_added(added, json_out)


def _spec(data: dict[str, Any]) -> MeterSpec:
    from pydantic import ValidationError

    from operations.meters import MeterSpec

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
@option_groups
def meter_import(
    csv_file: Annotated[
        Path, typer.Argument(metavar="CSV", help="id,owner,kind,capacity_w[,signer]")
    ],
    change: CommunityChange,
    generate_keys: Annotated[
        bool, typer.Option(help="Create a key and provisioning file for rows without signer.")
    ] = False,
    keys_dir: KeysDir = None,
    meter_password_file: MeterPasswordFile = None,
    relayer_key_env: RelayerKeyEnv = None,
    source: Annotated[str, typer.Option(help="Provisioned source for generated keys.")] = (
        "simulated"
    ),
    json_out: JsonFlag = False,
) -> None:
    """Bulk onboarding: check every row (and every id on chain), then register all or none."""
    from operations.meters import add_meters, read_csv

    specs = read_csv(csv_file)
    community, sender = change.open()
    keygen = _keygen(generate_keys, keys_dir, meter_password_file, change.config, relayer_key_env)
    added = add_meters(
        community, sender, specs, keygen=keygen, source=source, approve=change.approve
    )
    _print_added(added, json_out)


@meter_app.command("list")
@option_groups
def meter_list(
    readings: LastReadings,
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: JsonFlag = False,
) -> None:
    """Every registered meter with its state on chain, last reading and oracle health."""
    from dataclasses import asdict

    from rich.table import Table

    from operations.context import Community
    from operations.meters import health_of_meters, list_meters

    community = Community.open(config)
    rows = list_meters(community)
    health, source = health_of_meters(
        community, rows, indexer_url=readings.indexer_url, database=readings.database()
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
            age_text(h.last_reading_time, h.age_seconds),
            health_markup(h.health),
        )
    console.print(table)
    err_console.print(f"last readings from the {source}", highlight=False)


@meter_app.command("rotate-key")
@option_groups
def meter_rotate(
    meter_id: Annotated[str, typer.Option("--id", help="Meter name.")],
    change: CommunityChange,
    signer: Annotated[str | None, typer.Option(help="Address of the new signing key.")] = None,
    generate_key: Annotated[bool, typer.Option(help="Create the new key.")] = False,
    keys_dir: KeysDir = None,
    meter_password_file: MeterPasswordFile = None,
    json_out: JsonFlag = False,
) -> None:
    """Replace a meter's signing key; readings signed by the old key are rejected from now on."""
    from operations.meters import rotate_key

    _one_signer_source(signer, generate_key)
    community, sender = change.open()
    keygen = _keygen(generate_key, keys_dir, meter_password_file, change.config)
    new_signer, path = rotate_key(
        community, sender, meter_id, new_signer=signer, keygen=keygen, approve=change.approve
    )
    if json_out:
        print_json(
            {"name": meter_id, "signer": new_signer, "keystore": str(path) if path else None}
        )
        return
    console.print(f"{meter_id}: signer is now {new_signer}", highlight=False)
    if path is not None:
        console.print(f"  new keystore {path} (update the meter's oracle config)", highlight=False)


@meter_app.command("deactivate")
@option_groups
def meter_deactivate(
    meter_id: Annotated[str, typer.Option("--id", help="Meter name.")],
    change: CommunityChange,
    json_out: JsonFlag = False,
) -> None:
    """Deactivate a meter for good (its id can never be registered again)."""
    from operations.meters import deactivate

    community, sender = change.open()
    found = deactivate(community, sender, meter_id, approve=change.approve)
    if json_out:
        print_json({"name": meter_id, "meter_id": found, "active": False})
        return
    console.print(f"{meter_id}: deactivated", highlight=False)


# ---------------------------------------------------------------------------------- admin
