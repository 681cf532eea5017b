"""Sign-In with Ethereum exchange."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NonceResponse(BaseModel):
    nonce: str
    expires_at: float
    domain: str = Field(description="Use as the message's domain.")
    chain_id: int
    statement: str


class LoginRequest(BaseModel):
    message: str = Field(max_length=4_000, description="The EIP-4361 message, as signed.")
    signature: str = Field(max_length=200, description="0x-prefixed 65-byte EIP-191 signature.")


class SessionPublic(BaseModel):
    address: str
    roles: list[str]
    expires_at: int


class LoginResponse(SessionPublic):
    token: str
    token_type: str = "bearer"
