"""Sign-In with Ethereum: nonce, login (session token), current session."""

from __future__ import annotations

import time

from fastapi import APIRouter
from sqlalchemy import delete, insert, update

from chain.errors import RpcError
from indexer.api.deps import ConnDep, InfoDep, SessionDep, StateDep
from indexer.api.errors import ApiError
from indexer.api.schemas.auth import (
    LoginRequest,
    LoginResponse,
    NonceResponse,
    SessionPublic,
)
from indexer.api.schemas.common import AUTH_ERRORS
from indexer.api.sessions import issue_token
from indexer.db.models import SiweNonce
from indexer.errors import SiweFormatError, SiweVerificationError
from indexer.siwe import generate_nonce, verify_message

router = APIRouter(prefix="/v1/auth", tags=["auth"])

STATEMENT = "Sign in to the EnergyChain community indexer."


@router.get("/nonce", response_model=NonceResponse, responses=AUTH_ERRORS)
def new_nonce(state: StateDep, conn: ConnDep, info: InfoDep) -> NonceResponse:
    """A single-use nonce to put in an EIP-4361 message, with the domain and chain to use."""
    now = time.time()
    nonce = generate_nonce()
    expires = now + state.config.nonce_ttl_seconds
    conn.execute(delete(SiweNonce).where(SiweNonce.expires_at < now - 3_600))
    conn.execute(
        insert(SiweNonce),
        {"nonce": nonce, "issued_at": now, "expires_at": expires, "used_at": None},
    )
    conn.commit()
    return NonceResponse(
        nonce=nonce,
        expires_at=expires,
        domain=state.config.siwe_domain,
        chain_id=info.chain_id,
        statement=STATEMENT,
    )


@router.post("/login", response_model=LoginResponse, responses=AUTH_ERRORS)
def login(body: LoginRequest, state: StateDep, conn: ConnDep, info: InfoDep) -> LoginResponse:
    """Check a signed EIP-4361 message, spend its nonce, and open a short session."""
    try:
        message = verify_message(
            body.message, body.signature, domain=state.config.siwe_domain, chain_id=info.chain_id
        )
    except SiweFormatError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    except SiweVerificationError as exc:
        raise ApiError(401, exc.code, str(exc)) from None
    now = time.time()
    spent = conn.execute(
        update(SiweNonce)
        .where(
            SiweNonce.nonce == message.nonce,
            SiweNonce.used_at.is_(None),
            SiweNonce.expires_at > now,
        )
        .values(used_at=now)
    )
    conn.commit()
    if spent.rowcount != 1:
        raise ApiError(401, "siwe_nonce_invalid", "the nonce is unknown, expired or already used")
    roles: frozenset[str] = frozenset()
    if state.roles is not None:
        try:
            roles = state.roles.roles(message.address)
        except RpcError as exc:
            raise ApiError(503, "chain_unavailable", f"cannot read roles: {exc}") from None
    token, session = issue_token(
        message.address,
        roles,
        secret=state.config.session_secret,
        ttl_seconds=state.config.session_ttl_seconds,
        audience=state.config.siwe_domain,
    )
    return LoginResponse(
        token=token,
        address=session.address,
        roles=sorted(session.roles),
        expires_at=session.expires_at,
    )


@router.get("/session", response_model=SessionPublic, responses=AUTH_ERRORS)
def current_session(session: SessionDep) -> SessionPublic:
    """Who the bearer token belongs to and which roles it carries."""
    return SessionPublic(
        address=session.address, roles=sorted(session.roles), expires_at=session.expires_at
    )
