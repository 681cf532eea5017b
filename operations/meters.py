"""Meter onboarding: register, list, rotate the signing key, deactivate, bulk from CSV.

Every action checks on chain first (the signing account holds METER_ADMIN_ROLE, the id is free
or registered and active) and sends nothing when a check fails. A meter's id is
``keccak256(name)`` (:func:`oracles.readings.meter_id_from_name`), the same rule the oracle uses.

``--generate-key`` creates the meter's signing key in an encrypted keystore and writes a
provisioning file in the oracle config format (``enerwise oracle run --config FILE``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from web3 import Web3

from energychain.deploy import Deployment, EnergyChain
from energychain.events import EventReader
from energychain.records import MeterState
from operations.config import Address
from operations.context import Approve, Community, approved, require_role
from operations.errors import MeterError
from operations.health import IndexSource, MeterHealth, index_readings, meter_health
from oracles.config import load_config as load_oracle_config
from oracles.errors import OracleError
from oracles.readings import meter_id_from_name
from wallet.keystore import DEFAULT_SCRYPT_N, Keystore
from wallet.transactions import TransactionSender, TxRequest

MeterKind = Literal["pv", "consumer", "prosumer", "battery"]
GAS_REGISTER_METER = 200_000


class MeterSpec(BaseModel):
    """One meter to register (a CLI call or a CSV row)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    owner: Address
    kind: MeterKind
    capacity_w: int = Field(gt=0)
    signer: Address | None = None


@dataclass(frozen=True)
class KeyGeneration:
    """Where a generated meter key goes and how it is protected."""

    keys_dir: Path
    password: str
    password_file: Path
    """Written into the provisioning file so the oracle can unlock the key."""
    scrypt_n: int = DEFAULT_SCRYPT_N
    relayer_key_env: str | None = None
    """Environment variable with the key that relays readings (written as ``chain.relayer``)."""


@dataclass(frozen=True)
class AddedMeter:
    name: str
    meter_id: str
    owner: str
    signer: str
    capacity_wh_per_slot: int
    keystore: Path | None = None
    provision: Path | None = None


@dataclass(frozen=True)
class MeterRow:
    """A registered meter as the chain (and the local inventory) knows it."""

    meter_id: str
    name: str | None
    kind: str | None
    owner: str
    signer: str
    capacity_wh_per_slot: int
    active: bool
    last_seq: int
    last_timestamp: int


def capacity_wh_per_slot(capacity_w: int, slot_seconds: int) -> int:
    """Most Wh a meter of ``capacity_w`` watts can move in one slot (rounded up)."""
    return math.ceil(capacity_w * slot_seconds / 3600)


def meter_id_hex(name: str) -> str:
    try:
        return "0x" + meter_id_from_name(name).hex()
    except OracleError as exc:
        raise MeterError(f"id: {exc}") from None


def parse_source(text: str) -> dict[str, Any]:
    """``simulated`` | ``modbus:HOST[:PORT]`` | ``mqtt:TOPIC`` as an oracle source section."""
    name, _, rest = text.partition(":")
    if name == "simulated":
        return {"kind": "simulated", "profile": "household"}
    if name == "modbus" and rest:
        host, _, port = rest.partition(":")
        return {"kind": "modbus", "host": host, "port": int(port or 502), "map": "sdm630"}
    if name == "mqtt" and rest:
        return {"kind": "mqtt", "topic": rest, "format": "tasmota"}
    raise MeterError(f"source: {text!r}: use simulated, modbus:HOST[:PORT] or mqtt:TOPIC")


# ---------------------------------------------------------------------------- inventory
def inventory_path(community: Community) -> Path:
    return community.deployment_path.with_name(f"{community.config.name}.meters.json")


class InventoryEntry(BaseModel):
    """What the operator knows about a meter beyond the chain (names and kinds are off chain)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: MeterKind
    owner: Address
    capacity_w: int = Field(gt=0)
    signer: Address
    keystore: str | None = None
    provision: str | None = None


Inventory = dict[str, InventoryEntry]
_INVENTORY = TypeAdapter(Inventory)


def load_inventory(community: Community) -> Inventory:
    """``<name>.meters.json``: meter id (0x hex) -> :class:`InventoryEntry` (empty if absent)."""
    path = inventory_path(community)
    if not path.is_file():
        return {}
    try:
        return _INVENTORY.validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise MeterError(f"meter inventory {path} cannot be used: {exc}") from None


def _save_inventory(community: Community, inventory: Inventory) -> None:
    path = inventory_path(community)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(_INVENTORY.dump_json(inventory, indent=2) + b"\n")
    tmp.replace(path)


# ---------------------------------------------------------------------------- on-chain checks
def _on_chain(contracts: EnergyChain, meter_id: str) -> MeterState:
    return contracts.registry.meter(bytes.fromhex(meter_id[2:]))


def _check_free(contracts: EnergyChain, spec: MeterSpec) -> str:
    meter_id = meter_id_hex(spec.id)
    meter = _on_chain(contracts, meter_id)
    if meter.registered:
        raise MeterError(
            f"id: meter {spec.id!r} ({meter_id}) is already registered (owner {meter.owner}); "
            "ids are never reused; nothing was sent"
        )
    return meter_id


def _check_active(contracts: EnergyChain, name: str) -> str:
    meter_id = meter_id_hex(name)
    meter = _on_chain(contracts, meter_id)
    if not meter.registered:
        raise MeterError(f"id: no meter {name!r} ({meter_id}) is registered; nothing was sent")
    if not meter.active:
        raise MeterError(f"id: meter {name!r} was deactivated; nothing was sent")
    return meter_id


# ---------------------------------------------------------------------------- add
def add_meters(
    community: Community,
    sender: TransactionSender,
    specs: list[MeterSpec],
    *,
    keygen: KeyGeneration | None = None,
    source: str = "simulated",
    approve: Approve | None = None,
) -> list[AddedMeter]:
    """Register ``specs`` in one batch; nothing is sent unless every one passes the checks.

    Meters without a ``signer`` need ``keygen``: a keystore is created for each (local files
    only, before any transaction) and a provisioning file written after registration.
    """
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    require_role(contracts, "registry", "METER_ADMIN_ROLE", sender.address)
    names = [s.id for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MeterError(f"id: {', '.join(dupes)} appear more than once; nothing was sent")
    slot_seconds = community.config.slot_seconds
    planned: list[tuple[MeterSpec, str, int]] = []
    for spec in specs:
        meter_id = _check_free(contracts, spec)
        if spec.signer is None and keygen is None:
            raise MeterError(
                f"signer: meter {spec.id!r} needs --signer ADDRESS or --generate-key; "
                "nothing was sent"
            )
        planned.append((spec, meter_id, capacity_wh_per_slot(spec.capacity_w, slot_seconds)))
    for _, _, capacity in planned:
        if capacity > 2**40:  # MAX_CAPACITY_WH_PER_SLOT
            raise MeterError(f"capacity_w: {capacity} Wh per slot is above the registry's limit")
    source_section = parse_source(source)  # checked before anything is created
    approved(
        approve,
        [
            f"register {spec.id} owner {spec.owner} "
            f"{'signer ' + spec.signer if spec.signer else 'with a new key'}, "
            f"{capacity} Wh per slot"
            for spec, _, capacity in planned
        ],
    )

    signers: dict[str, tuple[str, Path | None]] = {}
    for spec, _, _ in planned:
        if spec.signer is not None:
            signers[spec.id] = (spec.signer, None)
        else:
            assert keygen is not None
            info = Keystore(keygen.keys_dir, scrypt_n=keygen.scrypt_n).create(keygen.password)
            signers[spec.id] = (info.address, info.path)

    requests: list[TxRequest] = [
        contracts.registry.register_meter(
            bytes.fromhex(meter_id[2:]),
            spec.owner,
            signers[spec.id][0],
            capacity,
            gas=GAS_REGISTER_METER,
        )
        for spec, meter_id, capacity in planned
    ]
    sender.send_batch(requests)

    inventory = load_inventory(community)
    added: list[AddedMeter] = []
    for spec, meter_id, capacity in planned:
        signer, keystore = signers[spec.id]
        provision = None
        if keystore is not None:
            assert keygen is not None
            provision = write_provision(
                community, deployment, spec, meter_id, capacity, keystore, keygen, source_section
            )
        inventory[meter_id] = InventoryEntry(
            name=spec.id,
            kind=spec.kind,
            owner=spec.owner,
            capacity_w=spec.capacity_w,
            signer=signer,
            keystore=str(keystore) if keystore else None,
            provision=str(provision) if provision else None,
        )
        added.append(
            AddedMeter(spec.id, meter_id, spec.owner, signer, capacity, keystore, provision)
        )
    _save_inventory(community, inventory)
    return added


def write_provision(
    community: Community,
    deployment: Deployment,
    spec: MeterSpec,
    meter_id: str,
    capacity: int,
    keystore: Path,
    keygen: KeyGeneration,
    source: dict[str, Any],
) -> Path:
    """The meter's oracle config (``enerwise oracle run --config FILE``), checked by loading it."""
    import yaml

    config = community.config
    epoch = deployment.epoch
    folder = keygen.keys_dir.resolve()
    chain: dict[str, Any] = {
        "rpc_url": config.chain.rpc_url,
        "deployment": str(community.deployment_path.resolve()),
        "from_block": deployment.block_number,
    }
    if keygen.relayer_key_env:
        chain["relayer"] = {"key_env": keygen.relayer_key_env}
    document = {
        "chain": chain,
        "outbox": str(folder / f"{spec.id}.outbox.sqlite"),
        "archive": {"dir": str(folder / f"{spec.id}-archive")},
        "meters": [
            {
                "name": spec.id,
                "id": meter_id,
                "capacity_wh_per_slot": capacity,
                "key": {
                    "keystore": str(keystore.resolve()),
                    "password_file": str(keygen.password_file.resolve()),
                },
                "source": source,
            }
        ],
    }
    a = deployment.addresses
    header = [
        f"Provisioning of meter {spec.id} ({spec.kind}, {spec.capacity_w} W) of community "
        f"{config.name}: written by `enerwise operator meter add --generate-key`.",
        "Run the oracle with: enerwise oracle run --config THIS_FILE",
        "chain.relayer names the account that pays gas for the readings (add one if missing).",
        f"meter id       {meter_id}",
        f"owner          {spec.owner}",
        f"signer key     {keystore.resolve()}",
        f"chain id       {deployment.chain_id}, RPC {config.chain.rpc_url}",
        f"registry       {a['registry']}",
        f"market         {a['market']}",
        f"energy token   {a['energy_token']}",
        f"payment token  {a['payment_token']}",
        f"slots          {config.slot_seconds} s from epoch {epoch} "
        f"({datetime.fromtimestamp(epoch, UTC).isoformat()}), "
        f"clock skew {config.max_clock_skew_seconds} s",
        f"capacity       {capacity} Wh per slot (plausibility limit on chain)",
        "source         edit `source` below for the real meter (modbus / mqtt).",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.id}.oracle.yaml"
    text = "".join(f"# {line}\n" for line in header) + yaml.safe_dump(document, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    try:
        load_oracle_config(path)
    except OracleError as exc:  # pragma: no cover - would be a bug in this module
        raise MeterError(
            f"the provisioning file {path} is not a valid oracle config: {exc}"
        ) from None
    return path


def read_csv(path: Path) -> list[MeterSpec]:
    """Meters from a CSV with a header ``id,owner,kind,capacity_w[,signer]``; every row checked."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MeterError(f"{path} cannot be read: {exc}") from None
    specs: list[MeterSpec] = []
    for number, row in enumerate(rows, start=2):
        data = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not data.get("signer"):
            data.pop("signer", None)
        try:
            specs.append(MeterSpec.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise MeterError(f"{path} line {number}: {where}: {message}") from None
    if not specs:
        raise MeterError(f"{path} holds no meters")
    return specs


# ---------------------------------------------------------------------------- list / rotate / off
def list_meters(community: Community) -> list[MeterRow]:
    """Every meter registered with the community's registry, with its state on chain."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    inventory = load_inventory(community)
    rows: list[MeterRow] = []
    seen: set[str] = set()
    registered = EventReader(contracts.registry).read("MeterRegistered", deployment.block_number)
    for event in registered:
        meter_id = "0x" + bytes(event["args"]["meterId"]).hex()
        if meter_id in seen:
            continue
        seen.add(meter_id)
        m = _on_chain(contracts, meter_id)
        local = inventory.get(meter_id)
        rows.append(
            MeterRow(
                meter_id=meter_id,
                name=local.name if local else None,
                kind=local.kind if local else None,
                owner=m.owner,
                signer=m.signer,
                capacity_wh_per_slot=m.capacity_wh_per_slot,
                active=m.active,
                last_seq=m.last_seq,
                last_timestamp=m.last_timestamp,
            )
        )
    return rows


def rotate_key(
    community: Community,
    sender: TransactionSender,
    name: str,
    *,
    new_signer: str | None = None,
    keygen: KeyGeneration | None = None,
    approve: Approve | None = None,
) -> tuple[str, Path | None]:
    """Replace the signing key of meter ``name``; returns the new signer and its keystore."""
    contracts = community.contracts()
    require_role(contracts, "registry", "METER_ADMIN_ROLE", sender.address)
    meter_id = _check_active(contracts, name)
    keystore: Path | None = None
    if new_signer is not None and not Web3.is_address(new_signer):
        raise MeterError(f"signer: {new_signer!r} is not an address; nothing was sent")
    if new_signer is None and keygen is None:
        raise MeterError("signer: give --signer ADDRESS or --generate-key; nothing was sent")
    approved(
        approve,
        [
            f"rotate the signing key of {name} to {new_signer or 'a new key'} "
            "(old key rejected; the meter's sequence and baseline restart)"
        ],
    )
    if new_signer is not None:
        signer = Web3.to_checksum_address(new_signer)
    elif keygen is not None:
        info = Keystore(keygen.keys_dir, scrypt_n=keygen.scrypt_n).create(keygen.password)
        signer, keystore = info.address, info.path
    else:  # pragma: no cover - refused above
        raise MeterError("signer: give --signer ADDRESS or --generate-key; nothing was sent")
    sender.transact(contracts.registry.rotate_signer(bytes.fromhex(meter_id[2:]), signer))
    inventory = load_inventory(community)
    entry = inventory.get(meter_id)
    if entry is not None:
        entry.signer = signer
        if keystore is not None:
            assert keygen is not None
            entry.keystore = str(keystore)
            if entry.provision:
                entry.provision = str(_reprovision(community, entry, keystore, keygen))
        _save_inventory(community, inventory)
    return signer, keystore


def _reprovision(
    community: Community, entry: InventoryEntry, keystore: Path, keygen: KeyGeneration
) -> Path:
    """Rewrite a meter's provisioning file for its new key (source and relayer kept)."""
    import yaml

    old = Path(str(entry.provision))
    source: dict[str, Any] = {"kind": "simulated", "profile": "household"}
    relayer = keygen.relayer_key_env
    try:
        document = yaml.safe_load(old.read_text(encoding="utf-8"))
        source = document["meters"][0]["source"]
        relayer = relayer or document["chain"].get("relayer", {}).get("key_env")
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, AttributeError):
        pass  # the file was moved or edited beyond recognition: write a fresh one
    spec = MeterSpec(
        id=entry.name,
        owner=entry.owner,
        kind=entry.kind,
        capacity_w=entry.capacity_w,
        signer=None,
    )
    deployment = community.deployment()
    meter_id = meter_id_hex(spec.id)
    capacity = capacity_wh_per_slot(spec.capacity_w, community.config.slot_seconds)
    keygen = KeyGeneration(
        keys_dir=old.parent,
        password=keygen.password,
        password_file=keygen.password_file,
        scrypt_n=keygen.scrypt_n,
        relayer_key_env=relayer,
    )
    return write_provision(
        community, deployment, spec, meter_id, capacity, keystore, keygen, source
    )


def deactivate(
    community: Community, sender: TransactionSender, name: str, *, approve: Approve | None = None
) -> str:
    """Deactivate meter ``name`` for good; returns its id."""
    contracts = community.contracts()
    require_role(contracts, "registry", "METER_ADMIN_ROLE", sender.address)
    meter_id = _check_active(contracts, name)
    approved(approve, [f"deactivate {name} ({meter_id[:10]}...) for good"])
    sender.transact(contracts.registry.deactivate_meter(bytes.fromhex(meter_id[2:])))
    return meter_id


def health_of_meters(
    community: Community,
    rows: list[MeterRow] | None = None,
    *,
    indexer_url: str | None = None,
    database: IndexSource | None = None,
) -> tuple[list[MeterHealth], str]:
    """Oracle health of every registered meter (``rows`` from :func:`list_meters` if given),
    from the index when one is configured, else from the registry; and the source's name."""
    rows = list_meters(community) if rows is None else rows
    registry = community.deployment().addresses["registry"]
    found = index_readings(registry, indexer_url=indexer_url, database=database)
    readings, source = found if found is not None else (None, "chain (registry lastTimestamp)")
    now = int(community.w3.eth.get_block("latest")["timestamp"])
    health = meter_health(
        ((r.meter_id, r.name, r.active, r.last_timestamp) for r in rows),
        readings,
        now,
        community.config.slot_seconds,
    )
    return health, source
