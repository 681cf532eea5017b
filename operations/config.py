"""``community.yaml``: what an operator decides about one community market.

Prices are given as tariffs in EUR/kWh and turned into the market's price grid:
``price(tick) = price_floor + tick * tick_size`` (payment base units per kWh) with the floor at
the feed-in tariff and the top (``max_tick``) at the retail tariff, so a trade on the market is
never worse than the grid for either side. The tick size must divide the range exactly and the
grid may have at most :data:`MAX_TICK_LIMIT` ticks (the contract's bound).

The ``market`` section chooses the market mode (:data:`energychain.deploy.MARKET_MODES`):
``open`` (orders public until gate closure) or ``sealed`` (orders committed as hashes, revealed
in a window after gate closure; a commitment never revealed forfeits a bond to the treasury).
The bond is money like the tariffs: EUR as a quoted decimal, turned into base units of the
payment token.

Every validation error names the field (``tariffs.tick_eur_per_kwh: ...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from web3 import Web3

from energychain.deploy import MARKET_MODES, MarketSettings
from market.clearing import MarketParams
from operations.errors import CommunityConfigError
from operations.payment import DEPLOY_TEST_TOKEN, LOCAL_CHAIN_IDS
from oracles.config_files import read_config_mapping

#: Highest ``maxTick`` the market contract accepts (``MAX_TICK_LIMIT``).
MAX_TICK_LIMIT = 2047
#: Highest price the market contract accepts, base units per kWh (``_MAX_PRICE``).
MAX_PRICE = 2**128 - 1
#: Highest protocol fee the market contract accepts (``MAX_FEE_BPS``).
MAX_FEE_BPS = 1000
#: Highest ``maxClockSkewSeconds`` the meter registry accepts (``MAX_CLOCK_SKEW_SECONDS``).
MAX_CLOCK_SKEW_SECONDS = 3600
#: Bounds of the contracts' integer parameters (``uint32`` durations, ``uint64`` quantities).
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
#: The sealed market's reveal window must be shorter than the clear window
#: (``CLEAR_WINDOW_SECONDS``, one day: a slot nobody cleared by then is void).
CLEAR_WINDOW_SECONDS = 86_400
#: Highest bond the sealed market accepts, base units (a commitment locks at most 2^88 - 1).
MAX_BOND = 2**88 - 1


def _checksum(value: str) -> str:
    """``value`` as a checksum address; a mixed-case address must have a valid checksum."""
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ValueError(f"{value!r} is not an address (0x followed by 40 hex digits)")
    if (
        value != value.lower()
        and value[2:] != value[2:].upper()
        and not (Web3.is_checksum_address(value))
    ):
        raise ValueError(f"{value} has a wrong checksum (mixed case that is not EIP-55)")
    if int(value, 16) == 0:
        raise ValueError("the zero address cannot hold a role, receive fees or own a meter")
    return str(Web3.to_checksum_address(value))


Address = Annotated[str, AfterValidator(_checksum)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _explorer(value: str | None) -> str | None:
    """A block explorer's base URL (``https://...``), without a trailing slash."""
    if value is None:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://explorer.example.org)")
    return value.rstrip("/")


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


class ChainSettings(_Model):
    rpc_url: str = Field(min_length=1)
    chain_id: int = Field(gt=0)
    explorer_url: Annotated[str | None, AfterValidator(_explorer)] = None
    """Base URL of a block explorer for this chain (``<url>/tx/<hash>`` links in the dApp)."""


class Tariffs(_Model):
    """Tariffs in EUR per kWh (strings in YAML keep them exact)."""

    retail_eur_per_kwh: Decimal = Field(gt=0)
    feed_in_eur_per_kwh: Decimal = Field(ge=0)
    tick_eur_per_kwh: Decimal | None = Field(default=None, gt=0)
    """Price step; default: the smallest step (in base units) that divides the range in at most
    2047 ticks."""


def _market_mode(value: object) -> str:
    if value not in MARKET_MODES:
        raise ValueError(f"{value!r} is not a market mode: use {' or '.join(MARKET_MODES)}")
    return str(value)


class MarketMode(_Model):
    """How orders enter the book: in the open, or sealed (committed, revealed after gate
    closure). ``reveal_seconds`` and ``bond_eur`` are used by a sealed market only."""

    mode: str = "open"
    reveal_seconds: int = Field(default=900, gt=0)
    """The reveal window after each gate closure; the slot clears after it."""
    bond_eur: Decimal = Field(default=Decimal("0.10"), gt=0)
    """Money every commitment locks and forfeits to the treasury when it is never revealed."""

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_text(cls, value: object) -> object:
        return _market_mode(value)

    @field_validator("reveal_seconds")
    @classmethod
    def _reveal(cls, value: int) -> int:
        if value >= CLEAR_WINDOW_SECONDS:
            raise ValueError(
                f"{value} s is not shorter than the market's clear window of "
                f"{CLEAR_WINDOW_SECONDS} s (1 day): a slot must still clear after its reveal window"
            )
        return value

    @property
    def sealed(self) -> bool:
        return self.mode == "sealed"


class Roles(_Model):
    """Who holds each role after deployment (separate keys recommended)."""

    admin: Address
    meter_admin: Address
    pauser: Address


@dataclass(frozen=True)
class PriceGrid:
    """The community's market parameters as the chain holds them, with the payment token's
    decimals to show its price grid in EUR/kWh."""

    params: MarketParams
    decimals: int

    def eur(self, base_units: int) -> Decimal:
        return plain(Decimal(base_units).scaleb(-self.decimals))

    def describe(self) -> list[str]:
        """The grid in plain money, for the operator to check."""
        p = self.params
        return [
            f"price floor  {self.eur(p.price_floor)} EUR/kWh (feed-in tariff)",
            f"price top    {self.eur(p.price_top)} EUR/kWh (retail tariff)",
            f"tick size    {self.eur(p.tick_size)} EUR/kWh, {p.max_tick} ticks "
            f"(limit {MAX_TICK_LIMIT})",
            f"on chain     price_floor={p.price_floor} tick_size={p.tick_size} "
            f"max_tick={p.max_tick} (base units of a {self.decimals}-decimals token)",
        ]


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, never in exponent notation, at least two decimals
    as money is written (0.08 and 0.30, not 0.080000 or 0.3)."""
    trimmed = Decimal(format(value.normalize(), "f"))
    cents = trimmed.quantize(Decimal("0.01"))
    return cents if cents == trimmed else trimmed


def _base_units(value: Decimal, decimals: int, field: str) -> int:
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{field}: {value} EUR/kWh is finer than the payment token's {decimals} decimals"
        )
    return int(scaled)


def _default_tick(span: int) -> int:
    """Smallest tick size dividing ``span`` into at most MAX_TICK_LIMIT ticks.

    The tick count is the largest divisor of ``span`` up to the limit: at most 2047 trials.
    """
    if span == 0:
        return 1
    for ticks in range(min(MAX_TICK_LIMIT, span), 0, -1):
        if span % ticks == 0:
            return span // ticks
    return span  # pragma: no cover - 1 divides everything


class CommunityConfig(_Model):
    """One community market: chain, money, price grid, fee and roles."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    chain: ChainSettings
    time_zone: Annotated[str, AfterValidator(_time_zone)] = "UTC"
    """IANA time zone of the community: billing months and days run in it."""
    payment_token: str = DEPLOY_TEST_TOKEN
    payment_decimals: int = Field(default=6, ge=0, le=18)
    slot_seconds: int = Field(default=900, gt=0, le=86_400)
    settlement_seconds: int = Field(default=900, gt=0, le=UINT32_MAX)
    open_ahead_seconds: int = Field(default=86_400, ge=0, le=UINT32_MAX)
    max_clock_skew_seconds: int = Field(default=300, ge=0)
    """How far ahead of block time a reading may be; the registry refuses more than
    :data:`MAX_CLOCK_SKEW_SECONDS` (``RegistryClockSkewTooLarge``)."""
    min_order_wh: int = Field(default=10, gt=0, le=UINT64_MAX)
    tariffs: Tariffs
    fee_bps: int = Field(default=25, ge=0, le=MAX_FEE_BPS)
    treasury: Address
    roles: Roles
    market: MarketMode = MarketMode()
    """Open (the default) or sealed, with the sealed mode's reveal window and bond."""
    deployment_file: Path | None = None
    """Where the deployment is recorded; default ``<name>.deployment.json`` next to the config."""

    @field_validator("payment_token")
    @classmethod
    def _token(cls, value: str) -> str:
        if value == DEPLOY_TEST_TOKEN:
            return value
        return _checksum(value)

    @field_validator("market", mode="before")
    @classmethod
    def _market_section(cls, value: object) -> object:
        if not isinstance(value, dict | MarketMode):
            raise ValueError(
                f"a section, not {value!r}: write mode, reveal_seconds and bond_eur under it "
                "(market: {mode: sealed})"
            )
        return value

    @field_validator("max_clock_skew_seconds")
    @classmethod
    def _skew(cls, value: int) -> int:
        if value > MAX_CLOCK_SKEW_SECONDS:
            raise ValueError(
                f"max_clock_skew_seconds: {value} s is above the meter registry's limit of "
                f"{MAX_CLOCK_SKEW_SECONDS} s (1 hour): a reading may lie at most that far ahead "
                "of block time"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CommunityConfig:
        if self.payment_token == DEPLOY_TEST_TOKEN and self.chain.chain_id not in LOCAL_CHAIN_IDS:
            raise ValueError(
                f"payment_token: {DEPLOY_TEST_TOKEN} is for local chains only "
                f"(chain id {self.chain.chain_id}); give the token's address"
            )
        self.price_grid()  # raises ValueError naming the tariff field
        self.bond_amount()  # raises ValueError naming market.bond_eur
        return self

    def bond_amount(self) -> int:
        """``market.bond_eur`` in base units of the payment token (ValueError naming the field
        when the token cannot express it or the market would refuse it)."""
        bond = self.market.bond_eur
        scaled = bond.scaleb(self.payment_decimals)
        if scaled != scaled.to_integral_value():
            raise ValueError(
                f"market.bond_eur: {bond:f} EUR is finer than the payment token's "
                f"{self.payment_decimals} decimals"
            )
        if int(scaled) > MAX_BOND:
            raise ValueError(
                f"market.bond_eur: {bond:f} EUR is above the most a commitment can lock "
                "(2^88 - 1 base units)"
            )
        return int(scaled)

    def price_grid(self) -> PriceGrid:
        """The price grid the tariffs give (ValueError naming the field when impossible)."""
        t, d = self.tariffs, self.payment_decimals
        floor = _base_units(t.feed_in_eur_per_kwh, d, "tariffs.feed_in_eur_per_kwh")
        top = _base_units(t.retail_eur_per_kwh, d, "tariffs.retail_eur_per_kwh")
        if floor > top:
            raise ValueError(
                f"tariffs.feed_in_eur_per_kwh: the feed-in tariff {t.feed_in_eur_per_kwh} is "
                f"above the retail tariff {t.retail_eur_per_kwh} (the floor must not exceed "
                "the ceiling)"
            )
        if top > MAX_PRICE:
            raise ValueError(
                f"tariffs.retail_eur_per_kwh: {t.retail_eur_per_kwh} EUR/kWh is above the "
                "market's highest price (2^128 - 1 base units)"
            )
        span = top - floor
        if t.tick_eur_per_kwh is None:
            tick = _default_tick(span)
        else:
            tick = _base_units(t.tick_eur_per_kwh, d, "tariffs.tick_eur_per_kwh")
            if tick == 0 or span % tick:
                raise ValueError(
                    f"tariffs.tick_eur_per_kwh: {t.tick_eur_per_kwh} does not divide the range "
                    f"{t.feed_in_eur_per_kwh}..{t.retail_eur_per_kwh} EUR/kWh"
                )
        max_tick = span // tick
        if max_tick > MAX_TICK_LIMIT:
            smallest = plain(Decimal(_default_tick(span)).scaleb(-d))
            raise ValueError(
                f"tariffs.tick_eur_per_kwh: {max_tick} ticks exceed the limit of "
                f"{MAX_TICK_LIMIT}; use a tick of at least {smallest} EUR/kWh"
            )
        params = MarketParams(
            price_floor=floor,
            tick_size=tick,
            max_tick=max_tick,
            fee_bps=self.fee_bps,
            settlement_seconds=self.settlement_seconds,
            open_ahead_seconds=self.open_ahead_seconds,
            min_order_wh=self.min_order_wh,
            treasury=self.treasury,
        )
        return PriceGrid(params, d)

    def market_settings(self) -> MarketSettings:
        """The ``MarketSettings`` to deploy (payment token None = deploy a TestEuro)."""
        return MarketSettings(
            slot_seconds=self.slot_seconds,
            max_clock_skew_seconds=self.max_clock_skew_seconds,
            **self.price_grid().params.fields(),
            payment_token=None if self.payment_token == DEPLOY_TEST_TOKEN else self.payment_token,
            mode=self.market.mode,
            reveal_seconds=self.market.reveal_seconds,
            bond_amount=self.bond_amount(),
        )

    def deployment_path(self, config_path: Path) -> Path:
        base = config_path.resolve().parent
        if self.deployment_file is None:
            return base / f"{self.name}.deployment.json"
        return (
            self.deployment_file
            if self.deployment_file.is_absolute()
            else (base / self.deployment_file)
        )


def _first_error(exc: ValidationError, where: str) -> CommunityConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if loc and not message.startswith(loc.split(".")[0]):
        message = f"{loc}: {message}"
    return CommunityConfigError(f"{where}: {message}")


def validate_config(data: Any, where: str = "community config") -> CommunityConfig:
    """Check ``data``; :class:`CommunityConfigError` naming the first bad field."""
    if not isinstance(data, dict):
        raise CommunityConfigError(f"{where} must hold a mapping")
    try:
        return CommunityConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, where) from None


def load_community(path: str | Path) -> CommunityConfig:
    """Read and check ``community.yaml``."""
    file = Path(path)
    data = read_config_mapping(file, "community config", error=CommunityConfigError)
    return validate_config(data, str(file))


_TEMPLATE = """\
# EnergyChain community market: written by `enerwise operator init`, checked on every load.
# Deploy with: enerwise operator deploy -c {file} --keystore KEY.json --password-file PW
name: {name}

chain:
  rpc_url: {rpc_url}
  chain_id: {chain_id}            # checked against the node before anything is sent
{explorer}
# Billing months and days run in this IANA time zone.
time_zone: {time_zone}

# ERC-20 the market settles in: an address, or deploy-test-token (local chains only).
payment_token: "{payment_token}"
payment_decimals: {payment_decimals}            # checked against the token on chain

slot_seconds: {slot_seconds}            # delivery slot length
settlement_seconds: {settlement_seconds}      # gate closure = slot end + this (clearing from then)
open_ahead_seconds: {open_ahead_seconds}      # orders accepted from slot start - this
max_clock_skew_seconds: {max_clock_skew_seconds}   # a reading ahead of block time, at most 3600
min_order_wh: {min_order_wh}

# Tariffs in EUR/kWh (quoted: exact decimals). Floor = feed-in, top = retail.
#{grid}
tariffs:
  retail_eur_per_kwh: "{retail}"
  feed_in_eur_per_kwh: "{feed_in}"
  tick_eur_per_kwh: "{tick}"

fee_bps: {fee_bps}                  # protocol fee on seller proceeds, at most {max_fee} bps
treasury: "{treasury}"

# open: orders are public until gate closure. sealed: during the order window a trader posts
# only a commitment (a hash) and locks collateral; after gate closure it reveals the order in
# the reveal window, then the slot clears. A commitment never revealed forfeits the bond to the
# treasury (the rest of its collateral goes back). Chosen at deployment, fixed afterwards.
market:
  mode: {mode}
  reveal_seconds: {reveal_seconds}          # sealed: reveal window after gate closure, below 86400
  bond_eur: "{bond_eur}"              # sealed: locked by every commitment, EUR (quoted)

# Separate keys recommended: the admin can change fees and roles, the meter admin registers
# meters, the pauser stops order placement and reading submission in an emergency.
roles:
  admin: "{admin}"
  meter_admin: "{meter_admin}"
  pauser: "{pauser}"
"""


def render_config(config: CommunityConfig, file_name: str) -> str:
    """``config`` as commented YAML that :func:`load_community` reads back unchanged."""
    grid = config.price_grid()
    tick = grid.eur(grid.params.tick_size)
    text = _TEMPLATE.format(
        file=file_name,
        name=config.name,
        rpc_url=config.chain.rpc_url,
        chain_id=config.chain.chain_id,
        explorer=(
            f"  explorer_url: {config.chain.explorer_url}   # transaction links in the dApp"
            if config.chain.explorer_url
            else "  # explorer_url: https://...   # a block explorer: transaction links in the dApp"
        ),
        time_zone=config.time_zone,
        payment_token=config.payment_token,
        payment_decimals=config.payment_decimals,
        slot_seconds=config.slot_seconds,
        settlement_seconds=config.settlement_seconds,
        open_ahead_seconds=config.open_ahead_seconds,
        max_clock_skew_seconds=config.max_clock_skew_seconds,
        min_order_wh=config.min_order_wh,
        grid="\n#".join(" " + line for line in grid.describe()),
        retail=config.tariffs.retail_eur_per_kwh,
        feed_in=config.tariffs.feed_in_eur_per_kwh,
        tick=tick,
        fee_bps=config.fee_bps,
        max_fee=MAX_FEE_BPS,
        treasury=config.treasury,
        mode=config.market.mode,
        reveal_seconds=config.market.reveal_seconds,
        bond_eur=plain(config.market.bond_eur),
        admin=config.roles.admin,
        meter_admin=config.roles.meter_admin,
        pauser=config.roles.pauser,
    )
    if config.deployment_file is not None:
        text += f"deployment_file: {config.deployment_file}\n"
    return text
