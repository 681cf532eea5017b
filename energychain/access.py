"""OpenZeppelin AccessControl and Pausable, as the EnergyChain contracts use them."""

from __future__ import annotations

from web3 import Web3

from energychain.contracts import ContractHandle
from energychain.roles import DEFAULT_ADMIN_ROLE
from wallet.transactions import TxRequest


class Governed(ContractHandle):
    """A contract with roles (AccessControl) and a pause switch (Pausable)."""

    def role_id(self, role: str) -> bytes:
        """The bytes32 id of ``role`` (``DEFAULT_ADMIN_ROLE``, ``METER_ADMIN_ROLE``, ...)."""
        if role == "DEFAULT_ADMIN_ROLE":
            return DEFAULT_ADMIN_ROLE
        return bytes(self.call(role))

    def has_role(self, role: str, account: str) -> bool:
        return bool(self.call("hasRole", self.role_id(role), Web3.to_checksum_address(account)))

    def paused(self) -> bool:
        return bool(self.call("paused"))

    def grant_role(self, role: str, account: str) -> TxRequest:
        return self.request("grantRole", self.role_id(role), account)

    def revoke_role(self, role: str, account: str) -> TxRequest:
        return self.request("revokeRole", self.role_id(role), account)

    def renounce_role(self, role: str, account: str) -> TxRequest:
        return self.request("renounceRole", self.role_id(role), account)

    def pause(self) -> TxRequest:
        return self.request("pause")

    def unpause(self) -> TxRequest:
        return self.request("unpause")
