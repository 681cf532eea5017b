"""Session tokens after Sign-In with Ethereum, and the roles they carry.

A session is a short-lived JWT (HS256) naming the address and the roles it held on chain at
sign-in: ``admin`` (``DEFAULT_ADMIN_ROLE`` on the market or the registry), ``meter_admin``
(``METER_ADMIN_ROLE`` on the registry) and ``pauser`` (``PAUSER_ROLE`` on the market or the
registry). Roles are read from the contracts' AccessControl, never from the client.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import jwt

from chain.artifacts import load_artifact
from chain.calls import ContractReader
from chain.rpc import JsonRpcClient
from energychain.roles import DEFAULT_ADMIN_ROLE

ISSUER = "enerwise-indexer"


@dataclass(frozen=True)
class Session:
    address: str
    roles: frozenset[str]
    expires_at: int
    token_id: str


class RoleResolver(Protocol):
    """Tells which operator roles an address holds."""

    def roles(self, address: str) -> frozenset[str]: ...


class StaticRoles:
    """Fixed roles per address (tests, or a deployment without on-chain roles)."""

    def __init__(self, roles: dict[str, set[str]] | None = None) -> None:
        self._roles = {a.lower(): frozenset(r) for a, r in (roles or {}).items()}

    def roles(self, address: str) -> frozenset[str]:
        return self._roles.get(address.lower(), frozenset())


class ChainRoles:
    """Roles from ``hasRole`` on the market and registry contracts (at the latest block)."""

    def __init__(self, rpc: JsonRpcClient, market: str, registry: str) -> None:
        self.market = ContractReader(rpc, market, load_artifact("EnergyMarket").abi)
        self.registry = ContractReader(rpc, registry, load_artifact("MeterRegistry").abi)

    def roles(self, address: str) -> frozenset[str]:
        meter_admin_role = bytes.fromhex(str(self.registry.call("METER_ADMIN_ROLE"))[2:])
        found: set[str] = set()
        if self.market.call("hasRole", DEFAULT_ADMIN_ROLE, address) or self.registry.call(
            "hasRole", DEFAULT_ADMIN_ROLE, address
        ):
            found.add("admin")
        if self.registry.call("hasRole", meter_admin_role, address):
            found.add("meter_admin")
        pauser_role = bytes.fromhex(str(self.market.call("PAUSER_ROLE"))[2:])
        if self.market.call("hasRole", pauser_role, address) or self.registry.call(
            "hasRole", pauser_role, address
        ):
            found.add("pauser")
        return frozenset(found)


def issue_token(
    address: str, roles: frozenset[str], *, secret: str, ttl_seconds: int, audience: str
) -> tuple[str, Session]:
    now = int(time.time())
    session = Session(address, roles, now + ttl_seconds, uuid.uuid4().hex)
    token = jwt.encode(
        {
            "sub": address,
            "roles": sorted(roles),
            "iat": now,
            "exp": session.expires_at,
            "iss": ISSUER,
            "aud": audience,
            "jti": session.token_id,
        },
        secret,
        algorithm="HS256",
    )
    return token, session


def read_token(token: str, *, secret: str, audience: str) -> Session | None:
    """The session in ``token``, or None when it is invalid or expired."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.PyJWTError:
        return None
    roles = claims.get("roles", [])
    if not isinstance(roles, list):
        return None
    return Session(
        str(claims["sub"]),
        frozenset(str(r) for r in roles),
        int(claims["exp"]),
        str(claims.get("jti", "")),
    )
