"""``household.yaml``: one household's meters, devices, keys, limits, modes and tariff.

Example (paths are relative to the file)::

    household: house-7
    meters:                                  # as in oracle.yaml
      - name: house-7-grid
        key: {keystore: keys/meter.json, password_env: METER_PASSWORD}
        source: {kind: modbus, host: 192.168.1.20, port: 502, unit: 1, map: sdm630}
    keys:
      agent: {keystore: keys/agent.json, password_env: AGENT_PASSWORD}
      owner: "0x..."                         # the address the agent trades for
    devices:
      battery: {kind: sunspec, protocol: model124, host: 192.168.1.30, unit: 1,
                capacity_wh: 10000, revert_seconds: 60}
      charger: {kind: ocpp, version: "2.0.1", charge_point_id: wallbox-1,
                listen: {host: 0.0.0.0, port: 9000}, min_w: 4140, max_w: 11000}
      heat_pump: {kind: sgready-modbus, host: 192.168.1.31, unit: 1, relay_coil: 0}
    limits:
      battery_soc_min_pct: 10
      battery_soc_max_pct: 95
      comfort: {min_state: 1, max_state: 4, indoor_min_c: 19.5, indoor_max_c: 23.5}
    modes: {agent: auto, charger: minpv, plan: {departure: "07:30", target_wh: 20000}}
    tariff: {kind: time_of_use, export_eur_kwh: 0.08, periods: [
             {start: "00:00", import_eur_kwh: 0.25}, {start: "06:00", import_eur_kwh: 0.35}]}
    home_assistant: {broker: "127.0.0.1:1883", discovery_prefix: homeassistant}
    control: {interval_seconds: 10, watchdog: true}
    # the gateway service (`enerwise agent run --config household.yaml`):
    chain: {rpc_url: "http://127.0.0.1:8545", deployment: deployments/31337.json,
            relayer: {keystore: keys/relayer.json, password_env: RELAYER_PASSWORD}}
    oracle: {outbox: state/outbox.sqlite, archive: state/archive}
    agent: {policy: mpc_book, state: state/agent.json, forecast_days: 7}
    selling: {move_to_vault: true, sell_min_eur_kwh: 0.12, buy_below_tariff_eur_kwh: 0.03}

A malformed file is one line: ``household file F: devices.battery.port: Input should be ...``.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from devices.charger.modes import ChargeMode
from devices.errors import DeviceConfigError
from oracles.config import ArchiveConfig, ChainConfig, KeyConfig, MeterConfig
from oracles.config_files import read_config_mapping, validate_config_file


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentMode(StrEnum):
    """What the agent may do (the Home Assistant select sets it)."""

    AUTO = "auto"
    HOLD = "hold"
    SELF_CONSUMPTION = "self_consumption"


# ------------------------------------------------------------------------------ devices
class SunSpecBatteryConfig(_Model):
    kind: Literal["sunspec"]
    protocol: Literal["model124", "model802_704"] = "model124"
    host: str
    port: int = Field(default=502, gt=0, lt=65536)
    unit: int = Field(default=1, ge=0, le=255)
    capacity_wh: float | None = Field(default=None, gt=0)
    revert_seconds: int = Field(default=60, ge=10, le=3_600)
    timeout: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _capacity(self) -> SunSpecBatteryConfig:
        if self.protocol == "model124" and self.capacity_wh is None:
            raise ValueError("model 124 has no capacity register: give capacity_wh")
        return self


class Listen(_Model):
    host: str = "0.0.0.0"
    port: int = Field(default=9000, gt=0, lt=65536)


class OcppChargerConfig(_Model):
    kind: Literal["ocpp"]
    version: Literal["2.0.1", "1.6"] = "2.0.1"
    charge_point_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    listen: Listen = Listen()
    min_w: float = Field(default=4_140.0, gt=0)
    max_w: float = Field(default=11_000.0, gt=0)
    tokens: list[str] | None = None
    """Id tokens to accept (every token when absent)."""
    profile_seconds: int = Field(default=900, ge=60, le=86_400)
    """How long a charging profile holds without renewal (the charger's safe default after)."""

    @model_validator(mode="after")
    def _range(self) -> OcppChargerConfig:
        if self.min_w > self.max_w:
            raise ValueError(f"min_w {self.min_w} is above max_w {self.max_w}")
        return self


class ModbusHeatPumpConfig(_Model):
    kind: Literal["sgready-modbus"]
    host: str
    port: int = Field(default=502, gt=0, lt=65536)
    unit: int = Field(default=1, ge=0, le=255)
    relay_coil: int = Field(default=0, ge=0, le=65534)
    temperature_register: int | None = Field(default=0, ge=0, le=65535)
    power_register: int | None = Field(default=1, ge=0, le=65535)


class MqttHeatPumpConfig(_Model):
    kind: Literal["sgready-mqtt"]
    broker: str = "127.0.0.1:1883"
    topic: str = Field(min_length=1)
    """The Tasmota topic of the relay board (``cmnd/<topic>/POWER1``)."""
    username: str | None = None
    password_env: str | None = None


class DevicesConfig(_Model):
    battery: SunSpecBatteryConfig | None = None
    charger: OcppChargerConfig | None = None
    heat_pump: (
        Annotated[ModbusHeatPumpConfig | MqttHeatPumpConfig, Field(discriminator="kind")] | None
    ) = None


# ------------------------------------------------------------------------------ the rest
class KeysConfig(_Model):
    agent: KeyConfig | None = None
    owner: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")


class ComfortConfig(_Model):
    min_state: int = Field(default=1, ge=1, le=4)
    max_state: int = Field(default=4, ge=1, le=4)
    indoor_min_c: float = Field(default=19.5, ge=5, le=30)
    indoor_max_c: float = Field(default=23.5, ge=10, le=35)
    max_lock_minutes: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> ComfortConfig:
        if self.min_state > self.max_state:
            raise ValueError(f"min_state {self.min_state} is above max_state {self.max_state}")
        if self.indoor_min_c >= self.indoor_max_c:
            raise ValueError("indoor_min_c must be below indoor_max_c")
        return self


class LimitsConfig(_Model):
    battery_soc_min_pct: float = Field(default=10.0, ge=0, le=100)
    battery_soc_max_pct: float = Field(default=100.0, ge=0, le=100)
    battery_max_charge_w: float | None = Field(default=None, gt=0)
    battery_max_discharge_w: float | None = Field(default=None, gt=0)
    grid_import_max_w: float | None = Field(default=None, gt=0)
    comfort: ComfortConfig = ComfortConfig()

    @model_validator(mode="after")
    def _soc(self) -> LimitsConfig:
        if self.battery_soc_min_pct >= self.battery_soc_max_pct:
            raise ValueError("battery_soc_min_pct must be below battery_soc_max_pct")
        return self


class PlanConfig(_Model):
    departure: time
    """Local time of day the car leaves (``07:30``, in the household's ``time_zone``)."""
    target_wh: float = Field(gt=0, le=200_000)
    """Energy to charge per plugged-in session (Wh); what the session charged counts."""


class ModesConfig(_Model):
    agent: AgentMode = AgentMode.AUTO
    charger: ChargeMode = ChargeMode.MINPV
    plan: PlanConfig | None = None

    @model_validator(mode="after")
    def _plan(self) -> ModesConfig:
        if self.charger == ChargeMode.PLAN and self.plan is None:
            raise ValueError("charger mode plan needs plan: {departure, target_wh}")
        return self


class FixedTariff(_Model):
    kind: Literal["fixed"]
    import_eur_kwh: float = Field(gt=0, lt=5)
    export_eur_kwh: float = Field(default=0.0, ge=0, lt=5)

    def prices(self, t: float) -> tuple[float, float]:
        return self.import_eur_kwh, self.export_eur_kwh


class TouPeriod(_Model):
    start: time
    import_eur_kwh: float = Field(gt=0, lt=5)


class TimeOfUseTariff(_Model):
    kind: Literal["time_of_use"]
    periods: list[TouPeriod] = Field(min_length=1)
    export_eur_kwh: float = Field(default=0.0, ge=0, lt=5)
    utc_offset_hours: float = Field(default=1.0, ge=-12, le=14)

    @field_validator("periods")
    @classmethod
    def _sorted(cls, periods: list[TouPeriod]) -> list[TouPeriod]:
        starts = [p.start for p in periods]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("periods must start at increasing times of day")
        return periods

    def prices(self, t: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(t + self.utc_offset_hours * 3_600, UTC).time()
        current = self.periods[-1]  # before the first start: the last period of the day before
        for period in self.periods:
            if period.start <= local:
                current = period
        return current.import_eur_kwh, self.export_eur_kwh


class DynamicTariff(_Model):
    """Day-ahead spot prices from a CSV file (``start,eur_per_mwh``; ISO time or unix seconds),
    passed through as in :mod:`agents.tariffs`: ``(spot + surcharges) * (1 + vat)`` to buy,
    ``max(spot, 0) + feed_in_premium`` to sell."""

    kind: Literal["dynamic"]
    file: Path | None = None
    url: str | None = None
    """An HTTP(S) API answering day-ahead prices as JSON: ``{"data": [{"start_timestamp": ms,
    "marketprice": EUR/MWh}, ...]}`` (the aWATTar format) or ``[{"start": ISO or unix s,
    "eur_per_mwh": ...}, ...]``; fetched when the service starts and every ``refresh_minutes``."""
    refresh_minutes: float = Field(default=60.0, gt=0)
    surcharges_eur_kwh: float = Field(default=0.2083, ge=0.05)
    vat: float = Field(default=0.19, ge=0, le=0.5)
    feed_in_premium_eur_kwh: float = Field(default=0.0, ge=0)
    _spot: list[tuple[float, float]] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> DynamicTariff:
        if (self.file is None) == (self.url is None):
            raise ValueError("a dynamic tariff needs exactly one of file or url")
        return self

    def load(self) -> DynamicTariff:
        """Read the price file, or fetch the API's prices (:class:`DeviceConfigError` when
        neither answers with prices)."""
        if self.url is not None:
            from devices.prices import fetch_prices

            self._spot = fetch_prices(self.url)
            return self
        assert self.file is not None
        rows: list[tuple[float, float]] = []
        try:
            with self.file.open(encoding="utf-8") as handle:
                for n, row in enumerate(csv.DictReader(handle), start=2):
                    try:
                        start = row["start"].strip()
                        when = (
                            float(start)
                            if start.replace(".", "").isdigit()
                            else (datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp())
                        )
                        price = float(row["eur_per_mwh"])
                    except (KeyError, AttributeError, ValueError):
                        raise DeviceConfigError(
                            f"price file {self.file} line {n}: need start and eur_per_mwh"
                        ) from None
                    if not math.isfinite(price):
                        raise DeviceConfigError(f"price file {self.file} line {n}: price {price}")
                    rows.append((when, price))
        except OSError as exc:
            raise DeviceConfigError(f"price file {self.file} cannot be read: {exc}") from None
        if not rows:
            raise DeviceConfigError(f"price file {self.file} holds no prices")
        self._spot = sorted(rows)
        return self

    def prices(self, t: float) -> tuple[float, float]:
        import numpy as np

        from agents.tariffs import TariffSpec, tariffs_from_spot

        spot = self._spot[0][1]
        for start, price in self._spot:
            if start <= t:
                spot = price
        spec = TariffSpec(
            surcharges=self.surcharges_eur_kwh,
            vat=self.vat,
            feed_in_premium=self.feed_in_premium_eur_kwh,
        )
        tariffs = tariffs_from_spot(np.array([spot]), spec)
        return float(tariffs.retail[0]), float(tariffs.feed_in[0])


TariffConfig = Annotated[FixedTariff | TimeOfUseTariff | DynamicTariff, Field(discriminator="kind")]


class HomeAssistantConfig(_Model):
    broker: str = "127.0.0.1:1883"
    discovery_prefix: str = "homeassistant"
    base_topic: str = "enerwise"
    username: str | None = None
    password_env: str | None = None


class ControlConfig(_Model):
    interval_seconds: float = Field(default=10.0, ge=1, le=900)
    watchdog: bool = True


class OracleSection(_Model):
    """Where the gateway's oracle keeps its signed readings (as in ``oracle.yaml``)."""

    outbox: Path = Path(".run/gateway/outbox.sqlite")
    archive: ArchiveConfig = ArchiveConfig(dir=Path(".run/gateway/archive"))
    read_delay: float = Field(default=1.0, ge=0)


class AgentSection(_Model):
    """The trading agent of the gateway (absent: standing orders only, if any)."""

    policy: str = "mpc_book"
    """``truthful``, ``halfway``, ``mpc_book``, ``mpc_book_ahead`` or an ``.onnx`` policy file."""
    state: Path = Path(".run/gateway/agent.json")
    log: Path | None = None
    history: Path = Path(".run/gateway/history.json")
    forecast_days: int = Field(default=7, ge=1, le=28)
    step_seconds: float = Field(default=30.0, ge=1, le=900)
    clear_slots: bool = True


class SellingSection(_Model):
    """Set-and-forget selling: minted tokens into the vault, standing orders (EUR/kWh)."""

    move_to_vault: bool = True
    sell_min_eur_kwh: float | None = Field(default=None, ge=0, lt=5)
    buy_below_tariff_eur_kwh: float | None = Field(default=None, ge=0, lt=5)
    state: Path = Path(".run/gateway/standing.json")
    rules_url: str | None = Field(default=None, pattern=r"^https?://")
    """The community API whose standing orders (set in the dApp) replace the two above."""
    refresh_minutes: float = Field(default=15.0, gt=0)


class Household(_Model):
    household: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    time_zone: str = "Europe/Berlin"
    """The household's local time (the charging plan's departure, Home Assistant's day)."""
    meters: list[MeterConfig] = Field(default_factory=list)
    keys: KeysConfig = KeysConfig()
    devices: DevicesConfig = DevicesConfig()
    limits: LimitsConfig = LimitsConfig()
    modes: ModesConfig = ModesConfig()
    tariff: TariffConfig = FixedTariff(kind="fixed", import_eur_kwh=0.32, export_eur_kwh=0.08)
    home_assistant: HomeAssistantConfig | None = None
    control: ControlConfig = ControlConfig()
    grid_meter: str | None = None
    """The meter at the grid connection (default: the first one)."""
    pv_meter: str | None = None
    """A meter of the PV inverter alone (its export register is the PV output), if any."""
    chain: ChainConfig | None = None
    oracle: OracleSection = OracleSection()
    agent: AgentSection | None = None
    selling: SellingSection | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @model_validator(mode="after")
    def _unique(self) -> Household:
        names = [m.name for m in self.meters]
        if len(set(names)) != len(names):
            raise ValueError("meter names must be unique")
        for role in ("grid_meter", "pv_meter"):
            name = getattr(self, role)
            if name is not None and name not in names:
                raise ValueError(f"{role} {name!r} is not one of the meters")
        if self.pv_meter is not None and self.pv_meter == self.grid_meter_name():
            raise ValueError("pv_meter cannot be the grid meter")
        return self

    def grid_meter_name(self) -> str | None:
        """The grid connection's meter: ``grid_meter``, else the first meter that is not the
        PV meter."""
        if self.grid_meter is not None:
            return self.grid_meter
        return next((m.name for m in self.meters if m.name != self.pv_meter), None)


_PATH_KEYS = {
    "keystore",
    "password_file",
    "key_file",
    "file",
    "ca_certs",
    "certfile",
    "keyfile",
    "deployment",
    "outbox",
    "dir",
    "state",
    "log",
    "history",
}


def _is_path(key: str, value: Any) -> bool:
    if not isinstance(value, str) or Path(value).is_absolute():
        return False
    if key == "policy":  # a policy is a name or a model file
        return Path(value).suffix in (".onnx", ".zip")
    return key in _PATH_KEYS


def _relative_to(data: Any, base: Path) -> Any:
    if isinstance(data, dict):
        return {
            k: str(base / v) if _is_path(k, v) else _relative_to(v, base) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_relative_to(v, base) for v in data]
    return data


def load_household(path: str | Path) -> Household:
    """Read and check ``household.yaml``; one-line :class:`DeviceConfigError` when malformed."""
    file = Path(path)
    data = read_config_mapping(file, "household file", error=DeviceConfigError)
    household = validate_config_file(
        Household,
        _relative_to(data, file.resolve().parent),
        path=file,
        what="household file",
        top="file",
        error=DeviceConfigError,
    )
    if isinstance(household.tariff, DynamicTariff):
        household.tariff.load()
    return household
