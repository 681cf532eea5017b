"""Deploy EnergyChain (payment token, meter registry with its energy token, market; a city pool).

A deployment is recorded in ``deployments/<chainId>.json``: addresses, the deployment block,
the deployed code hash of each contract and the parameters, so that later commands can check
that the chain still holds exactly the code that was deployed (:func:`verify_deployment`).
Constructor arguments are encoded by name from the ABI (:func:`energychain.abi.constructor_args`),
so a parameter the contracts add needs a value here, never a positional edit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from chain.artifacts import load_artifact
from chain.errors import DeploymentError
from chain.paths import deployments_dir
from chain.reverts import RevertDecoder
from energychain.abi import constructor_args
from energychain.contracts import revert_decoder
from energychain.market import Market
from energychain.pool import CityPool, PoolParams
from energychain.registry import Registry
from energychain.sealed_market import SealedMarket
from energychain.tokens import EnergyToken, PaymentToken
from market.clearing import MarketParams
from wallet.transactions import TransactionSender, TxRequest

#: The market modes a deployment can choose: ``open`` (orders in the clear until gate closure,
#: ``EnergyMarket``) or ``sealed`` (commitments, revealed after gate closure,
#: ``SealedEnergyMarket``; docs/contracts.md, the sealed mode).
MARKET_MODES = ("open", "sealed")
#: The artifact deployed for each mode.
MARKET_CONTRACTS = {"open": "EnergyMarket", "sealed": "SealedEnergyMarket"}


@dataclass(frozen=True)
class MarketSettings:
    """Deployment parameters of one community market.

    Money is in base units of the payment token (a 6-decimals euro token by default), prices in
    base units per kWh: the defaults span 0.08 EUR/kWh (floor, near a feed-in tariff) to
    0.32 EUR/kWh (floor + max_tick * tick_size, near a retail tariff) in 2,000 steps of
    0.00012 EUR (the contract allows at most 2,047 ticks).
    ``epoch`` None means "the chain's current time rounded down to a slot boundary".
    ``mode`` is one of MARKET_MODES; ``reveal_seconds`` and ``bond_amount`` (base units; the
    default 0.10 EUR of a 6-decimals token) are used by a sealed market only.
    """

    slot_seconds: int = 900
    max_clock_skew_seconds: int = 300
    price_floor: int = 80_000
    tick_size: int = 120
    max_tick: int = 2_000
    settlement_seconds: int = 900
    open_ahead_seconds: int = 86_400
    min_order_wh: int = 10
    fee_bps: int = 25
    treasury: str | None = None
    payment_token: str | None = None
    epoch: int | None = None
    token_uri: str = "https://energychain.invalid/slot/{id}.json"
    mode: str = "open"
    reveal_seconds: int = 900
    bond_amount: int = 100_000

    def __post_init__(self) -> None:
        if self.mode not in MARKET_MODES:
            raise ValueError(f"market mode {self.mode!r}: one of {', '.join(MARKET_MODES)}")

    def market_params(self, treasury: str) -> MarketParams:
        """The market's ``MarketParams`` with ``treasury`` (the admin's when none is set)."""
        values = {name: getattr(self, name) for name in MarketParams.FIELDS if name != "treasury"}
        return MarketParams(**values, treasury=Web3.to_checksum_address(treasury))


@dataclass
class EnergyChain:
    """The deployed EnergyChain contracts on one chain, as typed façades."""

    payment: PaymentToken
    registry: Registry
    token: EnergyToken
    market: Market
    decoder: RevertDecoder

    @classmethod
    def at(cls, w3: Web3, addresses: dict[str, str], mode: str = "open") -> EnergyChain:
        """Façades for ``addresses`` (keys: payment_token, registry, energy_token, market); a
        ``sealed`` market's façade is a :class:`SealedMarket`."""
        decoder = revert_decoder()
        market_type = SealedMarket if mode == "sealed" else Market
        return cls(
            # any ERC-20: only the standard ABI (and TestEuro's mint on local chains) is used
            payment=PaymentToken(
                w3, load_artifact("TestEuro"), addresses["payment_token"], decoder
            ),
            registry=Registry(w3, load_artifact("MeterRegistry"), addresses["registry"], decoder),
            token=EnergyToken(w3, load_artifact("EnergyToken"), addresses["energy_token"], decoder),
            market=market_type(
                w3, load_artifact(MARKET_CONTRACTS[mode]), addresses["market"], decoder
            ),
            decoder=decoder,
        )


@dataclass(frozen=True)
class Deployment:
    """Where EnergyChain lives on one chain."""

    chain_id: int
    deployer: str
    block_number: int
    epoch: int
    addresses: dict[str, str]
    code_hashes: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path | None = None) -> Path:
        path = path or deployment_path(self.chain_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Deployment:
        if not path.is_file():
            raise DeploymentError(f"no deployment record at {path}: run `enerwise chain up`")
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise DeploymentError(f"{path}: not a deployment record ({exc})") from None

    @property
    def mode(self) -> str:
        """The market mode (records written before modes existed are ``open``)."""
        return str(self.settings.get("mode", "open"))

    def contracts(self, w3: Web3) -> EnergyChain:
        return EnergyChain.at(w3, self.addresses, self.mode)


def deployment_path(chain_id: int) -> Path:
    return deployments_dir() / f"{chain_id}.json"


def deploy_contract(sender: TransactionSender, name: str, values: dict[str, Any]) -> str:
    """Deploy artifact ``name`` from ``sender``; constructor arguments by name from ``values``."""
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    args = constructor_args(artifact.abi, values, name)
    data = factory.constructor(*args).data_in_transaction
    receipt = sender.transact(TxRequest(to=None, data=bytes.fromhex(data[2:])))
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError(f"{name}: the deployment receipt has no contract address")
    return str(Web3.to_checksum_address(address))


def current_epoch(w3: Web3, slot_seconds: int) -> int:
    """The latest block's time rounded down to a slot boundary."""
    now = int(w3.eth.get_block("latest")["timestamp"])
    return now - now % slot_seconds


def deploy_registry(
    sender: TransactionSender,
    *,
    epoch: int,
    slot_seconds: int,
    max_clock_skew_seconds: int,
    token_uri: str,
) -> str:
    """Deploy a MeterRegistry (which deploys its EnergyToken) administered by ``sender``."""
    return deploy_contract(
        sender,
        "MeterRegistry",
        {
            "admin": sender.address,
            "epoch": epoch,
            "slot_seconds": slot_seconds,
            "max_clock_skew_seconds": max_clock_skew_seconds,
            "token_uri": token_uri,
        },
    )


def deploy_energychain(sender: TransactionSender, settings: MarketSettings) -> Deployment:
    """Deploy every contract from ``sender`` (who becomes admin) and return the record; the
    market is the one of ``settings.mode``.

    Without ``settings.payment_token`` a ``TestEuro`` token is deployed: fine on a local or
    test chain, never what a real community uses.
    """
    w3 = sender.w3
    admin = sender.address
    start_block = int(w3.eth.block_number)
    epoch = (
        settings.epoch if settings.epoch is not None else current_epoch(w3, settings.slot_seconds)
    )
    payment = settings.payment_token or deploy_contract(sender, "TestEuro", {})
    registry = deploy_registry(
        sender,
        epoch=epoch,
        slot_seconds=settings.slot_seconds,
        max_clock_skew_seconds=settings.max_clock_skew_seconds,
        token_uri=settings.token_uri,
    )
    registry_handle = Registry(w3, load_artifact("MeterRegistry"), registry, revert_decoder())
    energy_token = registry_handle.energy_token_address()
    params = settings.market_params(settings.treasury or admin)
    market = deploy_contract(
        sender,
        MARKET_CONTRACTS[settings.mode],
        {
            "admin": admin,
            "payment_token": Web3.to_checksum_address(payment),
            "registry": Web3.to_checksum_address(registry),
            **params.fields(),
            # read only by the sealed market's constructor
            "reveal_seconds": settings.reveal_seconds,
            "bond_amount": settings.bond_amount,
        },
    )
    addresses: dict[str, str] = {
        "payment_token": Web3.to_checksum_address(payment),
        "registry": Web3.to_checksum_address(registry),
        "energy_token": Web3.to_checksum_address(energy_token),
        "market": Web3.to_checksum_address(market),
    }
    return Deployment(
        chain_id=sender.chain_id,
        deployer=admin,
        block_number=start_block + 1,
        epoch=epoch,
        addresses=addresses,
        code_hashes={k: _code_hash(w3, a) for k, a in addresses.items()},
        settings={**asdict(settings), "epoch": epoch, "treasury": settings.treasury or admin},
    )


def deploy_city_pool(
    sender: TransactionSender,
    *,
    registry: str,
    payment_token: str,
    params: PoolParams | MarketParams,
    grid_operator: str | None = None,
) -> CityPool:
    """Deploy a CityPool administered by ``sender`` and return its façade.

    ``params`` is the city's price grid and settlement window; a community market's
    ``MarketParams`` may be passed as they are (the pool takes their four shared values), but
    they are the pool's own from then on: every community, the first included, is checked
    against them by ``addCommunity``. ``sender`` holds ``DEFAULT_ADMIN_ROLE`` and, unless
    ``grid_operator`` names another key, ``GRID_OPERATOR_ROLE``: with ``grid_operator`` the
    role is granted to it and renounced by ``sender``, so that only the grid operator's key
    publishes limits and sets the grid fee.
    """
    pool_params = params if isinstance(params, PoolParams) else PoolParams.of_market(params)
    address = deploy_contract(
        sender,
        "CityPool",
        {
            "admin": sender.address,
            "payment_token": Web3.to_checksum_address(payment_token),
            "registry": Web3.to_checksum_address(registry),
            **pool_params.fields(),
        },
    )
    pool = CityPool.at(sender.w3, address)
    if grid_operator is not None and Web3.to_checksum_address(grid_operator) != sender.address:
        sender.transact(pool.grant_role("GRID_OPERATOR_ROLE", grid_operator))
        sender.transact(pool.renounce_role("GRID_OPERATOR_ROLE", sender.address))
    return pool


def _code_hash(w3: Web3, address: str) -> str:
    return Web3.keccak(w3.eth.get_code(Web3.to_checksum_address(address))).to_0x_hex()


def verify_deployment(w3: Web3, deployment: Deployment) -> list[str]:
    """Differences between the record and the chain (empty when the chain matches)."""
    problems: list[str] = []
    chain_id = int(w3.eth.chain_id)
    if chain_id != deployment.chain_id:
        problems.append(f"chain id is {chain_id}, the record says {deployment.chain_id}")
        return problems
    for name, address in deployment.addresses.items():
        actual = _code_hash(w3, address)
        if actual != deployment.code_hashes.get(name):
            problems.append(f"{name} at {address}: code hash {actual} differs from the record")
    return problems


def load_deployment(w3: Web3, path: Path | None = None) -> Deployment:
    """The deployment record for ``w3``'s chain, checked against the code on chain."""
    deployment = Deployment.load(path or deployment_path(int(w3.eth.chain_id)))
    problems = verify_deployment(w3, deployment)
    if problems:
        raise DeploymentError("the deployment record does not match the chain: " + problems[0])
    return deployment
