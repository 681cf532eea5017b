"""EIP-712 documents (any schema), their digest, and recovering who signed one.

Documents are in the ``eth_signTypedData_v4`` JSON shape (``types`` with ``EIP712Domain``,
``primaryType``, ``domain``, ``message``; bytes as ``0x`` hex, integers as numbers), so the same
dict goes to a local key, to a remote JSON-RPC signer, to a browser wallet, or into a file for
``enerwise wallet sign-typed-data``. The protocol's own schema (the signed meter reading) is
:mod:`energychain.meter_reading`; the wallet signs any document without knowing it.

:func:`recover_typed_data_signer` accepts only canonical low-s signatures (EIP-2), as the
contracts do (OpenZeppelin ``ECDSA.recover``): for every signature (r, s) the twin
(r, n - s) recovers to the same address, so a high-s one is refused instead of being a second
valid encoding.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from wallet.errors import TypedDataError

#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Largest ``s`` of a canonical (low-s) signature, EIP-2.
SECP256K1_HALF_N = SECP256K1_N // 2

EIP712_DOMAIN_FIELDS: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
"""The ``EIP712Domain`` type of a domain with name, version, chain id and contract."""


def check_typed_data(document: Any) -> dict[str, Any]:
    """``document`` if it has the eth_signTypedData_v4 shape and encodes; else TypedDataError."""
    if not isinstance(document, dict):
        raise TypedDataError("typed data must be a JSON object")
    for field, kind in (("types", dict), ("primaryType", str), ("domain", dict), ("message", dict)):
        if not isinstance(document.get(field), kind):
            raise TypedDataError(f"typed data needs '{field}' ({kind.__name__})")
    if document["primaryType"] not in document["types"]:
        raise TypedDataError(f"primary type {document['primaryType']!r} is not among 'types'")
    typed_data_digest(document)
    return document


def load_typed_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check an EIP-712 JSON document from a file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise TypedDataError(f"typed data file {file} cannot be read") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise TypedDataError(f"typed data file {file} is not valid JSON: {exc}") from None
    try:
        return check_typed_data(document)
    except TypedDataError as exc:
        raise TypedDataError(f"typed data file {file}: {exc}") from None


def _signable(typed_data: dict[str, Any]) -> SignableMessage:
    try:
        return encode_typed_data(full_message=typed_data)
    except Exception as exc:  # eth-account raises many types for a malformed document
        raise TypedDataError(f"typed data cannot be encoded: {exc}") from None


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte hash that is signed: ``keccak256(0x1901 || domainSeparator || structHash)``."""
    message = _signable(typed_data)
    return keccak(b"\x19" + message.version + message.header + message.body)


def split_signature(signature: bytes | str) -> tuple[int, int, int]:
    """``(v, r, s)`` of a 65-byte ``r || s || v`` signature, ``v`` as 27 or 28.

    Refuses a wrong length, ``v`` other than 0, 1, 27, 28, ``r`` or ``s`` out of range and
    high-s signatures (EIP-2).
    """
    if isinstance(signature, str):
        try:
            signature = bytes.fromhex(signature.removeprefix("0x"))
        except ValueError:
            raise TypedDataError("signature must be 0x-prefixed hex") from None
    if len(signature) != 65:
        raise TypedDataError(f"signature must be 65 bytes, not {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise TypedDataError(f"signature v must be 27 or 28 (or 0/1), not {signature[64]}")
    if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise TypedDataError("signature r or s is out of range")
    if s > SECP256K1_HALF_N:
        raise TypedDataError("signature has a high s value (not canonical, EIP-2): refused")
    return v, r, s


def recover_typed_data_signer(
    typed_data: dict[str, Any], signature: bytes | str
) -> ChecksumAddress:
    """The address whose key made ``signature`` over ``typed_data`` (low-s only)."""
    v, r, s = split_signature(signature)
    message = _signable(typed_data)
    try:
        signer: ChecksumAddress = Account.recover_message(message, vrs=(v, r, s))
    except Exception as exc:
        raise TypedDataError(f"no signer can be recovered from the signature: {exc}") from None
    return signer


def to_json_compatible(value: Any) -> Any:
    """``value`` with bytes turned into ``0x`` hex (for JSON and JSON-RPC)."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: to_json_compatible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_compatible(v) for v in value]
    return value
