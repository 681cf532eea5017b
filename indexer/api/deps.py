"""Typed dependencies of the routes (FastAPI full-stack template style)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from sqlalchemy import Connection, Engine

from indexer import queries, store
from indexer.api.config import ApiConfig
from indexer.api.errors import ApiError
from indexer.api.sessions import RoleResolver, Session, read_token
from indexer.live import LocalHub
from indexer.market_info import MarketInfo

MAX_SLOT = 2**63 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass
class AppState:
    """What the routes share: database, settings, live hub, role source."""

    engine: Engine
    config: ApiConfig
    hub: LocalHub
    roles: RoleResolver | None = None
    _info: MarketInfo | None = field(default=None, repr=False)

    def market_info(self, conn: Connection) -> MarketInfo | None:
        if self._info is None:
            self._info = store.stored_market_info(conn)
        return self._info


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.indexer
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_conn(state: StateDep) -> Iterator[Connection]:
    with state.engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


def get_info(state: StateDep, conn: ConnDep) -> MarketInfo:
    info = state.market_info(conn)
    if info is None:
        raise ApiError(503, "not_indexed", "the indexer has not bound a deployment yet")
    return info


InfoDep = Annotated[MarketInfo, Depends(get_info)]


def get_clock(conn: ConnDep) -> queries.ChainClock:
    clock = queries.chain_clock(conn)
    if clock is None:
        raise ApiError(503, "not_indexed", "the indexer has not bound a deployment yet")
    return clock


ClockDep = Annotated[queries.ChainClock, Depends(get_clock)]


def checksum_address(value: str) -> str:
    """EIP-55 form; an all-lower or all-upper address is accepted, a bad checksum is not."""
    if not _ADDRESS.match(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    checksummed = str(to_checksum_address(value))
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise ValueError("mixed-case address with a wrong EIP-55 checksum")
    return checksummed


AddressPath = Annotated[
    str,
    Path(description="Account address (0x + 40 hex digits).", min_length=42, max_length=42),
    AfterValidator(checksum_address),
]
OptionalAddressQuery = Annotated[
    str | None,
    Query(description="Filter by address.", min_length=42, max_length=42),
    AfterValidator(lambda v: checksum_address(v) if v is not None else None),
]
SlotPath = Annotated[int, Path(ge=0, le=MAX_SLOT, description="Delivery slot number.")]
OptionalSlotQuery = Annotated[int | None, Query(ge=0, le=MAX_SLOT)]
MeterIdPath = Annotated[
    str,
    Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="Meter id (bytes32 hex)."),
    AfterValidator(str.lower),
]

_bearer = HTTPBearer(auto_error=False, description="Session token from /v1/auth/login.")


def get_session(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "sign in with Ethereum first (Bearer token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    session = read_token(
        credentials.credentials,
        secret=state.config.session_secret,
        audience=state.config.siwe_domain,
    )
    if session is None:
        raise ApiError(
            401,
            "invalid_token",
            "the session token is invalid or expired",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return session


SessionDep = Annotated[Session, Depends(get_session)]


def require_roles(*roles: str) -> object:
    """A dependency admitting a session holding any of ``roles``."""

    def check(session: SessionDep) -> Session:
        if not session.roles & set(roles):
            raise ApiError(403, "forbidden", f"this needs one of the roles {', '.join(roles)}")
        return session

    return Depends(check)


OperatorDep = Annotated[Session, require_roles("admin", "meter_admin")]
MeterAdminDep = Annotated[Session, require_roles("meter_admin", "admin")]
AdminDep = Annotated[Session, require_roles("admin")]
