"""OCMF (Open Charge Metering Format) records: parse, verify, map onto a meter reading.

A record is ``OCMF|{payload JSON}|{signature JSON}``. The signature (``SD``, hex DER by
default) is ECDSA over the *exact payload bytes* as they appear between the separators, with
the algorithm in ``SA`` (default ``ECDSA-secp256r1-SHA256``); the public key travels out of band
(a PEM or hex DER SubjectPublicKeyInfo). Readings (``RD``) carry an ISO time with a sync flag
(``TM``: ``2018-07-24T13:22:04,000+0200 S``), an OBIS code (``RI``), value (``RV``), unit
(``RU``) and status (``ST``). Import is OBIS ``1-0:1.8.0``, export ``1-0:2.8.0``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from oracles.errors import OcmfError
from oracles.readings import meter_id_from_name

_CURVES: dict[str, tuple[type[ec.EllipticCurve], hashes.HashAlgorithm]] = {
    "ECDSA-secp256r1-SHA256": (ec.SECP256R1, hashes.SHA256()),
    "ECDSA-secp384r1-SHA256": (ec.SECP384R1, hashes.SHA256()),
    "ECDSA-brainpool256r1-SHA256": (ec.BrainpoolP256R1, hashes.SHA256()),
}
IMPORT_OBIS = "1.8.0"  # active energy import, total (value group C.D.E)
EXPORT_OBIS = "2.8.0"  # active energy export, total
_UNITS = {"Wh": 1.0, "kWh": 1_000.0, "mWh": 0.001}


@dataclass(frozen=True)
class OcmfRecord:
    payload_bytes: bytes
    payload: dict[str, Any]
    signature: dict[str, Any]


@dataclass(frozen=True)
class OcmfReading:
    """What an OCMF reading says, in the oracle's terms."""

    meter_id: bytes
    meter_serial: str
    pagination: int
    timestamp: int
    synced: bool
    import_wh: int
    export_wh: int


def parse_ocmf(text: str | bytes) -> OcmfRecord:
    raw = text.encode() if isinstance(text, str) else text
    raw = raw.strip()
    if not raw.startswith(b"OCMF|") or raw.count(b"|") < 2:
        raise OcmfError("not an OCMF record (expected OCMF|{payload}|{signature})")
    body = raw[len(b"OCMF|") :]
    payload_bytes, _, signature_bytes = body.rpartition(b"|")
    try:
        payload = json.loads(payload_bytes)
        signature = json.loads(signature_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OcmfError(f"OCMF record is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(signature, dict):
        raise OcmfError("OCMF payload and signature must be JSON objects")
    return OcmfRecord(payload_bytes, payload, signature)


def load_public_key(key: str | bytes) -> ec.EllipticCurvePublicKey:
    """A PEM, or hex/bytes DER SubjectPublicKeyInfo, EC public key."""
    try:
        if isinstance(key, str) and "BEGIN PUBLIC KEY" in key:
            loaded = serialization.load_pem_public_key(key.encode())
        else:
            der = bytes.fromhex(key) if isinstance(key, str) else key
            loaded = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise OcmfError(f"public key cannot be read: {exc}") from None
    if not isinstance(loaded, ec.EllipticCurvePublicKey):
        raise OcmfError("the OCMF public key must be an elliptic-curve key")
    return loaded


def verify_ocmf(record: OcmfRecord, public_key: ec.EllipticCurvePublicKey) -> None:
    """Check the signature over the exact payload bytes; :class:`OcmfError` if it fails."""
    algorithm = record.signature.get("SA", "ECDSA-secp256r1-SHA256")
    if algorithm not in _CURVES:
        raise OcmfError(f"unsupported OCMF signature algorithm {algorithm!r}")
    curve, digest = _CURVES[algorithm]
    if not isinstance(public_key.curve, curve):
        raise OcmfError(f"public key is on {public_key.curve.name}, the record says {algorithm}")
    encoding = record.signature.get("SE", "hex")
    data = record.signature.get("SD")
    if not isinstance(data, str):
        raise OcmfError("OCMF signature has no SD")
    try:
        signature = bytes.fromhex(data) if encoding == "hex" else base64.b64decode(data)
    except (ValueError, binascii.Error):
        raise OcmfError("OCMF signature SD is not valid hex/base64") from None
    try:
        public_key.verify(signature, record.payload_bytes, ec.ECDSA(digest))
    except InvalidSignature:
        raise OcmfError("OCMF signature does not verify over the payload") from None


def _time(text: str) -> tuple[int, bool]:
    stamp, _, sync = text.partition(" ")
    try:
        moment = datetime.strptime(stamp.replace(",", "."), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        raise OcmfError(f"OCMF time {text!r} is not YYYY-MM-DDThh:mm:ss,fff+zzzz") from None
    return int(moment.timestamp()), sync.strip() == "S"


def _obis(code: str) -> str:
    """Value groups C.D.E of an OBIS code (``1-b:1.8.0``, ``01-00:01.08.00.FF`` -> ``1.8.0``)."""
    cde = code.rsplit(":", 1)[-1].replace("*", ".").split(".")[:3]
    try:
        return ".".join(
            str(int(part, 16 if len(part) == 2 and part.isalnum() else 10)) for part in cde
        )
    except ValueError:
        return code


def ocmf_readings(record: OcmfRecord) -> list[OcmfReading]:
    """The readings of a record, grouped by time: import (1.8.0) and export (2.8.0) registers."""
    payload = record.payload
    serial = str(payload.get("MS") or payload.get("GS") or "")
    if not serial:
        raise OcmfError("OCMF payload has no meter serial (MS)")
    pagination_text = str(payload.get("PG", ""))
    if len(pagination_text) < 2 or not pagination_text[1:].isdigit():
        raise OcmfError(f"OCMF pagination {pagination_text!r} is not T<n> or F<n>")
    pagination = int(pagination_text[1:])
    grouped: dict[str, dict[str, Any]] = {}
    for entry in payload.get("RD", []):
        if not isinstance(entry, dict) or "TM" not in entry:
            raise OcmfError("OCMF reading without time (TM)")
        obis = _obis(str(entry.get("RI", "1-0:1.8.0")))
        unit = str(entry.get("RU", "kWh"))
        if unit not in _UNITS:
            raise OcmfError(f"OCMF unit {unit!r} is not an energy unit")
        value = entry.get("RV")
        if not isinstance(value, int | float) or value < 0:
            raise OcmfError(f"OCMF value {value!r} is not a non-negative number")
        if entry.get("ST", "G") != "G":
            raise OcmfError(f"OCMF reading status {entry.get('ST')!r} is not G (good)")
        slot = grouped.setdefault(str(entry["TM"]), {})
        if obis == IMPORT_OBIS:
            slot["import"] = round(value * _UNITS[unit])
        elif obis == EXPORT_OBIS:
            slot["export"] = round(value * _UNITS[unit])
    readings = []
    for tm, values in grouped.items():
        if "import" not in values:
            continue
        timestamp, synced = _time(tm)
        readings.append(
            OcmfReading(
                meter_id_from_name(serial),
                serial,
                pagination,
                timestamp,
                synced,
                values["import"],
                values.get("export", 0),
            )
        )
    if not readings:
        raise OcmfError("OCMF record has no import register reading (OBIS 1-0:1.8.0)")
    return readings
