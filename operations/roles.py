"""Role grants and revocations on the contracts' AccessControl, checked before anything is sent.

The roles are the ones the contracts define (read from their ABIs: every ``*_ROLE()`` view,
plus OpenZeppelin's ``DEFAULT_ADMIN_ROLE``); today that is

============== ==================== ===========================================
CLI name       on chain             contracts
============== ==================== ===========================================
``admin``      ``DEFAULT_ADMIN_ROLE`` registry, market (fees, roles): one holder, the
                                    registry's, moved only by the two-step handover
                                    (:mod:`operations.handover`), never granted or revoked
``meter-admin````METER_ADMIN_ROLE``   registry (register, rotate, deactivate)
``pauser``     ``PAUSER_ROLE``        registry (readings), market (orders)
============== ==================== ===========================================

A change is planned first (:func:`plan_change`): the address must be valid, the signing key
must hold the role's admin role (``getRoleAdmin``) on every contract touched, granting a role
the account already holds or revoking one it does not hold is refused with a clear message,
and ``admin`` is refused (it changes hands only by ``enerwise operator admin transfer`` and
``accept``). Only then is the plan sent
(:func:`apply_change`). Role members are read from ``RoleGranted`` / ``RoleRevoked`` events
(AccessControl keeps no member list) and checked with ``hasRole``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from web3 import Web3

from energychain.deploy import Deployment, EnergyChain
from energychain.events import EventReader
from energychain.roles import DEFAULT_ADMIN_ROLE
from operations.config import _checksum
from operations.context import Community, governed, has_role, role_id
from operations.errors import PreflightError, RoleMissingError
from wallet.transactions import TransactionSender

#: Contracts with AccessControl, in the order they are shown and changed.
ROLE_CONTRACTS: tuple[str, ...] = ("registry", "market")
Target = Literal["registry", "market", "both"]
Action = Literal["grant", "revoke"]


def cli_name(role: str) -> str:
    """``METER_ADMIN_ROLE`` -> ``meter-admin``; ``DEFAULT_ADMIN_ROLE`` -> ``admin``."""
    if role == "DEFAULT_ADMIN_ROLE":
        return "admin"
    return role.removesuffix("_ROLE").lower().replace("_", "-")


def defined_roles(contracts: EnergyChain) -> dict[str, tuple[str, ...]]:
    """On-chain role name -> contracts defining it, from the ABIs (``*_ROLE()`` views)."""
    found: dict[str, list[str]] = {}
    for name in ROLE_CONTRACTS:
        for entry in governed(contracts, name).abi:
            item: dict[str, Any] = dict(entry)
            if (
                item.get("type") == "function"
                and str(item.get("name", "")).endswith("_ROLE")
                and not item.get("inputs")
            ):
                found.setdefault(str(item["name"]), []).append(name)
    return {role: tuple(names) for role, names in found.items()}


def parse_role(text: str, contracts: EnergyChain) -> str:
    """``admin`` / ``meter-admin`` / ``METER_ADMIN_ROLE`` ... -> the on-chain role name."""
    roles = defined_roles(contracts)
    wanted = text.strip()
    for role in roles:
        if wanted in (role, cli_name(role), cli_name(role).replace("-", "_")):
            return role
    known = ", ".join(sorted(cli_name(r) for r in roles))
    raise PreflightError(f"ROLE: {text!r} is not a role of these contracts (known: {known})")


def parse_address(text: str) -> str:
    try:
        return _checksum(text)
    except ValueError as exc:
        raise PreflightError(f"ADDRESS: {exc}; nothing was sent") from None


def targets(contracts: EnergyChain, role: str, on: Target) -> tuple[str, ...]:
    """The contracts ``--on`` names that define ``role``."""
    defining = defined_roles(contracts)[role]
    if on == "both":
        return defining
    if on not in defining:
        raise PreflightError(
            f"--on: the {on} has no {role} (it is defined on: {', '.join(defining)})"
        )
    return (on,)


# ---------------------------------------------------------------------------- members
def members(contracts: EnergyChain, deployment: Deployment, contract: str, role: str) -> list[str]:
    """Holders of ``role`` on ``contract``: replayed from role events, confirmed by ``hasRole``.
    ``DEFAULT_ADMIN_ROLE`` has one holder on both contracts: the registry's ``defaultAdmin``."""
    if role == "DEFAULT_ADMIN_ROLE":
        return [contracts.registry.admin_handover().admin]
    reader = EventReader(governed(contracts, contract))
    wanted = role_id(contracts, contract, role)
    start = deployment.block_number
    events = [
        *reader.read("RoleGranted", start, filters={"role": wanted}),
        *reader.read("RoleRevoked", start, filters={"role": wanted}),
    ]
    events.sort(key=lambda e: (int(e["blockNumber"]), int(e["logIndex"])))
    holders: dict[str, None] = {}
    for e in events:
        account = Web3.to_checksum_address(e["args"]["account"])
        if e["event"] == "RoleGranted":
            holders[account] = None
        else:
            holders.pop(account, None)
    return [a for a in holders if has_role(contracts, contract, role, a)]


@dataclass(frozen=True)
class RoleMembers:
    contract: str
    role: str
    members: list[str]


def list_roles(community: Community, role: str | None = None) -> list[RoleMembers]:
    """Every (contract, role) with its members; only ``role`` when given."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    wanted = parse_role(role, contracts) if role is not None else None
    out: list[RoleMembers] = []
    for name in ROLE_CONTRACTS:
        for r, defining in defined_roles(contracts).items():
            if name in defining and wanted in (None, r):
                out.append(RoleMembers(name, r, members(contracts, deployment, name, r)))
    return out


# ---------------------------------------------------------------------------- grant / revoke
@dataclass(frozen=True)
class RoleChange:
    """A checked change: what :func:`apply_change` will send (one transaction per contract)."""

    action: Action
    role: str
    account: str
    contracts: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    """Contracts where the account already is in the wanted state (nothing sent there)."""

    def describe(self) -> list[str]:
        verb = "grant" if self.action == "grant" else "revoke"
        prep = "to" if self.action == "grant" else "from"
        lines = [f"{verb} {self.role} on the {c} {prep} {self.account}" for c in self.contracts]
        state = "holds" if self.action == "grant" else "does not hold"
        lines += [f"skip the {c}: {self.account} already {state} it" for c in self.skipped]
        return lines


def plan_change(
    community: Community,
    sender: TransactionSender,
    action: Action,
    role_text: str,
    address: str,
    *,
    on: Target = "both",
) -> RoleChange:
    """Check a grant or revocation; :class:`PreflightError` / :class:`RoleMissingError` when it
    must not be sent. Sends nothing."""
    account = parse_address(address)
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    role = parse_role(role_text, contracts)
    if role == "DEFAULT_ADMIN_ROLE":
        raise PreflightError(
            "admin: the admin role is never granted or revoked, it is handed over in two steps: "
            "`enerwise operator admin transfer ADDRESS` (admin key), then `enerwise operator "
            "admin accept` (the new admin's key, after one day); nothing was sent"
        )
    where = targets(contracts, role, on)
    for name in where:
        handle = governed(contracts, name)
        admin_role = bytes(handle.call("getRoleAdmin", role_id(contracts, name, role)))
        if not handle.call("hasRole", admin_role, sender.address):
            admin_name = "DEFAULT_ADMIN_ROLE" if admin_role == DEFAULT_ADMIN_ROLE else (
                "0x" + admin_role.hex())  # fmt: skip
            raise RoleMissingError(
                f"{sender.address} does not hold {admin_name} on the {name}, which {action}s "
                f"{role}: use the admin key; nothing was sent"
            )
    held = {name: has_role(contracts, name, role, account) for name in where}
    if action == "grant":
        todo = tuple(n for n in where if not held[n])
        if not todo:
            raise PreflightError(
                f"{account} already holds {role} on the {' and the '.join(where)}; "
                "nothing to grant, nothing was sent"
            )
        return RoleChange(action, role, account, todo, tuple(n for n in where if held[n]))
    todo = tuple(n for n in where if held[n])
    if not todo:
        raise PreflightError(
            f"{account} does not hold {role} on the {' and the '.join(where)}; "
            "nothing to revoke, nothing was sent"
        )
    return RoleChange(action, role, account, todo, tuple(n for n in where if not held[n]))


def apply_change(community: Community, sender: TransactionSender, change: RoleChange) -> list[str]:
    """Send a planned change; returns the transaction hashes (one per contract)."""
    contracts = community.contracts()
    hashes: list[str] = []
    for name in change.contracts:
        handle = governed(contracts, name)
        account = Web3.to_checksum_address(change.account)
        receipt = sender.transact(
            handle.grant_role(change.role, account)
            if change.action == "grant"
            else handle.revoke_role(change.role, account)
        )
        hashes.append("0x" + bytes(receipt["transactionHash"]).hex())
    return hashes
