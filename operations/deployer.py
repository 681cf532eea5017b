"""Deploy a community market from ``community.yaml``: check, deploy, grant roles, verify, record.

Order of work, so that a mistake never reaches the chain half-done:

1. pre-flight (no transaction): chain id, payment token code and decimals, deployer balance,
   and whether a deployment is already recorded for this config;
2. deploy (:func:`energychain.deploy.deploy_energychain`) and record the deployment (addresses, code
   hashes, settings, roles) next to the config at once, marked incomplete;
3. grant the configured roles, begin the admin handover from the deployer to ``roles.admin``
   (which accepts it after the contracts' one-day delay with ``enerwise operator admin accept``,
   see :mod:`operations.handover`) and, if asked, drop the deployer's other roles; mark the
   record complete;
4. read every parameter and role back from the chain and compare with the config (the admin
   may be the configured one or the one a pending handover goes to).

Re-running is safe: a recorded deployment that matches the config and the chain is left alone;
one that differs is reported field by field (:class:`DeploymentMismatchError`), never replaced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chain.artifacts import load_artifact
from chain.errors import ChainError
from energychain.contracts import revert_decoder
from energychain.deploy import MARKET_CONTRACTS, Deployment, EnergyChain, deploy_energychain
from energychain.sealed_market import SealedMarket
from energychain.tokens import PaymentToken
from operations.config import CommunityConfig
from operations.context import Community, governed, has_role
from operations.errors import DeploymentMismatchError, PreflightError
from operations.handover import admin_or_pending, when
from operations.payment import DEPLOY_TEST_TOKEN
from wallet.transactions import TransactionSender

#: (contract, role, config field of ``roles``) granted after deployment. ``DEFAULT_ADMIN_ROLE``
#: is not granted: it is handed over in two steps (:mod:`operations.handover`).
ROLE_GRANTS: tuple[tuple[str, str, str], ...] = (
    ("registry", "METER_ADMIN_ROLE", "meter_admin"),
    ("registry", "PAUSER_ROLE", "pauser"),
    ("market", "PAUSER_ROLE", "pauser"),
)


@dataclass
class DeployResult:
    """What :func:`deploy_community` did."""

    deployment: Deployment
    created: bool
    """False when an existing matching deployment was found and nothing was sent."""
    granted: list[str] = field(default_factory=list)
    renounced: list[str] = field(default_factory=list)
    handover: str | None = None
    """The admin handover begun (or already pending) to ``roles.admin``; None when the deployer
    is the configured admin."""


def preflight(community: Community, sender: TransactionSender) -> list[str]:
    """Checks before anything is sent; returns notes, raises :class:`PreflightError`."""
    config, w3 = community.config, community.w3
    notes: list[str] = []
    if config.payment_token != DEPLOY_TEST_TOKEN:
        token = Web3.to_checksum_address(config.payment_token)
        if not w3.eth.get_code(token):
            raise PreflightError(
                f"payment_token: no contract at {token} on chain {config.chain.chain_id} "
                "(unknown token); nothing was sent"
            )
        decimals = _token_decimals(w3, token)
        if decimals is None:
            raise PreflightError(
                f"payment_token: {token} does not answer decimals() (not an ERC-20?); "
                "nothing was sent"
            )
        if decimals != config.payment_decimals:
            raise PreflightError(
                f"payment_decimals: the token has {decimals} decimals, the config says "
                f"{config.payment_decimals}; nothing was sent"
            )
    balance = int(w3.eth.get_balance(sender.address))
    if balance == 0:
        raise PreflightError(
            f"the deployer {sender.address} has no ether for gas; nothing was sent"
        )
    notes.append(f"deployer {sender.address}, balance {Web3.from_wei(balance, 'ether')} ETH")
    return notes


def _token_decimals(w3: Web3, token: str) -> int | None:
    """``decimals()`` of an ERC-20 (the test token's ABI holds the standard views); None when
    the contract does not answer it (not a usable ERC-20)."""
    payment = PaymentToken(w3, load_artifact("TestEuro"), token, revert_decoder())
    try:
        return payment.decimals()
    except ChainError:
        return None


def expected_state(config: CommunityConfig) -> dict[str, Any]:
    """The parameters the chain must hold for ``config``, keyed by config field name."""
    grid = config.price_grid()
    return {
        "slot_seconds": config.slot_seconds,
        "max_clock_skew_seconds": config.max_clock_skew_seconds,
        "settlement_seconds": config.settlement_seconds,
        "open_ahead_seconds": config.open_ahead_seconds,
        "min_order_wh": config.min_order_wh,
        "price_floor": grid.params.price_floor,
        "tick_size": grid.params.tick_size,
        "max_tick": grid.params.max_tick,
        "fee_bps": config.fee_bps,
        "treasury": config.treasury,
        "market.mode": config.market.mode,
        **(
            {
                "market.reveal_seconds": config.market.reveal_seconds,
                "market.bond_amount": config.bond_amount(),
            }
            if config.market.sealed
            else {}
        ),
    }


def read_back(contracts: EnergyChain) -> dict[str, Any]:
    """Every parameter as the chain holds it (same keys as :func:`expected_state`). The mode is
    the market contract's, whose code hash the record holds (``EnergyMarket`` or
    ``SealedEnergyMarket``, checked against the chain when the record is loaded)."""
    market = contracts.market
    p = market.params()
    sealed = (
        {
            "market.reveal_seconds": market.reveal_seconds(),
            "market.bond_amount": int(market.bond_amount()),
        }
        if isinstance(market, SealedMarket)
        else {}
    )
    return {
        "slot_seconds": contracts.registry.calendar().slot_seconds,
        "max_clock_skew_seconds": contracts.registry.max_clock_skew(),
        "settlement_seconds": p.settlement_seconds,
        "open_ahead_seconds": p.open_ahead_seconds,
        "min_order_wh": p.min_order_wh,
        "price_floor": p.price_floor,
        "tick_size": p.tick_size,
        "max_tick": p.max_tick,
        "fee_bps": p.fee_bps,
        "treasury": p.treasury,
        "market.mode": "sealed" if isinstance(market, SealedMarket) else "open",
        **sealed,
    }


def differences(
    config: CommunityConfig, deployment: Deployment, contracts: EnergyChain
) -> list[str]:
    """Where the chain differs from ``config`` (empty: it matches)."""
    diffs: list[str] = []
    actual = read_back(contracts)
    for key, want in expected_state(config).items():
        if key not in actual:  # a sealed parameter of a market that is not sealed
            continue
        if actual[key] != want:
            diffs.append(f"{key}: chain has {actual[key]}, config wants {want}")
    market = contracts.market
    token = market.payment_token()
    if token != deployment.addresses["payment_token"]:
        diffs.append(f"payment_token: market pays in {token}, the record says another")
    if config.payment_token != DEPLOY_TEST_TOKEN and token != config.payment_token:
        diffs.append(f"payment_token: chain has {token}, config wants {config.payment_token}")
    if market.registry_address() != contracts.registry.address:
        diffs.append("registry: the market is bound to another registry")
    if market.energy_token_address() != contracts.token.address:
        diffs.append("energy_token: the market trades another token")
    for contract, role, holder in ROLE_GRANTS:
        address = getattr(config.roles, holder)
        if not has_role(contracts, contract, role, address):
            diffs.append(f"roles.{holder}: {address} lacks {role} on the {contract}")
    state = contracts.registry.admin_handover()
    if not admin_or_pending(state, config.roles.admin):
        diffs.append(
            f"roles.admin: {config.roles.admin} is neither the admin ({state.admin}) nor the "
            "pending admin of a handover"
        )
    return diffs


def market_mode_line(config: CommunityConfig) -> str:
    """The market mode in plain words (with the sealed mode's reveal window and bond)."""
    m = config.market
    if not m.sealed:
        return "market mode open: orders are public until gate closure"
    return (
        f"market mode sealed: orders committed until gate closure, revealed in the "
        f"{m.reveal_seconds} s after it; an unrevealed commitment forfeits a bond of "
        f"{m.bond_eur:f} EUR ({config.bond_amount()} base units) to the treasury"
    )


def plan(community: Community, sender: TransactionSender) -> list[str]:
    """What :func:`deploy_community` would do, after the same pre-flight; sends nothing."""
    config = community.config
    if community.deployment_path.exists():
        existing = community.deployment()
        diffs = differences(config, existing, existing.contracts(community.w3))
        if diffs:
            return [f"recorded at {community.deployment_path}; differs: {d}" for d in diffs]
        return [f"recorded at {community.deployment_path} and matching: nothing to do"]
    lines = preflight(community, sender)
    token = config.payment_token
    market = MARKET_CONTRACTS[config.market.mode]
    lines.append(
        f"deploy TestEuro (test token), MeterRegistry + EnergyToken, {market}"
        if token == DEPLOY_TEST_TOKEN
        else f"deploy MeterRegistry + EnergyToken, {market} paying in {token}"
    )
    lines.append(market_mode_line(config))
    lines += config.price_grid().describe()
    lines.append(f"fee {config.fee_bps} bps to treasury {config.treasury}")
    for contract, role, holder in ROLE_GRANTS:
        address = getattr(config.roles, holder)
        if address != sender.address:
            lines.append(f"grant {role} on the {contract} to {holder} {address}")
    if config.roles.admin != sender.address:
        lines.append(
            f"begin the admin handover to admin {config.roles.admin}: it accepts after one day "
            "with `enerwise operator admin accept` (the deployer stays admin until then)"
        )
    lines.append(f"record the deployment in {community.deployment_path}")
    return lines


def deploy_community(
    community: Community, sender: TransactionSender, *, renounce_deployer: bool = False
) -> DeployResult:
    """Deploy (or find) the market of ``community``; see the module docstring.

    The record is written right after the contracts exist, marked ``setup_complete: false``
    until the roles are granted, so that an interrupted run is resumed (roles granted, nothing
    redeployed) instead of deploying a second market.
    """
    config = community.config
    path = community.deployment_path
    if path.exists():
        existing = community.deployment()  # raises when the record is not on this chain
        if existing.settings.get("setup_complete", True):
            diffs = differences(config, existing, existing.contracts(community.w3))
            if diffs:
                raise DeploymentMismatchError(
                    f"a deployment is recorded at {path} and differs from the config "
                    f"({len(diffs)} difference(s)); nothing was sent: " + "; ".join(diffs),
                    diffs,
                )
            return DeployResult(deployment=existing, created=False)
        record = existing  # an interrupted run: finish the role set-up below
    else:
        preflight(community, sender)
        deployment = deploy_energychain(sender, config.market_settings())
        record = dataclasses.replace(
            deployment,
            settings={
                **deployment.settings,
                "community": config.name,
                "time_zone": config.time_zone,
                "explorer_url": config.chain.explorer_url,
                "payment_decimals": config.payment_decimals,
                "roles": config.roles.model_dump(),
                "tariffs": {k: str(v) for k, v in config.tariffs.model_dump().items()},
                "setup_complete": False,
            },
        )
        record.save(path)

    contracts = record.contracts(community.w3)
    granted = _grant_roles(config, contracts, sender)
    handover = _begin_handover(config, contracts, sender)
    renounced = _renounce_deployer(config, contracts, sender) if renounce_deployer else []
    record = dataclasses.replace(record, settings={**record.settings, "setup_complete": True})
    record.save(path)
    diffs = differences(config, record, contracts)
    if diffs:
        raise DeploymentMismatchError(
            f"deployed and recorded at {path}, but the chain differs from the config: "
            + "; ".join(diffs),
            diffs,
        )
    return DeployResult(
        deployment=record, created=True, granted=granted, renounced=renounced, handover=handover
    )


def _grant_roles(
    config: CommunityConfig, contracts: EnergyChain, sender: TransactionSender
) -> list[str]:
    granted: list[str] = []
    for contract, role, holder in ROLE_GRANTS:
        address = getattr(config.roles, holder)
        if not has_role(contracts, contract, role, address):
            sender.transact(governed(contracts, contract).grant_role(role, address))
            granted.append(f"{role} on the {contract} to {holder} {address}")
    return granted


def _begin_handover(
    config: CommunityConfig, contracts: EnergyChain, sender: TransactionSender
) -> str | None:
    """Begin the handover of the admin role to ``roles.admin`` unless it is the deployer's or
    already pending (a resumed run)."""
    state = contracts.registry.admin_handover()
    admin = config.roles.admin
    if state.admin == admin:
        return None
    if state.pending != admin:
        sender.transact(contracts.registry.begin_admin_transfer(admin))
        state = contracts.registry.admin_handover()
    assert state.accept_from is not None  # pending to ``admin``: just begun or found
    return f"admin handover to {admin}, to accept from {when(state.accept_from)} on"


def _renounce_deployer(
    config: CommunityConfig, contracts: EnergyChain, sender: TransactionSender
) -> list[str]:
    """Drop the deployer's roles that the config does not give it. Not the admin role: that one
    leaves the deployer when the configured admin accepts the handover."""
    keep = {(c, r) for c, r, h in ROLE_GRANTS if getattr(config.roles, h) == sender.address}
    renounced: list[str] = []
    for contract, role in dict.fromkeys((c, r) for c, r, _ in ROLE_GRANTS):  # unique, ordered
        if (contract, role) in keep or not has_role(contracts, contract, role, sender.address):
            continue
        sender.transact(governed(contracts, contract).renounce_role(role, sender.address))
        renounced.append(f"{role} on the {contract}")
    return renounced
