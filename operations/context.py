"""What every operator command needs: the config, the chain, the deployment, a signing key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from chain.connection import connect
from energychain.access import Governed
from energychain.contracts import revert_decoder
from energychain.deploy import Deployment, EnergyChain, verify_deployment
from operations.config import CommunityConfig, load_community
from operations.errors import DeploymentMismatchError, PreflightError, RoleMissingError
from wallet.signer import Signer
from wallet.transactions import TransactionSender

Approve = Callable[[list[str]], None]
"""Told what is about to be sent, after every check and before the first transaction (or key
file); raising stops the operation with nothing sent. The command line asks the operator."""


def approved(approve: Approve | None, plan: list[str]) -> None:
    """Ask ``approve`` (when given) about ``plan``."""
    if approve is not None:
        approve(plan)


@dataclass
class Community:
    """A loaded ``community.yaml`` and the chain it names (connected, chain id checked)."""

    path: Path
    config: CommunityConfig
    w3: Web3

    @classmethod
    def open(cls, path: str | Path, rpc_url: str | None = None) -> Community:
        file = Path(path)
        config = load_community(file)
        w3 = connect(rpc_url or config.chain.rpc_url)
        chain_id = int(w3.eth.chain_id)
        if chain_id != config.chain.chain_id:
            raise PreflightError(
                f"chain.chain_id: the node answers chain id {chain_id}, the config says "
                f"{config.chain.chain_id}; nothing was sent"
            )
        return cls(path=file, config=config, w3=w3)

    @property
    def deployment_path(self) -> Path:
        return self.config.deployment_path(self.path)

    def deployment(self) -> Deployment:
        """The recorded deployment, checked against the code on chain."""
        path = self.deployment_path
        if not path.is_file():
            raise DeploymentMismatchError(
                f"no deployment recorded at {path}: run `enerwise operator deploy -c {self.path}`"
            )
        deployment = Deployment.load(path)
        problems = verify_deployment(self.w3, deployment)
        if problems:
            raise DeploymentMismatchError(
                f"the deployment recorded at {path} is not on this chain: {problems[0]} "
                "(a restarted local chain? move the record away to deploy anew)",
                problems,
            )
        return deployment

    def contracts(self) -> EnergyChain:
        return self.deployment().contracts(self.w3)

    def sender(self, signer: Signer) -> TransactionSender:
        return TransactionSender(self.w3, signer, decode_revert=revert_decoder())


def governed(contracts: EnergyChain, contract: str) -> Governed:
    """The contract named ``registry`` or ``market`` (the two with roles and a pause switch)."""
    return contracts.registry if contract == "registry" else contracts.market


def role_id(contracts: EnergyChain, contract: str, role: str) -> bytes:
    """The bytes32 id of ``role`` (DEFAULT_ADMIN_ROLE, METER_ADMIN_ROLE, PAUSER_ROLE)."""
    return governed(contracts, contract).role_id(role)


def has_role(contracts: EnergyChain, contract: str, role: str, account: str) -> bool:
    return governed(contracts, contract).has_role(role, account)


def require_role(contracts: EnergyChain, contract: str, role: str, account: str) -> None:
    """:class:`RoleMissingError` (nothing sent) unless ``account`` holds ``role``."""
    if not has_role(contracts, contract, role, account):
        raise RoleMissingError(
            f"{account} does not hold {role} on the {contract}: use the key configured for "
            "that role; nothing was sent"
        )
