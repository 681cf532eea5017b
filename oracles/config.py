"""``oracle.yaml``: the meters an oracle runs, where they are read, how they sign, where to submit.

Example (every path is relative to the config file)::

    chain:
      rpc_url: http://127.0.0.1:8545
      deployment: ../deployments/31337.json     # or registry: 0x...
      relayer: {key_env: ENERWISE_RELAYER_KEY}
    outbox: .run/oracle/outbox.sqlite
    archive: {dir: .run/oracle/archive, ipfs_api: http://127.0.0.1:5001}
    meters:
      - name: house-1
        key: {keystore: keys/house-1.json, password_env: HOUSE1_PASSWORD}
        source: {kind: modbus, host: 192.168.1.20, port: 502, unit: 1, map: sdm630}
      - name: plug-7
        key: {key_file: keys/plug-7.key}
        source: {kind: mqtt, broker: 127.0.0.1:1883, topic: tele/plug7/SENSOR, format: tasmota}
      - name: sim-1
        key: {dev: true}
        source: {kind: simulated, profile: household, params: {seed: 1}}

A meter's provisioning file written by ``enerwise operator meter add --generate-key`` is such a
config with one meter; ``enerwise oracle run --provision FILE`` runs it as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oracles.config_files import read_config_mapping, validate_config_file
from oracles.errors import SignerMissingError
from oracles.payloads import JsonFormatSettings
from wallet.errors import WalletError
from wallet.signer import LocalKeySigner, Signer


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyConfig(_Model):
    """Where a key comes from: exactly one of ``keystore``, ``key_env``, ``key_file``, ``dev``,
    ``supplied``.

    ``dev: true`` derives a well-known key from the meter name: for local chains and demos only.
    ``supplied: true``: the program that starts the oracle hands the signer over
    (``build_runner(..., signers=...)``), e.g. a demo's throwaway keys held in memory.
    """

    keystore: Path | None = None
    password_env: str | None = None
    password_file: Path | None = None
    key_env: str | None = None
    key_file: Path | None = None
    dev: bool = False
    supplied: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> KeyConfig:
        chosen = [
            self.keystore is not None,
            bool(self.key_env),
            self.key_file is not None,
            self.dev,
            self.supplied,
        ]
        if sum(chosen) != 1:
            raise ValueError(
                "a key needs exactly one of keystore, key_env, key_file, dev, supplied"
            )
        if self.keystore is not None and not (self.password_env or self.password_file):
            raise ValueError("a keystore needs password_env or password_file")
        return self


class ModbusSourceConfig(_Model):
    kind: Literal["modbus"]
    host: str
    port: int = Field(default=502, gt=0, lt=65536)
    unit: int = Field(default=1, ge=0, le=255)
    map: str = "sdm630"
    timeout: float = Field(default=2.0, gt=0)


class MqttSourceConfig(_Model):
    kind: Literal["mqtt"]
    broker: str = "127.0.0.1:1883"
    topic: str
    format: Literal["tasmota", "shelly", "json"] = "tasmota"
    component: str | None = None
    json_fields: JsonFormatSettings | None = None
    username: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    tls_insecure: bool = False
    client_id: str | None = None
    clean_session: bool = False
    """Start without the broker's stored session (a run-scoped client id needs none kept)."""
    max_age: float = Field(default=120.0, gt=0)


class SimulatedSourceConfig(_Model):
    kind: Literal["simulated"]
    profile: str = "household"
    params: dict[str, Any] = Field(default_factory=dict)
    start_import_wh: float = Field(default=0.0, ge=0)
    start_export_wh: float = Field(default=0.0, ge=0)


SourceConfig = Annotated[
    ModbusSourceConfig | MqttSourceConfig | SimulatedSourceConfig, Field(discriminator="kind")
]


class MeterConfig(_Model):
    name: str = Field(min_length=1)
    id: str | None = None
    """``0x`` + 64 hex digits; default ``keccak256(name)``."""
    capacity_wh_per_slot: int | None = Field(default=None, gt=0)
    """Plausibility limit; default: the capacity registered on chain."""
    key: KeyConfig
    source: SourceConfig


class ChainConfig(_Model):
    rpc_url: str
    registry: str | None = None
    deployment: Path | None = None
    relayer: KeyConfig | None = None
    from_block: int = Field(default=0, ge=0)
    batch_size: int = Field(default=200, gt=0, le=2_000)
    confirmations: int = Field(default=12, ge=1, le=1_000)
    """A landed batch is re-checked (and sent again if its transaction left the chain) until
    its block has this many blocks on top, itself included."""

    @model_validator(mode="after")
    def _registry(self) -> ChainConfig:
        if (self.registry is None) == (self.deployment is None):
            raise ValueError("chain needs exactly one of registry or deployment")
        return self


class ArchiveConfig(_Model):
    dir: Path = Path(".run/oracle/archive")
    ipfs_api: str | None = None


class ValidationConfig(_Model):
    max_sample_age: float = Field(default=60.0, gt=0)
    max_device_skew: float = Field(default=120.0, gt=0)
    max_register_wh: int = Field(default=10**12, gt=0)
    max_clock_skew: float = Field(default=60.0, gt=0)
    """How far the oracle's clock may lag behind the chain's latest block."""


class OracleConfig(_Model):
    chain: ChainConfig
    outbox: Path = Path(".run/oracle/outbox.sqlite")
    archive: ArchiveConfig = ArchiveConfig()
    validation: ValidationConfig = ValidationConfig()
    read_delay: float = Field(default=1.0, ge=0)
    """Seconds after the boundary at which meters are read (lets MQTT samples arrive)."""
    meters: list[MeterConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> OracleConfig:
        names = [m.name for m in self.meters]
        if len(set(names)) != len(names):
            raise ValueError("meter names must be unique")
        return self


def _resolve(data: Any, base: Path, keys: set[str]) -> Any:
    """Make relative paths under ``keys`` relative to ``base`` (the config file's folder)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if k in keys and isinstance(v, str) and not Path(v).is_absolute():
                out[k] = str(base / v)
            else:
                out[k] = _resolve(v, base, keys)
        return out
    if isinstance(data, list):
        return [_resolve(v, base, keys) for v in data]
    return data


_PATH_KEYS = {
    "keystore",
    "password_file",
    "key_file",
    "deployment",
    "outbox",
    "dir",
    "ca_certs",
    "certfile",
    "keyfile",
}


def load_config(path: str | Path) -> OracleConfig:
    """Read and check ``oracle.yaml`` (or ``.toml``); one-line :class:`OracleConfigError`."""
    file = Path(path)
    data = read_config_mapping(file, "oracle config")
    data = _resolve(data, file.resolve().parent, _PATH_KEYS)
    if isinstance(data.get("meters"), list):  # a map file next to the config
        for meter in data["meters"]:
            source = meter.get("source") if isinstance(meter, dict) else None
            if isinstance(source, dict) and isinstance(source.get("map"), str):
                candidate = file.resolve().parent / source["map"]
                if candidate.is_file():
                    source["map"] = str(candidate)
    return validate_config_file(OracleConfig, data, path=file, what="oracle config", top="config")


def dev_key(name: str) -> bytes:
    """The well-known development key of meter ``name`` (never for real meters)."""
    return keccak(b"enerwise-dev-meter:" + name.encode("utf-8"))


def load_signer(key: KeyConfig, owner: str) -> Signer:
    """The signer ``key`` describes; :class:`SignerMissingError` naming the source if not."""
    import os

    try:
        if key.supplied:
            raise SignerMissingError(
                f"{owner}: the key is to be supplied by the caller, and was not"
            )
        if key.dev:
            return LocalKeySigner(dev_key(owner))
        if key.key_env:
            value = os.environ.get(key.key_env)
            if not value:
                raise SignerMissingError(f"{owner}: environment variable {key.key_env} is not set")
            return LocalKeySigner(value.strip())
        if key.key_file is not None:
            from wallet.keystore import private_key_from_file

            return LocalKeySigner(private_key_from_file(key.key_file))
        from wallet.keystore import KeystoreSigner
        from wallet.passwords import password_from_env, password_from_file

        assert key.keystore is not None
        password = (
            password_from_env(key.password_env)
            if key.password_env
            else password_from_file(key.password_file)  # type: ignore[arg-type]
        )
        return KeystoreSigner.unlocked(key.keystore, password)
    except WalletError as exc:
        raise SignerMissingError(f"{owner}: key not available: {exc}") from None
