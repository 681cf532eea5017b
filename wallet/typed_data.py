"""EIP-712 documents of EnergyChain, and recovering who signed one.

Documents are in the ``eth_signTypedData_v4`` JSON shape (``types`` with ``EIP712Domain``,
``primaryType``, ``domain``, ``message``; bytes as ``0x`` hex, integers as numbers), so the same
dict goes to a local key, to a remote JSON-RPC signer, to a browser wallet, or into a file for
``enerwise wallet sign-typed-data``.

The domain is ``{name: "EnergyChain", version: "1", chainId, verifyingContract}``: a signature
is bound to one chain and one contract, so it cannot be replayed elsewhere. A meter reading
carries a per-meter sequence number (``seq``), which the registry requires to increase.

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
from eth_utils.address import is_hex_address, to_checksum_address
from eth_utils.crypto import keccak

from wallet.errors import TypedDataError

#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Largest ``s`` of a canonical (low-s) signature, EIP-2.
SECP256K1_HALF_N = SECP256K1_N // 2

DOMAIN_NAME = "EnergyChain"
DOMAIN_VERSION = "1"
EIP712_DOMAIN_FIELDS: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
METER_READING_FIELDS: list[dict[str, str]] = [
    {"name": "meterId", "type": "bytes32"},
    {"name": "seq", "type": "uint64"},
    {"name": "timestamp", "type": "uint64"},
    {"name": "importWh", "type": "uint64"},
    {"name": "exportWh", "type": "uint64"},
]
#: ``MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh)``
METER_READING_TYPE = (
    "MeterReading(" + ",".join(f"{f['type']} {f['name']}" for f in METER_READING_FIELDS) + ")"
)

_UINT64_MAX = 2**64 - 1


def energychain_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of an EnergyChain contract on one chain."""
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise TypedDataError(f"chain id must be a positive integer, not {chain_id!r}")
    if not is_hex_address(verifying_contract):
        raise TypedDataError(f"verifying contract {verifying_contract!r} is not an address")
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def meter_reading_typed_data(
    chain_id: int,
    registry: str,
    meter_id: bytes | str,
    seq: int,
    timestamp: int,
    import_wh: int,
    export_wh: int,
) -> dict[str, Any]:
    """The ``MeterReading`` document a meter signs for the registry at ``registry``.

    ``meter_id`` is 32 bytes (or ``0x`` + 64 hex digits); the counters are uint64 (``import_wh``
    and ``export_wh`` are the cumulative registers in watt-hours, ``timestamp`` Unix seconds).
    """
    meter = _bytes32(meter_id)
    values = {"seq": seq, "timestamp": timestamp, "importWh": import_wh, "exportWh": export_wh}
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _UINT64_MAX:
            raise TypedDataError(f"{name} must be an integer in uint64 range, not {value!r}")
    return {
        "types": {
            "EIP712Domain": [dict(f) for f in EIP712_DOMAIN_FIELDS],
            "MeterReading": [dict(f) for f in METER_READING_FIELDS],
        },
        "primaryType": "MeterReading",
        "domain": energychain_domain(chain_id, registry),
        "message": {"meterId": "0x" + meter.hex(), **values},
    }


def _bytes32(value: bytes | str) -> bytes:
    if isinstance(value, str):
        digits = value.removeprefix("0x")
        try:
            value = bytes.fromhex(digits)
        except ValueError:
            raise TypedDataError("meter id must be 0x-prefixed hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise TypedDataError("meter id must be exactly 32 bytes")
    return bytes(value)


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
