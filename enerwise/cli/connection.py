"""How a command reaches the chain: the node of ``--rpc-url`` and, for a command that sends, a
transaction sender whose reverts read as the contracts' errors.

:func:`node_and_sender` finds mistakes in the order a person wants them: the key's file first
(a wrong path costs no network), then the node, then the password (nobody types one for a chain
that does not answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from enerwise.cli.options import DeploymentFile, RpcUrl, SigningKey

if TYPE_CHECKING:
    from web3 import Web3

    from energychain.deploy import Deployment
    from wallet.signer import Signer
    from wallet.transactions import TransactionSender


def node(rpc_url: str | None) -> Web3:
    """The node of ``--rpc-url``, else of the local chain (``enerwise chain up``), connected."""
    from chain.connection import connect, resolve_rpc_url

    return connect(resolve_rpc_url(rpc_url))


def contract_sender(w3: Web3, signer: Signer) -> TransactionSender:
    """A sender of ``signer``'s transactions on ``w3`` that names a revert by its contract
    error."""
    from energychain.contracts import revert_decoder
    from wallet.transactions import TransactionSender

    return TransactionSender(w3, signer, decode_revert=revert_decoder())


def node_and_sender(
    rpc_url: str | None, key: SigningKey, prompt: str
) -> tuple[Web3, TransactionSender]:
    """The node of ``--rpc-url`` and ``key``'s sender on it, the key unlocked (``prompt`` asks
    for its password on a terminal)."""
    signer = key.signer()  # a bad keystore path: first
    w3 = node(rpc_url)
    key.unlock(signer, prompt)
    return w3, contract_sender(w3, signer)


@dataclass(frozen=True)
class DeployedOn:
    """The node (``--rpc-url``) and the deployment record (``--deployment``) a command acts on
    (an option group of :func:`enerwise.cli.options.option_groups`)."""

    rpc_url: RpcUrl = None
    deployment: DeploymentFile = None

    def reach(self) -> tuple[Web3, Deployment]:
        """The node, connected, and the deployment on it."""
        from energychain.deploy import load_deployment

        w3 = node(self.rpc_url)
        return w3, load_deployment(w3, self.deployment)

    def reach_as(self, key: SigningKey, prompt: str) -> tuple[Web3, TransactionSender, Deployment]:
        """The node, ``key``'s sender on it (see :func:`node_and_sender`), and the deployment."""
        from energychain.deploy import load_deployment

        w3, sender = node_and_sender(self.rpc_url, key, prompt)
        return w3, sender, load_deployment(w3, self.deployment)
