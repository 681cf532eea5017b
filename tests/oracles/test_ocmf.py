"""OCMF records: ECDSA secp256r1/SHA-256 over the exact payload bytes, mapped onto readings."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from oracles.errors import OcmfError
from oracles.ocmf import load_public_key, ocmf_readings, parse_ocmf, verify_ocmf
from oracles.readings import meter_id_from_name

PAYLOAD = {
    "FV": "1.0",
    "GI": "ABL SBC-301",
    "GS": "808829900001",
    "GV": "1.4p3",
    "PG": "T12345",
    "MV": "Phoenix Contact",
    "MM": "EEM-350-D-MCB",
    "MS": "BQ27400330016",
    "MF": "1.0",
    "IS": True,
    "RD": [
        {
            "TM": "2018-07-24T13:22:04,000+0200 S",
            "TX": "B",
            "RV": 2935.6,
            "RI": "1-b:1.8.0",
            "RU": "kWh",
            "RT": "AC",
            "ST": "G",
        },
        {
            "TM": "2018-07-24T13:22:04,000+0200 S",
            "TX": "B",
            "RV": 12.5,
            "RI": "1-b:2.8.0",
            "RU": "kWh",
            "RT": "AC",
            "ST": "G",
        },
    ],
}


def signed_record(key: ec.EllipticCurvePrivateKey, payload: dict[str, object]) -> str:
    body = json.dumps(payload, separators=(",", ":"))
    signature = key.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    return f'OCMF|{body}|{{"SA":"ECDSA-secp256r1-SHA256","SD":"{signature.hex()}"}}'


def public_hex(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        .hex()
    )


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_a_signed_record_verifies_with_the_meters_public_key(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    record = parse_ocmf(signed_record(key, PAYLOAD))
    verify_ocmf(record, load_public_key(public_hex(key)))


def test_a_changed_payload_byte_fails_verification(key: ec.EllipticCurvePrivateKey) -> None:
    text = signed_record(key, PAYLOAD).replace("2935.6", "2995.6")
    with pytest.raises(OcmfError, match="does not verify"):
        verify_ocmf(parse_ocmf(text), load_public_key(public_hex(key)))


def test_another_key_fails_verification(key: ec.EllipticCurvePrivateKey) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(OcmfError):
        verify_ocmf(parse_ocmf(signed_record(key, PAYLOAD)), load_public_key(public_hex(other)))


@pytest.mark.parametrize(
    "obis", [("1-b:1.8.0", "1-b:2.8.0"), ("01-00:01.08.00.FF", "01-00:02.08.00.FF")]
)
def test_obis_registers_map_onto_a_reading(
    key: ec.EllipticCurvePrivateKey, obis: tuple[str, str]
) -> None:
    rows = PAYLOAD["RD"]
    assert isinstance(rows, list)
    payload = {**PAYLOAD, "RD": [{**rows[0], "RI": obis[0]}, {**rows[1], "RI": obis[1]}]}
    (reading,) = ocmf_readings(parse_ocmf(signed_record(key, payload)))
    assert reading.meter_id == meter_id_from_name("BQ27400330016")
    assert reading.pagination == 12345
    assert reading.timestamp == 1532431324 and reading.synced
    assert (reading.import_wh, reading.export_wh) == (2_935_600, 12_500)


def test_a_record_without_separators_is_refused() -> None:
    with pytest.raises(OcmfError, match="not an OCMF record"):
        parse_ocmf('{"FV":"1.0"}')
